"""Trends: the placement over time, week by week (and session by session).

For each pair and ISO week: sessions opened, steps and the performer balance of that
week, feedback (all, and peer feedback each way with its balance), reflections and how
complete they were; for each member in that week, their counts. For each session, its
steps and performer balance. For each student, goal and week, the evidence counts and
the assessments (level and kind) of that week.

An entry counts in the week it happened (its ``occurred_at``), whenever it was recorded:
a correction or retraction recorded weeks later changes the entry's own week, not the
week of the correction. Weeks are the course's ISO weeks (Monday 00:00 to Sunday 24:00
on the ward, in the time zone the course names; in UTC for a course that names none):
an evening shift that ends at 23:30 on a Sunday in Stockholm counts in that week, in
summer and in winter. Counts follow the contract (entries not retracted, corrections applied), and
balances are the contract's 1 - G* over the week's counts.

Rows of weeks without anything left in them are deleted, so an in-memory fold, the
incremental read model and a rebuild hold the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar, Final
from zoneinfo import ZoneInfo

from peerlog.domain.events import (
    CourseOpened,
    DomainEvent,
    GoalAssessed,
    PairFormed,
    SessionOpened,
)
from peerlog.domain.pair import Entry, FeedbackEntry, ReflectionEntry, StepEntry
from peerlog.domain.vocabulary import GIBBS_STAGES
from peerlog.projections.base import Handler, Projection
from peerlog.projections.ledger import ENTRY_EVENTS, Ledger, ledger_table
from peerlog.projections.local_time import UTC_ZONE, zone_named
from peerlog.projections.overview import Source, Thresholds
from peerlog.projections.participation import balance
from peerlog.projections.progression import EVIDENCE_KEYS, contributions
from peerlog.projections.tables import Column, Table

WEEKS: Final = "trend_weeks"
WEEK_MEMBERS: Final = "trend_week_members"
SESSIONS: Final = "trend_sessions"
GOAL_WEEKS: Final = "trend_goal_weeks"
COURSES: Final = "trend_courses"
PAIRS: Final = "trend_pairs"
ENTRIES: Final = "trend_entries"

MEMBER_KEYS: Final = (
    "performer",
    "observer",
    "feedback_given",
    "feedback_received",
    "peer_feedback_given",
    "reflections",
)
GOAL_KEYS: Final = (*EVIDENCE_KEYS, "assessments")

TABLES: Final = (
    Table(
        WEEKS,
        (
            Column("pair_id", "text"),
            Column("week", "text", "ISO week of the course, e.g. 2026-W10"),
            Column("course_id", "text"),
            Column("starts_on", "date", "the week's Monday"),
            Column("sessions", "integer", "sessions opened that week"),
            Column("steps", "integer", "steps that count"),
            Column(
                "performer_balance", "real", "1 - G* of the week's performer counts", nullable=True
            ),
            Column("feedback", "integer", "feedback that counts, any source"),
            Column("peer_feedback", "integer", "of that, peer feedback between members"),
            Column(
                "feedback_balance",
                "real",
                "1 - G* of the week's peer feedback given",
                nullable=True,
            ),
            Column("reflections", "integer", "reflections that count"),
            Column("incomplete_reflections", "integer", "of those, missing Gibbs stages"),
            Column("reflection_stages", "integer", "Gibbs stages those reflections cover"),
            Column(
                "reflection_completeness",
                "real",
                "reflection_stages / (6 x reflections)",
                nullable=True,
            ),
        ),
        key=2,
        doc="One row per pair and week with anything in it.",
    ),
    Table(
        WEEK_MEMBERS,
        (
            Column("pair_id", "text"),
            Column("week", "text"),
            Column("student_id", "text"),
            Column("performer", "integer", "steps naming the member as performer"),
            Column("observer", "integer", "steps naming the member as observer"),
            Column("feedback_given", "integer", "feedback with the member as giver"),
            Column("feedback_received", "integer", "feedback with the member as receiver"),
            Column("peer_feedback_given", "integer", "peer feedback the member gave"),
            Column("reflections", "integer", "reflections the member authored"),
        ),
        key=3,
        doc="One row per pair, week (as in trend_weeks) and member.",
    ),
    Table(
        SESSIONS,
        (
            Column("pair_id", "text"),
            Column("session_id", "text"),
            Column("ordinal", "integer", "the pair's sessions in the order opened, from 0"),
            Column("opened_at", "timestamp"),
            Column("week", "text", "the ISO week it was opened in"),
            Column("steps", "integer", "steps that count"),
            Column("performed", "json", "performer counts, in the order of the pair's members"),
            Column("performer_balance", "real", "1 - G* of those counts", nullable=True),
        ),
        key=2,
        doc="One row per session: its steps and performer balance.",
    ),
    Table(
        GOAL_WEEKS,
        (
            Column("course_id", "text"),
            Column("student_id", "text"),
            Column("goal_id", "text"),
            Column("week", "text"),
            Column("starts_on", "date", "the week's Monday"),
            Column("performed", "integer", "steps with the goal and the student performing"),
            Column("observed", "integer", "steps with the goal and the student observing"),
            Column("feedback_received", "integer", "feedback on the goal the student received"),
            Column("feedback_given", "integer", "feedback on the goal the student gave"),
            Column("reflections", "integer", "reflections on the goal the student wrote"),
            Column("assessments", "integer", "assessments of the student on the goal"),
            Column("assessed", "json", "[occurred_at, level, kind] of each, in time order"),
        ),
        key=4,
        doc="One row per student, goal and week with evidence or an assessment.",
    ),
    Table(
        COURSES,
        (
            Column("course_id", "text"),
            Column("starts_on", "date"),
            Column("ends_on", "date"),
            Column(
                "time_zone",
                "text",
                "the course's own time zone, whose Mondays its weeks start on (UTC if none)",
                nullable=True,
            ),
        ),
        key=1,
        doc="Each course's dates (the weeks a chart spans).",
    ),
    Table(
        PAIRS,
        (
            Column("pair_id", "text"),
            Column("course_id", "text"),
            Column("members", "json", "the pair's students"),
        ),
        key=1,
        doc="The course and members of each pair.",
        public=False,
    ),
    ledger_table(ENTRIES),
)

# Column positions. trend_entries shares its first twelve with progression_entries,
# so that progression's ``contributions`` reads both.
W_STARTS, W_SESSIONS, W_STEPS, W_PERFORMER_BALANCE, W_FEEDBACK, W_PEER = 3, 4, 5, 6, 7, 8
W_FEEDBACK_BALANCE, W_REFLECTIONS, W_INCOMPLETE, W_STAGES, W_COMPLETENESS = 9, 10, 11, 12, 13
M_COUNT: Final = {name: 3 + i for i, name in enumerate(MEMBER_KEYS)}
M_PERFORMER, M_OBSERVER = M_COUNT["performer"], M_COUNT["observer"]
M_GIVEN, M_RECEIVED = M_COUNT["feedback_given"], M_COUNT["feedback_received"]
M_PEER_GIVEN, M_REFLECTED = M_COUNT["peer_feedback_given"], M_COUNT["reflections"]
S_ORDINAL, S_OPENED, S_WEEK, S_STEPS, S_PERFORMED, S_BALANCE = 2, 3, 4, 5, 6, 7
G_COUNT: Final = {name: 5 + i for i, name in enumerate(GOAL_KEYS)}
G_ASSESSMENTS, G_ASSESSED = G_COUNT["assessments"], 11
PROGRESSION_TO_GOAL_WEEK: Final = 2
"""progression's count columns (from ``contributions``) are these trend_goal_weeks' minus 2."""


def iso_week(moment: datetime | date, zone: ZoneInfo = UTC_ZONE) -> tuple[str, date]:
    """The ISO week a moment falls in on the clock of ``zone``, e.g. ``2026-W10``, and its
    Monday."""
    day = moment.astimezone(zone).date() if isinstance(moment, datetime) else moment
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}", date.fromisocalendar(year, week, 1)


class Trends(Projection):
    name: ClassVar[str] = "trends"
    version: ClassVar[int] = 3
    tables: ClassVar = TABLES

    def reindex(self) -> None:
        self.ledger = Ledger(self.rows, ENTRIES)
        # The zone of each course, whose weeks its pairs' rows are counted in.
        self.zones: dict[str, ZoneInfo] = {
            course[0]: _zone(course[3]) for course in self.rows.all(COURSES)
        }
        # How many sessions each pair has opened (the next one's ordinal).
        self.opened: dict[str, int] = {}
        for session in self.rows.all(SESSIONS):
            self.opened[session[0]] = self.opened.get(session[0], 0) + 1

    # --- courses and pairs -----------------------------------------------------------

    def on_course_opened(self, position: int, recorded_at: datetime, event: CourseOpened) -> None:
        del position, recorded_at
        c = event.course_id
        self.rows.put(COURSES, (c,), [c, event.starts_on, event.ends_on, event.time_zone])
        self.zones[c] = _zone(event.time_zone)

    def _iso_week(self, pair: list[Any], moment: datetime) -> tuple[str, date]:
        """The week of the pair's course ``moment`` falls in."""
        return iso_week(moment, self.zones.get(pair[1], UTC_ZONE))

    def on_pair_formed(self, position: int, recorded_at: datetime, event: PairFormed) -> None:
        del position, recorded_at
        p = event.pair_id
        self.rows.put(PAIRS, (p,), [p, event.course_id, self.share(event.students)])
        self.opened[p] = 0

    def on_session_opened(self, position: int, recorded_at: datetime, event: SessionOpened) -> None:
        del position, recorded_at
        pair = self.rows.get(PAIRS, (event.pair_id,))
        if pair is None:
            return
        p = pair[0]
        week, _ = self._iso_week(pair, event.occurred_at)
        ordinal = self.opened.get(p, 0)
        self.opened[p] = ordinal + 1
        performed = (0,) * len(pair[2])
        self.rows.put(
            SESSIONS,
            (p, event.session_id),
            [p, event.session_id, ordinal, event.occurred_at, week, 0, performed, None],
        )
        row = self._week(pair, event.occurred_at)
        row[W_SESSIONS] += 1

    # --- entries ---------------------------------------------------------------------

    def on_entry(self, position: int, recorded_at: datetime, event: DomainEvent) -> None:
        del recorded_at
        change = self.ledger.apply(position, event)
        if change is None:
            return
        pair = self.rows.get(PAIRS, (change.key[0],))
        if pair is None:
            return
        step = change.after if change.before is None else None
        if isinstance(step, StepEntry) and (pair[0], step.session_id) in self.rows.data[SESSIONS]:
            # The session a step counts in: its own, if this view holds it.
            self.ledger.set_note(change.key, step.session_id)
        session_id = self.ledger.note(change.key)
        if change.before is not None:
            self._count(pair, change.before, session_id, -1)
        if change.after is not None:
            self._count(pair, change.after, session_id, +1)

    def _count(self, pair: list[Any], entry: Entry, session_id: str | None, delta: int) -> None:
        """Add (+1) or remove (-1) what an entry counts for, in the week it happened."""
        week = self._week(pair, entry.occurred_at)
        members = self._members(pair, self._iso_week(pair, entry.occurred_at)[0])
        if isinstance(entry, StepEntry):
            self._count_step(pair, entry, week, members, delta, session_id=session_id)
        elif isinstance(entry, FeedbackEntry):
            self._count_feedback(pair, entry, week, members, delta)
        else:
            self._count_reflection(entry, week, members, delta)
        self._done_with_week(pair, week)
        self._count_goals(pair, entry, delta)

    def _count_step(
        self,
        pair: list[Any],
        entry: StepEntry,
        week: list[Any],
        members: dict[str, list[Any]],
        delta: int,
        *,
        session_id: str | None,
    ) -> None:
        for column, people in (
            (M_PERFORMER, entry.performers),
            (M_OBSERVER, entry.observers),
        ):
            for person in people:
                if person in members:
                    members[person][column] += delta
        week[W_STEPS] += delta
        week[W_PERFORMER_BALANCE] = balance([members[m][M_PERFORMER] for m in pair[2]])
        self._count_in_session(pair, entry, session_id, delta)

    @staticmethod
    def _count_feedback(
        pair: list[Any],
        entry: FeedbackEntry,
        week: list[Any],
        members: dict[str, list[Any]],
        delta: int,
    ) -> None:
        giver, receiver = members.get(entry.giver), members.get(entry.receiver)
        if giver is not None:
            giver[M_GIVEN] += delta
        if receiver is not None:
            receiver[M_RECEIVED] += delta
        week[W_FEEDBACK] += delta
        if entry.source == "peer":
            week[W_PEER] += delta
            if giver is not None:
                giver[M_PEER_GIVEN] += delta
        week[W_FEEDBACK_BALANCE] = balance([members[m][M_PEER_GIVEN] for m in pair[2]])

    @staticmethod
    def _count_reflection(
        entry: ReflectionEntry, week: list[Any], members: dict[str, list[Any]], delta: int
    ) -> None:
        stages = len(entry.stages)
        for author in entry.authors:
            if author in members:
                members[author][M_REFLECTED] += delta
        week[W_REFLECTIONS] += delta
        if stages < len(GIBBS_STAGES):
            week[W_INCOMPLETE] += delta
        week[W_STAGES] += delta * stages
        week[W_COMPLETENESS] = (
            week[W_STAGES] / (len(GIBBS_STAGES) * week[W_REFLECTIONS])
            if week[W_REFLECTIONS]
            else None
        )

    def _count_in_session(
        self, pair: list[Any], entry: StepEntry, session_id: str | None, delta: int
    ) -> None:
        if session_id is None:
            return
        key = (pair[0], session_id)
        session = self.rows.data[SESSIONS][key]
        performers = entry.performers
        session[S_PERFORMED] = self.share(
            tuple(
                n + delta if member in performers else n
                for member, n in zip(pair[2], session[S_PERFORMED], strict=True)
            )
        )
        session[S_STEPS] += delta
        session[S_BALANCE] = balance(list(session[S_PERFORMED]))
        self.rows.touch(SESSIONS, key)

    def _count_goals(self, pair: list[Any], entry: Entry, delta: int) -> None:
        week, starts_on = self._iso_week(pair, entry.occurred_at)
        for student, goal, column in contributions(entry):
            if student not in pair[2]:
                continue  # a supervisor's feedback is evidence for its receiver only
            row = self._goal_week(pair[1], student, goal, week, starts_on)
            row[column + PROGRESSION_TO_GOAL_WEEK] += delta
            self._done_with_goal_week(row)

    # --- assessments -----------------------------------------------------------------

    def on_goal_assessed(self, position: int, recorded_at: datetime, event: GoalAssessed) -> None:
        del position, recorded_at
        pair = self.rows.get(PAIRS, (event.pair_id,))
        if pair is None:
            return
        week, starts_on = self._iso_week(pair, event.occurred_at)
        row = self._goal_week(pair[1], event.student_id, event.goal_id, week, starts_on)
        row[G_ASSESSMENTS] += 1
        when = event.occurred_at.astimezone(UTC).isoformat()
        row[G_ASSESSED] = tuple(sorted((*row[G_ASSESSED], (when, event.level, event.kind))))

    # --- rows of a week --------------------------------------------------------------

    def _week(self, pair: list[Any], moment: datetime) -> list[Any]:
        """The pair's row of the week ``moment`` falls in (made, with its members' rows,
        if the week had none), marked as changed."""
        week, starts_on = self._iso_week(pair, moment)
        p = pair[0]
        key = (p, week)
        row = self.rows.get(WEEKS, key)
        if row is None:
            row = [p, week, pair[1], starts_on, 0, 0, None, 0, 0, None, 0, 0, 0, None]
            self.rows.put(WEEKS, key, row)
            for member in pair[2]:
                self.rows.put(WEEK_MEMBERS, (p, week, member), [p, week, member, 0, 0, 0, 0, 0, 0])
        else:
            self.rows.touch(WEEKS, key)
        return row

    def _members(self, pair: list[Any], week: str) -> dict[str, list[Any]]:
        """The member rows of a pair's week (which exists), marked as changed."""
        out = {}
        for member in pair[2]:
            key = (pair[0], week, member)
            out[member] = self.rows.data[WEEK_MEMBERS][key]
            self.rows.touch(WEEK_MEMBERS, key)
        return out

    def _done_with_week(self, pair: list[Any], row: list[Any]) -> None:
        """Delete a week left with nothing in it."""
        if row[W_SESSIONS] or row[W_STEPS] or row[W_FEEDBACK] or row[W_REFLECTIONS]:
            return
        p, week = pair[0], row[1]
        self.rows.delete(WEEKS, (p, week))
        for member in pair[2]:
            self.rows.delete(WEEK_MEMBERS, (p, week, member))

    def _goal_week(
        self, course_id: str, student: str, goal: str, week: str, starts_on: date
    ) -> list[Any]:
        key = (course_id, student, goal, week)
        row = self.rows.get(GOAL_WEEKS, key)
        if row is None:
            row = [course_id, student, goal, week, starts_on, 0, 0, 0, 0, 0, 0, ()]
            self.rows.put(GOAL_WEEKS, key, row)
        else:
            self.rows.touch(GOAL_WEEKS, key)
        return row

    def _done_with_goal_week(self, row: list[Any]) -> None:
        if not any(row[G_COUNT["performed"] : G_ASSESSED]):
            self.rows.delete(GOAL_WEEKS, tuple(row[:4]))

    handlers: ClassVar[dict[type[DomainEvent], Handler]] = {
        CourseOpened: on_course_opened,
        PairFormed: on_pair_formed,
        SessionOpened: on_session_opened,
        **dict.fromkeys(ENTRY_EVENTS, on_entry),
        GoalAssessed: on_goal_assessed,
    }


