"""Progression: for each student and goal, the evidence the record holds and its status.

Counts follow the contract: only entries not retracted, with corrections applied.
``latest_level`` is the level of the assessment that occurred last (ties: the one
recorded later); ``status`` is ``met`` if that level is at or above the course's pass
level, ``not_met`` if it is below, ``evidenced`` without an assessment but with
evidence, and ``no_evidence`` otherwise. Evidence times (first and latest) are the
``occurred_at`` of the steps, feedback and reflections that count.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, ClassVar, Final, Literal

from peerlog.domain.events import (
    PAIR_EVENTS,
    CourseOpened,
    DomainEvent,
    GoalAdded,
    GoalAssessed,
    GoalRetired,
    GoalRevised,
    PairFormed,
    StudentEnrolled,
)
from peerlog.domain.pair import Entry, FeedbackEntry, StepEntry
from peerlog.i18n import N_, Labels
from peerlog.projections.base import Handler, Projection, ref
from peerlog.projections.ledger import ENTRY_EVENTS, EntryKey, Ledger, ledger_table
from peerlog.projections.tables import Row, Table, doc

EVIDENCE_KEYS: Final = (
    "performed",
    "observed",
    "feedback_received",
    "feedback_given",
    "reflections",
)
STATUSES: Final = ("met", "not_met", "evidenced", "no_evidence")
STATUS_LABELS: Final = Labels(
    {
        "met": N_("met"),
        "not_met": N_("not met"),
        "evidenced": N_("evidenced"),
        "no_evidence": N_("no evidence"),
    }
)
"""Each status in words, for reports (in the current language)."""
EVIDENCE_LABELS: Final = Labels(
    {
        "performed": N_("performed"),
        "observed": N_("observed"),
        "feedback_received": N_("feedback received"),
        "feedback_given": N_("feedback given"),
        "reflections": N_("reflections"),
        "assessments": N_("assessments"),
    }
)
"""Each evidence count of the audit in words, for reports, in the audit's order."""
assert tuple(STATUS_LABELS) == STATUSES
assert tuple(EVIDENCE_LABELS) == (*EVIDENCE_KEYS, "assessments")

Evidence = Literal["performed", "observed", "feedback_received", "feedback_given", "reflections"]
"""An evidence count: a field of progression's rows and of trend_goal_weeks' alike."""
Status = Literal["met", "not_met", "evidenced", "no_evidence"]
"""A status: the field of progression_summary that counts it."""


class ProgressionRow(Row):
    course_id: str
    student_id: str
    goal_id: str
    performed: Annotated[int, doc("steps with the goal and the student performing")]
    observed: Annotated[int, doc("steps with the goal and the student observing")]
    feedback_received: Annotated[int, doc("feedback on the goal the student received")]
    feedback_given: Annotated[int, doc("feedback on the goal the student gave")]
    reflections: Annotated[int, doc("reflections on the goal the student wrote")]
    assessments: Annotated[int, doc("assessments of the student on the goal")]
    latest_level: Annotated[str | None, doc("level of the latest assessment")]
    latest_level_at: Annotated[datetime | None, doc("when that assessment occurred")]
    latest_level_position: Annotated[int | None, doc("its position in the record")]
    status: Annotated[Status, doc("met, not_met, evidenced or no_evidence")]
    first_evidence_at: Annotated[datetime | None, doc("earliest evidence (occurred)")]
    latest_evidence_at: Annotated[datetime | None, doc("latest evidence (occurred)")]
    retired: Annotated[bool, doc("the goal has been retired")]


class ProgressionSummaryRow(Row):
    course_id: str
    student_id: str
    goals: Annotated[int, doc("goals of the course not retired")]
    met: Annotated[int, doc("of those, met")]
    not_met: Annotated[int, doc("of those, assessed below the pass level")]
    evidenced: Annotated[int, doc("of those, with evidence but no assessment")]
    no_evidence: Annotated[int, doc("of those, without any evidence")]
    retired: Annotated[int, doc("retired goals (not counted above)")]


