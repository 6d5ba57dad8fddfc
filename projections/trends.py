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
from typing import Annotated, Any, ClassVar, Final
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
from peerlog.projections.tables import Row, Table, doc

MEMBER_KEYS: Final = (
    "performer",
    "observer",
    "feedback_given",
    "feedback_received",
    "peer_feedback_given",
    "reflections",
)
GOAL_KEYS: Final = (*EVIDENCE_KEYS, "assessments")


class TrendWeekRow(Row):
    pair_id: str
    week: Annotated[str, doc("ISO week of the course, e.g. 2026-W10")]
    course_id: str
    starts_on: Annotated[date, doc("the week's Monday")]
    sessions: Annotated[int, doc("sessions opened that week")]
    steps: Annotated[int, doc("steps that count")]
    performer_balance: Annotated[float | None, doc("1 - G* of the week's performer counts")]
    feedback: Annotated[int, doc("feedback that counts, any source")]
    peer_feedback: Annotated[int, doc("of that, peer feedback between members")]
    feedback_balance: Annotated[float | None, doc("1 - G* of the week's peer feedback given")]
    reflections: Annotated[int, doc("reflections that count")]
    incomplete_reflections: Annotated[int, doc("of those, missing Gibbs stages")]
    reflection_stages: Annotated[int, doc("Gibbs stages those reflections cover")]
    reflection_completeness: Annotated[float | None, doc("reflection_stages / (6 x reflections)")]


class TrendWeekMemberRow(Row):
    pair_id: str
    week: str
    student_id: str
    performer: Annotated[int, doc("steps naming the member as performer")]
    observer: Annotated[int, doc("steps naming the member as observer")]
    feedback_given: Annotated[int, doc("feedback with the member as giver")]
    feedback_received: Annotated[int, doc("feedback with the member as receiver")]
    peer_feedback_given: Annotated[int, doc("peer feedback the member gave")]
    reflections: Annotated[int, doc("reflections the member authored")]


class TrendSessionRow(Row):
    pair_id: str
    session_id: str
    ordinal: Annotated[int, doc("the pair's sessions in the order opened, from 0")]
    opened_at: datetime
    week: Annotated[str, doc("the ISO week it was opened in")]
    steps: Annotated[int, doc("steps that count")]
    performed: Annotated[
        tuple[int, ...], doc("performer counts, in the order of the pair's members")
    ]
    performer_balance: Annotated[float | None, doc("1 - G* of those counts")]


class TrendGoalWeekRow(Row):
    course_id: str
    student_id: str
    goal_id: str
    week: str
    starts_on: Annotated[date, doc("the week's Monday")]
    performed: Annotated[int, doc("steps with the goal and the student performing")]
    observed: Annotated[int, doc("steps with the goal and the student observing")]
    feedback_received: Annotated[int, doc("feedback on the goal the student received")]
    feedback_given: Annotated[int, doc("feedback on the goal the student gave")]
    reflections: Annotated[int, doc("reflections on the goal the student wrote")]
    assessments: Annotated[int, doc("assessments of the student on the goal")]
    assessed: Annotated[
        tuple[tuple[str, str, str], ...], doc("[occurred_at, level, kind] of each, in time order")
    ]


class TrendCourseRow(Row):
    course_id: str
    starts_on: date
    ends_on: date
    time_zone: Annotated[
        str | None,
        doc("the course's own time zone, whose Mondays its weeks start on (UTC if none)"),
    ]


class TrendPairRow(Row):
    pair_id: str
    course_id: str
    members: Annotated[tuple[str, ...], doc("the pair's students")]


WEEKS: Final = Table(
    "trend_weeks", TrendWeekRow, key=2, doc="One row per pair and week with anything in it."
)
WEEK_MEMBERS: Final = Table(
    "trend_week_members",
    TrendWeekMemberRow,
    key=3,
    doc="One row per pair, week (as in trend_weeks) and member.",
)
SESSIONS: Final = Table(
    "trend_sessions",
    TrendSessionRow,
    key=2,
    doc="One row per session: its steps and performer balance.",
)
GOAL_WEEKS: Final = Table(
    "trend_goal_weeks",
    TrendGoalWeekRow,
    key=4,
    doc="One row per student, goal and week with evidence or an assessment.",
)
COURSES: Final = Table(
    "trend_courses", TrendCourseRow, key=1, doc="Each course's dates (the weeks a chart spans)."
)
PAIRS: Final = Table(
    "trend_pairs",
    TrendPairRow,
    key=1,
    doc="The course and members of each pair.",
    public=False,
)
ENTRIES: Final = ledger_table("trend_entries")

