"""How an erased personal text looks once the record is read.

A personal text is erased when the key of someone it is by or about has been
destroyed (see ``PeerLog.forget``). Reading it then gives :data:`ERASED`: a ``str``
(so that code which expects a text keeps working) of a type of its own (so that code
which cares can tell it apart: ``isinstance(value, ErasedText)``). Free text equal to
the marker is rejected when it is recorded, so that the marker cannot be faked.
"""

from __future__ import annotations

from typing import Final


class ErasedText(str):
    """A personal text whose key was destroyed; its value is ``"[erased]"``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"ErasedText({str(self)!r})"


ERASED_MARKER: Final = "[erased]"
ERASED: Final = ErasedText(ERASED_MARKER)


def is_erased(value: object) -> bool:
    """Whether a value read from the record is an erased personal text."""
    return isinstance(value, ErasedText)
