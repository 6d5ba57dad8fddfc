"""The PeerLog application: commands in, events out.

Every command is handled the same way: load the aggregates it needs (from an
in-process cache, a snapshot, or their events), let the domain decide which events
it causes, and append those events together with the command in one transaction.
The append checks that no aggregate the command read has moved on; if another
writer got there first, the command is decided again on fresh state (a bounded
number of times). A command whose id was recorded before returns its first result.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Final, TypeVar, cast

import msgspec
from eventsourcing.application import Application
from eventsourcing.persistence import (
    AggregateRecorder,
    IntegrityError,
    PersistenceError,
    StoredEvent,
)
from pydantic import BaseModel, ValidationError

from peerlog.commands import (
    AddGoal,
    AssessGoal,
    AssignCoordinator,
    AssignSupervisor,
    CloseSession,
    Command,
    CommandBase,
    CorrectEntry,
    DissolvePair,
    EnrollStudent,
    FeedbackChangesInput,
    ForgetPerson,
    FormPair,
    GiveFeedback,
    GoalInput,
    OpenCourse,
    OpenSession,
    RecordReflection,
    RecordStep,
    ReflectionChangesInput,
    RetireGoal,
    RetractEntry,
    ReviseGoal,
    StepChangesInput,
    SwitchRoles,
    command_digest,
    future_violation,
    parse_command,
    violations_from,
)
from peerlog.domain import course as course_rules
from peerlog.domain import pair as pair_rules
from peerlog.domain.course import Course
from peerlog.domain.errors import CommandRejected, RuleViolation, Violation
from peerlog.domain.events import (
    DomainEvent,
    EntryChanges,
    FeedbackChanges,
    GoalSpec,
    ReflectionChanges,
    StepChanges,
)
from peerlog.domain.pair import Pair
from peerlog.domain.stamp import Stamp
from peerlog.domain.vocabulary import (
    COURSE_STREAM_PREFIX,
    AssessmentKind,
    FeedbackSource,
    ReflectionMode,
    Role,
    Shift,
    StepKind,
    course_stream,
    pair_stream,
)
from peerlog.folding import folding
from peerlog.persistence import chain
from peerlog.persistence.base import EventRecorder, failure_summary
from peerlog.persistence.config import DATABASE_URL, SCHEMA, ConfigurationError, store_env
from peerlog.persistence.keys import key_store_for
from peerlog.persistence.mapper import EventMapper
from peerlog.persistence.masterkey import load_master_key
from peerlog.persistence.records import (
    CommandIdConflict,
    CommandRecord,
    RecordedEvent,
    StoredCommand,
    StreamConflict,
)
from peerlog.persistence.sealing import KeyRing, TextSealer, key_cache_seconds

logger = logging.getLogger(__name__)

MAX_ATTEMPTS: Final = 40
"""How often a command is decided again when other writers keep winning the race."""
MAX_BACKOFF_SECONDS: Final = 0.05
SNAPSHOT_INTERVAL: Final = 200
"""A stream's state is snapshotted every this many events (PEERLOG_SNAPSHOT_INTERVAL)."""
STATE_CACHE_SIZE: Final = 10_000
"""How many aggregate states a process keeps in memory (PEERLOG_STATE_CACHE_SIZE): more
than the pairs and courses that are busy at once, or each command reloads its pair."""
SNAPSHOT_SCHEMA: Final = 1
"""Raise when the shape of Course or Pair changes; older snapshots are then ignored."""

State = Course | Pair
_S = TypeVar("_S", Course, Pair)


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


