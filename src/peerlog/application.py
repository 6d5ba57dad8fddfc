"""The PeerLog application: commands in, events out.

A small facade over the parts that do the work:

* :mod:`peerlog.commands` validates a command into its model, which declares what
  its handler needs;
* :mod:`peerlog.handlers` decides it (one handler per command, in one table);
* :mod:`peerlog.unit_of_work` loads, caches, snapshots and catches up the aggregates
  the handlers read;
* :mod:`peerlog.executor` stamps, retries, answers re-sent commands and runs batches,
  and appends each command with its events in one transaction;
* :mod:`peerlog.erasure` forgets people; :mod:`peerlog.verification` checks the chains.

``PeerLog`` reads the settings, opens the store and the keys, and wires these up.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Final, TypeVar, cast

from eventsourcing.application import Application
from eventsourcing.persistence import AggregateRecorder

from peerlog import erasure, verification
from peerlog.commands import Command
from peerlog.domain.course import Course
from peerlog.domain.errors import CommandRejected
from peerlog.domain.events import DomainEvent
from peerlog.domain.pair import Pair
from peerlog.executor import CommandResult, EventRef, Executor
from peerlog.folding import folding
from peerlog.i18n import lazy
from peerlog.persistence.base import EventRecorder
from peerlog.persistence.config import DATABASE_URL, SCHEMA, ConfigurationError, store_env
from peerlog.persistence.keys import key_store_for
from peerlog.persistence.mapper import EventMapper
from peerlog.persistence.masterkey import load_master_key
from peerlog.persistence.records import RecordedEvent, StoredCommand
from peerlog.persistence.sealing import KeyRing, TextSealer, key_cache_seconds
from peerlog.unit_of_work import State, UnitOfWork
from peerlog.verification import VerifyReport

__all__ = ["CommandResult", "EventRef", "PeerLog", "VerifyReport"]

SNAPSHOT_INTERVAL: Final = 200
"""A stream's state is snapshotted every this many events (PEERLOG_SNAPSHOT_INTERVAL)."""
STATE_CACHE_SIZE: Final = 10_000
"""How many aggregate states a process keeps in memory (PEERLOG_STATE_CACHE_SIZE): more
than the pairs and courses that are busy at once, or each command reloads its pair."""

_S = TypeVar("_S", Course, Pair)


def _positive(settings: Mapping[str, str], name: str, default: int) -> int:
    """A setting that is a whole number above zero, or its default when not set."""
    value = settings.get(name)
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ConfigurationError(
            lazy(
                "%(name)s is a whole number above zero, not %(value)s", name=name, value=repr(value)
            )
        )
    return number


def _utcnow() -> datetime:
    return datetime.now(UTC)