class ProgressionGoalRow(Row):
    course_id: str
    goal_id: str
    ordinal: Annotated[int, doc("the order in which goals were added, from 0")]
    title: str
    area: str | None
    added_at: Annotated[datetime, doc("when it was added (occurred)")]
    retired_at: Annotated[datetime | None, doc("when it was retired (occurred)")]


class ProgressionCourseRow(Row):
    course_id: str
    title: str
    starts_on: date
    ends_on: date
    scale: Annotated[tuple[str, ...], doc("assessment levels, lowest first")]
    pass_level: str


class ProgressionStudentRow(Row):
    course_id: str
    student_id: str
    enrolled_at: datetime


class ProgressionPairRow(Row):
    pair_id: str
    course_id: str


class ProgressionAssessmentRow(Row):
    pair_id: str
    position: int
    course_id: str
    student_id: str
    goal_id: str
    level: str
    kind: Annotated[str, doc("formative, midpoint or final")]
    occurred_at: datetime
    event: str


class ProgressionMentionRow(Row):
    pair_id: str
    position: int
    course_id: str
    student_id: str
    goal_id: str
    event: str


PROGRESSION: Final = Table(
    "progression",
    ProgressionRow,
    key=3,
    doc="One row per enrolled student and goal of the course.",
)
SUMMARY: Final = Table(
    "progression_summary",
    ProgressionSummaryRow,
    key=2,
    doc="One row per enrolled student: how many goals are in each status.",
)
GOALS: Final = Table(
    "progression_goals", ProgressionGoalRow, key=2, doc="The goals of each course."
)
COURSES: Final = Table(
    "progression_courses", ProgressionCourseRow, key=1, doc="Each course's dates and scale."
)
STUDENTS: Final = Table(
    "progression_students", ProgressionStudentRow, key=2, doc="Enrolled students."
)
PAIRS: Final = Table(
    "progression_pairs", ProgressionPairRow, key=1, doc="The course of each pair.", public=False
)
ENTRIES: Final = ledger_table("progression_entries")
ASSESSMENTS: Final = Table(
    "progression_assessments", ProgressionAssessmentRow, key=2, doc="Every assessment."
)
MENTIONS: Final = Table(
    "progression_mentions",
    ProgressionMentionRow,
    key=2,
    doc="Events listed in a student's audit of a goal that count as no evidence "
    "(those whose class names its student and goal in ``about_goal``).",
)

TABLES: Final = (
    PROGRESSION,
    SUMMARY,
    GOALS,
    COURSES,
    STUDENTS,
    PAIRS,
    ENTRIES,
    ASSESSMENTS,
    MENTIONS,
)

MENTIONED: Final = tuple(event for event in PAIR_EVENTS if event.about_goal is not None)
"""The pair events a student's audit of a goal lists beside the evidence."""

CSG = tuple[str, str, str]


def contributions(entry: Entry) -> list[tuple[str, str, Evidence]]:
    """(student, goal, evidence count) for each way the entry is evidence."""
    goals = entry.goals
    people: list[tuple[str, Evidence]]
    if isinstance(entry, StepEntry):
        people = [(p, "performed") for p in entry.performers]
        people += [(o, "observed") for o in entry.observers]
    elif isinstance(entry, FeedbackEntry):
        people = [(entry.receiver, "feedback_received"), (entry.giver, "feedback_given")]
    else:
        people = [(a, "reflections") for a in entry.authors]
    return [(student, goal, column) for student, column in people for goal in goals]


