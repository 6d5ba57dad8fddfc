"""Where the read side reads the record: a narrow event source, and its one adapter.

Everything under ``peerlog.projections`` (the projections and their runner, as-of
answers and audits, the timeline, names, zones, persons, the xAPI side, the choice of
a standby) reads events through :class:`EventSource` (raw events in position order,
one stream's records, the stream ids, the mapper's decoding and opening of texts, and
the record's integrity) and never reaches into the application. :class:`StoreEvents`
adapts an application to it; it is the only place the read side touches the write
side's store and mapper (a test holds the rest to that), so a change of how events are
stored or read is a change here.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Protocol, Self

from peerlog.application import PeerLog
from peerlog.domain.events import DomainEvent
from peerlog.folding import folding
from peerlog.persistence.base import RawEvent
from peerlog.persistence.records import RecordedEvent
from peerlog.projections.remembered import RememberedFolds

if TYPE_CHECKING:
    # Imported when first asked for: they load both stores' drivers, which a command
    # that only records into SQLite does without.
    from peerlog.integrity.service import Integrity
    from peerlog.projections.store import ReadStore


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
        self,
        after: int,
        *,
        stop: int | None = None,
        topics: Collection[str] | None = None,
        streams: Collection[str] | None = None,
    ) -> Iterator[RawEvent]:
        """(position, topic, state, recorded_at) after ``after`` up to ``stop``
        (inclusive), in position order; with ``topics``, only events of those types;
        with ``streams``, only those streams' events."""
        ...

    def records(self, stream: str, *, limit: int | None = None) -> list[RecordedEvent]:
        """One stream's stored events, in version order (the first ``limit`` only)."""
        ...

    def streams(self) -> list[str]:
        """The ids of every stream in the record."""
        ...

    def stream_lengths(self) -> dict[str, int]:
        """Every stream's id and its last version (a cheap look at the index)."""
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

    def integrity(self) -> Integrity:
        """The record's Merkle tree and checkpoints, and the chain heads verified so far."""
        ...

    def pseudonym_key(self) -> bytes:
        """The key the record's opaque pseudonyms are made with (the xAPI accounts)."""
        ...

    @property
    def folds(self) -> RememberedFolds:
        """The audits' folds and the timelines as told this source remembers
        (:mod:`peerlog.projections.remembered`)."""
        ...


def history(source: EventSource, stream: str) -> list[DomainEvent]:
    """A stream's events in order, personal texts opened (or marked erased)."""
    with folding():
        return source.open_many(source.decode(r.topic, r.state) for r in source.records(stream))


class StoreEvents:
    """An application's record as an :class:`EventSource`."""

    @classmethod
    def open(cls, settings: Mapping[str, str]) -> Self:
        """The record the settings name, opened here (and closed by :meth:`close`)."""
        made = cls(PeerLog(dict(settings)))
        made._owned = True
        return made

    def __init__(self, app: PeerLog) -> None:
        self._app = app  # kept alive: an application closes its store when collected
        self._owned = False
        self._store = app.store
        self._mapper = app.event_mapper
        self._settings: Mapping[str, str] = app.settings
        self.decode = self._mapper.decode
        self.open_many = self._mapper.open_many
        self._folds = RememberedFolds(forgotten=app.keys.forgotten)

    @property
    def folds(self) -> RememberedFolds:
        return self._folds

    @property
    def settings(self) -> Mapping[str, str]:
        return self._settings

    def head(self) -> int:
        head: int | None = self._store.max_notification_id()
        return head or 0

    def iter_raw(
        self,
        after: int,
        *,
        stop: int | None = None,
        topics: Collection[str] | None = None,
        streams: Collection[str] | None = None,
    ) -> Iterator[RawEvent]:
        return self._store.iter_raw(after, stop=stop, topics=topics, streams=streams)

    def records(self, stream: str, *, limit: int | None = None) -> list[RecordedEvent]:
        return self._store.select_records(stream, limit=limit)

    def streams(self) -> list[str]:
        return self._store.select_streams()

    def stream_lengths(self) -> dict[str, int]:
        return self._store.stream_lengths()

    def read_store(self) -> ReadStore:
        from peerlog.projections.store import read_store_for  # noqa: PLC0415 - see above

        return read_store_for(self._store)

    def integrity(self) -> Integrity:
        from peerlog.integrity.service import Integrity  # noqa: PLC0415 - see above

        return Integrity.of(self._app)

    def pseudonym_key(self) -> bytes:
        return self._app.keys.pseudonym_key()

    def close(self) -> None:
        """Close the application, if it was opened here (:meth:`open`)."""
        if self._owned:
            self._app.close()