TABLES: Final = (WEEKS, WEEK_MEMBERS, SESSIONS, GOAL_WEEKS, COURSES, PAIRS, ENTRIES)


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
            course.course_id: _zone(course.time_zone) for course in self.rows.all(COURSES)
        }
        # How many sessions each pair has opened (the next one's ordinal).
        self.opened: dict[str, int] = {}
        for session in self.rows.all(SESSIONS):
            self.opened[session.pair_id] = self.opened.get(session.pair_id, 0) + 1

    # --- courses and pairs -----------------------------------------------------------

    def on_course_opened(self, position: int, recorded_at: datetime, event: CourseOpened) -> None:
        del position, recorded_at
        c = event.course_id
        self.rows.put(
            COURSES, (c,), TrendCourseRow(c, event.starts_on, event.ends_on, event.time_zone)
        )
        self.zones[c] = _zone(event.time_zone)

    def _iso_week(self, pair: TrendPairRow, moment: datetime) -> tuple[str, date]:
        """The week of the pair's course ``moment`` falls in."""
        return iso_week(moment, self.zones.get(pair.course_id, UTC_ZONE))

    def on_pair_formed(self, position: int, recorded_at: datetime, event: PairFormed) -> None:
        del position, recorded_at
        p = event.pair_id
        self.rows.put(PAIRS, (p,), TrendPairRow(p, event.course_id, self.share(event.students)))
        self.opened[p] = 0

    def on_session_opened(self, position: int, recorded_at: datetime, event: SessionOpened) -> None:
        del position, recorded_at
        pair = self.rows.get(PAIRS, (event.pair_id,))
        if pair is None:
            return
        p = pair.pair_id
        week, _ = self._iso_week(pair, event.occurred_at)
        ordinal = self.opened.get(p, 0)
        self.opened[p] = ordinal + 1
        performed = (0,) * len(pair.members)
        self.rows.put(
            SESSIONS,
            (p, event.session_id),
            TrendSessionRow(
                p, event.session_id, ordinal, event.occurred_at, week, 0, performed, None
            ),
        )
        row = self._week(pair, event.occurred_at)
        row.sessions += 1

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
        if isinstance(step, StepEntry) and (pair.pair_id, step.session_id) in self.rows.of(
            SESSIONS
        ):
            # The session a step counts in: its own, if this view holds it.
            self.ledger.set_note(change.key, step.session_id)
        session_id = self.ledger.note(change.key)
        if change.before is not None:
            self._count(pair, change.before, session_id, -1)
        if change.after is not None:
            self._count(pair, change.after, session_id, +1)

    def _count(self, pair: TrendPairRow, entry: Entry, session_id: str | None, delta: int) -> None:
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
        pair: TrendPairRow,
        entry: StepEntry,
        week: TrendWeekRow,
        members: dict[str, TrendWeekMemberRow],
        delta: int,
        *,
        session_id: str | None,
    ) -> None:
        for person in entry.performers:
            if person in members:
                members[person].performer += delta
        for person in entry.observers:
            if person in members:
                members[person].observer += delta
        week.steps += delta
        week.performer_balance = balance([members[m].performer for m in pair.members])
        self._count_in_session(pair, entry, session_id, delta)

    @staticmethod
    def _count_feedback(
        pair: TrendPairRow,
        entry: FeedbackEntry,
        week: TrendWeekRow,
        members: dict[str, TrendWeekMemberRow],
        delta: int,
    ) -> None:
        giver, receiver = members.get(entry.giver), members.get(entry.receiver)
        if giver is not None:
            giver.feedback_given += delta
        if receiver is not None:
            receiver.feedback_received += delta
        week.feedback += delta
        if entry.source == "peer":
            week.peer_feedback += delta
            if giver is not None:
                giver.peer_feedback_given += delta
        week.feedback_balance = balance([members[m].peer_feedback_given for m in pair.members])

    @staticmethod
    def _count_reflection(
        entry: ReflectionEntry,
        week: TrendWeekRow,
        members: dict[str, TrendWeekMemberRow],
        delta: int,
    ) -> None:
        stages = len(entry.stages)
        for author in entry.authors:
            if author in members:
                members[author].reflections += delta
        week.reflections += delta
        if stages < len(GIBBS_STAGES):
            week.incomplete_reflections += delta
        week.reflection_stages += delta * stages
        week.reflection_completeness = (
            week.reflection_stages / (len(GIBBS_STAGES) * week.reflections)
            if week.reflections
            else None
        )

    def _count_in_session(
        self, pair: TrendPairRow, entry: StepEntry, session_id: str | None, delta: int
    ) -> None:
        if session_id is None:
            return
        key = (pair.pair_id, session_id)
        session = self.rows.of(SESSIONS)[key]
        performers = entry.performers
        session.performed = self.share(
            tuple(
                n + delta if member in performers else n
                for member, n in zip(pair.members, session.performed, strict=True)
            )
        )
        session.steps += delta
        session.performer_balance = balance(list(session.performed))
        self.rows.touch(SESSIONS, key)

    def _count_goals(self, pair: TrendPairRow, entry: Entry, delta: int) -> None:
        week, starts_on = self._iso_week(pair, entry.occurred_at)
        for student, goal, column in contributions(entry):
            if student not in pair.members:
                continue  # a supervisor's feedback is evidence for its receiver only
            row = self._goal_week(pair.course_id, student, goal, week, starts_on)
            setattr(row, column, getattr(row, column) + delta)
            self._done_with_goal_week(row)

    # --- assessments -----------------------------------------------------------------

    def on_goal_assessed(self, position: int, recorded_at: datetime, event: GoalAssessed) -> None:
        del position, recorded_at
        pair = self.rows.get(PAIRS, (event.pair_id,))
        if pair is None:
            return
        week, starts_on = self._iso_week(pair, event.occurred_at)
        row = self._goal_week(pair.course_id, event.student_id, event.goal_id, week, starts_on)
        row.assessments += 1
        when = event.occurred_at.astimezone(UTC).isoformat()
        row.assessed = tuple(sorted((*row.assessed, (when, event.level, event.kind))))

    # --- rows of a week --------------------------------------------------------------

    def _week(self, pair: TrendPairRow, moment: datetime) -> TrendWeekRow:
        """The pair's row of the week ``moment`` falls in (made, with its members' rows,
        if the week had none), marked as changed."""
        week, starts_on = self._iso_week(pair, moment)
        p = pair.pair_id
        key = (p, week)
        row = self.rows.get(WEEKS, key)
        if row is None:
            row = TrendWeekRow(
                p, week, pair.course_id, starts_on, 0, 0, None, 0, 0, None, 0, 0, 0, None
            )
            self.rows.put(WEEKS, key, row)
            for member in pair.members:
                self.rows.put(
                    WEEK_MEMBERS,
                    (p, week, member),
                    TrendWeekMemberRow(p, week, member, 0, 0, 0, 0, 0, 0),
                )
        else:
            self.rows.touch(WEEKS, key)
        return row

    def _members(self, pair: TrendPairRow, week: str) -> dict[str, TrendWeekMemberRow]:
        """The member rows of a pair's week (which exists), marked as changed."""
        out = {}
        rows = self.rows.of(WEEK_MEMBERS)
        for member in pair.members:
            key = (pair.pair_id, week, member)
            out[member] = rows[key]
            self.rows.touch(WEEK_MEMBERS, key)
        return out

    def _done_with_week(self, pair: TrendPairRow, row: TrendWeekRow) -> None:
        """Delete a week left with nothing in it."""
        if row.sessions or row.steps or row.feedback or row.reflections:
            return
        p, week = pair.pair_id, row.week
        self.rows.delete(WEEKS, (p, week))
        for member in pair.members:
            self.rows.delete(WEEK_MEMBERS, (p, week, member))

    def _goal_week(
        self, course_id: str, student: str, goal: str, week: str, starts_on: date
    ) -> TrendGoalWeekRow:
        key = (course_id, student, goal, week)
        row = self.rows.get(GOAL_WEEKS, key)
        if row is None:
            row = TrendGoalWeekRow(course_id, student, goal, week, starts_on, 0, 0, 0, 0, 0, 0, ())
            self.rows.put(GOAL_WEEKS, key, row)
        else:
            self.rows.touch(GOAL_WEEKS, key)
        return row

    def _done_with_goal_week(self, row: TrendGoalWeekRow) -> None:
        if not (
            row.performed
            or row.observed
            or row.feedback_received
            or row.feedback_given
            or row.reflections
            or row.assessments
        ):
            self.rows.delete(GOAL_WEEKS, (row.course_id, row.student_id, row.goal_id, row.week))

    handlers: ClassVar[dict[type[DomainEvent], Handler]] = {
        CourseOpened: on_course_opened,
        PairFormed: on_pair_formed,
        SessionOpened: on_session_opened,
        **dict.fromkeys(ENTRY_EVENTS, on_entry),
        GoalAssessed: on_goal_assessed,
    }


