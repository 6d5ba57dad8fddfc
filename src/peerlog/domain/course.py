"""The Course aggregate: goals, scale, and who takes part (coordinators, supervisors,
enrolled students, and which students are paired).

``evolve`` applies one event to the state; the ``decide_*`` functions check a command
against the state and return the events it causes, or raise :class:`RuleViolation`.
Neither reads a clock or a database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any, Final

import msgspec

from peerlog.commands import (
    AddGoal,
    AssignCoordinator,
    AssignSupervisor,
    EnrollStudent,
    ForgetPerson,
    OpenCourse,
    RetireGoal,
    ReviseGoal,
)
from peerlog.domain.deciders import Deciders
from peerlog.domain.errors import RuleViolation
from peerlog.domain.events import (
    CoordinatorAssigned,
    CourseOpened,
    DomainEvent,
    GoalAdded,
    GoalRetired,
    GoalRevised,
    GoalSpec,
    PersonForgotten,
    StudentEnrolled,
    StudentsPaired,
    StudentsUnpaired,
    SupervisorAssigned,
)
from peerlog.domain.stamp import Stamp
from peerlog.domain.suggest import suggestion
from peerlog.domain.vocabulary import course_stream
from peerlog.i18n import N_, Text, lazy


class Goal(msgspec.Struct, kw_only=True):
    goal_id: str
    title: str
    area: str | None = None
    description: str | None = None
    added_at: datetime
    retired_at: datetime | None = None

    def retired_by(self, moment: datetime) -> bool:
        """Whether the goal had been retired by ``moment`` (on the occurred-at clock)."""
        return self.retired_at is not None and self.retired_at <= moment


ROLE_WORDS: Final = {
    ("coordinator",): N_("a coordinator"),
    ("supervisor",): N_("a supervisor"),
    ("student",): N_("a student"),
    ("coordinator", "supervisor"): N_("a coordinator and a supervisor"),
    ("coordinator", "student"): N_("a coordinator and a student"),
    ("supervisor", "student"): N_("a supervisor and a student"),
    ("coordinator", "supervisor", "student"): N_("a coordinator, a supervisor and a student"),
}
"""A person's roles in a course, in words for messages."""