class PeerLog(Application[str]):
    """The learning record: courses and pairs as event-sourced aggregates."""

    name = "PeerLog"

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        settings = dict(os.environ)
        settings.update(env or {})
        self._settings = settings
        store = store_env(settings.get(DATABASE_URL), schema=settings.get(SCHEMA))
        # Settings are checked before the store is opened, so a wrong one opens nothing.
        self.snapshot_interval = _positive(settings, "PEERLOG_SNAPSHOT_INTERVAL", SNAPSHOT_INTERVAL)
        self.state_cache_size = _positive(settings, "PEERLOG_STATE_CACHE_SIZE", STATE_CACHE_SIZE)
        super().__init__(env={**(env or {}), **store})
        recorder = self.recorder
        if not isinstance(recorder, EventRecorder):
            msg = f"{type(recorder).__name__} does not keep commands and hash chains"
            raise TypeError(msg)
        self.store: EventRecorder = recorder
        self.snapshot_recorder: AggregateRecorder = self.factory.aggregate_recorder("snapshots")
        self.uow = UnitOfWork(
            recorder,
            self.snapshot_recorder,
            self.event_mapper,
            self.keys,
            cache_size=self.state_cache_size,
            snapshot_interval=self.snapshot_interval,
        )
        self.executor = Executor(self.uow, recorder, self.event_mapper, self.keys, clock)

    def construct_mapper(self) -> EventMapper:
        settings = self._settings
        # Personal texts are sealed under keys kept in the same database as the events.
        self.keys = KeyRing(
            key_store_for(self.factory),
            lambda: load_master_key(settings),
            cache_seconds=key_cache_seconds(settings),
        )
        return EventMapper(protector=TextSealer(self.keys))

    @property
    def settings(self) -> dict[str, str]:
        """The settings this application was made from (to make another like it)."""
        return dict(self._settings)

    @property
    def event_mapper(self) -> EventMapper:
        return cast("EventMapper", self.mapper)

    @property
    def clock(self) -> Callable[[], datetime]:
        """The record's clock (what ``occurred_at`` defaults to, and is checked against)."""
        return self.executor.clock

    # --- commands --------------------------------------------------------------------

    def execute(self, command: Command | Mapping[str, Any] | str | bytes) -> CommandResult:
        """Validate and record one command; raise :class:`CommandRejected` if it breaks a
        rule. A command model (``OpenCourse(...)``) is the typed way to call it."""
        return self.executor.execute(command)

    def execute_many(
        self,
        commands: Iterable[Command | Mapping[str, Any] | str | bytes],
        *,
        batch_size: int = 500,
    ) -> Iterator[CommandResult | CommandRejected]:
        """Record commands in order, as an import does, and yield each one's result or
        rejection, in order (see :meth:`peerlog.executor.Executor.execute_many`)."""
        return self.executor.execute_many(commands, batch_size=batch_size)

    def result_of(self, previous: StoredCommand) -> CommandResult:
        """The result a recorded command had."""
        return self.executor.result_of(previous)

    # --- personal data -----------------------------------------------------------------

    def forget(
        self,
        person_id: str,
        *,
        actor: str,
        command_id: str,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        """Erase a person's personal data: record ``PersonForgotten`` in every course
        they are known in, then destroy their key, so that every text by or about them
        reads as erased everywhere. The actor is a coordinator of each of those courses.

        Re-sending the command (same id) returns its first result and finishes an
        erasure that was interrupted after it was recorded."""
        return erasure.forget(
            self.executor, person_id, actor=actor, command_id=command_id, occurred_at=occurred_at
        )

    def check_forget(self, person_id: str, *, actor: str) -> None:
        """Raise :class:`CommandRejected` if ``actor`` may not forget ``person_id`` now
        (an unknown person, an actor who is not a coordinator of each of their courses,
        someone already forgotten), as :meth:`forget` would; records nothing."""
        erasure.check_forget(self.executor, person_id, actor=actor)

    # --- reading the record ----------------------------------------------------------

    def history(self, stream: str) -> list[DomainEvent]:
        """A stream's events in order, personal texts opened (or marked erased)."""
        mapper = self.event_mapper
        with folding():
            return mapper.open_many(
                mapper.decode(stored.topic, stored.state)
                for stored in self.store.select_events(stream)
            )

    def records(self, stream: str) -> list[RecordedEvent]:
        """A stream's stored events with positions, times and chain links."""
        return self.store.select_records(stream)

    def verify(self, pair_id: str | None = None) -> VerifyReport:
        """Check the hash chains (of one pair, or of every stream and the command log)."""
        return verification.verify(self.store, pair_id)

    # --- state -----------------------------------------------------------------------

    def _load(self, stream: str, kind: type[_S]) -> _S | None:
        return self.uow.load(stream, kind)

    def state_at(self, stream: str, version: int) -> State | None:
        """The state of an aggregate as it was at ``version`` (for tests and replay)."""
        return self.uow.state_at(stream, version)

    def take_snapshot(self, stream: str) -> None:  # type: ignore[override]
        """Store a snapshot of an aggregate's current state."""
        self.uow.take_snapshot(stream)

    def forget_cached_state(self) -> None:
        """Drop every cached aggregate state (they are reloaded from the store on use)."""
        self.uow.forget_cached_state()