def _zone(name: str | None) -> ZoneInfo:
    """A course's zone by its name (UTC for none, or one this system no longer knows)."""
    if not name:
        return UTC_ZONE
    try:
        return zone_named(name)
    except ValueError:
        return UTC_ZONE


# --- reading the trends ----------------------------------------------------------------
# From stored tables or from rows folded in memory (an as-of answer), alike.

TABLE: Final = {t.name: t for t in TABLES}


def weeks_between(first: date, last: date) -> list[tuple[str, date]]:
    """Every ISO week from the one holding ``first`` to the one holding ``last``."""
    week, monday = iso_week(first)
    end = iso_week(last)[1]
    out = []
    while monday <= end:
        out.append((week, monday))
        monday += timedelta(weeks=1)
        week = iso_week(monday)[0]
    return out


def _span(course: list[Any] | None, until: date, found: Iterable[date]) -> list[tuple[str, date]]:
    """The weeks a chart shows: the course's, up to ``until``, and any other week with
    something in it (an entry dated outside the course)."""
    days = list(found)
    if course is not None:
        days += [course[1], max(course[1], min(course[2], until))]
    if not days:
        return []
    return weeks_between(min(days), max(days))


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def pair_trend(
    source: Source, pair_id: str, *, until: date, thresholds: Thresholds | None = None
) -> dict[str, Any] | None:
    """A pair week by week and session by session, with the weeks at whose end the
    overview would have flagged it; None if the pair is not in the read model."""
    limits = thresholds or Thresholds()
    found = source.read(TABLE[PAIRS], pair_id=pair_id)
    if not found:
        return None
    pair = found[0]
    members = list(pair[2])
    courses = source.read(TABLE[COURSES], course_id=pair[1])
    weeks = {r[1]: r for r in source.read(TABLE[WEEKS], pair_id=pair_id)}
    counts = {(r[1], r[2]): r for r in source.read(TABLE[WEEK_MEMBERS], pair_id=pair_id)}
    sessions = sorted(source.read(TABLE[SESSIONS], pair_id=pair_id), key=lambda s: s[S_ORDINAL])
    span = _span(courses[0] if courses else None, until, (r[W_STARTS] for r in weeks.values()))
    peer_given = dict.fromkeys(members, 0)
    out_weeks = []
    for week, monday in span:
        row = weeks.get(week)
        its = {
            m: dict(zip(MEMBER_KEYS, counts[(week, m)][3:], strict=True))
            if (week, m) in counts
            else dict.fromkeys(MEMBER_KEYS, 0)
            for m in members
        }
        for m in members:
            peer_given[m] += its[m]["peer_feedback_given"]
        end = datetime.combine(monday + timedelta(weeks=1), time(), UTC)
        out_weeks.append(
            {
                "week": week,
                "starts_on": monday.isoformat(),
                **_week_figures(row),
                "members": its,
                "flags": _flags_by(end, members, sessions, peer_given, limits),
            }
        )
    return {
        "pair_id": pair_id,
        "course_id": pair[1],
        "members": members,
        "thresholds": {
            "performer_balance": limits.performer_balance,
            "balance_sessions": limits.balance_sessions,
            "feedback_balance": limits.feedback_balance,
            "min_peer_feedback": limits.min_peer_feedback,
        },
        "weeks": out_weeks,
        "sessions": [
            {
                "session_id": s[1],
                "ordinal": s[S_ORDINAL],
                "opened_at": s[S_OPENED].isoformat(),
                "week": s[S_WEEK],
                "steps": s[S_STEPS],
                "performed": dict(zip(members, s[S_PERFORMED], strict=True)),
                "performer_balance": _rounded(s[S_BALANCE]),
            }
            for s in sessions
        ],
    }