class Course(msgspec.Struct, kw_only=True):
    id: str
    version: int
    course_id: str
    title: str
    starts_on: date
    ends_on: date
    scale: list[str]
    pass_level: str
    goals: dict[str, Goal]
    coordinators: list[str]
    supervisors: list[str] = msgspec.field(default_factory=list)
    students: list[str] = msgspec.field(default_factory=list)
    paired: dict[str, str] = msgspec.field(default_factory=dict)
    """Each paired student's active pair."""
    time_zone: str | None = None
    """The IANA time zone people read and type the course's times in (None: the default)."""
    forgotten: list[str] = msgspec.field(default_factory=list)
    """People whose key was destroyed: they stay in the roster, nothing new is recorded
    by or about them."""

    def role_of(self, person: str) -> Text | None:
        """The person's role in the course, as words for messages; None if unknown."""
        held = tuple(
            role
            for role, people in (
                ("coordinator", self.coordinators),
                ("supervisor", self.supervisors),
                ("student", self.students),
            )
            if person in people
        )
        return lazy(ROLE_WORDS[held]) if held else None

    def who(self, person: str) -> str:
        """``'x' is a student of course c1``, for messages (translated where shown)."""
        role = self.role_of(person) or lazy("not known")
        return lazy(
            "'%(person)s' is %(role)s of course %(course)s",
            person=person,
            role=role,
            course=self.course_id,
        )

    def is_known(self, person: str) -> bool:
        return person in self.students or person in self.supervisors or person in self.coordinators

    def require_known(self, actor: str) -> None:
        if not self.is_known(actor):
            raise RuleViolation(
                "actor",
                "unknown_actor",
                lazy(
                    "'%(actor)s' is not known in course %(course_id)s: only its coordinators, "
                    "supervisors and enrolled students record in it",
                    actor=actor,
                    course_id=self.course_id,
                ),
            )
        self.require_not_forgotten([actor], "actor")

    def is_forgotten(self, person: str) -> bool:
        return person in self.forgotten

    def require_not_forgotten(self, people: Iterable[str], field: str) -> None:
        """Nothing new is recorded by or about a person who was forgotten."""
        for person in people:
            if person in self.forgotten:
                raise RuleViolation(
                    field,
                    "person_forgotten",
                    lazy(
                        "'%(person)s' was forgotten in course %(course_id)s: their personal data "
                        "was erased, and nothing new is recorded by or about them",
                        person=person,
                        course_id=self.course_id,
                    ),
                )

    def require_coordinator(self, actor: str, doing: str) -> None:
        self.require_known(actor)
        if actor not in self.coordinators:
            raise RuleViolation(
                "actor",
                "not_allowed",
                lazy(
                    "%(who)s; only a coordinator of the course may %(doing)s",
                    who=self.who(actor),
                    doing=doing,
                ),
            )

    def require_goals(self, goals: tuple[str, ...], moment: datetime, field: str) -> None:
        """Goals named in a command exist in the course and are not retired at ``moment``."""
        for goal_id in goals:
            goal = self.goals.get(goal_id)
            if goal is None:
                raise RuleViolation(field, "unknown_goal", self.unknown_goal(goal_id, moment))
            if goal.retired_by(moment):
                assert goal.retired_at is not None
                raise RuleViolation(
                    field,
                    "goal_retired",
                    lazy(
                        "goal '%(goal_id)s' was retired at %(isoformat)s; evidence after "
                        "retirement is not accepted",
                        goal_id=goal_id,
                        isoformat=goal.retired_at.isoformat(),
                    ),
                )

    def unknown_goal(self, goal_id: str, moment: datetime | None = None) -> Text:
        """The message for a goal the course does not have, with the ones it has."""
        valid = [
            g.goal_id for g in self.goals.values() if moment is None or not g.retired_by(moment)
        ]
        what = lazy("goals of course %(course)s", course=self.course_id)
        hint = suggestion(goal_id, valid, what, f"peerlog goals {self.course_id}")
        return lazy(
            "'%(goal_id)s' is not a goal of course %(course_id)s. %(hint)s",
            goal_id=goal_id,
            course_id=self.course_id,
            hint=hint,
        )

    def level_rank(self, level: str) -> int:
        return self.scale.index(level)


# --- evolve --------------------------------------------------------------------------


CourseDecider = Callable[[Course, Stamp, Any], list[DomainEvent]]
DECIDERS: Final[Deciders[CourseDecider]] = Deciders()
"""The decider of each command that changes one existing course."""


def evolve(course: Course | None, event: DomainEvent) -> Course:  # noqa: C901, PLR0912
    """Apply one course event to the state (changing it in place where there is one)."""
    if isinstance(event, CourseOpened):
        return Course(
            id=event.originator_id,
            version=event.originator_version,
            course_id=event.course_id,
            title=event.title,
            starts_on=event.starts_on,
            ends_on=event.ends_on,
            scale=list(event.scale),
            pass_level=event.pass_level,
            goals={
                g.goal_id: Goal(
                    goal_id=g.goal_id,
                    title=g.title,
                    area=g.area,
                    description=g.description,
                    added_at=event.occurred_at,
                )
                for g in event.goals
            },
            coordinators=[event.actor],
            time_zone=event.time_zone,
        )
    if course is None:
        msg = f"{type(event).__name__} before CourseOpened in {event.originator_id}"
        raise ValueError(msg)
    if isinstance(event, GoalAdded):
        course.goals[event.goal_id] = Goal(
            goal_id=event.goal_id,
            title=event.title,
            area=event.area,
            description=event.description,
            added_at=event.occurred_at,
        )
    elif isinstance(event, GoalRevised):
        goal = course.goals[event.goal_id]
        if event.title is not None:
            goal.title = event.title
        if event.area is not None:
            goal.area = event.area
        if event.description is not None:
            goal.description = event.description
    elif isinstance(event, GoalRetired):
        course.goals[event.goal_id].retired_at = event.occurred_at
    elif isinstance(event, StudentEnrolled):
        course.students.append(event.student_id)
    elif isinstance(event, SupervisorAssigned):
        course.supervisors.append(event.supervisor_id)
    elif isinstance(event, CoordinatorAssigned):
        course.coordinators.append(event.coordinator_id)
    elif isinstance(event, StudentsPaired):
        for student in event.students:
            course.paired[student] = event.pair_id
    elif isinstance(event, StudentsUnpaired):
        for student in event.students:
            if course.paired.get(student) == event.pair_id:
                del course.paired[student]
    elif isinstance(event, PersonForgotten):
        course.forgotten.append(event.person_id)
    course.version = event.originator_version
    return course


