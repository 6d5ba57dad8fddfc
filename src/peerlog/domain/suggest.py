"""What to say after an id that is not there: the closest valid ones, or all of them."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Final

LISTED: Final = 12
"""Up to this many valid ids are listed in full after an unknown one."""


def suggestion(value: str, valid: Iterable[str], what: str, listing: str) -> str:
    """A sentence for after an unknown ``value``: the closest of the ``valid`` ids and,
    when there are few, all of them; ``what`` names them ("goals of course vfu-1"),
    ``listing`` is the command that lists them."""
    known = list(dict.fromkeys(valid))
    if not known:
        return f"There are no {what} yet."
    close = difflib.get_close_matches(value, known, n=3, cutoff=0.6)
    listed = ", ".join(known) if len(known) <= LISTED else None
    if close and listed:
        return f"Did you mean {' or '.join(close)}? The {what} are: {listed}."
    if close:
        return f"Did you mean {' or '.join(close)}? '{listing}' lists all {len(known)} {what}."
    if listed:
        return f"The {what} are: {listed}."
    return f"'{listing}' lists all {len(known)} {what}."
