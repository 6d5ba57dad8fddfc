"""The executor: a command in, its events appended, its result out.

One command is stamped (the future-time rule), decided by its handler on the unit of
work's states, and appended with the command in one transaction; the append checks
that no stream the command read has moved on, and if another writer got there first
the command is decided again on fresh state (:meth:`Executor._decide_and_append`, the
retry loop). A command whose id was recorded before returns its first result, or is
rejected if its payload differs. A batch (an import, an HTTP batch) decides each
command on the state the ones before it left and appends them in one transaction.

No lock of the application's is held across a decision or an append: threads of one
process decide and append at once, and the append's check (with the retry loop) is
what keeps a decision on a state that moved on from being recorded. In one process a
command on a pair holds the pair's in-process turn (:meth:`UnitOfWork.turn`), so that
its state can be changed in place; commands on other pairs go on beside it. Across
processes, commands on one aggregate take turns at the store
(:class:`peerlog.persistence.base.Turn`).
"""

from __future__ import annotations

import dataclasses
import itertools
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from eventsourcing.persistence import PersistenceError, StoredEvent

from peerlog.commands import (
    AnyCommand,
    Command,
    CommandBase,
    command_digest,
    future_violation,
    parse_command,
)
from peerlog.domain.errors import CommandRejected, RuleViolation, Violation
from peerlog.domain.events import DomainEvent
from peerlog.domain.stamp import Stamp
from peerlog.handlers import handle
from peerlog.i18n import lazy
from peerlog.persistence.base import EventRecorder, Turn
from peerlog.persistence.mapper import EventMapper
from peerlog.persistence.records import (
    Appended,
    CommandIdConflict,
    CommandRecord,
    StoredCommand,
    StreamConflict,
)
from peerlog.persistence.sealing import KeyRing
from peerlog.unit_of_work import BatchView, UnitOfWork

MAX_ATTEMPTS: Final = 40
"""How often a command is decided again when other writers keep winning the race."""
MAX_BACKOFF_SECONDS: Final = 0.05

Item = Command | Mapping[str, Any] | str | bytes
"""A command as a model, a mapping or JSON text."""


@dataclass(frozen=True)
class EventRef:
    """Where one event of a command's result was recorded."""

    stream: str
    version: int
    position: int
    topic: str

    def __str__(self) -> str:
        return f"{self.stream}@{self.version}"


@dataclass(frozen=True)
class CommandResult:
    """What an accepted command recorded. ``repeated`` is true when the command id had
    been recorded before with the same payload: nothing new was written."""

    command_id: str
    command: str
    recorded_at: datetime
    events: tuple[EventRef, ...]
    repeated: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "command_id": self.command_id,
            "command": self.command,
            "status": "repeated" if self.repeated else "accepted",
            "recorded_at": self.recorded_at.isoformat(),
            "events": [
                {"event": str(e), "position": e.position, "type": e.topic} for e in self.events
            ],
        }


def _recorded(
    cmd: AnyCommand, stored: Sequence[StoredEvent], appended: Sequence[Appended]
) -> CommandResult:
    """The result of a command whose events were just appended."""
    return CommandResult(
        command_id=cmd.command_id,
        command=cmd.command,
        recorded_at=appended[0].recorded_at,
        events=tuple(
            EventRef(str(s.originator_id), s.originator_version, a.position, s.topic)
            for s, a in zip(stored, appended, strict=True)
        ),
    )


def _reused(cmd: AnyCommand, first_command: str) -> CommandRejected:
    """The rejection of a command id recorded before with another payload."""
    return CommandRejected(
        cmd.command,
        [
            Violation(
                "command_id",
                "command_id_reused",
                lazy(
                    "'%(command_id)s' was already used for a different %(first_command)s "
                    "command; give each command its own id",
                    command_id=cmd.command_id,
                    first_command=first_command,
                ),
            )
        ],
    )


