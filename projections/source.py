"""Where the read side reads the record: a narrow event source, and its one adapter.

Projections, the runner, as-of answers, the timeline and the web roster read events
through :class:`EventSource` (raw events in position order, one stream's records, the
mapper's decoding and opening of texts) and never reach into the application.
:class:`StoreEvents` adapts an application to it; it is the only place the read side
touches the write side's store and mapper, so a change of how events are stored or
read is a change here.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Protocol

from peerlog.application import PeerLog
from peerlog.domain.events import DomainEvent
from peerlog.persistence.base import RawEvent
from peerlog.persistence.records import RecordedEvent
from peerlog.projections.store import ReadStore, read_store_for


class EventSource(Protocol):
    """The record as the read side reads it."""

    @property
    def settings(self) -> Mapping[str, str]:
        """The settings that open the same record again (in a rebuilding process)."""
        ...

    def head(self) -> int:
        """The position of the last event recorded (0 for an empty record)."""
        ...

    def iter_raw(
        self, after: int, *, stop: int | None = None, topics: Collection[str] | None = None
    ) -> Iterator[RawEvent]:
        """(position, topic, state, recorded_at) after ``after`` up to ``stop``
        (inclusive), in position order; with ``topics``, only events of those types."""
        ...

    def records(self, stream: str) -> list[RecordedEvent]:
        """One stream's stored events, in version order."""
        ...

    def decode(self, topic: str, state: bytes) -> DomainEvent:
        """A stored event, its personal texts left sealed."""
        ...

    def open_many(self, events: Iterable[DomainEvent]) -> list[DomainEvent]:
        """The events with their personal texts opened (erased ones marked)."""
        ...

    def read_store(self) -> ReadStore:
        """Where this record's read models are kept."""
        ...


class StoreEvents:
    """An application's record as an :class:`EventSource`."""

    def __init__(self, app: PeerLog) -> None:
        self._app = app  # kept alive: an application closes its store when collected
        self._store = app.store
        self._mapper = app.event_mapper
        self._settings: Mapping[str, str] = app.settings
        self.decode = self._mapper.decode
        self.open_many = self._mapper.open_many

    @property
    def settings(self) -> Mapping[str, str]:
        return self._settings

    def head(self) -> int:
        head: int | None = self._store.max_notification_id()
        return head or 0

    def iter_raw(
        self, after: int, *, stop: int | None = None, topics: Collection[str] | None = None
    ) -> Iterator[RawEvent]:
        return self._store.iter_raw(after, stop=stop, topics=topics)

    def records(self, stream: str) -> list[RecordedEvent]:
        return self._store.select_records(stream)

    def read_store(self) -> ReadStore:
        return read_store_for(self._store)
