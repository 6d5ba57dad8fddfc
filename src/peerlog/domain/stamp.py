"""What the command stamps on every event it causes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


class Versioned(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def version(self) -> int: ...


@dataclass(frozen=True)
class Stamp:
    """The command's id, its actor and when it happened (already defaulted to now)."""

    command_id: str
    actor: str
    occurred_at: datetime

    def at(self, stream: str, version: int) -> dict[str, Any]:
        """The common event fields for the event at ``version`` of ``stream``."""
        return {
            "originator_id": stream,
            "originator_version": version,
            "command_id": self.command_id,
            "actor": self.actor,
            "occurred_at": self.occurred_at,
        }

    def next(self, state: Versioned, offset: int = 1) -> dict[str, Any]:
        """The common event fields for the next event of an aggregate."""
        return self.at(state.id, state.version + offset)