# --- decide --------------------------------------------------------------------------


def require_course(course: Course | None, course_id: str) -> Course:
    if course is None:
        raise RuleViolation(
            "course_id",
            "unknown_course",
            lazy(
                "course '%(course_id)s' does not exist; open it first with open_course",
                course_id=course_id,
            ),
        )
    return course


def _require_goal(course: Course, goal_id: str) -> Goal:
    goal = course.goals.get(goal_id)
    if goal is None:
        raise RuleViolation("goal_id", "unknown_goal", course.unknown_goal(goal_id))
    return goal


def _require_new_goal_id(course: Course, goal_id: str, field: str) -> None:
    if goal_id in course.goals:
        raise RuleViolation(
            field,
            "duplicate_goal",
            lazy(
                "course %(course_id)s already has a goal '%(goal_id)s'; choose another goal_id",
                course_id=course.course_id,
                goal_id=goal_id,
            ),
        )


def open_course(existing: Course | None, stamp: Stamp, cmd: OpenCourse) -> list[DomainEvent]:
    course_id, starts_on, ends_on = cmd.course_id, cmd.starts_on, cmd.ends_on
    scale, pass_level = cmd.scale, cmd.pass_level
    goals = [
        GoalSpec(goal_id=g.goal_id, title=g.title, area=g.area, description=g.description)
        for g in cmd.goals
    ]
    if existing is not None:
        raise RuleViolation(
            "course_id",
            "duplicate_course",
            lazy("course '%(course_id)s' is already open", course_id=course_id),
        )
    if ends_on < starts_on:
        raise RuleViolation(
            "ends_on",
            "dates_in_order",
            lazy(
                "the course ends (%(ends_on)s) before it starts (%(starts_on)s)",
                ends_on=ends_on,
                starts_on=starts_on,
            ),
        )
    if pass_level not in scale:
        raise RuleViolation(
            "pass_level",
            "level_in_scale",
            lazy(
                "'%(pass_level)s' is not on the scale (%(join)s)",
                pass_level=pass_level,
                join=", ".join(scale),
            ),
        )
    seen: set[str] = set()
    for index, goal in enumerate(goals):
        if goal.goal_id in seen:
            raise RuleViolation(
                f"goals.{index}.goal_id",
                "duplicate_goal",
                lazy("goal '%(goal_id)s' is listed twice", goal_id=goal.goal_id),
            )
        seen.add(goal.goal_id)
    return [
        CourseOpened(
            **stamp.at(course_stream(course_id), 1),
            course_id=course_id,
            title=cmd.title,
            starts_on=starts_on,
            ends_on=ends_on,
            scale=tuple(scale),
            pass_level=pass_level,
            goals=tuple(goals),
            time_zone=cmd.time_zone,
        )
    ]


