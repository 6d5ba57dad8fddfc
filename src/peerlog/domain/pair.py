"""The Pair aggregate: members, supervisors, sessions, roles, and the entries of the
record (steps, feedback, reflections), with assessments, corrections and retractions.

``evolve`` applies one event to the state; the ``decide`` functions check a command
against the pair (and its course) and return the events it causes, or raise
:class:`RuleViolation`. Neither reads a clock or a database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, ClassVar, Final, TypeVar

import msgspec

from peerlog.commands import (
    AcknowledgeAssessment,
    AssessGoal,
    CloseSession,
    CorrectEntry,
    DissolvePair,
    FormPair,
    GiveFeedback,
    OpenSession,
    RecordReflection,
    RecordStep,
    RetractEntry,
    SwitchRoles,
    assessment_reference,
    parse_changes,
)
from peerlog.domain.course import Course
from peerlog.domain.deciders import Deciders
from peerlog.domain.erasure import ERASED
from peerlog.domain.errors import RuleViolation
from peerlog.domain.events import (
    AssessmentAcknowledged,
    DomainEvent,
    EntryChanges,
    EntryCorrected,
    EntryRetracted,
    FeedbackChanges,
    FeedbackGiven,
    GoalAssessed,
    PairDissolved,
    PairFormed,
    ReflectionChanges,
    ReflectionRecorded,
    RolesSwitched,
    SessionClosed,
    SessionOpened,
    StepChanges,
    StepRecorded,
    StudentsPaired,
    StudentsUnpaired,
)
from peerlog.domain.stamp import Stamp
from peerlog.domain.vocabulary import (
    AssessmentKind,
    FeedbackSource,
    ReflectionMode,
    Role,
    StepKind,
    pair_stream,
)
from peerlog.i18n import lazy

_T = TypeVar("_T")

# --- state ---------------------------------------------------------------------------


class Session(msgspec.Struct, kw_only=True):
    session_id: str
    is_open: bool
    roles: dict[str, str]
    opened_at: datetime
    closed_at: datetime | None = None


class EntryBase(msgspec.Struct, kw_only=True):
    """What every entry of the record keeps for checking later commands about it."""

    entry_id: str
    actor: str
    occurred_at: datetime
    session_id: str | None = None
    retracted: bool = False
    goals: tuple[str, ...] = ()

    kind_name: ClassVar[str] = ""

    def people(self) -> tuple[str, ...]:
        """Everyone the entry is by or about."""
        raise NotImplementedError


class StepEntry(EntryBase, kw_only=True, tag="step"):
    step_kind: StepKind
    performers: tuple[str, ...]
    observers: tuple[str, ...]

    kind_name: ClassVar[str] = "step"

    def people(self) -> tuple[str, ...]:
        return self.performers + self.observers


class FeedbackEntry(EntryBase, kw_only=True, tag="feedback"):
    giver: str
    receiver: str
    source: FeedbackSource

    kind_name: ClassVar[str] = "feedback"

    def people(self) -> tuple[str, ...]:
        return (self.giver, self.receiver)


class ReflectionEntry(EntryBase, kw_only=True, tag="reflection"):
    authors: tuple[str, ...]
    mode: ReflectionMode
    stages: tuple[str, ...]
    """The Gibbs stages the reflection covers (their texts are not needed here)."""

    kind_name: ClassVar[str] = "reflection"

    def people(self) -> tuple[str, ...]:
        return self.authors


Entry = StepEntry | FeedbackEntry | ReflectionEntry


class Assessment(msgspec.Struct, kw_only=True):
    """An assessment, for checking its acknowledgement (its comment is not needed)."""

    student_id: str
    goal_id: str
    kind: AssessmentKind
    level: str
    occurred_at: datetime
    assessment_id: str | None = None
    acknowledged: bool = False


class Pair(msgspec.Struct, kw_only=True):
    id: str
    version: int
    pair_id: str
    course_id: str
    students: list[str]
    supervisors: list[str]
    unit: str | None = None
    dissolved: bool = False
    sessions: dict[str, Session] = msgspec.field(default_factory=dict)
    open_session: str | None = None
    entries: dict[str, Entry] = msgspec.field(default_factory=dict)
    assessments: dict[str, Assessment] = msgspec.field(default_factory=dict)
    """By the event reference of the assessment (``pair/p1@7``)."""
    assessment_ids: dict[str, str] = msgspec.field(default_factory=dict)
    """The event reference of each assessment given an ``assessment_id``."""


def recorded_entry(event: StepRecorded | FeedbackGiven | ReflectionRecorded) -> Entry:
    """The entry as the event that recorded it has it (before any correction)."""
    if isinstance(event, StepRecorded):
        return StepEntry(
            entry_id=event.step_id,
            actor=event.actor,
            occurred_at=event.occurred_at,
            session_id=event.session_id,
            goals=event.goals,
            step_kind=event.kind,
            performers=event.performers,
            observers=event.observers,
        )
    if isinstance(event, FeedbackGiven):
        return FeedbackEntry(
            entry_id=event.feedback_id,
            actor=event.actor,
            occurred_at=event.occurred_at,
            session_id=event.session_id,
            goals=event.goals,
            giver=event.giver,
            receiver=event.receiver,
            source=event.source,
        )
    return ReflectionEntry(
        entry_id=event.reflection_id,
        actor=event.actor,
        occurred_at=event.occurred_at,
        session_id=event.session_id,
        goals=event.goals,
        authors=event.authors,
        mode=event.mode,
        stages=tuple(event.stages),
    )


def apply_changes(entry: Entry, changes: EntryChanges) -> Entry:
    """The entry as a correction leaves it: the fields named in ``changes`` replaced."""
    if isinstance(entry, StepEntry) and isinstance(changes, StepChanges):
        return msgspec.structs.replace(
            entry,
            step_kind=changes.kind if changes.kind is not None else entry.step_kind,
            performers=_or(changes.performers, entry.performers),
            observers=_or(changes.observers, entry.observers),
            goals=_or(changes.goals, entry.goals),
        )
    if isinstance(entry, FeedbackEntry) and isinstance(changes, FeedbackChanges):
        return msgspec.structs.replace(
            entry,
            giver=_or(changes.giver, entry.giver),
            receiver=_or(changes.receiver, entry.receiver),
            source=changes.source if changes.source is not None else entry.source,
            goals=_or(changes.goals, entry.goals),
        )
    if isinstance(entry, ReflectionEntry) and isinstance(changes, ReflectionChanges):
        return msgspec.structs.replace(
            entry,
            authors=_or(changes.authors, entry.authors),
            mode=changes.mode if changes.mode is not None else entry.mode,
            stages=tuple(changes.stages) if changes.stages is not None else entry.stages,
            goals=_or(changes.goals, entry.goals),
        )
    msg = f"{type(changes).__name__} cannot change a {entry.kind_name}"
    raise TypeError(msg)


def _or(new: _T | None, old: _T) -> _T:
    return old if new is None else new


def evolve(pair: Pair | None, event: DomainEvent) -> Pair:  # noqa: C901
    """Apply one pair event to the state (changing it in place where there is one)."""
    if isinstance(event, PairFormed):
        return Pair(
            id=event.originator_id,
            version=event.originator_version,
            pair_id=event.pair_id,
            course_id=event.course_id,
            students=list(event.students),
            supervisors=list(event.supervisors),
            unit=event.unit,
        )
    if pair is None:
        msg = f"{type(event).__name__} before PairFormed in {event.originator_id}"
        raise ValueError(msg)
    if isinstance(event, SessionOpened):
        pair.sessions[event.session_id] = Session(
            session_id=event.session_id,
            is_open=True,
            roles=dict(event.roles),
            opened_at=event.occurred_at,
        )
        pair.open_session = event.session_id
    elif isinstance(event, RolesSwitched):
        pair.sessions[event.session_id].roles = dict(event.roles)
    elif isinstance(event, SessionClosed):
        session = pair.sessions[event.session_id]
        session.is_open = False
        session.closed_at = event.occurred_at
        if pair.open_session == event.session_id:
            pair.open_session = None
    elif isinstance(event, StepRecorded | FeedbackGiven | ReflectionRecorded):
        entry = recorded_entry(event)
        pair.entries[entry.entry_id] = entry
    elif isinstance(event, EntryCorrected):
        pair.entries[event.entry_id] = apply_changes(pair.entries[event.entry_id], event.changes)
    elif isinstance(event, EntryRetracted):
        pair.entries[event.entry_id].retracted = True
    elif isinstance(event, GoalAssessed | AssessmentAcknowledged):
        _evolve_assessment(pair, event)
    elif isinstance(event, PairDissolved):
        pair.dissolved = True
    pair.version = event.originator_version
    return pair


PairDecider = Callable[[Pair, Course, Stamp, Any], list[DomainEvent]]
DECIDERS: Final[Deciders[PairDecider]] = Deciders()
"""The decider of each command in an existing pair (its course is read too)."""


def _evolve_assessment(pair: Pair, event: GoalAssessed | AssessmentAcknowledged) -> None:
    if isinstance(event, AssessmentAcknowledged):
        pair.assessments[event.assessment].acknowledged = True
        return
    reference = f"{event.originator_id}@{event.originator_version}"
    pair.assessments[reference] = Assessment(
        student_id=event.student_id,
        goal_id=event.goal_id,
        kind=event.kind,
        level=event.level,
        occurred_at=event.occurred_at,
        assessment_id=event.assessment_id,
    )
    if event.assessment_id is not None:
        pair.assessment_ids[event.assessment_id] = reference


# --- rules shared by the commands ----------------------------------------------------


def require_pair(pair: Pair | None, pair_id: str) -> Pair:
    if pair is None:
        raise RuleViolation(
            "pair_id",
            "unknown_pair",
            lazy(
                "pair '%(pair_id)s' does not exist; form it first with form_pair", pair_id=pair_id
            ),
        )
    return pair


def _require_active(pair: Pair) -> None:
    if pair.dissolved:
        raise RuleViolation(
            "pair_id",
            "pair_dissolved",
            lazy(
                "pair %(pair_id)s was dissolved; only corrections and retractions can still be "
                "recorded in it",
                pair_id=pair.pair_id,
            ),
        )


def _require_member_or_supervisor(pair: Pair, course: Course, actor: str, doing: str) -> None:
    course.require_known(actor)
    if actor not in pair.students and actor not in pair.supervisors:
        raise RuleViolation(
            "actor",
            "not_allowed",
            lazy(
                "%(who)s but neither a member nor a supervisor of pair %(pair_id)s; only they "
                "may %(doing)s",
                who=course.who(actor),
                pair_id=pair.pair_id,
                doing=doing,
            ),
        )


def _require_pair_supervisor(pair: Pair, course: Course, actor: str, doing: str) -> None:
    course.require_known(actor)
    if actor not in pair.supervisors:
        raise RuleViolation(
            "actor",
            "not_allowed",
            lazy(
                "%(who)s but not a supervisor of pair %(pair_id)s; only the pair's supervisors "
                "may %(doing)s",
                who=course.who(actor),
                pair_id=pair.pair_id,
                doing=doing,
            ),
        )


def _require_members(pair: Pair, people: Iterable[str], field: str) -> None:
    for person in people:
        if person not in pair.students:
            raise RuleViolation(
                field,
                "not_member",
                lazy(
                    "'%(person)s' is not a member of pair %(pair_id)s (its members: %(join)s)",
                    person=person,
                    pair_id=pair.pair_id,
                    join=", ".join(pair.students),
                ),
            )


def _require_roles(pair: Pair, course: Course, roles: dict[str, Role]) -> None:
    for person in roles:
        _require_members(pair, [person], f"roles.{person}")
        course.require_not_forgotten([person], f"roles.{person}")


def _require_session(pair: Pair, session_id: str, *, is_open: bool) -> Session:
    session = pair.sessions.get(session_id)
    if session is None:
        raise RuleViolation(
            "session_id",
            "unknown_session",
            lazy(
                "pair %(pair_id)s has no session '%(session_id)s'; open it with open_session",
                pair_id=pair.pair_id,
                session_id=session_id,
            ),
        )
    if is_open and not session.is_open:
        raise RuleViolation(
            "session_id",
            "session_closed",
            lazy(
                "session '%(session_id)s' of pair %(pair_id)s is closed",
                session_id=session_id,
                pair_id=pair.pair_id,
            ),
        )
    return session


def _require_new_entry_id(pair: Pair, entry_id: str, field: str) -> None:
    existing = pair.entries.get(entry_id)
    if entry_id in pair.assessment_ids:
        raise RuleViolation(
            field,
            "duplicate_entry",
            f"pair {pair.pair_id} already has an assessment '{entry_id}'; step, feedback, "
            "reflection and assessment ids are unique within a pair",
        )
    if existing is not None:
        raise RuleViolation(
            field,
            "duplicate_entry",
            lazy(
                "pair %(pair_id)s already has an entry '%(entry_id)s' (a %(kind_name)s); step, "
                "feedback and reflection ids are unique within a pair",
                pair_id=pair.pair_id,
                entry_id=entry_id,
                kind_name=existing.kind_name,
            ),
        )


def require_entry(pair: Pair, entry_id: str) -> Entry:
    entry = pair.entries.get(entry_id)
    if entry is None:
        raise RuleViolation(
            "entry_id",
            "unknown_entry",
            lazy(
                "pair %(pair_id)s has no step, feedback or reflection '%(entry_id)s'",
                pair_id=pair.pair_id,
                entry_id=entry_id,
            ),
        )
    return entry


def _check_step(pair: Pair, performers: tuple[str, ...], observers: tuple[str, ...]) -> None:
    _require_members(pair, performers, "performers")
    _require_members(pair, observers, "observers")
    both = set(performers) & set(observers)
    if both:
        raise RuleViolation(
            "observers",
            "performer_and_observer",
            lazy("'%(min)s' cannot both perform and observe the same step", min=min(both)),
        )
    if not performers and not observers:
        raise RuleViolation(
            "performers", "no_participants", lazy("a step needs at least one performer or observer")
        )


def _check_feedback(
    pair: Pair, course: Course, giver: str, receiver: str, source: FeedbackSource
) -> None:
    if source == "peer":
        _require_members(pair, [giver], "giver")
        _require_members(pair, [receiver], "receiver")
        if giver == receiver:
            raise RuleViolation(
                "receiver",
                "peer_is_other_member",
                lazy(
                    "peer feedback goes from one member to another; giver and receiver are the same"
                ),
            )
    else:
        if giver not in pair.supervisors:
            raise RuleViolation(
                "giver",
                "supervisor_of_pair",
                lazy(
                    "supervisor feedback is given by a supervisor of pair %(pair_id)s (its "
                    "supervisors: %(join)s); '%(giver)s' is %(value)s",
                    pair_id=pair.pair_id,
                    join=", ".join(pair.supervisors),
                    giver=giver,
                    value=course.role_of(giver) or lazy("not known in the course"),
                ),
            )
        _require_members(pair, [receiver], "receiver")


def _check_reflection(
    pair: Pair, authors: tuple[str, ...], mode: ReflectionMode, stages: dict[str, str] | None
) -> None:
    _require_members(pair, authors, "authors")
    if mode == "individual" and len(authors) != 1:
        raise RuleViolation(
            "authors", "individual_has_one_author", lazy("an individual reflection has one author")
        )
    if mode == "pair" and len(authors) < 2:
        raise RuleViolation(
            "authors",
            "pair_has_two_authors",
            lazy("a pair reflection is written by at least two members"),
        )
    if stages is not None:
        if not stages:
            raise RuleViolation(
                "stages",
                "no_stages",
                lazy(
                    "a reflection covers at least one of the Gibbs stages (description, "
                    "feelings, evaluation, analysis, conclusion, action_plan)"
                ),
            )
        for stage, text in stages.items():
            if not text.strip():
                raise RuleViolation(
                    f"stages.{stage}",
                    "blank",
                    lazy("must not be empty; leave the stage out if it was not reflected on"),
                )


# --- decide: forming and dissolving (writes to the course and the pair) --------------


def form_pair(
    course: Course, existing: Pair | None, stamp: Stamp, cmd: FormPair
) -> list[DomainEvent]:
    pair_id, students, supervisors = cmd.pair_id, cmd.students, cmd.supervisors
    course.require_coordinator(stamp.actor, lazy("form pairs"))
    course.require_not_forgotten(students, "students")
    course.require_not_forgotten(supervisors, "supervisors")
    if existing is not None:
        raise RuleViolation(
            "pair_id",
            "duplicate_pair",
            lazy(
                "pair '%(pair_id)s' already exists (in course %(course_id)s)",
                pair_id=pair_id,
                course_id=existing.course_id,
            ),
        )
    for student in students:
        if student not in course.students:
            raise RuleViolation(
                "students",
                "not_enrolled",
                lazy(
                    "'%(student)s' is not enrolled in course %(course_id)s; enroll them with "
                    "enroll_student first",
                    student=student,
                    course_id=course.course_id,
                ),
            )
        active = course.paired.get(student)
        if active is not None:
            raise RuleViolation(
                "students",
                "already_paired",
                lazy(
                    "'%(student)s' already works in active pair %(active)s of course "
                    "%(course_id)s; a student is in at most one active pair per course",
                    student=student,
                    active=active,
                    course_id=course.course_id,
                ),
            )
    for supervisor in supervisors:
        if supervisor not in course.supervisors:
            raise RuleViolation(
                "supervisors",
                "not_supervisor",
                lazy(
                    "'%(supervisor)s' is not a supervisor in course %(course_id)s; assign them "
                    "with assign_supervisor first",
                    supervisor=supervisor,
                    course_id=course.course_id,
                ),
            )
    return [
        StudentsPaired(
            **stamp.next(course),
            course_id=course.course_id,
            pair_id=pair_id,
            students=tuple(students),
        ),
        PairFormed(
            **stamp.at(pair_stream(pair_id), 1),
            pair_id=pair_id,
            course_id=course.course_id,
            students=tuple(students),
            supervisors=tuple(supervisors),
            unit=cmd.unit,
        ),
    ]


@DECIDERS(DissolvePair)
def dissolve_pair(pair: Pair, course: Course, stamp: Stamp, cmd: DissolvePair) -> list[DomainEvent]:
    reason = cmd.reason
    _require_active(pair)
    course.require_known(stamp.actor)
    if stamp.actor not in pair.supervisors and stamp.actor not in course.coordinators:
        raise RuleViolation(
            "actor",
            "not_allowed",
            lazy(
                "%(who)s; only a supervisor of pair %(pair_id)s or a coordinator of the course "
                "may dissolve it",
                who=course.who(stamp.actor),
                pair_id=pair.pair_id,
            ),
        )
    if pair.open_session is not None:
        raise RuleViolation(
            "pair_id",
            "session_open",
            lazy(
                "session '%(open_session)s' of pair %(pair_id)s is still open; close it before "
                "dissolving the pair",
                open_session=pair.open_session,
                pair_id=pair.pair_id,
            ),
        )
    if any(course.is_forgotten(student) for student in pair.students):
        # The reason is about every member; a text about someone forgotten is not kept.
        reason = ERASED
    return [
        PairDissolved(
            **stamp.next(pair),
            pair_id=pair.pair_id,
            course_id=course.course_id,
            students=tuple(pair.students),
            reason=reason,
        ),
        StudentsUnpaired(
            **stamp.next(course),
            course_id=course.course_id,
            pair_id=pair.pair_id,
            students=tuple(pair.students),
        ),
    ]


# --- decide: sessions ----------------------------------------------------------------


@DECIDERS(OpenSession)
def open_session(pair: Pair, course: Course, stamp: Stamp, cmd: OpenSession) -> list[DomainEvent]:
    session_id, roles = cmd.session_id, cmd.roles
    _require_active(pair)
    _require_member_or_supervisor(pair, course, stamp.actor, lazy("open its sessions"))
    if session_id in pair.sessions:
        raise RuleViolation(
            "session_id",
            "duplicate_session",
            lazy(
                "pair %(pair_id)s already has a session '%(session_id)s'",
                pair_id=pair.pair_id,
                session_id=session_id,
            ),
        )
    if pair.open_session is not None:
        raise RuleViolation(
            "session_id",
            "session_open",
            lazy(
                "session '%(open_session)s' of pair %(pair_id)s is still open; close it (check "
                "out) before opening another",
                open_session=pair.open_session,
                pair_id=pair.pair_id,
            ),
        )
    _require_roles(pair, course, roles)
    return [
        SessionOpened(
            **stamp.next(pair),
            pair_id=pair.pair_id,
            session_id=session_id,
            roles=dict(roles),
            shift=cmd.shift,
            plan=cmd.plan,
        )
    ]


@DECIDERS(SwitchRoles)
def switch_roles(pair: Pair, course: Course, stamp: Stamp, cmd: SwitchRoles) -> list[DomainEvent]:
    session_id, roles = cmd.session_id, cmd.roles
    _require_active(pair)
    _require_member_or_supervisor(pair, course, stamp.actor, lazy("switch roles"))
    _require_session(pair, session_id, is_open=True)
    _require_roles(pair, course, roles)
    return [
        RolesSwitched(
            **stamp.next(pair),
            pair_id=pair.pair_id,
            session_id=session_id,
            roles=dict(roles),
            reason=cmd.reason,
        )
    ]


@DECIDERS(CloseSession)
def close_session(pair: Pair, course: Course, stamp: Stamp, cmd: CloseSession) -> list[DomainEvent]:
    session_id, summary = cmd.session_id, cmd.summary
    _require_active(pair)
    _require_member_or_supervisor(pair, course, stamp.actor, lazy("close its sessions"))
    session = _require_session(pair, session_id, is_open=True)
    if stamp.occurred_at < session.opened_at:
        raise RuleViolation(
            "occurred_at",
            "not_before_opened",
            lazy(
                "session '%(session_id)s' was opened at %(isoformat)s; it cannot close before that",
                session_id=session_id,
                isoformat=session.opened_at.isoformat(),
            ),
        )
    if summary is not None:
        # A summary is about every member.
        forgotten = [student for student in pair.students if course.is_forgotten(student)]
        if forgotten:
            raise RuleViolation(
                "summary",
                "person_forgotten",
                lazy(
                    "'%(forgotten)s' was forgotten, and a summary is about every member of pair "
                    "%(pair_id)s; close the session without a summary",
                    forgotten=forgotten[0],
                    pair_id=pair.pair_id,
                ),
            )
    return [
        SessionClosed(
            **stamp.next(pair),
            pair_id=pair.pair_id,
            session_id=session_id,
            students=tuple(pair.students),
            summary=summary,
        )
    ]


# --- decide: entries -----------------------------------------------------------------


@DECIDERS(RecordStep)
def record_step(pair: Pair, course: Course, stamp: Stamp, cmd: RecordStep) -> list[DomainEvent]:
    session_id, step_id = cmd.session_id, cmd.step_id
    performers, observers, goals = cmd.performers, cmd.observers, cmd.goals
    _require_active(pair)
    _require_member_or_supervisor(pair, course, stamp.actor, lazy("record its steps"))
    _require_session(pair, session_id, is_open=True)
    _require_new_entry_id(pair, step_id, "step_id")
    _check_step(pair, tuple(performers), tuple(observers))
    course.require_not_forgotten(performers, "performers")
    course.require_not_forgotten(observers, "observers")
    course.require_goals(tuple(goals), stamp.occurred_at, "goals")
    return [
        StepRecorded(
            **stamp.next(pair),
            pair_id=pair.pair_id,
            session_id=session_id,
            step_id=step_id,
            kind=cmd.kind,
            performers=tuple(performers),
            observers=tuple(observers),
            goals=tuple(goals),
            note=cmd.note,
        )
    ]


@DECIDERS(GiveFeedback)
def give_feedback(pair: Pair, course: Course, stamp: Stamp, cmd: GiveFeedback) -> list[DomainEvent]:
    feedback_id, giver, receiver, source = cmd.feedback_id, cmd.giver, cmd.receiver, cmd.source
    strengths, improvements, session_id = cmd.strengths, cmd.improvements, cmd.session_id
    _require_active(pair)
    course.require_known(stamp.actor)
    if stamp.actor != giver:
        raise RuleViolation(
            "actor",
            "not_allowed",
            lazy(
                "feedback is recorded by its giver ('%(giver)s'), not by '%(actor)s'",
                giver=giver,
                actor=stamp.actor,
            ),
        )
    _check_feedback(pair, course, giver, receiver, source)
    course.require_not_forgotten([receiver], "receiver")
    if session_id is not None:
        _require_session(pair, session_id, is_open=False)
    _require_new_entry_id(pair, feedback_id, "feedback_id")
    if not strengths.strip() and not improvements.strip():
        raise RuleViolation(
            "strengths",
            "empty_feedback",
            lazy("feedback says what went well (strengths) or what to improve (improvements)"),
        )
    course.require_goals(tuple(cmd.goals), stamp.occurred_at, "goals")
    return [
        FeedbackGiven(
            **stamp.next(pair),
            pair_id=pair.pair_id,
            session_id=session_id,
            feedback_id=feedback_id,
            giver=giver,
            receiver=receiver,
            source=source,
            goals=tuple(cmd.goals),
            strengths=strengths,
            improvements=improvements,
        )
    ]


@DECIDERS(RecordReflection)
def record_reflection(
    pair: Pair, course: Course, stamp: Stamp, cmd: RecordReflection
) -> list[DomainEvent]:
    reflection_id, authors, mode = cmd.reflection_id, cmd.authors, cmd.mode
    stages = {str(stage): text for stage, text in cmd.stages.items()}
    goals, session_id = cmd.goals, cmd.session_id
    _require_active(pair)
    course.require_known(stamp.actor)
    if stamp.actor not in authors and stamp.actor not in pair.supervisors:
        raise RuleViolation(
            "actor",
            "not_allowed",
            lazy(
                "%(who)s; a reflection is recorded by one of its authors or a supervisor of pair "
                "%(pair_id)s",
                who=course.who(stamp.actor),
                pair_id=pair.pair_id,
            ),
        )
    _check_reflection(pair, tuple(authors), mode, stages)
    course.require_not_forgotten(authors, "authors")
    if session_id is not None:
        _require_session(pair, session_id, is_open=False)
    _require_new_entry_id(pair, reflection_id, "reflection_id")
    course.require_goals(tuple(goals), stamp.occurred_at, "goals")
    return [
        ReflectionRecorded(
            **stamp.next(pair),
            pair_id=pair.pair_id,
            session_id=session_id,
            reflection_id=reflection_id,
            authors=tuple(authors),
            mode=mode,
            stages=stages,
            goals=tuple(goals),
        )
    ]


@DECIDERS(AssessGoal)
def assess_goal(pair: Pair, course: Course, stamp: Stamp, cmd: AssessGoal) -> list[DomainEvent]:
    student_id, goal_id, level = cmd.student_id, cmd.goal_id, cmd.level
    _require_active(pair)
    _require_pair_supervisor(pair, course, stamp.actor, lazy("assess its students"))
    _require_members(pair, [student_id], "student_id")
    course.require_not_forgotten([student_id], "student_id")
    course.require_goals((goal_id,), stamp.occurred_at, "goal_id")
    if level not in course.scale:
        raise RuleViolation(
            "level",
            "level_in_scale",
            lazy(
                "'%(level)s' is not on the scale of course %(course_id)s (%(join)s)",
                level=level,
                course_id=course.course_id,
                join=", ".join(course.scale),
            ),
        )
    if cmd.assessment_id is not None:
        _require_new_entry_id(pair, cmd.assessment_id, "assessment_id")
    return [
        GoalAssessed(
            **stamp.next(pair),
            pair_id=pair.pair_id,
            student_id=student_id,
            goal_id=goal_id,
            level=level,
            kind=cmd.kind,
            comment=cmd.comment,
            assessment_id=cmd.assessment_id,
        )
    ]


def _require_assessment(pair: Pair, named: str) -> tuple[str, Assessment]:
    reference = pair.assessment_ids.get(named)
    if reference is None:
        given = assessment_reference(named)
        if given is not None:
            reference = f"{given[0]}@{given[1]}"
    assessment = pair.assessments.get(reference) if reference is not None else None
    if reference is None or assessment is None:
        raise RuleViolation(
            "assessment",
            "unknown_assessment",
            f"pair {pair.pair_id} has no assessment '{named}'; name it by its assessment_id "
            "or by its event reference as the audit prints it",
        )
    return reference, assessment


@DECIDERS(AcknowledgeAssessment)
def acknowledge_assessment(
    pair: Pair, course: Course, stamp: Stamp, cmd: AcknowledgeAssessment
) -> list[DomainEvent]:
    _require_active(pair)
    course.require_known(stamp.actor)
    reference, assessment = _require_assessment(pair, cmd.assessment)
    if stamp.actor != assessment.student_id:
        raise RuleViolation(
            "actor",
            "not_allowed",
            f"{course.who(stamp.actor)}; only the assessed student "
            f"('{assessment.student_id}') may acknowledge assessment {cmd.assessment}",
        )
    course.require_not_forgotten([assessment.student_id], "actor")
    if assessment.acknowledged:
        raise RuleViolation(
            "assessment",
            "already_acknowledged",
            f"assessment {cmd.assessment} was acknowledged already; an assessment is "
            "acknowledged once",
        )
    if stamp.occurred_at < assessment.occurred_at:
        raise RuleViolation(
            "occurred_at",
            "not_before_assessment",
            f"assessment {cmd.assessment} occurred at {assessment.occurred_at.isoformat()}; "
            "it cannot be acknowledged before that",
        )
    return [
        AssessmentAcknowledged(
            **stamp.next(pair),
            pair_id=pair.pair_id,
            assessment=reference,
            student_id=assessment.student_id,
            goal_id=assessment.goal_id,
            kind=assessment.kind,
            level=assessment.level,
            assessment_id=assessment.assessment_id,
            comment=cmd.comment,
        )
    ]


def _require_may_change_entry(pair: Pair, course: Course, actor: str, entry: Entry) -> None:
    course.require_known(actor)
    if actor != entry.actor and actor not in pair.supervisors and actor not in course.coordinators:
        raise RuleViolation(
            "actor",
            "not_allowed",
            lazy(
                "%(who)s; entry '%(entry_id)s' can be changed by the one who recorded it "
                "('%(actor)s'), a supervisor of the pair or a coordinator of the course",
                who=course.who(actor),
                entry_id=entry.entry_id,
                actor=entry.actor,
            ),
        )


def _require_changeable(entry: Entry, stamp: Stamp) -> None:
    if entry.retracted:
        raise RuleViolation(
            "entry_id",
            "entry_retracted",
            lazy(
                "entry '%(entry_id)s' was retracted; it can no longer be changed",
                entry_id=entry.entry_id,
            ),
        )
    if stamp.occurred_at < entry.occurred_at:
        raise RuleViolation(
            "occurred_at",
            "not_before_entry",
            lazy(
                "entry '%(entry_id)s' occurred at %(isoformat)s; a correction or retraction "
                "cannot occur before the entry it changes",
                entry_id=entry.entry_id,
                isoformat=entry.occurred_at.isoformat(),
            ),
        )


@DECIDERS(CorrectEntry)
def correct_entry(pair: Pair, course: Course, stamp: Stamp, cmd: CorrectEntry) -> list[DomainEvent]:
    entry_id = cmd.entry_id
    entry = require_entry(pair, entry_id)
    changes = parse_changes(entry.kind_name, cmd.command, cmd.changes)
    _require_may_change_entry(pair, course, stamp.actor, entry)
    _require_changeable(entry, stamp)
    course.require_not_forgotten(entry.people(), "entry_id")
    corrected = apply_changes(entry, changes)
    try:
        if isinstance(corrected, StepEntry):
            _check_step(pair, corrected.performers, corrected.observers)
            course.require_not_forgotten(corrected.performers, "performers")
            course.require_not_forgotten(corrected.observers, "observers")
        elif isinstance(corrected, FeedbackEntry):
            _check_feedback(pair, course, corrected.giver, corrected.receiver, corrected.source)
            course.require_not_forgotten([corrected.giver], "giver")
            course.require_not_forgotten([corrected.receiver], "receiver")
        else:
            stages = changes.stages if isinstance(changes, ReflectionChanges) else None
            _check_reflection(pair, corrected.authors, corrected.mode, stages)
            course.require_not_forgotten(corrected.authors, "authors")
        if changes.goals is not None:
            course.require_goals(changes.goals, stamp.occurred_at, "goals")
    except RuleViolation as violation:
        # The corrected entry must pass the original command's rules;
        # the error names the change that broke one.
        raise RuleViolation(
            f"changes.{violation.field}", violation.rule, violation.message
        ) from None
    subjects = tuple(dict.fromkeys(entry.people() + corrected.people()))
    return [
        EntryCorrected(
            **stamp.next(pair),
            pair_id=pair.pair_id,
            entry_id=entry_id,
            changes=changes,
            reason=cmd.reason,
            subjects=subjects,
        )
    ]


@DECIDERS(RetractEntry)
def retract_entry(pair: Pair, course: Course, stamp: Stamp, cmd: RetractEntry) -> list[DomainEvent]:
    entry_id = cmd.entry_id
    entry = require_entry(pair, entry_id)
    _require_may_change_entry(pair, course, stamp.actor, entry)
    _require_changeable(entry, stamp)
    course.require_not_forgotten(entry.people(), "entry_id")
    return [
        EntryRetracted(
            **stamp.next(pair),
            pair_id=pair.pair_id,
            entry_id=entry_id,
            reason=cmd.reason,
            subjects=entry.people(),
        )
    ]
