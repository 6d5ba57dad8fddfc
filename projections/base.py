"""What every projection is: tables, and a pure function of events that updates them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from peerlog.domain.events import DomainEvent
from peerlog.projections.tables import Rows, Table

Handler = Callable[[Any, int, datetime, Any], None]
V = TypeVar("V")


def ref(event: DomainEvent) -> str:
    """How reports name an event: its stream and version, e.g. ``pair/p1@7``."""
    return f"{event.originator_id}@{event.originator_version}"


class Projection:
    """A read model: ``apply`` folds one recorded event into the tables in ``rows``.

    ``apply`` depends only on its arguments and the rows, so the same code maintains the
    persistent read model (the runner flushes the changed rows) and answers as-of
    questions (folded in memory over the events recorded, or occurred, by a time)."""

    name: ClassVar[str]
    version: ClassVar[int]
    """Raised whenever the tables or the logic change: stored read models of another
    version are rebuilt."""
    tables: ClassVar[tuple[Table[Any], ...]]
    handlers: ClassVar[dict[type[DomainEvent], Handler]] = {}

    def __init__(self, rows: Rows | None = None) -> None:
        self.rows = rows if rows is not None else Rows(self.tables)
        self._shared: dict[Any, Any] = {}
        self.reindex()

    def share(self, value: V) -> V:
        """The one copy held of a value equal to ``value`` (ids and tuples of ids repeat
        in many rows; each decoded event brings copies of its own)."""
        shared: V = self._shared.setdefault(value, value)
        return shared

    @classmethod
    def topics(cls) -> frozenset[str]:
        """The event types this projection reads (others are skipped undecoded)."""
        return frozenset(event_type.__name__ for event_type in cls.handlers)

    def reindex(self) -> None:
        """Rebuild in-memory indexes from the rows (after loading them from storage)."""

    def apply(self, position: int, recorded_at: datetime, event: DomainEvent) -> None:
        handler = self.handlers.get(type(event))
        if handler is not None:
            handler(self, position, recorded_at, event)