@DECIDERS(AddGoal)
def add_goal(course: Course, stamp: Stamp, cmd: AddGoal) -> list[DomainEvent]:
    course.require_coordinator(stamp.actor, lazy("add goals"))
    _require_new_goal_id(course, cmd.goal_id, "goal_id")
    return [
        GoalAdded(
            **stamp.next(course),
            course_id=course.course_id,
            goal_id=cmd.goal_id,
            title=cmd.title,
            area=cmd.area,
            description=cmd.description,
        )
    ]


@DECIDERS(ReviseGoal)
def revise_goal(course: Course, stamp: Stamp, cmd: ReviseGoal) -> list[DomainEvent]:
    goal_id, title, area, description = cmd.goal_id, cmd.title, cmd.area, cmd.description
    course.require_coordinator(stamp.actor, lazy("revise goals"))
    goal = _require_goal(course, goal_id)
    if goal.retired_at is not None:
        raise RuleViolation(
            "goal_id",
            "goal_retired",
            lazy("goal '%(goal_id)s' is retired and can no longer be revised", goal_id=goal_id),
        )
    if title is None and area is None and description is None:
        raise RuleViolation(
            "title", "nothing_to_revise", lazy("give at least one of title, area or description")
        )
    return [
        GoalRevised(
            **stamp.next(course),
            course_id=course.course_id,
            goal_id=goal_id,
            title=title,
            area=area,
            description=description,
        )
    ]


@DECIDERS(RetireGoal)
def retire_goal(course: Course, stamp: Stamp, cmd: RetireGoal) -> list[DomainEvent]:
    goal_id = cmd.goal_id
    course.require_coordinator(stamp.actor, lazy("retire goals"))
    goal = _require_goal(course, goal_id)
    if goal.retired_at is not None:
        raise RuleViolation(
            "goal_id",
            "goal_retired",
            lazy(
                "goal '%(goal_id)s' was already retired at %(isoformat)s",
                goal_id=goal_id,
                isoformat=goal.retired_at.isoformat(),
            ),
        )
    if stamp.occurred_at < goal.added_at:
        raise RuleViolation(
            "occurred_at",
            "not_before_added",
            lazy(
                "goal '%(goal_id)s' was added at %(isoformat)s; it cannot be retired before that",
                goal_id=goal_id,
                isoformat=goal.added_at.isoformat(),
            ),
        )
    return [
        GoalRetired(
            **stamp.next(course), course_id=course.course_id, goal_id=goal_id, reason=cmd.reason
        )
    ]


@DECIDERS(EnrollStudent)
def enroll_student(course: Course, stamp: Stamp, cmd: EnrollStudent) -> list[DomainEvent]:
    student_id = cmd.student_id
    course.require_coordinator(stamp.actor, lazy("enroll students"))
    if student_id in course.students:
        raise RuleViolation(
            "student_id",
            "already_enrolled",
            lazy(
                "'%(student_id)s' is already enrolled in course %(course_id)s",
                student_id=student_id,
                course_id=course.course_id,
            ),
        )
    if student_id in course.supervisors or student_id in course.coordinators:
        raise RuleViolation(
            "student_id",
            "one_role",
            lazy(
                "'%(student_id)s' is %(role_of)s of course %(course_id)s; a student cannot also "
                "supervise or coordinate the same course",
                student_id=student_id,
                role_of=course.role_of(student_id),
                course_id=course.course_id,
            ),
        )
    return [
        StudentEnrolled(
            **stamp.next(course),
            course_id=course.course_id,
            student_id=student_id,
            display_name=cmd.display_name,
        )
    ]


def _require_not_student(course: Course, person: str, field: str) -> None:
    if person in course.students:
        raise RuleViolation(
            field,
            "one_role",
            lazy(
                "'%(person)s' is enrolled as a student in course %(course_id)s; a student cannot "
                "also supervise or coordinate the same course",
                person=person,
                course_id=course.course_id,
            ),
        )