def _rejected(cmd: AnyCommand, exc: RuleViolation | CommandRejected) -> CommandRejected:
    if isinstance(exc, CommandRejected):
        return exc
    return CommandRejected(cmd.command, [exc.violation])


class Executor:
    """Retries, idempotency and batches, around the handlers and the unit of work."""

    def __init__(
        self,
        uow: UnitOfWork,
        store: EventRecorder,
        mapper: EventMapper,
        keys: KeyRing,
        clock: Callable[[], datetime],
    ) -> None:
        self.uow = uow
        self.store = store
        self.mapper = mapper
        self.keys = keys
        self.clock = clock

    def stamp(self, cmd: AnyCommand) -> Stamp:
        """Who and when, by the record's clock; raise :class:`RuleViolation` if the
        command occurred more than 5 minutes ahead of it (the one future-time check,
        for single commands and batches alike)."""
        now = self.clock()
        occurred_at = cmd.occurred_at or now
        ahead = future_violation(occurred_at, now)
        if ahead is not None:
            raise RuleViolation(ahead.field, ahead.rule, ahead.message)
        return Stamp(cmd.command_id, cmd.actor, occurred_at)

    # --- one command -----------------------------------------------------------------

    def execute(self, command: Item) -> CommandResult:
        """Validate and record one command; raise :class:`CommandRejected` if it breaks a rule."""
        cmd: Command = command if isinstance(command, CommandBase) else parse_command(command)
        return self.record(cmd)

    def record(self, cmd: AnyCommand) -> CommandResult:
        """Record one validated command (any command model, erasure's included)."""
        digest = command_digest(cmd, self.keys.digest_key())
        try:
            stamp = self.stamp(cmd)
        except RuleViolation as violation:
            return self._reject_unless_repeated(cmd, digest, violation.violation)
        with self.uow.turn(cmd), self.store.turn() as turn:
            return self._decide_and_append(cmd, digest, stamp, turn)

    def _decide_and_append(
        self, cmd: AnyCommand, digest: bytes, stamp: Stamp, turn: Turn
    ) -> CommandResult:
        """The retry loop: decide on the cached states, append, and on a lost race wait
        for the command's turn at its streams, catch up and decide again."""
        uow = self.uow
        for attempt in range(MAX_ATTEMPTS):
            try:
                decision = handle(uow, cmd, stamp)
            except RuleViolation as violation:
                if attempt == 0:
                    # The cached state may be behind another process's writes: decide
                    # once more on fresh state before telling the user no.
                    uow.evict(uow.streams_of(cmd))
                    continue
                return self._reject_unless_repeated(cmd, digest, violation.violation)
            except CommandRejected as rejected:
                return self._reject_unless_repeated(cmd, digest, *rejected.violations)
            stored = self.mapper.to_stored_events(decision.events)
            try:
                appended = self.store.append(
                    stored,
                    command=CommandRecord(cmd.command_id, cmd.command, digest),
                    expected=decision.expected,
                )
            except CommandIdConflict:
                return self._repeat(cmd, digest)
            except StreamConflict:
                # Another writer got there first: wait for this command's turn at the
                # streams (held until it is answered, so it cannot lose again), catch up
                # with what was written and decide again. A store without turns: a random
                # pause that grows with each lost race.
                streams = {*decision.expected, *(e.originator_id for e in decision.events)}
                if not turn.lost_race(streams):
                    pause = min(MAX_BACKOFF_SECONDS, 0.0005 * 2**attempt)
                    time.sleep(random.uniform(0, pause))  # noqa: S311 - jitter, not secrecy
                uow.catch_up(decision.expected)
                continue
            except BaseException:
                uow.evict(decision.expected)
                raise
            uow.apply(decision.events)
            return _recorded(cmd, stored, appended)
        raise CommandRejected(
            cmd.command,
            [
                Violation(
                    "",
                    "contention",
                    lazy(
                        "other writers kept changing the same record; gave up after "
                        "%(MAX_ATTEMPTS)s attempts, nothing was written - send the command again",
                        MAX_ATTEMPTS=MAX_ATTEMPTS,
                    ),
                )
            ],
        )

    # --- idempotency -----------------------------------------------------------------

    def _reject_unless_repeated(
        self, cmd: AnyCommand, digest: bytes, *violations: Violation
    ) -> CommandResult:
        """A command that breaks a rule may still be a re-send of one already recorded."""
        if self.store.find_command(cmd.command_id) is not None:
            return self._repeat(cmd, digest)
        raise CommandRejected(cmd.command, list(violations))

    def _repeat(self, cmd: AnyCommand, digest: bytes) -> CommandResult:
        previous = self.store.find_command(cmd.command_id)
        if previous is None:  # pragma: no cover - the id was just seen
            msg = f"command {cmd.command_id} vanished"
            raise PersistenceError(msg)
        return self._first_outcome(cmd, digest, previous)

    def _first_outcome(
        self, cmd: AnyCommand, digest: bytes, previous: StoredCommand
    ) -> CommandResult:
        if previous.digest != digest:
            raise _reused(cmd, previous.command)
        return self.result_of(previous)

    def result_of(self, previous: StoredCommand) -> CommandResult:
        """The result a recorded command had."""
        records = self.store.select_records(
            start=previous.first_position, stop=previous.last_position
        )
        return CommandResult(
            command_id=previous.command_id,
            command=previous.command,
            recorded_at=previous.recorded_at,
            events=tuple(
                EventRef(str(r.originator_id), r.originator_version, r.id, r.topic) for r in records
            ),
            repeated=True,
        )

    # --- batches ---------------------------------------------------------------------

    def execute_many(
        self, commands: Iterable[Item], *, batch_size: int = 500
    ) -> Iterator[CommandResult | CommandRejected]:
        """Record commands in order, as an import does, and yield each one's result or
        rejection, in order.

        Each command is decided on the state the commands before it left, as if they had
        been sent one by one; the events of up to ``batch_size`` accepted commands are
        appended in one transaction (one durable commit for the batch). A batch that
        meets another writer is decided again, one command at a time."""
        batch: list[Item] = []
        for item in commands:
            batch.append(item)
            if len(batch) >= batch_size:
                yield from self._execute_batch(batch)
                batch = []
        if batch:
            yield from self._execute_batch(batch)

    def _execute_batch(self, items: list[Item]) -> list[CommandResult | CommandRejected]:
        batch = _Batch(len(items), BatchView(self.uow))
        key = self.keys.digest_key()
        parsed: list[tuple[int, AnyCommand, bytes]] = []
        for index, item in enumerate(items):
            try:
                one = item if isinstance(item, CommandBase) else parse_command(item)
            except CommandRejected as rejected:
                batch.outcomes[index] = rejected
                continue
            parsed.append((index, one, command_digest(one, key)))
        with batch.view.pairs_held(cmd for _, cmd, _ in parsed):
            return self._decide_and_append_batch(items, batch, parsed)

    def _decide_and_append_batch(
        self, items: list[Item], batch: _Batch, parsed: list[tuple[int, AnyCommand, bytes]]
    ) -> list[CommandResult | CommandRejected]:
        uow = self.uow
        view = batch.view
        known = self.store.find_commands({cmd.command_id for _, cmd, _ in parsed})
        try:
            for index, cmd, digest in parsed:
                if not self._seen_before(batch, index, cmd, digest, known.get(cmd.command_id)):
                    self._decide_in_batch(batch, index, cmd, digest)
            accepted = batch.store_decided(self.mapper)
            appended = self.store.append_batch(
                [
                    (stored, CommandRecord(cmd.command_id, cmd.command, digest))
                    for _, cmd, digest, stored in accepted
                ],
                expected={s: v for s, v in batch.read.items() if s not in view.written},
            )
        except (StreamConflict, CommandIdConflict):
            # Another writer got there first: decide again, one command at a time (the
            # pairs the batch changed in place are read again).
            uow.evict([*batch.read, *view.written])
            return [
                outcome if outcome is not None else self._outcome(items[index])
                for index, outcome in enumerate(batch.outcomes)
            ]
        except BaseException:
            uow.evict([*batch.read, *view.written])
            raise
        for (index, cmd, _, stored), landed in zip(accepted, appended, strict=True):
            batch.outcomes[index] = _recorded(cmd, stored, landed)
        uow.publish(view.written.values())
        uow.snapshot_grown((s for *_, stored in accepted for s in stored), view.written)
        return batch.finish()

    def _seen_before(
        self,
        batch: _Batch,
        index: int,
        cmd: AnyCommand,
        digest: bytes,
        stored: StoredCommand | None,
    ) -> bool:
        """Settle a command whose id the record (or this batch) has seen already."""
        earlier = batch.first.get(cmd.command_id)
        if stored is not None:
            try:
                batch.outcomes[index] = self._first_outcome(cmd, digest, stored)
            except CommandRejected as rejected:
                batch.outcomes[index] = rejected
            return True
        if earlier is not None:
            if earlier[1] == digest:
                batch.again.append((index, earlier[0]))
            else:
                batch.outcomes[index] = _reused(cmd, cmd.command)
            return True
        batch.first[cmd.command_id] = (index, digest)
        return False

    def _decide_in_batch(self, batch: _Batch, index: int, cmd: AnyCommand, digest: bytes) -> None:
        """Decide one command of a batch on the state the ones before it left."""
        view = batch.view
        try:
            decision = handle(view, cmd, self.stamp(cmd))
        except (RuleViolation, CommandRejected) as exc:
            batch.outcomes[index] = _rejected(cmd, exc)
            # The rejection stands only if what it was decided on is still current when
            # the batch is appended.
            for stream in self.uow.streams_of(cmd):
                batch.read.setdefault(stream, view.version(stream))
            return
        for stream, version in decision.expected.items():
            batch.read.setdefault(stream, version)
        view.apply(decision.events)
        batch.decided.append((index, cmd, digest, decision.events))

    def _outcome(self, item: Item) -> CommandResult | CommandRejected:
        try:
            return self.execute(item)
        except CommandRejected as rejected:
            return rejected