# --- reading the trends ----------------------------------------------------------------
# From stored tables or from rows folded in memory (an as-of answer), alike.


def _zone(name: str | None) -> ZoneInfo:
    """A course's zone by its name (UTC for none, or one this system no longer knows)."""
    if not name:
        return UTC_ZONE
    try:
        return zone_named(name)
    except ValueError:
        return UTC_ZONE


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


def _span(
    course: TrendCourseRow | None, until: date, found: Iterable[date]
) -> list[tuple[str, date]]:
    """The weeks a chart shows: the course's, up to ``until``, and any other week with
    something in it (an entry dated outside the course)."""
    days = list(found)
    if course is not None:
        days += [course.starts_on, max(course.starts_on, min(course.ends_on, until))]
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
    found = source.read(PAIRS, pair_id=pair_id)
    if not found:
        return None
    pair = found[0]
    members = list(pair.members)
    courses = source.read(COURSES, course_id=pair.course_id)
    weeks = {r.week: r for r in source.read(WEEKS, pair_id=pair_id)}
    counts = {(r.week, r.student_id): r for r in source.read(WEEK_MEMBERS, pair_id=pair_id)}
    sessions = sorted(source.read(SESSIONS, pair_id=pair_id), key=lambda s: s.ordinal)
    span = _span(courses[0] if courses else None, until, (r.starts_on for r in weeks.values()))
    zone = _zone(courses[0].time_zone) if courses else UTC_ZONE
    peer_given = dict.fromkeys(members, 0)
    out_weeks = []
    for week, monday in span:
        row = weeks.get(week)
        its = {
            m: {k: getattr(counts[(week, m)], k) for k in MEMBER_KEYS}
            if (week, m) in counts
            else dict.fromkeys(MEMBER_KEYS, 0)
            for m in members
        }
        for m in members:
            peer_given[m] += its[m]["peer_feedback_given"]
        # The week ends at Sunday midnight on the ward's clock, not in UTC.
        end = datetime.combine(monday + timedelta(weeks=1), time(), zone)
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
        "course_id": pair.course_id,
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
                "session_id": s.session_id,
                "ordinal": s.ordinal,
                "opened_at": s.opened_at.isoformat(),
                "week": s.week,
                "steps": s.steps,
                "performed": dict(zip(members, s.performed, strict=True)),
                "performer_balance": _rounded(s.performer_balance),
            }
            for s in sessions
        ],
    }