def _week_figures(row: list[Any] | None) -> dict[str, Any]:
    if row is None:
        row = [None, None, None, None, 0, 0, None, 0, 0, None, 0, 0, 0, None]
    return {
        "sessions": row[W_SESSIONS],
        "steps": row[W_STEPS],
        "performer_balance": _rounded(row[W_PERFORMER_BALANCE]),
        "feedback": row[W_FEEDBACK],
        "peer_feedback": row[W_PEER],
        "feedback_balance": _rounded(row[W_FEEDBACK_BALANCE]),
        "reflections": row[W_REFLECTIONS],
        "incomplete_reflections": row[W_INCOMPLETE],
        "reflection_completeness": _rounded(row[W_COMPLETENESS]),
    }


def _flags_by(
    end: datetime,
    members: list[str],
    sessions: list[list[Any]],
    peer_given: dict[str, int],
    limits: Thresholds,
) -> list[str]:
    """The overview's balance flags as they would have been raised at ``end``, from what
    had happened by then (as corrections now leave it): performer balance over the last
    sessions opened by then, peer feedback balance over the placement so far."""
    flags = []
    last = [s for s in sessions if s[S_OPENED] < end][-limits.balance_sessions :]
    performed = [sum(s[S_PERFORMED][i] for s in last) for i in range(len(members))]
    recent = balance(performed)
    if recent is not None and recent < limits.performer_balance:
        flags.append("performer_imbalance")
    given = [peer_given[m] for m in members]
    feedback = balance(given)
    if (
        feedback is not None
        and feedback < limits.feedback_balance
        and sum(given) >= limits.min_peer_feedback
    ):
        flags.append("one_way_feedback")
    return flags


