"""Progression: for each student and goal, the evidence the record holds and its status.

Counts follow the contract: only entries not retracted, with corrections applied.
``latest_level`` is the level of the assessment that occurred last (ties: the one
recorded later); ``status`` is ``met`` if that level is at or above the course's pass
level, ``not_met`` if it is below, ``evidenced`` without an assessment but with
evidence, and ``no_evidence`` otherwise. Evidence times (first and latest) are the
``occurred_at`` of the steps, feedback and reflections that count.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Final

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
from peerlog.projections.tables import Column, Table

PROGRESSION: Final = "progression"
SUMMARY: Final = "progression_summary"
GOALS: Final = "progression_goals"
COURSES: Final = "progression_courses"
STUDENTS: Final = "progression_students"
PAIRS: Final = "progression_pairs"
ENTRIES: Final = "progression_entries"
ASSESSMENTS: Final = "progression_assessments"
MENTIONS: Final = "progression_mentions"

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

TABLES: Final = (
    Table(
        PROGRESSION,
        (
            Column("course_id", "text"),
            Column("student_id", "text"),
            Column("goal_id", "text"),
            Column("performed", "integer", "steps with the goal and the student performing"),
            Column("observed", "integer", "steps with the goal and the student observing"),
            Column("feedback_received", "integer", "feedback on the goal the student received"),
            Column("feedback_given", "integer", "feedback on the goal the student gave"),
            Column("reflections", "integer", "reflections on the goal the student wrote"),
            Column("assessments", "integer", "assessments of the student on the goal"),
            Column("latest_level", "text", "level of the latest assessment", nullable=True),
            Column("latest_level_at", "timestamp", "when that assessment occurred", nullable=True),
            Column("latest_level_position", "integer", "its position in the record", nullable=True),
            Column("status", "text", "met, not_met, evidenced or no_evidence"),
            Column("first_evidence_at", "timestamp", "earliest evidence (occurred)", nullable=True),
            Column("latest_evidence_at", "timestamp", "latest evidence (occurred)", nullable=True),
            Column("retired", "boolean", "the goal has been retired"),
        ),
        key=3,
        doc="One row per enrolled student and goal of the course.",
    ),
    Table(
        SUMMARY,
        (
            Column("course_id", "text"),
            Column("student_id", "text"),
            Column("goals", "integer", "goals of the course not retired"),
            Column("met", "integer", "of those, met"),
            Column("not_met", "integer", "of those, assessed below the pass level"),
            Column("evidenced", "integer", "of those, with evidence but no assessment"),
            Column("no_evidence", "integer", "of those, without any evidence"),
            Column("retired", "integer", "retired goals (not counted above)"),
        ),
        key=2,
        doc="One row per enrolled student: how many goals are in each status.",
    ),
    Table(
        GOALS,
        (
            Column("course_id", "text"),
            Column("goal_id", "text"),
            Column("ordinal", "integer", "the order in which goals were added, from 0"),
            Column("title", "text"),
            Column("area", "text", nullable=True),
            Column("added_at", "timestamp", "when it was added (occurred)"),
            Column("retired_at", "timestamp", "when it was retired (occurred)", nullable=True),
        ),
        key=2,
        doc="The goals of each course.",
    ),
    Table(
        COURSES,
        (
            Column("course_id", "text"),
            Column("title", "text"),
            Column("starts_on", "date"),
            Column("ends_on", "date"),
            Column("scale", "json", "assessment levels, lowest first"),
            Column("pass_level", "text"),
        ),
        key=1,
        doc="Each course's dates and scale.",
    ),
    Table(
        STUDENTS,
        (
            Column("course_id", "text"),
            Column("student_id", "text"),
            Column("enrolled_at", "timestamp"),
        ),
        key=2,
        doc="Enrolled students.",
    ),
    Table(
        PAIRS,
        (Column("pair_id", "text"), Column("course_id", "text")),
        key=1,
        doc="The course of each pair.",
        public=False,
    ),
    ledger_table(ENTRIES),
    Table(
        ASSESSMENTS,
        (
            Column("pair_id", "text"),
            Column("position", "integer"),
            Column("course_id", "text"),
            Column("student_id", "text"),
            Column("goal_id", "text"),
            Column("level", "text"),
            Column("kind", "text", "formative, midpoint or final"),
            Column("occurred_at", "timestamp"),
            Column("event", "text"),
        ),
        key=2,
        doc="Every assessment.",
    ),
    Table(
        MENTIONS,
        (
            Column("pair_id", "text"),
            Column("position", "integer"),
            Column("course_id", "text"),
            Column("student_id", "text"),
            Column("goal_id", "text"),
            Column("event", "text"),
        ),
        key=2,
        doc="Events listed in a student's audit of a goal that count as no evidence "
        "(those whose class names its student and goal in ``about_goal``).",
    ),
)

MENTIONED: Final = tuple(event for event in PAIR_EVENTS if event.about_goal is not None)
"""The pair events a student's audit of a goal lists beside the evidence."""