def _week_figures(row: TrendWeekRow | None) -> dict[str, Any]:
    if row is None:
        return {
            "sessions": 0,
            "steps": 0,
            "performer_balance": None,
            "feedback": 0,
            "peer_feedback": 0,
            "feedback_balance": None,
            "reflections": 0,
            "incomplete_reflections": 0,
            "reflection_completeness": None,
        }
    return {
        "sessions": row.sessions,
        "steps": row.steps,
        "performer_balance": _rounded(row.performer_balance),
        "feedback": row.feedback,
        "peer_feedback": row.peer_feedback,
        "feedback_balance": _rounded(row.feedback_balance),
        "reflections": row.reflections,
        "incomplete_reflections": row.incomplete_reflections,
        "reflection_completeness": _rounded(row.reflection_completeness),
    }


def _flags_by(
    end: datetime,
    members: list[str],
    sessions: list[TrendSessionRow],
    peer_given: dict[str, int],
    limits: Thresholds,
) -> list[str]:
    """The overview's balance flags as they would have been raised at ``end``, from what
    had happened by then (as corrections now leave it): performer balance over the last
    sessions opened by then, peer feedback balance over the placement so far."""
    flags = []
    last = [s for s in sessions if s.opened_at < end][-limits.balance_sessions :]
    performed = [sum(s.performed[i] for s in last) for i in range(len(members))]
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
    pairs = {r.pair_id: r for r in source.read(PAIRS, pair_id=list(pair_ids))}
    course_ids = sorted({p.course_id for p in pairs.values()})
    courses = {r.course_id: r for r in source.read(COURSES, course_id=course_ids)}
    weeks: dict[str, dict[str, TrendWeekRow]] = {p: {} for p in pair_ids}
    for row in source.read(WEEKS, pair_id=list(pair_ids)):
        weeks[row.pair_id][row.week] = row
    out = {}
    for pair_id in pair_ids:
        pair = pairs.get(pair_id)
        if pair is None:
            continue
        its = weeks[pair_id]
        span = _span(courses.get(pair.course_id), until, (r.starts_on for r in its.values()))
        out[pair_id] = [
            (week, _rounded(its[week].performer_balance) if week in its else None)
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
    rows = source.read(GOAL_WEEKS, course_id=course_id, student_id=student_id)
    courses = source.read(COURSES, course_id=course_id)
    span = _span(courses[0] if courses else None, until, (r.starts_on for r in rows))
    cells: dict[str, dict[str, Any]] = {}
    for row in rows:
        cells.setdefault(row.goal_id, {})[row.week] = {
            "evidence": {k: getattr(row, k) for k in GOAL_KEYS},
            "assessments": [
                {"occurred_at": when, "level": level, "kind": kind}
                for when, level, kind in row.assessed
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