@dataclass
class _Batch:
    """What an import batch has decided so far."""

    size: int
    view: BatchView
    """The states the batch decides on (its own, until it was appended)."""
    outcomes: list[CommandResult | CommandRejected | None] = field(default_factory=list)
    read: dict[str, int] = field(default_factory=dict)
    """Every stream consulted, and its version before the batch."""
    decided: list[tuple[int, AnyCommand, bytes, list[DomainEvent]]] = field(default_factory=list)
    """The accepted commands and their events, as decided (not stored yet)."""
    first: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    """Each command id's first index and digest in the batch."""
    again: list[tuple[int, int]] = field(default_factory=list)
    """(index, index of the same command earlier in the batch)."""

    def __post_init__(self) -> None:
        self.outcomes = [None] * self.size

    def store_decided(
        self, mapper: EventMapper
    ) -> list[tuple[int, AnyCommand, bytes, list[StoredEvent]]]:
        """The accepted commands with their events as stored, converted in one go: the
        keys of everyone their texts are about are created and read at once."""
        stored = iter(mapper.to_stored_events([e for *_, events in self.decided for e in events]))
        return [
            (index, cmd, digest, list(itertools.islice(stored, len(events))))
            for index, cmd, digest, events in self.decided
        ]

    def finish(self) -> list[CommandResult | CommandRejected]:
        for index, earlier in self.again:
            first = self.outcomes[earlier]
            self.outcomes[index] = (
                dataclasses.replace(first, repeated=True)
                if isinstance(first, CommandResult)
                else first
            )
        return [outcome for outcome in self.outcomes if outcome is not None]