# Column positions, for speed and readability in the handlers below.
P_COUNTS: Final = {name: 3 + i for i, name in enumerate(EVIDENCE_KEYS)}
PERFORMED, OBSERVED, RECEIVED, GIVEN, REFLECTED = (P_COUNTS[k] for k in EVIDENCE_KEYS)
P_ASSESSMENTS, P_LEVEL, P_LEVEL_AT, P_LEVEL_POS, P_STATUS = 8, 9, 10, 11, 12
P_FIRST, P_LATEST, P_RETIRED = 13, 14, 15
S_OFFSET: Final = {"met": 3, "not_met": 4, "evidenced": 5, "no_evidence": 6}

CSG = tuple[str, str, str]


def contributions(entry: Entry) -> list[tuple[str, str, int]]:
    """(student, goal, count column) for each way the entry is evidence."""
    goals = entry.goals
    if isinstance(entry, StepEntry):
        people = [(p, PERFORMED) for p in entry.performers]
        people += [(o, OBSERVED) for o in entry.observers]
    elif isinstance(entry, FeedbackEntry):
        people = [(entry.receiver, RECEIVED), (entry.giver, GIVEN)]
    else:
        people = [(a, REFLECTED) for a in entry.authors]
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
            self._index_course(course[0], course[4], course[5])
        for goal_row in sorted(rows.all(GOALS), key=lambda g: g[2]):
            self.goals_of.setdefault(goal_row[0], []).append(goal_row[1])
        for enrolled in rows.all(STUDENTS):
            self.students_of.setdefault(enrolled[0], []).append(enrolled[1])
        self.ledger = Ledger(rows, ENTRIES, keep_events=True)
        for key, entry in self.ledger.counting():
            pair = rows.get(PAIRS, (key[0],))
            if pair is not None:
                for student, goal, _ in contributions(entry):
                    self.evidence.setdefault((pair[1], student, goal), set()).add(key)
        for assessment in sorted(rows.all(ASSESSMENTS), key=lambda a: a[1]):
            csg = (assessment[2], assessment[3], assessment[4])
            self.assessed.setdefault(csg, []).append((assessment[0], assessment[1]))
        for mention in rows.all(MENTIONS):
            csg = (mention[2], mention[3], mention[4])
            self.mentioned.setdefault(csg, []).append((mention[1], mention[5]))

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
            [c, event.title, event.starts_on, event.ends_on, event.scale, event.pass_level],
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
        self.rows.put(GOALS, (c, goal_id), [c, goal_id, len(goals), title, area, added_at, None])
        goals.append(goal_id)
        for student in self.students_of.get(c, ()):
            self._new_row(c, student, goal_id, retired=False)

    def on_goal_revised(self, position: int, recorded_at: datetime, event: GoalRevised) -> None:
        del position, recorded_at
        goal = self.rows.get(GOALS, (event.course_id, event.goal_id))
        if goal is None:
            return
        if event.title is not None:
            goal[3] = event.title
        if event.area is not None:
            goal[4] = event.area
        self.rows.touch(GOALS, (event.course_id, event.goal_id))

    def on_goal_retired(self, position: int, recorded_at: datetime, event: GoalRetired) -> None:
        del position, recorded_at
        c, goal_id = event.course_id, event.goal_id
        goal = self.rows.get(GOALS, (c, goal_id))
        if goal is None:
            return
        goal[6] = event.occurred_at
        self.rows.touch(GOALS, (c, goal_id))
        for student in self.students_of.get(c, ()):
            row = self.rows.get(PROGRESSION, (c, student, goal_id))
            if row is not None and not row[P_RETIRED]:
                self._count_in_summary(row, -1)
                row[P_RETIRED] = True
                self._count_in_summary(row, +1)
                self.rows.touch(PROGRESSION, (c, student, goal_id))

    def on_student_enrolled(
        self, position: int, recorded_at: datetime, event: StudentEnrolled
    ) -> None:
        del position, recorded_at
        c, s = event.course_id, event.student_id
        if c not in self.goals_of:
            return
        self.rows.put(STUDENTS, (c, s), [c, s, event.occurred_at])
        self.students_of.setdefault(c, []).append(s)
        self.rows.put(SUMMARY, (c, s), [c, s, 0, 0, 0, 0, 0, 0])
        for goal_id in self.goals_of[c]:
            goal = self.rows.get(GOALS, (c, goal_id))
            self._new_row(c, s, goal_id, retired=goal is not None and goal[6] is not None)

    def _new_row(self, c: str, s: str, goal_id: str, *, retired: bool) -> None:
        row = [
            c,
            s,
            goal_id,
            0,
            0,
            0,
            0,
            0,
            0,
            None,
            None,
            None,
            "no_evidence",
            None,
            None,
            retired,
        ]
        self.rows.put(PROGRESSION, (c, s, goal_id), row)
        self._count_in_summary(row, +1)

    def _count_in_summary(self, row: list[Any], delta: int) -> None:
        summary = self.rows.get(SUMMARY, (row[0], row[1]))
        if summary is None:
            return
        if row[P_RETIRED]:
            summary[7] += delta
        else:
            summary[2] += delta
            summary[S_OFFSET[row[P_STATUS]]] += delta
        self.rows.touch(SUMMARY, (row[0], row[1]))

    def on_pair_formed(self, position: int, recorded_at: datetime, event: PairFormed) -> None:
        del position, recorded_at
        self.rows.put(PAIRS, (event.pair_id,), [event.pair_id, event.course_id])

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
            self._count(pair[1], change.key, change.before, -1)
        if change.after is not None:
            self._count(pair[1], change.key, change.after, +1)

    def _count(self, c: str, key: EntryKey, entry: Entry, delta: int) -> None:
        """Add (+1) or remove (-1) an entry's evidence."""
        when = entry.occurred_at
        table = self.rows.data[PROGRESSION]
        evidence = self.evidence
        changed = self.rows.changed[PROGRESSION] if self.rows.track else None
        for student, goal, column in contributions(entry):
            csg = (c, student, goal)
            row = table.get(csg)
            if row is None:
                continue  # an as-of view before the student or goal existed
            row[column] += delta
            found = evidence.get(csg)
            if found is None:
                found = evidence[csg] = set()
            if delta > 0:
                found.add(key)
                first = row[P_FIRST]
                if first is None:
                    row[P_FIRST] = row[P_LATEST] = when
                elif when < first:
                    row[P_FIRST] = when
                elif when > row[P_LATEST]:
                    row[P_LATEST] = when
                if row[P_STATUS] == "no_evidence":
                    self._set_status(row, "evidenced")
            else:
                found.discard(key)
                self._forget_evidence(row, found, when)
            if changed is not None:
                changed.add(csg)

    def _forget_evidence(self, row: list[Any], found: set[EntryKey], when: datetime) -> None:
        """After evidence that occurred ``when`` stopped counting: the row's times and status."""
        if when in (row[P_FIRST], row[P_LATEST]):
            ledger = self.ledger
            times = [ledger.occurred_at(k) for k in found]
            row[P_FIRST] = min(times, default=None)
            row[P_LATEST] = max(times, default=None)
        self._set_status(row, self._status(row))

    def _set_status(self, row: list[Any], status: str) -> None:
        if status != row[P_STATUS]:
            self._count_in_summary(row, -1)
            row[P_STATUS] = status
            self._count_in_summary(row, +1)

    def _status(self, row: list[Any]) -> str:
        if row[P_ASSESSMENTS]:
            rank = self.rank[row[0]]
            return "met" if rank[row[P_LEVEL]] >= self.pass_rank[row[0]] else "not_met"
        if any(row[3:8]):
            return "evidenced"
        return "no_evidence"

    # --- assessments -----------------------------------------------------------------

    def on_goal_assessed(self, position: int, recorded_at: datetime, event: GoalAssessed) -> None:
        del recorded_at
        pair = self.rows.get(PAIRS, (event.pair_id,))
        if pair is None:
            return
        c = pair[1]
        csg = (c, event.student_id, event.goal_id)
        row = self.rows.get(PROGRESSION, csg)
        if row is None:
            return
        self.rows.put(
            ASSESSMENTS,
            (event.pair_id, position),
            [
                event.pair_id,
                position,
                c,
                event.student_id,
                event.goal_id,
                event.level,
                event.kind,
                event.occurred_at,
                ref(event),
            ],
        )
        self.assessed.setdefault(csg, []).append((event.pair_id, position))
        self._count_in_summary(row, -1)
        row[P_ASSESSMENTS] += 1
        if row[P_LEVEL_AT] is None or (event.occurred_at, position) > (
            row[P_LEVEL_AT],
            row[P_LEVEL_POS],
        ):
            row[P_LEVEL], row[P_LEVEL_AT], row[P_LEVEL_POS] = (
                event.level,
                event.occurred_at,
                position,
            )
        row[P_STATUS] = self._status(row)
        self._count_in_summary(row, +1)
        self.rows.touch(PROGRESSION, csg)

    def on_mention(self, position: int, recorded_at: datetime, event: DomainEvent) -> None:
        del recorded_at
        pair = self.rows.get(PAIRS, (getattr(event, "pair_id"),))  # noqa: B009
        if pair is None or event.about_goal is None:
            return
        student_field, goal_field = event.about_goal
        csg = (pair[1], getattr(event, student_field), getattr(event, goal_field))
        if self.rows.get(PROGRESSION, csg) is None:
            return
        self.rows.put(MENTIONS, (pair[0], position), [pair[0], position, *csg, ref(event)])
        self.mentioned.setdefault(csg, []).append((position, ref(event)))

    # --- queries over the rows ---------------------------------------------------------

    def events_behind(self, course_id: str, student_id: str, goal_id: str) -> list[str]:
        """The events behind a student's evidence on a goal, in the order recorded."""
        csg = (course_id, student_id, goal_id)
        found: list[tuple[int, str]] = []
        for key in self.evidence.get(csg, ()):
            found.extend((e[0], e[1]) for e in self.ledger.events(key))
        for pair_id, position in self.assessed.get(csg, ()):
            found.append((position, self.rows.data[ASSESSMENTS][(pair_id, position)][8]))
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
