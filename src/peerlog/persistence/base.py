"""What peerlog needs of a store, beyond the library's application recorder."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from eventsourcing.persistence import ApplicationRecorder, StoredEvent

from peerlog.persistence.records import Appended, CommandRecord, RecordedEvent, StoredCommand

RawEvent = tuple[int, str, bytes, datetime]
"""A stored event as projections read it: position, topic, state, recorded_at."""


class Turn:
    """One command's turn at the streams it writes, so that writers to the same
    aggregate take turns instead of racing: a command that lost a race waits for the
    streams, holds them while it decides again on fresh state and appends, and lets go
    when it is answered. Every append waits for a stream that another command holds
    in its turn, so the holder cannot lose again; the optimistic check stays as the
    guard. This one takes no turns (the caller pauses and retries)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        del kind, value, traceback

    def lost_race(self, streams: Collection[str]) -> bool:
        """After a :class:`StreamConflict`, before catching up: wait until these
        streams are this command's (held until the turn ends). Whether it waited for
        them (if not, the caller pauses before retrying)."""
        del streams
        return False


class EventRecorder(ApplicationRecorder):
    """An application recorder that also keeps commands, times and hash chains.

    ``append`` writes a command's events atomically with the command itself, after
    checking that no stream the command read (``expected``: stream -> version) has
    moved on. Writers are serialised so that positions are committed in order: a
    reader that has seen position n will never later find an event below n.
    """

    def append(
        self,
        stored_events: Sequence[StoredEvent],
        *,
        command: CommandRecord | None = None,
        expected: Mapping[str, int] | None = None,
    ) -> list[Appended]:
        """Store the events of one command in one transaction."""
        if not stored_events:
            return []
        return self.append_batch([(stored_events, command)], expected=expected)[0]

    @abstractmethod
    def append_batch(
        self,
        commands: Sequence[tuple[Sequence[StoredEvent], CommandRecord | None]],
        *,
        expected: Mapping[str, int] | None = None,
    ) -> list[list[Appended]]:
        """Store the events of several commands (an import) in one transaction, in order,
        each command's events at consecutive positions; ``expected`` as for ``append``.
        Raises :class:`StreamConflict` or :class:`CommandIdConflict` and stores nothing
        if any of them conflicts."""

    def turn(self) -> Turn:
        """A command's turn at the streams it writes (see :class:`Turn`)."""
        return Turn()

    @abstractmethod
    def find_commands(self, command_ids: Collection[str]) -> dict[str, StoredCommand]:
        """The accepted commands among these ids."""

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not stored_events:
            return None
        appended = self.append(
            stored_events, command=kwargs.get("command"), expected=kwargs.get("expected")
        )
        return [a.position for a in appended]

    @abstractmethod
    def find_command(self, command_id: str) -> StoredCommand | None:
        """The accepted command with this id, if there is one."""

    @abstractmethod
    def select_commands(self) -> list[StoredCommand]:
        """Every accepted command, in the order they were recorded."""

    @abstractmethod
    def select_records(
        self,
        originator_id: str | None = None,
        *,
        start: int | None = None,
        stop: int | None = None,
        limit: int | None = None,
    ) -> list[RecordedEvent]:
        """Stored events with their positions, times and chain links: one stream's in
        version order, or the whole record's in position order (``start`` and
        ``stop`` are inclusive positions)."""

    @abstractmethod
    def iter_raw(
        self,
        after: int,
        *,
        stop: int | None = None,
        topics: Collection[str] | None = None,
        streams: Collection[str] | None = None,
    ) -> Iterator[RawEvent]:
        """(position, topic, state, recorded_at) of the events after ``after`` (up to
        ``stop``, inclusive), in position order, streamed in chunks; with ``topics``,
        other events are skipped by the database; with ``streams``, only those streams'
        events are read (through the stream index, not a scan of the record)."""

    @abstractmethod
    def select_positions(self) -> list[int]:
        """Every stored event's position, in order."""

    @abstractmethod
    def select_streams(self) -> list[str]:
        """The ids of every stream in the record."""

    @abstractmethod
    def stream_lengths(self) -> dict[str, int]:
        """Every stream's id and its last version (how many events it holds)."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""


def failure_summary(exc: BaseException) -> str:
    """A failure as one log line may show it: its type, the SQLSTATE where the store
    gave one, and the first line of its message only (a database's DETAIL lines quote
    the values of the rows concerned)."""
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    code = getattr(cause, "sqlstate", None) or getattr(cause, "sqlite_errorname", None)
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    kind = type(exc).__name__ + (f" [{code}]" if code else "")
    return f"{kind}: {first}" if first else kind