def weekly_balances(
    source: Source, pair_ids: Sequence[str], *, until: date
) -> dict[str, list[tuple[str, float | None]]]:
    """Each pair's performer balance week by week (None in a week without steps), for
    the overview's sparklines: two reads for all the pairs."""
    if not pair_ids:
        return {}
    pairs = {r[0]: r for r in source.read(TABLE[PAIRS], pair_id=list(pair_ids))}
    course_ids = sorted({p[1] for p in pairs.values()})
    courses = {r[0]: r for r in source.read(TABLE[COURSES], course_id=course_ids)}
    weeks: dict[str, dict[str, list[Any]]] = {p: {} for p in pair_ids}
    for row in source.read(TABLE[WEEKS], pair_id=list(pair_ids)):
        weeks[row[0]][row[1]] = row
    out = {}
    for pair_id in pair_ids:
        pair = pairs.get(pair_id)
        if pair is None:
            continue
        its = weeks[pair_id]
        span = _span(courses.get(pair[1]), until, (r[W_STARTS] for r in its.values()))
        out[pair_id] = [
            (week, _rounded(its[week][W_PERFORMER_BALANCE]) if week in its else None)
            for week, _ in span
        ]
    return out


def goal_weeks(
    source: Source,
    course_id: str,
    student_id: str,
    goals: Sequence[Mapping[str, Any]],
    *,
    until: date,
) -> dict[str, Any]:
    """A student's goals by weeks: the evidence and assessments of each goal in each
    week of the course (up to ``until``). ``goals`` are the course's goals, in order
    (``goal_id``, ``title``, ``retired``)."""
    rows = source.read(TABLE[GOAL_WEEKS], course_id=course_id, student_id=student_id)
    courses = source.read(TABLE[COURSES], course_id=course_id)
    span = _span(courses[0] if courses else None, until, (r[4] for r in rows))
    cells: dict[str, dict[str, Any]] = {}
    for row in rows:
        cells.setdefault(row[2], {})[row[3]] = {
            "evidence": dict(zip(GOAL_KEYS, row[5:G_ASSESSED], strict=True)),
            "assessments": [
                {"occurred_at": when, "level": level, "kind": kind}
                for when, level, kind in row[G_ASSESSED]
            ],
        }
    return {
        "student_id": student_id,
        "course_id": course_id,
        "weeks": [{"week": week, "starts_on": monday.isoformat()} for week, monday in span],
        "goals": [
            {
                "goal_id": goal["goal_id"],
                "title": goal.get("title", goal["goal_id"]),
                "retired": bool(goal.get("retired")),
                "weeks": cells.get(goal["goal_id"], {}),
            }
            for goal in goals
        ],
    }


QUIET_WEEKS: Final = 3
"""A goal without evidence in this many last weeks is named on the student's grid."""


def quiet_goals(grid: Mapping[str, Any], last: int = QUIET_WEEKS) -> list[dict[str, Any]]:
    """The goals (not retired) with no evidence in the grid's ``last`` weeks."""
    recent = [w["week"] for w in grid["weeks"][-last:]]
    if len(recent) < last:
        return []
    return [
        goal
        for goal in grid["goals"]
        if not goal["retired"]
        and not any(
            sum(goal["weeks"][week]["evidence"][k] for k in EVIDENCE_KEYS)
            for week in recent
            if week in goal["weeks"]
        )
    ]