@DECIDERS(AssignSupervisor)
def assign_supervisor(course: Course, stamp: Stamp, cmd: AssignSupervisor) -> list[DomainEvent]:
    supervisor_id = cmd.supervisor_id
    course.require_coordinator(stamp.actor, lazy("assign supervisors"))
    if supervisor_id in course.supervisors:
        raise RuleViolation(
            "supervisor_id",
            "already_assigned",
            lazy(
                "'%(supervisor_id)s' is already a supervisor in course %(course_id)s",
                supervisor_id=supervisor_id,
                course_id=course.course_id,
            ),
        )
    _require_not_student(course, supervisor_id, "supervisor_id")
    return [
        SupervisorAssigned(
            **stamp.next(course),
            course_id=course.course_id,
            supervisor_id=supervisor_id,
            display_name=cmd.display_name,
        )
    ]


@DECIDERS(AssignCoordinator)
def assign_coordinator(course: Course, stamp: Stamp, cmd: AssignCoordinator) -> list[DomainEvent]:
    coordinator_id = cmd.coordinator_id
    course.require_coordinator(stamp.actor, lazy("assign coordinators"))
    if coordinator_id in course.coordinators:
        raise RuleViolation(
            "coordinator_id",
            "already_assigned",
            lazy(
                "'%(coordinator_id)s' is already a coordinator of course %(course_id)s",
                coordinator_id=coordinator_id,
                course_id=course.course_id,
            ),
        )
    _require_not_student(course, coordinator_id, "coordinator_id")
    return [
        CoordinatorAssigned(
            **stamp.next(course),
            course_id=course.course_id,
            coordinator_id=coordinator_id,
            display_name=cmd.display_name,
        )
    ]


def forget_person(course: Course, stamp: Stamp, *, person_id: str) -> list[DomainEvent]:
    """Record that a person known in the course was forgotten (their key is destroyed
    by the application once this is recorded)."""
    course.require_coordinator(stamp.actor, lazy("forget people"))
    if not course.is_known(person_id):
        raise RuleViolation(
            "person_id",
            "unknown_person",
            lazy(
                "'%(person_id)s' is not known in course %(course_id)s",
                person_id=person_id,
                course_id=course.course_id,
            ),
        )
    if person_id == stamp.actor:
        raise RuleViolation(
            "person_id",
            "not_self",
            lazy(
                "'%(person_id)s' cannot forget themselves; another coordinator of course "
                "%(course_id)s records it",
                person_id=person_id,
                course_id=course.course_id,
            ),
        )
    if course.is_forgotten(person_id):
        raise RuleViolation(
            "person_id",
            "already_forgotten",
            lazy(
                "'%(person_id)s' was already forgotten in course %(course_id)s",
                person_id=person_id,
                course_id=course.course_id,
            ),
        )
    return [PersonForgotten(**stamp.next(course), course_id=course.course_id, person_id=person_id)]


def forget_person_everywhere(
    courses: Iterable[Course], stamp: Stamp, cmd: ForgetPerson
) -> list[DomainEvent]:
    person_id = cmd.person_id
    """Forget a person in every course they are known in (a key is per person, so
    erasure reaches every course at once): the actor coordinates each of them."""
    known = [course for course in courses if course.is_known(person_id)]
    if not known:
        raise RuleViolation(
            "person_id",
            "unknown_person",
            lazy("'%(person_id)s' is not known in any course", person_id=person_id),
        )
    for course in known:
        course.require_coordinator(
            stamp.actor, lazy("forget people ('%(person)s' is known there)", person=person_id)
        )
    pending = [course for course in known if not course.is_forgotten(person_id)]
    if not pending:
        raise RuleViolation(
            "person_id",
            "already_forgotten",
            lazy("'%(person_id)s' was already forgotten", person_id=person_id),
        )
    events: list[DomainEvent] = []
    for course in pending:
        events += forget_person(course, stamp, person_id=person_id)
    return events