@dataclass(frozen=True)
class Decision:
    """The events a command causes, and the versions of the aggregates it read."""

    events: list[DomainEvent]
    expected: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of checking the stored record's hash chains and command log."""

    streams: int
    events: int
    problems: tuple[chain.Problem, ...]
    heads: dict[str, str]

    @property
    def verified(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> chain.Problem | None:
        if not self.problems:
            return None
        return min(
            self.problems,
            key=lambda p: p.position if p.position is not None else 1 << 62,
        )

    @property
    def digest(self) -> str:
        return chain.heads_digest(self.heads)


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
        msg = f"{name} is a whole number above zero, not {value!r}"
        raise ConfigurationError(msg)
    return number


class _StateCache:
    """The latest known state of recently used aggregates, least recently used first out."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._states: OrderedDict[str, State] = OrderedDict()

    def get(self, stream: str) -> State | None:
        state = self._states.get(stream)
        if state is not None:
            self._states.move_to_end(stream)
        return state

    def put(self, stream: str, state: State) -> None:
        self._states[stream] = state
        self._states.move_to_end(stream)
        while len(self._states) > self.size:
            self._states.popitem(last=False)

    def evict(self, streams: Iterable[str]) -> None:
        for stream in streams:
            self._states.pop(stream, None)


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
        self.clock = clock
        recorder = self.recorder
        if not isinstance(recorder, EventRecorder):
            msg = f"{type(recorder).__name__} does not keep commands and hash chains"
            raise TypeError(msg)
        self.store: EventRecorder = recorder
        self.snapshot_recorder: AggregateRecorder = self.factory.aggregate_recorder("snapshots")
        self._lock = threading.RLock()
        self._cache = _StateCache(self.state_cache_size)
        self._state_encoder = msgspec.json.Encoder()
        self._state_decoders: dict[type[State], msgspec.json.Decoder[Any]] = {
            Course: msgspec.json.Decoder(Course),
            Pair: msgspec.json.Decoder(Pair),
        }

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

    # --- commands --------------------------------------------------------------------

    def execute(self, command: Command | Mapping[str, Any] | str | bytes) -> CommandResult:
        """Validate and record one command; raise :class:`CommandRejected` if it breaks a rule."""
        cmd: Command = command if isinstance(command, CommandBase) else parse_command(command)
        return self._execute(cmd)

    def execute_many(
        self,
        commands: Iterable[Command | Mapping[str, Any] | str | bytes],
        *,
        batch_size: int = 500,
    ) -> Iterator[CommandResult | CommandRejected]:
        """Record commands in order, as an import does, and yield each one's result or
        rejection, in order.

        Each command is decided on the state the commands before it left, as if they had
        been sent one by one; the events of up to ``batch_size`` accepted commands are
        appended in one transaction (one durable commit for the batch). A batch that
        meets another writer is decided again, one command at a time."""
        batch: list[Command | Mapping[str, Any] | str | bytes] = []
        for item in commands:
            batch.append(item)
            if len(batch) >= batch_size:
                yield from self._execute_batch(batch)
                batch = []
        if batch:
            yield from self._execute_batch(batch)

    def _execute_batch(
        self, items: list[Command | Mapping[str, Any] | str | bytes]
    ) -> list[CommandResult | CommandRejected]:
        batch = _Batch(len(items))
        key = self.keys.digest_key()
        parsed: list[tuple[int, Command, bytes]] = []
        for index, item in enumerate(items):
            try:
                cmd = item if isinstance(item, CommandBase) else parse_command(item)
            except CommandRejected as rejected:
                batch.outcomes[index] = rejected
                continue
            parsed.append((index, cmd, command_digest(cmd, key)))
        with self._lock:
            known = self.store.find_commands({cmd.command_id for _, cmd, _ in parsed})
            try:
                for index, cmd, digest in parsed:
                    if not batch.seen_before(index, cmd, digest, known.get(cmd.command_id), self):
                        self._decide_in_batch(batch, index, cmd, digest)
                appended = self.store.append_batch(
                    [
                        (stored, CommandRecord(cmd.command_id, cmd.command, digest))
                        for _, cmd, digest, stored in batch.accepted
                    ],
                    expected={s: v for s, v in batch.read.items() if s not in batch.written},
                )
            except (StreamConflict, CommandIdConflict):
                # Another writer got there first: decide again, one command at a time.
                self._cache.evict([*batch.read, *batch.written])
                return [
                    outcome if outcome is not None else self._outcome(items[index])
                    for index, outcome in enumerate(batch.outcomes)
                ]
            except BaseException:
                self._cache.evict([*batch.read, *batch.written])
                raise
            for (index, cmd, _, stored), landed in zip(batch.accepted, appended, strict=True):
                batch.outcomes[index] = CommandResult(
                    command_id=cmd.command_id,
                    command=cmd.command,
                    recorded_at=landed[0].recorded_at,
                    events=tuple(
                        EventRef(str(s.originator_id), s.originator_version, a.position, s.topic)
                        for s, a in zip(stored, landed, strict=True)
                    ),
                )
            self._snapshot_after_batch(batch.accepted)
        return batch.finish()

    def _decide_in_batch(self, batch: _Batch, index: int, cmd: Command, digest: bytes) -> None:
        """Decide one command of a batch on the state the ones before it left."""
        try:
            decision = self._decide(cmd, self._stamp(cmd))
        except (RuleViolation, CommandRejected) as exc:
            batch.outcomes[index] = (
                exc
                if isinstance(exc, CommandRejected)
                else CommandRejected(cmd.command, [exc.violation])
            )
            # The rejection stands only if what it was decided on is still current when
            # the batch is appended.
            for stream in self._streams_of(cmd):
                state = self._cache.get(stream)
                batch.read.setdefault(stream, state.version if state is not None else 0)
            return
        for stream, version in decision.expected.items():
            batch.read.setdefault(stream, version)
        self._apply(decision.events, snapshot=False)
        batch.written.update(e.originator_id for e in decision.events)
        stored = [self.mapper.to_stored_event(e) for e in decision.events]
        batch.accepted.append((index, cmd, digest, stored))

    def _outcome(
        self, item: Command | Mapping[str, Any] | str | bytes
    ) -> CommandResult | CommandRejected:
        try:
            return self.execute(item)
        except CommandRejected as rejected:
            return rejected

    def _stamp(self, cmd: Command) -> Stamp:
        now = self.clock()
        occurred_at = cmd.occurred_at or now
        ahead = future_violation(occurred_at, now)
        if ahead is not None:
            raise RuleViolation(ahead.field, ahead.rule, ahead.message)
        return Stamp(cmd.command_id, cmd.actor, occurred_at)

    def _snapshot_after_batch(
        self, accepted: list[tuple[int, Command, bytes, list[StoredEvent]]]
    ) -> None:
        grown: dict[str, tuple[int, int]] = {}
        for _, _, _, stored in accepted:
            for s in stored:
                low, _ = grown.get(str(s.originator_id), (s.originator_version, 0))
                grown[str(s.originator_id)] = (low, s.originator_version)
        for stream, (low, high) in grown.items():
            if (low - 1) // self.snapshot_interval != high // self.snapshot_interval:
                state = self._cache.get(stream)
                if state is not None:
                    self._write_snapshot(state)

    def _execute(self, cmd: Command | ForgetPerson) -> CommandResult:
        digest = command_digest(cmd, self.keys.digest_key())
        now = self.clock()
        occurred_at = cmd.occurred_at or now
        ahead = future_violation(occurred_at, now)
        if ahead is not None:
            return self._reject_unless_repeated(cmd, digest, ahead)
        stamp = Stamp(cmd.command_id, cmd.actor, occurred_at)
        with self._lock:
            for attempt in range(MAX_ATTEMPTS):
                try:
                    decision = self._decide(cmd, stamp)
                except RuleViolation as violation:
                    if attempt == 0:
                        # The cached state may be behind another process's writes: decide
                        # once more on fresh state before telling the user no.
                        self._cache.evict(self._streams_of(cmd))
                        continue
                    return self._reject_unless_repeated(cmd, digest, violation.violation)
                except CommandRejected as rejected:
                    return self._reject_unless_repeated(cmd, digest, *rejected.violations)
                stored = [self.mapper.to_stored_event(e) for e in decision.events]
                try:
                    appended = self.store.append(
                        stored,
                        command=CommandRecord(cmd.command_id, cmd.command, digest),
                        expected=decision.expected,
                    )
                except CommandIdConflict:
                    return self._repeat(cmd, digest)
                except StreamConflict:
                    # Another writer got there first: catch up with what it wrote and decide
                    # again, after a random pause that grows with each lost race.
                    self._catch_up(decision.expected)
                    pause = min(MAX_BACKOFF_SECONDS, 0.0005 * 2**attempt)
                    time.sleep(random.uniform(0, pause))  # noqa: S311 - jitter, not secrecy
                    continue
                except BaseException:
                    self._cache.evict(decision.expected)
                    raise
                self._apply(decision.events)
                return CommandResult(
                    command_id=cmd.command_id,
                    command=cmd.command,
                    recorded_at=appended[0].recorded_at,
                    events=tuple(
                        EventRef(str(s.originator_id), s.originator_version, a.position, s.topic)
                        for s, a in zip(stored, appended, strict=True)
                    ),
                )
        raise CommandRejected(
            cmd.command,
            [
                Violation(
                    "",
                    "contention",
                    f"other writers kept changing the same record; gave up after {MAX_ATTEMPTS} "
                    "attempts, nothing was written - send the command again",
                )
            ],
        )

    def _reject_unless_repeated(
        self, cmd: Command | ForgetPerson, digest: bytes, *violations: Violation
    ) -> CommandResult:
        """A command that breaks a rule may still be a re-send of one already recorded."""
        if self.store.find_command(cmd.command_id) is not None:
            return self._repeat(cmd, digest)
        raise CommandRejected(cmd.command, list(violations))

    def _repeat(self, cmd: Command | ForgetPerson, digest: bytes) -> CommandResult:
        previous = self.store.find_command(cmd.command_id)
        if previous is None:  # pragma: no cover - the id was just seen
            msg = f"command {cmd.command_id} vanished"
            raise PersistenceError(msg)
        if previous.digest != digest:
            raise CommandRejected(
                cmd.command,
                [
                    Violation(
                        "command_id",
                        "command_id_reused",
                        f"'{cmd.command_id}' was already used for a different "
                        f"{previous.command} command; give each command its own id",
                    )
                ],
            )
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

    def _streams_of(self, cmd: Command | ForgetPerson) -> list[str]:
        if isinstance(cmd, ForgetPerson):
            return self._course_streams()
        streams = []
        course_id = getattr(cmd, "course_id", None)
        if course_id is not None:
            streams.append(course_stream(course_id))
        pair_id = getattr(cmd, "pair_id", None)
        if pair_id is not None:
            streams.append(pair_stream(pair_id))
        return streams

    def _decide(self, cmd: Command | ForgetPerson, stamp: Stamp) -> Decision:
        self._require_not_forgotten_anywhere(cmd)
        if isinstance(cmd, ForgetPerson):
            courses = [
                self._course(s.removeprefix(COURSE_STREAM_PREFIX)) for s in self._course_streams()
            ]
            events = course_rules.forget_person_everywhere(courses, stamp, person_id=cmd.person_id)
            # Every course was read to find where the person is known: none may move on.
            return Decision(events, {course.id: course.version for course in courses})
        if isinstance(cmd, OpenCourse):
            stream = course_stream(cmd.course_id)
            events = course_rules.open_course(
                self._load(stream, Course),
                stamp,
                course_id=cmd.course_id,
                title=cmd.title,
                starts_on=cmd.starts_on,
                ends_on=cmd.ends_on,
                scale=cmd.scale,
                pass_level=cmd.pass_level,
                goals=[_goal_spec(g) for g in cmd.goals],
                time_zone=cmd.time_zone,
            )
            return Decision(events, {stream: 0})
        if isinstance(cmd, FormPair):
            course = self._course(cmd.course_id)
            stream = pair_stream(cmd.pair_id)
            existing = self._load(stream, Pair)
            events = pair_rules.form_pair(
                course,
                existing,
                stamp,
                pair_id=cmd.pair_id,
                students=cmd.students,
                supervisors=cmd.supervisors,
                unit=cmd.unit,
            )
            return Decision(events, {course.id: course.version, stream: 0})
        if isinstance(cmd, AddGoal | ReviseGoal | RetireGoal | EnrollStudent):
            course = self._course(cmd.course_id)
            return Decision(self._decide_course(course, cmd, stamp), {course.id: course.version})
        if isinstance(cmd, AssignSupervisor | AssignCoordinator):
            course = self._course(cmd.course_id)
            return Decision(self._decide_course(course, cmd, stamp), {course.id: course.version})
        pair = pair_rules.require_pair(self._load(pair_stream(cmd.pair_id), Pair), cmd.pair_id)
        course = self._course(pair.course_id)
        expected = {pair.id: pair.version, course.id: course.version}
        return Decision(self._decide_pair(pair, course, cmd, stamp), expected)

    @staticmethod
    def _decide_course(
        course: Course,
        cmd: AddGoal
        | ReviseGoal
        | RetireGoal
        | EnrollStudent
        | AssignSupervisor
        | AssignCoordinator,
        stamp: Stamp,
    ) -> list[DomainEvent]:
        if isinstance(cmd, AddGoal):
            return course_rules.add_goal(
                course,
                stamp,
                goal_id=cmd.goal_id,
                title=cmd.title,
                area=cmd.area,
                description=cmd.description,
            )
        if isinstance(cmd, ReviseGoal):
            return course_rules.revise_goal(
                course,
                stamp,
                goal_id=cmd.goal_id,
                title=cmd.title,
                area=cmd.area,
                description=cmd.description,
            )
        if isinstance(cmd, RetireGoal):
            return course_rules.retire_goal(course, stamp, goal_id=cmd.goal_id, reason=cmd.reason)
        if isinstance(cmd, EnrollStudent):
            return course_rules.enroll_student(
                course, stamp, student_id=cmd.student_id, display_name=cmd.display_name
            )
        if isinstance(cmd, AssignSupervisor):
            return course_rules.assign_supervisor(
                course, stamp, supervisor_id=cmd.supervisor_id, display_name=cmd.display_name
            )
        return course_rules.assign_coordinator(
            course, stamp, coordinator_id=cmd.coordinator_id, display_name=cmd.display_name
        )

    @staticmethod
    def _decide_pair(  # noqa: C901, PLR0911
        pair: Pair, course: Course, cmd: Command, stamp: Stamp
    ) -> list[DomainEvent]:
        if isinstance(cmd, OpenSession):
            return pair_rules.open_session(
                pair,
                course,
                stamp,
                session_id=cmd.session_id,
                roles=cmd.roles,
                shift=cmd.shift,
                plan=cmd.plan,
            )
        if isinstance(cmd, SwitchRoles):
            return pair_rules.switch_roles(
                pair, course, stamp, session_id=cmd.session_id, roles=cmd.roles, reason=cmd.reason
            )
        if isinstance(cmd, RecordStep):
            return pair_rules.record_step(
                pair,
                course,
                stamp,
                session_id=cmd.session_id,
                step_id=cmd.step_id,
                kind=cmd.kind,
                performers=cmd.performers,
                observers=cmd.observers,
                goals=cmd.goals,
                note=cmd.note,
            )
        if isinstance(cmd, GiveFeedback):
            return pair_rules.give_feedback(
                pair,
                course,
                stamp,
                feedback_id=cmd.feedback_id,
                giver=cmd.giver,
                receiver=cmd.receiver,
                source=cmd.source,
                goals=cmd.goals,
                strengths=cmd.strengths,
                improvements=cmd.improvements,
                session_id=cmd.session_id,
            )
        if isinstance(cmd, RecordReflection):
            return pair_rules.record_reflection(
                pair,
                course,
                stamp,
                reflection_id=cmd.reflection_id,
                authors=cmd.authors,
                mode=cmd.mode,
                stages={str(stage): text for stage, text in cmd.stages.items()},
                goals=cmd.goals,
                session_id=cmd.session_id,
            )
        if isinstance(cmd, AssessGoal):
            return pair_rules.assess_goal(
                pair,
                course,
                stamp,
                student_id=cmd.student_id,
                goal_id=cmd.goal_id,
                level=cmd.level,
                kind=cmd.kind,
                comment=cmd.comment,
            )
        if isinstance(cmd, CloseSession):
            return pair_rules.close_session(
                pair, course, stamp, session_id=cmd.session_id, summary=cmd.summary
            )
        if isinstance(cmd, CorrectEntry):
            entry = pair_rules.require_entry(pair, cmd.entry_id)
            changes = parse_changes(entry.kind_name, cmd.command, cmd.changes)
            return pair_rules.correct_entry(
                pair, course, stamp, entry_id=cmd.entry_id, changes=changes, reason=cmd.reason
            )
        if isinstance(cmd, RetractEntry):
            return pair_rules.retract_entry(
                pair, course, stamp, entry_id=cmd.entry_id, reason=cmd.reason
            )
        if isinstance(cmd, DissolvePair):
            return pair_rules.dissolve_pair(pair, course, stamp, reason=cmd.reason)
        msg = f"{type(cmd).__name__} is not a pair command"
        raise TypeError(msg)

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
        cmd = cast("ForgetPerson", _build(ForgetPerson, locals()))
        try:
            result = self._execute(cmd)
        except CommandRejected as rejected:
            if rejected.rule == "already_forgotten":
                self.keys.destroy(person_id, self.clock())
            raise
        self.keys.destroy(person_id, result.recorded_at)
        return result

    def check_forget(self, person_id: str, *, actor: str) -> None:
        """Raise :class:`CommandRejected` if ``actor`` may not forget ``person_id`` now
        (an unknown person, an actor who is not a coordinator of each of their courses,
        someone already forgotten), as :meth:`forget` would; records nothing."""
        cmd = cast(
            "ForgetPerson",
            _build(ForgetPerson, {"person_id": person_id, "actor": actor, "command_id": "check"}),
        )
        stamp = Stamp(cmd.command_id, cmd.actor, self.clock())
        with self._lock:
            self._cache.evict(self._course_streams())
            try:
                self._decide(cmd, stamp)
            except RuleViolation as violation:
                raise CommandRejected(cmd.command, [violation.violation]) from None

    def history(self, stream: str) -> list[DomainEvent]:
        """A stream's events in order, personal texts opened (or marked erased)."""
        mapper = self.event_mapper
        with folding():
            return mapper.open_many(
                mapper.decode(stored.topic, stored.state)
                for stored in self.store.select_events(stream)
            )

    def _course_streams(self) -> list[str]:
        return [s for s in self.store.select_streams() if s.startswith(COURSE_STREAM_PREFIX)]

    def _require_not_forgotten_anywhere(self, cmd: Command | ForgetPerson) -> None:
        """The id of someone forgotten (in any course) is not brought into a course again."""
        named: list[tuple[str, str]] = []
        if isinstance(cmd, OpenCourse):
            named = [("actor", cmd.actor)]
        elif isinstance(cmd, EnrollStudent):
            named = [("student_id", cmd.student_id)]
        elif isinstance(cmd, AssignSupervisor):
            named = [("supervisor_id", cmd.supervisor_id)]
        elif isinstance(cmd, AssignCoordinator):
            named = [("coordinator_id", cmd.coordinator_id)]
        if not named:
            return
        forgotten = self.keys.forgotten([person for _, person in named])
        for field_name, person in named:
            if person in forgotten:
                raise RuleViolation(
                    field_name,
                    "person_forgotten",
                    f"'{person}' was forgotten: their personal data was erased, and the id "
                    "of someone forgotten is not used again; give the person a new id",
                )

    # --- state -----------------------------------------------------------------------

    def _course(self, course_id: str) -> Course:
        return course_rules.require_course(self._load(course_stream(course_id), Course), course_id)

    def _load(self, stream: str, kind: type[_S]) -> _S | None:
        cached = self._cache.get(stream)
        if cached is not None:
            if not isinstance(cached, kind):  # pragma: no cover - streams are typed by prefix
                msg = f"{stream} holds a {type(cached).__name__}"
                raise TypeError(msg)
            return cached
        state = self._read_snapshot(stream, kind)
        evolve = _evolver(stream)
        after = state.version if state is not None else None
        for stored in self.store.select_events(stream, gt=after):
            state = cast("_S", evolve(state, self.event_mapper.decode(stored.topic, stored.state)))
        if state is not None:
            self._cache.put(stream, state)
        return state

    def _catch_up(self, streams: Iterable[str]) -> None:
        """Bring cached states up to date with events other writers have appended."""
        for stream in streams:
            state = self._cache.get(stream)
            if state is None:
                continue
            evolve = _evolver(stream)
            for stored in self.store.select_events(stream, gt=state.version):
                state = evolve(state, self.event_mapper.decode(stored.topic, stored.state))
            self._cache.put(stream, state)

    def state_at(self, stream: str, version: int) -> State | None:
        """The state of an aggregate as it was at ``version`` (for tests and replay)."""
        evolve = _evolver(stream)
        state: State | None = None
        with folding():
            for stored in self.store.select_events(stream, lte=version):
                state = evolve(state, self.event_mapper.decode(stored.topic, stored.state))
        return state

    def _read_snapshot(self, stream: str, kind: type[_S]) -> _S | None:
        snapshots = self.snapshot_recorder.select_events(stream, desc=True, limit=1)
        if not snapshots or snapshots[0].topic != _snapshot_topic(kind):
            return None
        try:
            return cast("_S", self._state_decoders[kind].decode(snapshots[0].state))
        except msgspec.DecodeError:
            logger.warning("ignoring an unreadable snapshot of %s", stream)
            return None

    def _apply(self, events: list[DomainEvent], *, snapshot: bool = True) -> None:
        """Bring cached states up to date with events just recorded, and snapshot
        streams that have grown past the next interval."""
        for event in events:
            stream = event.originator_id
            state = self._cache.get(stream)
            known = state.version if state is not None else 0
            if known != event.originator_version - 1:
                # Not cached (or cached behind): it is loaded from the store when next used.
                self._cache.evict([stream])
                continue
            state = _evolver(stream)(state, event)
            self._cache.put(stream, state)
            if snapshot and state.version % self.snapshot_interval == 0:
                self._write_snapshot(state)

    def _write_snapshot(self, state: State) -> None:
        try:
            self.snapshot_recorder.insert_events(
                [
                    StoredEvent(
                        originator_id=state.id,
                        originator_version=state.version,
                        topic=_snapshot_topic(type(state)),
                        state=self._state_encoder.encode(state),
                    )
                ]
            )
        except IntegrityError:
            pass  # another writer stored this snapshot first
        except PersistenceError as exc:
            # A missing snapshot only makes the next load slower; the command is recorded.
            logger.warning(
                "could not store a snapshot of %s (%s); what was recorded is kept, and the "
                "stream is read from its events instead",
                state.id,
                failure_summary(exc),
            )

    def take_snapshot(self, stream: str) -> None:  # type: ignore[override]
        """Store a snapshot of an aggregate's current state."""
        state: State | None = (
            self._load(stream, Course)
            if stream.startswith(COURSE_STREAM_PREFIX)
            else self._load(stream, Pair)
        )
        if state is not None:
            self._write_snapshot(state)

    def forget_cached_state(self) -> None:
        """Drop every cached aggregate state (they are reloaded from the store on use)."""
        self._cache = _StateCache(self.state_cache_size)

    # --- integrity -------------------------------------------------------------------

    def verify(self, pair_id: str | None = None) -> VerifyReport:
        """Check the hash chains (of one pair, or of every stream and the command log)."""
        streams = [pair_stream(pair_id)] if pair_id is not None else self.store.select_streams()
        problems: list[chain.Problem] = []
        heads: dict[str, str] = {}
        total = 0
        for stream in streams:
            records = self.store.select_records(stream)
            count, head, problem = chain.check_stream(records)
            total += count
            heads[stream] = head.hex()
            if problem is not None:
                problems.append(problem)
        if pair_id is None:
            problems.extend(
                chain.check_positions(self.store.select_commands(), self.store.select_positions())
            )
        return VerifyReport(len(streams), total, tuple(problems), heads)

    def records(self, stream: str) -> list[RecordedEvent]:
        """A stream's stored events with positions, times and chain links."""
        return self.store.select_records(stream)

    # --- typed commands --------------------------------------------------------------
    # One method per command, with the contract's fields as keyword arguments.

    def _call(self, model: type[CommandBase], arguments: Mapping[str, Any]) -> CommandResult:
        return self.execute(cast("Command", _build(model, arguments)))

    def open_course(
        self,
        *,
        command_id: str,
        actor: str,
        course_id: str,
        title: str,
        starts_on: date,
        ends_on: date,
        scale: list[str],
        pass_level: str,
        goals: list[dict[str, str]] | list[GoalInput],
        occurred_at: datetime | None = None,
        time_zone: str | None = None,
    ) -> CommandResult:
        return self._call(OpenCourse, locals())

    def add_goal(
        self,
        *,
        command_id: str,
        actor: str,
        course_id: str,
        goal_id: str,
        title: str,
        area: str | None = None,
        description: str | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        return self._call(AddGoal, locals())

    def revise_goal(
        self,
        *,
        command_id: str,
        actor: str,
        course_id: str,
        goal_id: str,
        title: str | None = None,
        area: str | None = None,
        description: str | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        return self._call(ReviseGoal, locals())

    def retire_goal(
        self,
        *,
        command_id: str,
        actor: str,
        course_id: str,
        goal_id: str,
        reason: str,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        return self._call(RetireGoal, locals())

    def enroll_student(
        self,
        *,
        command_id: str,
        actor: str,
        course_id: str,
        student_id: str,
        display_name: str | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        return self._call(EnrollStudent, locals())

    def assign_supervisor(
        self,
        *,
        command_id: str,
        actor: str,
        course_id: str,
        supervisor_id: str,
        display_name: str | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        return self._call(AssignSupervisor, locals())

    def assign_coordinator(
        self,
        *,
        command_id: str,
        actor: str,
        course_id: str,
        coordinator_id: str,
        display_name: str | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        return self._call(AssignCoordinator, locals())

    def form_pair(
        self,
        *,
        command_id: str,
        actor: str,
        course_id: str,
        pair_id: str,
        students: list[str],
        supervisors: list[str],
        unit: str | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        return self._call(FormPair, locals())

    def open_session(
        self,
        *,
        command_id: str,
        actor: str,
        pair_id: str,
        session_id: str,
        roles: dict[str, Role],
        shift: Shift | None = None,
        plan: str | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        return self._call(OpenSession, locals())

    def switch_roles(
        self,
        *,
        command_id: str,
        actor: str,
        pair_id: str,
        session_id: str,
        roles: dict[str, Role],
        reason: str | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        return self._call(SwitchRoles, locals())

    def record_step(
        self,
        *,
        command_id: str,
        actor: str,
        pair_id: str,
        session_id: str,
        step_id: str,
        kind: StepKind,
        performers: list[str],
        observers: list[str],
        goals: list[str],
        note: str | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        return self._call(RecordStep, locals())

    def give_feedback(
        self,
        *,
        command_id: str,
        actor: str,
        pair_id: str,
        feedback_id: str,
        giver: str,
        receiver: str,
        source: FeedbackSource,
        goals: list[str],
        strengths: str,
        improvements: str,
        session_id: str | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        return self._call(GiveFeedback, locals())

    def record_reflection(
        self,
        *,
        command_id: str,
        actor: str,
        pair_id: str,
        reflection_id: str,
        authors: list[str],
        mode: ReflectionMode,
        stages: dict[str, str],
        goals: list[str],
        session_id: str | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        return self._call(RecordReflection, locals())

    def assess_goal(
        self,
        *,
        command_id: str,
        actor: str,
        pair_id: str,
        student_id: str,
        goal_id: str,
        level: str,
        kind: AssessmentKind,
        comment: str | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        return self._call(AssessGoal, locals())

    def close_session(
        self,
        *,
        command_id: str,
        actor: str,
        pair_id: str,
        session_id: str,
        summary: str | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        return self._call(CloseSession, locals())

    def correct_entry(
        self,
        *,
        command_id: str,
        actor: str,
        pair_id: str,
        entry_id: str,
        changes: dict[str, Any],
        reason: str,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        return self._call(CorrectEntry, locals())

    def retract_entry(
        self,
        *,
        command_id: str,
        actor: str,
        pair_id: str,
        entry_id: str,
        reason: str,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        return self._call(RetractEntry, locals())

    def dissolve_pair(
        self,
        *,
        command_id: str,
        actor: str,
        pair_id: str,
        reason: str,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        return self._call(DissolvePair, locals())


def _build(model: type[CommandBase], arguments: Mapping[str, Any]) -> CommandBase:
    """Validate a command built from a method's arguments, as if it had come from outside.

    Arguments left at ``None`` are left out, so that they count as not given."""
    given = {k: v for k, v in arguments.items() if k != "self" and v is not None}
    name = str(model.model_fields["command"].default)
    try:
        return model.model_validate(given)
    except ValidationError as exc:
        raise CommandRejected(name, violations_from(exc, strip_tag=False)) from None


def _goal_spec(goal: GoalInput) -> GoalSpec:
    return GoalSpec(
        goal_id=goal.goal_id, title=goal.title, area=goal.area, description=goal.description
    )


_CHANGES_INPUT: Final[dict[str, type[BaseModel]]] = {
    "step": StepChangesInput,
    "feedback": FeedbackChangesInput,
    "reflection": ReflectionChangesInput,
}
_CHANGES: Final[dict[str, type[EntryChanges]]] = {
    "step": StepChanges,
    "feedback": FeedbackChanges,
    "reflection": ReflectionChanges,
}


def parse_changes(kind: str, command: str, raw: Mapping[str, Any]) -> EntryChanges:
    """Check a correction's ``changes`` against the fields of the entry's kind."""
    try:
        checked = _CHANGES_INPUT[kind].model_validate(dict(raw))
    except ValidationError as exc:
        violations = [
            Violation(f"changes.{v.field}", v.rule, v.message)
            if v.rule != "extra_forbidden"
            else Violation(
                f"changes.{v.field}",
                "not_changeable",
                f"is not a field a correction can change in a {kind}",
            )
            for v in violations_from(exc, strip_tag=False)
        ]
        raise CommandRejected(command, violations) from None
    values = checked.model_dump(exclude_none=True)
    for key in ("performers", "observers", "goals", "authors"):
        if key in values:
            values[key] = tuple(values[key])
    return msgspec.convert(values, _CHANGES[kind])


def _evolver(stream: str) -> Callable[[Any, DomainEvent], State]:
    if stream.startswith(COURSE_STREAM_PREFIX):
        return course_rules.evolve
    return pair_rules.evolve


def _snapshot_topic(kind: type[State]) -> str:
    return f"{kind.__name__}#{SNAPSHOT_SCHEMA}"


def _reused(cmd: Command | ForgetPerson, first_command: str) -> CommandRejected:
    return CommandRejected(
        cmd.command,
        [
            Violation(
                "command_id",
                "command_id_reused",
                f"'{cmd.command_id}' was already used for a different {first_command} "
                "command; give each command its own id",
            )
        ],
    )


@dataclass
class _Batch:
    """What an import batch has decided so far."""

    size: int
    outcomes: list[CommandResult | CommandRejected | None] = field(default_factory=list)
    read: dict[str, int] = field(default_factory=dict)
    """Every stream consulted, and its version before the batch."""
    written: set[str] = field(default_factory=set)
    accepted: list[tuple[int, Command, bytes, list[StoredEvent]]] = field(default_factory=list)
    first: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    """Each command id's first index and digest in the batch."""
    again: list[tuple[int, int]] = field(default_factory=list)
    """(index, index of the same command earlier in the batch)."""

    def __post_init__(self) -> None:
        self.outcomes = [None] * self.size

    def seen_before(
        self,
        index: int,
        cmd: Command,
        digest: bytes,
        stored: StoredCommand | None,
        app: PeerLog,
    ) -> bool:
        """Settle a command whose id the record (or this batch) has seen already."""
        earlier = self.first.get(cmd.command_id)
        if stored is not None:
            self.outcomes[index] = (
                app.result_of(stored) if stored.digest == digest else _reused(cmd, stored.command)
            )
            return True
        if earlier is not None:
            if earlier[1] == digest:
                self.again.append((index, earlier[0]))
            else:
                self.outcomes[index] = _reused(cmd, cmd.command)
            return True
        self.first[cmd.command_id] = (index, digest)
        return False

    def finish(self) -> list[CommandResult | CommandRejected]:
        for index, earlier in self.again:
            first = self.outcomes[earlier]
            self.outcomes[index] = (
                dataclasses.replace(first, repeated=True)
                if isinstance(first, CommandResult)
                else first
            )
        return [outcome for outcome in self.outcomes if outcome is not None]