class Progression(Projection):
    name: ClassVar[str] = "progression"
    version: ClassVar[int] = 3
    tables: ClassVar = TABLES

    def reindex(self) -> None:
        self.evidence: dict[CSG, set[EntryKey]] = {}
        self.assessed: dict[CSG, list[tuple[str, int]]] = {}
        self.mentioned: dict[CSG, list[tuple[int, str]]] = {}
        self.goals_of: dict[str, list[str]] = {}
        self.students_of: dict[str, list[str]] = {}
        self.rank: dict[str, dict[str, int]] = {}
        self.pass_rank: dict[str, int] = {}
        rows = self.rows
        for course in rows.all(COURSES):
            self._index_course(course.course_id, course.scale, course.pass_level)
        for goal_row in sorted(rows.all(GOALS), key=lambda g: g.ordinal):
            self.goals_of.setdefault(goal_row.course_id, []).append(goal_row.goal_id)
        for enrolled in rows.all(STUDENTS):
            self.students_of.setdefault(enrolled.course_id, []).append(enrolled.student_id)
        self.ledger = Ledger(rows, ENTRIES, keep_events=True)
        for key, entry in self.ledger.counting():
            pair = rows.get(PAIRS, (key[0],))
            if pair is not None:
                for student, goal, _ in contributions(entry):
                    self.evidence.setdefault((pair.course_id, student, goal), set()).add(key)
        for assessment in sorted(rows.all(ASSESSMENTS), key=lambda a: a.position):
            csg = (assessment.course_id, assessment.student_id, assessment.goal_id)
            self.assessed.setdefault(csg, []).append((assessment.pair_id, assessment.position))
        for mention in rows.all(MENTIONS):
            csg = (mention.course_id, mention.student_id, mention.goal_id)
            self.mentioned.setdefault(csg, []).append((mention.position, mention.event))

    def _index_course(self, course_id: str, scale: tuple[str, ...], pass_level: str) -> None:
        self.rank[course_id] = {level: i for i, level in enumerate(scale)}
        self.pass_rank[course_id] = self.rank[course_id][pass_level]

    # --- course ----------------------------------------------------------------------

    def on_course_opened(self, position: int, recorded_at: datetime, event: CourseOpened) -> None:
        del position, recorded_at
        c = event.course_id
        self.rows.put(
            COURSES,
            (c,),
            ProgressionCourseRow(
                c, event.title, event.starts_on, event.ends_on, event.scale, event.pass_level
            ),
        )
        self._index_course(c, event.scale, event.pass_level)
        self.goals_of[c] = []
        self.students_of.setdefault(c, [])
        for goal in event.goals:
            self._add_goal(c, goal.goal_id, goal.title, goal.area, event.occurred_at)

    def on_goal_added(self, position: int, recorded_at: datetime, event: GoalAdded) -> None:
        del position, recorded_at
        if event.course_id in self.goals_of:
            self._add_goal(
                event.course_id, event.goal_id, event.title, event.area, event.occurred_at
            )

    def _add_goal(
        self, c: str, goal_id: str, title: str, area: str | None, added_at: datetime
    ) -> None:
        goals = self.goals_of[c]
        self.rows.put(
            GOALS,
            (c, goal_id),
            ProgressionGoalRow(c, goal_id, len(goals), title, area, added_at, None),
        )
        goals.append(goal_id)
        for student in self.students_of.get(c, ()):
            self._new_row(c, student, goal_id, retired=False)

    def on_goal_revised(self, position: int, recorded_at: datetime, event: GoalRevised) -> None:
        del position, recorded_at
        goal = self.rows.get(GOALS, (event.course_id, event.goal_id))
        if goal is None:
            return
        if event.title is not None:
            goal.title = event.title
        if event.area is not None:
            goal.area = event.area
        self.rows.touch(GOALS, (event.course_id, event.goal_id))

    def on_goal_retired(self, position: int, recorded_at: datetime, event: GoalRetired) -> None:
        del position, recorded_at
        c, goal_id = event.course_id, event.goal_id
        goal = self.rows.get(GOALS, (c, goal_id))
        if goal is None:
            return
        goal.retired_at = event.occurred_at
        self.rows.touch(GOALS, (c, goal_id))
        for student in self.students_of.get(c, ()):
            row = self.rows.get(PROGRESSION, (c, student, goal_id))
            if row is not None and not row.retired:
                self._count_in_summary(row, -1)
                row.retired = True
                self._count_in_summary(row, +1)
                self.rows.touch(PROGRESSION, (c, student, goal_id))

    def on_student_enrolled(
        self, position: int, recorded_at: datetime, event: StudentEnrolled
    ) -> None:
        del position, recorded_at
        c, s = event.course_id, event.student_id
        if c not in self.goals_of:
            return
        self.rows.put(STUDENTS, (c, s), ProgressionStudentRow(c, s, event.occurred_at))
        self.students_of.setdefault(c, []).append(s)
        self.rows.put(SUMMARY, (c, s), ProgressionSummaryRow(c, s, 0, 0, 0, 0, 0, 0))
        for goal_id in self.goals_of[c]:
            goal = self.rows.get(GOALS, (c, goal_id))
            self._new_row(c, s, goal_id, retired=goal is not None and goal.retired_at is not None)

    def _new_row(self, c: str, s: str, goal_id: str, *, retired: bool) -> None:
        row = ProgressionRow(
            c, s, goal_id, 0, 0, 0, 0, 0, 0, None, None, None, "no_evidence", None, None, retired
        )
        self.rows.put(PROGRESSION, (c, s, goal_id), row)
        self._count_in_summary(row, +1)

    def _count_in_summary(self, row: ProgressionRow, delta: int) -> None:
        key = (row.course_id, row.student_id)
        summary = self.rows.get(SUMMARY, key)
        if summary is None:
            return
        if row.retired:
            summary.retired += delta
        else:
            summary.goals += delta
            status = row.status
            setattr(summary, status, getattr(summary, status) + delta)
        self.rows.touch(SUMMARY, key)

    def on_pair_formed(self, position: int, recorded_at: datetime, event: PairFormed) -> None:
        del position, recorded_at
        self.rows.put(PAIRS, (event.pair_id,), ProgressionPairRow(event.pair_id, event.course_id))

    # --- entries ---------------------------------------------------------------------

    def on_entry(self, position: int, recorded_at: datetime, event: DomainEvent) -> None:
        del recorded_at
        change = self.ledger.apply(position, event)
        if change is None:
            return
        pair = self.rows.get(PAIRS, (change.key[0],))
        if pair is None:
            return
        if change.before is not None:
            self._count(pair.course_id, change.key, change.before, -1)
        if change.after is not None:
            self._count(pair.course_id, change.key, change.after, +1)

    def _count(self, c: str, key: EntryKey, entry: Entry, delta: int) -> None:
        """Add (+1) or remove (-1) an entry's evidence."""
        when = entry.occurred_at
        table = self.rows.of(PROGRESSION)
        evidence = self.evidence
        changed = self.rows.changed[PROGRESSION.name] if self.rows.track else None
        for student, goal, column in contributions(entry):
            csg = (c, student, goal)
            row = table.get(csg)
            if row is None:
                continue  # an as-of view before the student or goal existed
            setattr(row, column, getattr(row, column) + delta)
            found = evidence.get(csg)
            if found is None:
                found = evidence[csg] = set()
            if delta > 0:
                found.add(key)
                first = row.first_evidence_at
                if first is None:
                    row.first_evidence_at = row.latest_evidence_at = when
                elif when < first:
                    row.first_evidence_at = when
                elif row.latest_evidence_at is None or when > row.latest_evidence_at:
                    row.latest_evidence_at = when
                if row.status == "no_evidence":
                    self._set_status(row, "evidenced")
            else:
                found.discard(key)
                self._forget_evidence(row, found, when)
            if changed is not None:
                changed.add(csg)

    def _forget_evidence(self, row: ProgressionRow, found: set[EntryKey], when: datetime) -> None:
        """After evidence that occurred ``when`` stopped counting: the row's times and status."""
        if when in (row.first_evidence_at, row.latest_evidence_at):
            ledger = self.ledger
            times = [ledger.occurred_at(k) for k in found]
            row.first_evidence_at = min(times, default=None)
            row.latest_evidence_at = max(times, default=None)
        self._set_status(row, self._status(row))

    def _set_status(self, row: ProgressionRow, status: Status) -> None:
        if status != row.status:
            self._count_in_summary(row, -1)
            row.status = status
            self._count_in_summary(row, +1)

    def _status(self, row: ProgressionRow) -> Status:
        if row.assessments and row.latest_level is not None:
            rank = self.rank[row.course_id]
            met = rank[row.latest_level] >= self.pass_rank[row.course_id]
            return "met" if met else "not_met"
        if (
            row.performed
            or row.observed
            or row.feedback_received
            or row.feedback_given
            or row.reflections
        ):
            return "evidenced"
        return "no_evidence"

    # --- assessments -----------------------------------------------------------------

    def on_goal_assessed(self, position: int, recorded_at: datetime, event: GoalAssessed) -> None:
        del recorded_at
        pair = self.rows.get(PAIRS, (event.pair_id,))
        if pair is None:
            return
        c = pair.course_id
        csg = (c, event.student_id, event.goal_id)
        row = self.rows.get(PROGRESSION, csg)
        if row is None:
            return
        self.rows.put(
            ASSESSMENTS,
            (event.pair_id, position),
            ProgressionAssessmentRow(
                event.pair_id,
                position,
                c,
                event.student_id,
                event.goal_id,
                event.level,
                event.kind,
                event.occurred_at,
                ref(event),
            ),
        )
        self.assessed.setdefault(csg, []).append((event.pair_id, position))
        self._count_in_summary(row, -1)
        row.assessments += 1
        if row.latest_level_at is None or (event.occurred_at, position) > (
            row.latest_level_at,
            row.latest_level_position or 0,
        ):
            row.latest_level = event.level
            row.latest_level_at = event.occurred_at
            row.latest_level_position = position
        row.status = self._status(row)
        self._count_in_summary(row, +1)
        self.rows.touch(PROGRESSION, csg)

    def on_mention(self, position: int, recorded_at: datetime, event: DomainEvent) -> None:
        del recorded_at
        pair = self.rows.get(PAIRS, (getattr(event, "pair_id"),))  # noqa: B009
        if pair is None or event.about_goal is None:
            return
        student_field, goal_field = event.about_goal
        c, s, g = pair.course_id, getattr(event, student_field), getattr(event, goal_field)
        if self.rows.get(PROGRESSION, (c, s, g)) is None:
            return
        self.rows.put(
            MENTIONS,
            (pair.pair_id, position),
            ProgressionMentionRow(pair.pair_id, position, c, s, g, ref(event)),
        )
        self.mentioned.setdefault((c, s, g), []).append((position, ref(event)))

    # --- queries over the rows ---------------------------------------------------------

    def events_behind(self, course_id: str, student_id: str, goal_id: str) -> list[str]:
        """The events behind a student's evidence on a goal, in the order recorded."""
        csg = (course_id, student_id, goal_id)
        found: list[tuple[int, str]] = []
        for key in self.evidence.get(csg, ()):
            found.extend((e[0], e[1]) for e in self.ledger.events(key))
        assessments = self.rows.of(ASSESSMENTS)
        for pair_id, position in self.assessed.get(csg, ()):
            found.append((position, assessments[(pair_id, position)].event))
        found.extend(self.mentioned.get(csg, ()))
        return [event for _, event in sorted(found)]

    handlers: ClassVar[dict[type[DomainEvent], Handler]] = {
        CourseOpened: on_course_opened,
        GoalAdded: on_goal_added,
        GoalRevised: on_goal_revised,
        GoalRetired: on_goal_retired,
        StudentEnrolled: on_student_enrolled,
        PairFormed: on_pair_formed,
        **dict.fromkeys(ENTRY_EVENTS, on_entry),
        GoalAssessed: on_goal_assessed,
        **dict.fromkeys(MENTIONED, on_mention),
    }
