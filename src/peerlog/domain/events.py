"""Every event the record keeps, named in the past tense.

Events are frozen msgspec structs. Each carries the stream it belongs to
(``originator_id``, e.g. ``pair/p1``), its version in that stream, and the
``command_id``, ``actor`` and ``occurred_at`` of the command that caused it.
``recorded_at`` is not part of an event: it is the store's own timestamp, kept
beside the stored event.

Schema evolution follows msgspec's rule: add fields with defaults, never change a
field's type. A change that cannot be made that way raises the class's ``version``
and adds an upcaster (see :mod:`peerlog.persistence.mapper`).

``personal_text`` names, for each class, the free-text fields that are personal
data and whose texts they are: the people the text is by or about, named by other
fields of the same event, so that every event says by itself whose data it holds.
The mapper uses it to encrypt those texts under those people's keys.

Two more declarations let an event be shown without code of its own elsewhere:
``told`` is how the timeline tells it (a template over its fields, see
:meth:`DomainEvent.tell`), and ``about_goal`` names the fields holding the student and
the goal it belongs to in that student's audit (an event there that counts as no
evidence, listed beside what does).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, ClassVar

import msgspec

from peerlog.domain.vocabulary import (
    AssessmentKind,
    FeedbackSource,
    ReflectionMode,
    Role,
    Shift,
    StepKind,
)
from peerlog.i18n import N_, gettext

# An upcaster turns the stored state of version n into the state of version n + 1.
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class PersonalText(msgspec.Struct, frozen=True):
    """A free-text field holding personal data, and whose data it is.

    ``path`` names the field; ``"stages.*"`` means every value of the ``stages``
    mapping. ``subjects`` names the fields of the event that hold the people the
    text is by or about (a field holding a mapping contributes its keys).
    """

    path: str
    subjects: tuple[str, ...]


class DomainEvent(msgspec.Struct, frozen=True, kw_only=True):
    """What every event carries."""

    originator_id: str
    originator_version: int
    command_id: str
    actor: str
    occurred_at: datetime

    version: ClassVar[int] = 1
    upcasters: ClassVar[dict[int, Upcaster]] = {}
    personal_text: ClassVar[tuple[PersonalText, ...]] = ()
    told: ClassVar[str] = ""
    """How the timeline tells the event: a template naming its fields in braces
    (``"{student_id} acknowledged ..."``); empty for events the timeline tells itself."""
    about_goal: ClassVar[tuple[str, str] | None] = None
    kind_told: ClassVar[str] = ""
    """The kind of a pair event, for choosing a pair's events by kind (``peerlog replay
    --kind``): ``pair``, ``session``, ``step``, ``assessment``..."""
    """The fields naming the student and the goal of an event listed in that student's
    audit of the goal, when it is not evidence the progression counts itself."""

    def tell(self) -> str:
        """The event in plain words, by its ``told`` template (its type's name without)."""
        if not self.told:
            return type(self).__name__
        # The template in the reader's language (the catalogs have every event's).
        template = gettext(self.told)
        return template.format_map({name: getattr(self, name) for name in self.__struct_fields__})

    def __repr__(self) -> str:
        # Personal texts stay out of reprs, and so out of logs and error messages.
        hidden = {text.path.split(".", 1)[0] for text in self.personal_text}
        shown = (
            f"{name}=<personal text>"
            if name in hidden and getattr(self, name) is not None
            else f"{name}={getattr(self, name)!r}"
            for name in self.__struct_fields__
        )
        return f"{type(self).__name__}({', '.join(shown)})"


class GoalSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A learning goal as given when a course is opened."""

    goal_id: str
    title: str
    area: str | None = None
    description: str | None = None


# --- Course stream -------------------------------------------------------------------


class CourseOpened(DomainEvent, frozen=True, kw_only=True):
    course_id: str
    title: str
    starts_on: date
    ends_on: date
    scale: tuple[str, ...]
    pass_level: str
    goals: tuple[GoalSpec, ...]
    time_zone: str | None = None
    """The IANA time zone in which people read and type the course's times (None: the
    deployment's default)."""


class GoalAdded(DomainEvent, frozen=True, kw_only=True):
    course_id: str
    goal_id: str
    title: str
    area: str | None = None
    description: str | None = None


class GoalRevised(DomainEvent, frozen=True, kw_only=True):
    """Only the fields given were revised; ``None`` means unchanged."""

    course_id: str
    goal_id: str
    title: str | None = None
    area: str | None = None
    description: str | None = None


class GoalRetired(DomainEvent, frozen=True, kw_only=True):
    course_id: str
    goal_id: str
    reason: str


class StudentEnrolled(DomainEvent, frozen=True, kw_only=True):
    course_id: str
    student_id: str
    display_name: str | None = None

    personal_text: ClassVar = (PersonalText("display_name", ("student_id",)),)


class SupervisorAssigned(DomainEvent, frozen=True, kw_only=True):
    course_id: str
    supervisor_id: str
    display_name: str | None = None

    personal_text: ClassVar = (PersonalText("display_name", ("supervisor_id",)),)


class CoordinatorAssigned(DomainEvent, frozen=True, kw_only=True):
    course_id: str
    coordinator_id: str
    display_name: str | None = None

    personal_text: ClassVar = (PersonalText("display_name", ("coordinator_id",)),)


class PersonForgotten(DomainEvent, frozen=True, kw_only=True):
    """A person's key was destroyed: every personal text by or about them is erased.

    It holds no personal text; ids, roles, counts, dates and levels stay in the record.
    """

    course_id: str
    person_id: str


class StudentsPaired(DomainEvent, frozen=True, kw_only=True):
    """The course's roster records that these students now work in this pair."""

    course_id: str
    pair_id: str
    students: tuple[str, ...]


class StudentsUnpaired(DomainEvent, frozen=True, kw_only=True):
    """The course's roster records that the pair was dissolved."""

    course_id: str
    pair_id: str
    students: tuple[str, ...]


# --- Pair stream ---------------------------------------------------------------------


class PairFormed(DomainEvent, frozen=True, kw_only=True):
    pair_id: str
    course_id: str
    students: tuple[str, ...]
    supervisors: tuple[str, ...]
    unit: str | None = None
    kind_told: ClassVar = "pair"


class SessionOpened(DomainEvent, frozen=True, kw_only=True):
    pair_id: str
    session_id: str
    roles: dict[str, Role]
    shift: Shift | None = None
    plan: str | None = None

    personal_text: ClassVar = (PersonalText("plan", ("roles",)),)
    kind_told: ClassVar = "session"


class RolesSwitched(DomainEvent, frozen=True, kw_only=True):
    pair_id: str
    session_id: str
    roles: dict[str, Role]
    reason: str | None = None

    personal_text: ClassVar = (PersonalText("reason", ("roles",)),)
    kind_told: ClassVar = "session"


class StepRecorded(DomainEvent, frozen=True, kw_only=True):
    pair_id: str
    session_id: str
    step_id: str
    kind: StepKind
    performers: tuple[str, ...]
    observers: tuple[str, ...]
    goals: tuple[str, ...]
    note: str | None = None

    personal_text: ClassVar = (PersonalText("note", ("performers", "observers")),)
    kind_told: ClassVar = "step"


class FeedbackGiven(DomainEvent, frozen=True, kw_only=True):
    pair_id: str
    feedback_id: str
    giver: str
    receiver: str
    source: FeedbackSource
    goals: tuple[str, ...]
    strengths: str
    improvements: str
    session_id: str | None = None

    personal_text: ClassVar = (
        PersonalText("strengths", ("giver", "receiver")),
        PersonalText("improvements", ("giver", "receiver")),
    )
    kind_told: ClassVar = "feedback"


class ReflectionRecorded(DomainEvent, frozen=True, kw_only=True):
    pair_id: str
    reflection_id: str
    authors: tuple[str, ...]
    mode: ReflectionMode
    stages: dict[str, str]
    goals: tuple[str, ...]
    session_id: str | None = None

    personal_text: ClassVar = (PersonalText("stages.*", ("authors",)),)
    kind_told: ClassVar = "reflection"


class GoalAssessed(DomainEvent, frozen=True, kw_only=True):
    pair_id: str
    student_id: str
    goal_id: str
    level: str
    kind: AssessmentKind
    comment: str | None = None
    assessment_id: str | None = None

    personal_text: ClassVar = (PersonalText("comment", ("student_id",)),)
    told: ClassVar = N_("{kind} assessment of {student_id} on goal {goal_id}: {level}")
    kind_told: ClassVar = "assessment"


class AssessmentAcknowledged(DomainEvent, frozen=True, kw_only=True):
    """The assessed student confirms having read an assessment, and may answer it.

    ``assessment`` is the assessment's event reference (``pair/p1@7``); its student,
    goal, kind and level are repeated so that the event reads on its own."""

    pair_id: str
    assessment: str
    student_id: str
    goal_id: str
    kind: AssessmentKind
    level: str
    assessment_id: str | None = None
    comment: str | None = None

    personal_text: ClassVar = (PersonalText("comment", ("student_id",)),)
    told: ClassVar = N_(
        "{student_id} acknowledged the {kind} assessment {assessment} on goal {goal_id} ({level})"
    )
    about_goal: ClassVar = ("student_id", "goal_id")
    kind_told: ClassVar = "assessment"


class SessionClosed(DomainEvent, frozen=True, kw_only=True):
    pair_id: str
    session_id: str
    students: tuple[str, ...]
    summary: str | None = None

    personal_text: ClassVar = (PersonalText("summary", ("students",)),)
    kind_told: ClassVar = "session"


class StepChanges(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="step"):
    """Fields of a step replaced by a correction; ``None`` means unchanged."""

    kind: StepKind | None = None
    performers: tuple[str, ...] | None = None
    observers: tuple[str, ...] | None = None
    goals: tuple[str, ...] | None = None
    note: str | None = None


class FeedbackChanges(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="feedback"
):
    """Fields of a feedback replaced by a correction; ``None`` means unchanged."""

    giver: str | None = None
    receiver: str | None = None
    source: FeedbackSource | None = None
    goals: tuple[str, ...] | None = None
    strengths: str | None = None
    improvements: str | None = None


class ReflectionChanges(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="reflection"
):
    """Fields of a reflection replaced by a correction; ``None`` means unchanged."""

    authors: tuple[str, ...] | None = None
    mode: ReflectionMode | None = None
    stages: dict[str, str] | None = None
    goals: tuple[str, ...] | None = None


EntryChanges = StepChanges | FeedbackChanges | ReflectionChanges


class EntryCorrected(DomainEvent, frozen=True, kw_only=True):
    """A step, feedback or reflection corrected: ``changes`` replaces its fields.

    ``subjects`` are the people the entry is by or about (before and after the
    correction); the texts of the correction are theirs.
    """

    pair_id: str
    entry_id: str
    changes: EntryChanges
    reason: str
    subjects: tuple[str, ...] = ()

    personal_text: ClassVar = (
        PersonalText("changes.note", ("subjects",)),
        PersonalText("changes.strengths", ("subjects",)),
        PersonalText("changes.improvements", ("subjects",)),
        PersonalText("changes.stages.*", ("subjects",)),
        PersonalText("reason", ("subjects",)),
    )
    kind_told: ClassVar = "correction"


class EntryRetracted(DomainEvent, frozen=True, kw_only=True):
    pair_id: str
    entry_id: str
    reason: str
    subjects: tuple[str, ...] = ()

    personal_text: ClassVar = (PersonalText("reason", ("subjects",)),)
    kind_told: ClassVar = "retraction"


class PairDissolved(DomainEvent, frozen=True, kw_only=True):
    pair_id: str
    course_id: str
    students: tuple[str, ...]
    reason: str

    personal_text: ClassVar = (PersonalText("reason", ("students",)),)
    told: ClassVar = N_("pair dissolved")
    kind_told: ClassVar = "pair"


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    """The state of an aggregate at a version, to load long streams fast."""

    originator_id: str
    originator_version: int
    state: bytes


COURSE_EVENTS: tuple[type[DomainEvent], ...] = (
    CourseOpened,
    GoalAdded,
    GoalRevised,
    GoalRetired,
    StudentEnrolled,
    SupervisorAssigned,
    CoordinatorAssigned,
    StudentsPaired,
    StudentsUnpaired,
    PersonForgotten,
)
PAIR_EVENTS: tuple[type[DomainEvent], ...] = (
    PairFormed,
    SessionOpened,
    RolesSwitched,
    StepRecorded,
    FeedbackGiven,
    ReflectionRecorded,
    GoalAssessed,
    AssessmentAcknowledged,
    SessionClosed,
    EntryCorrected,
    EntryRetracted,
    PairDissolved,
)
ALL_EVENTS: tuple[type[DomainEvent], ...] = COURSE_EVENTS + PAIR_EVENTS
