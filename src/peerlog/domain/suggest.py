"""What to say after an id that is not there: the closest valid ones, or all of them."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Final

from peerlog.i18n import Text, lazy

LISTED: Final = 12
"""Up to this many valid ids are listed in full after an unknown one."""


def suggestion(value: str, valid: Iterable[str], what: str, listing: str) -> Text:
    """A sentence for after an unknown ``value``: the closest of the ``valid`` ids and,
    when there are few, all of them; ``what`` names them ("goals of course vfu-1"),
    ``listing`` is the command that lists them."""
    known = list(dict.fromkeys(valid))
    if not known:
        return lazy("There are no %(what)s yet.", what=what)
    close = difflib.get_close_matches(value, known, n=3, cutoff=0.6)
    listed = ", ".join(known) if len(known) <= LISTED else None
    if close and listed:
        return lazy(
            "Did you mean %(close)s? The %(what)s are: %(listed)s.",
            close=" or ".join(close),
            what=what,
            listed=listed,
        )
    if close:
        return lazy(
            "Did you mean %(close)s? '%(listing)s' lists all %(count)s %(what)s.",
            close=" or ".join(close),
            listing=listing,
            count=len(known),
            what=what,
        )
    if listed:
        return lazy("The %(what)s are: %(listed)s.", what=what, listed=listed)
    return lazy(
        "'%(listing)s' lists all %(count)s %(what)s.", listing=listing, count=len(known), what=what
    )
