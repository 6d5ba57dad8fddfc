"""The supervisor overview: each supervisor's pairs and students, recent sessions, latest
activity, and flags for who needs attention.

The overview is read from the read models (``supervisor_pairs``, ``pair_balance``,
``pair_sessions``, ``session_participation``, ``progression``, ``progression_courses``)
when it is asked for, because its flags depend on the time of asking. The same function
reads stored tables or rows folded in memory.

Flags (thresholds configurable, see :class:`Thresholds`):

* ``performer_imbalance`` - performer balance below 0.6 over the pair's last 5 sessions;
* ``no_reflection`` - no reflection in the pair's last 3 closed sessions;
* ``one_way_feedback`` - peer feedback balance below 0.5, with at least 4 peer feedbacks;
* ``goals_without_evidence`` - past the course's midpoint, a student has active goals
  without any evidence or assessment.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol, TypeVar

from peerlog.i18n import Fixed, lazy, lazy_plural
from peerlog.projections.participation import (
    BALANCE,
    SESSION_PARTICIPATION,
    SESSIONS,
    SUPERVISORS,
    PairBalanceRow,
    PairSessionRow,
    balance,
)
from peerlog.projections.progression import COURSES, PROGRESSION, ProgressionCourseRow
from peerlog.projections.tables import Row, Rows, Table

R = TypeVar("R", bound=Row)


class Source(Protocol):
    """Somewhere to read read-model rows from: a read store, or rows in memory."""

    def read(self, table: Table[R], **where: Any) -> list[R]: ...


@dataclass(frozen=True)
class InMemory:
    """Rows folded in memory, read like stored tables."""

    rows: Sequence[Rows]

    def read(self, table: Table[R], **where: Any) -> list[R]:
        for rows in self.rows:
            if table.name in rows.data:
                found = list(rows.of(table).values())
                break
        else:
            return []
        for column, value in where.items():
            if column not in table.column_names:
                msg = f"{table.name} has no column {column}"
                raise ValueError(msg)
            values = set(value) if isinstance(value, list | tuple | set | frozenset) else {value}
            found = [r for r in found if getattr(r, column) in values]
        return found


@dataclass(frozen=True)
class Thresholds:
    performer_balance: float = 0.6
    """Flag a pair whose performer balance over its last sessions is below this."""
    balance_sessions: int = 5
    """How many of the pair's last sessions the performer balance is taken over."""
    reflection_sessions: int = 3
    """Flag a pair without a reflection in this many last closed sessions."""
    feedback_balance: float = 0.5
    """Flag one-way peer feedback: feedback balance below this..."""
    min_peer_feedback: int = 4
    """...with at least this many peer feedbacks."""
    recent_days: int = 7
    """Sessions in the last this many days count as recent."""


@dataclass(frozen=True)
class Flag:
    code: str
    message: str


@dataclass
class PairOverview:
    pair_id: str
    course_id: str
    supervisors: list[str]
    students: list[str]
    sessions: int
    recent_sessions: int
    latest_activity_at: datetime | None
    performer_balance: float | None
    feedback_balance: float | None
    flags: list[Flag] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "pair_id": self.pair_id,
            "course_id": self.course_id,
            "supervisors": self.supervisors,
            "students": self.students,
            "sessions": self.sessions,
            "recent_sessions": self.recent_sessions,
            "latest_activity_at": (
                self.latest_activity_at.isoformat() if self.latest_activity_at else None
            ),
            "performer_balance": _round(self.performer_balance),
            "feedback_balance": _round(self.feedback_balance),
            "flags": [{"flag": f.code, "message": f.message} for f in self.flags],
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def overview(
    source: Source,
    *,
    now: datetime,
    supervisor: str | None = None,
    courses: Collection[str] | None = None,
    thresholds: Thresholds | None = None,
    include_dissolved: bool = False,
) -> list[PairOverview]:
    """Every supervised pair (or one supervisor's, or those of some courses), flagged
    pairs first."""
    limits = thresholds or Thresholds()
    supervised = _supervised(source, supervisor, courses, include_dissolved=include_dissolved)
    if not supervised:
        return []
    pair_ids = sorted(supervised)
    pairs = {r.pair_id: r for r in source.read(BALANCE, pair_id=pair_ids)}
    sessions: dict[str, list[PairSessionRow]] = defaultdict(list)
    for session in source.read(SESSIONS, pair_id=pair_ids):
        sessions[session.pair_id].append(session)
    performed: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for row in source.read(SESSION_PARTICIPATION, pair_id=pair_ids):
        performed[(row.pair_id, row.session_id)][row.student_id] = row.performer
    course_ids = sorted({p.course_id for p in pairs.values()})
    in_view = {r.course_id: r for r in source.read(COURSES, course_id=course_ids)}
    missing = _goals_without_evidence(source, pairs, in_view, now)

    result = []
    for pair_id in pair_ids:
        pair = pairs.get(pair_id)
        if pair is None:
            continue
        ordered = sorted(sessions[pair_id], key=lambda s: s.ordinal)
        item = PairOverview(
            pair_id=pair_id,
            course_id=pair.course_id,
            supervisors=sorted(supervised[pair_id]),
            students=list(pair.members),
            sessions=len(ordered),
            recent_sessions=sum(
                1 for s in ordered if s.opened_at >= now - timedelta(days=limits.recent_days)
            ),
            latest_activity_at=pair.latest_activity_at,
            performer_balance=pair.performer_balance,
            feedback_balance=pair.feedback_balance,
        )
        item.flags = _flags(pair, ordered, performed, missing.get(pair_id, {}), limits)
        result.append(item)
    result.sort(key=lambda p: (-len(p.flags), p.pair_id))
    return result


def _supervised(
    source: Source,
    supervisor: str | None,
    courses: Collection[str] | None,
    *,
    include_dissolved: bool,
) -> dict[str, list[str]]:
    """The supervisors of each pair in view."""
    where: dict[str, Any] = {}
    if supervisor is not None:
        where["supervisor_id"] = supervisor
    if courses is not None:
        where["course_id"] = sorted(courses)
    supervised: dict[str, list[str]] = defaultdict(list)
    if courses is not None and not courses:
        return supervised
    for row in source.read(SUPERVISORS, **where):
        if row.active or include_dissolved:
            supervised[row.pair_id].append(row.supervisor_id)
    return supervised


def _goals_without_evidence(
    source: Source,
    pairs: dict[str, PairBalanceRow],
    courses: dict[str, ProgressionCourseRow],
    now: datetime,
) -> dict[str, dict[str, list[str]]]:
    """For each pair past its course's midpoint: each student's active goals without
    any evidence or assessment."""
    past: dict[str, list[str]] = defaultdict(list)
    for pair in pairs.values():
        course = courses.get(pair.course_id)
        if course is not None and now.date() > midpoint(course.starts_on, course.ends_on):
            past[pair.course_id].extend(pair.members)
    out: dict[str, dict[str, list[str]]] = defaultdict(dict)
    for course_id, students in past.items():
        empty: dict[str, list[str]] = defaultdict(list)
        for row in source.read(PROGRESSION, course_id=course_id, student_id=students):
            if row.status == "no_evidence" and not row.retired:
                empty[row.student_id].append(row.goal_id)
        for pair in pairs.values():
            if pair.course_id == course_id:
                found = {s: sorted(empty[s]) for s in pair.members if empty.get(s)}
                if found:
                    out[pair.pair_id] = found
    return out


def midpoint(starts_on: date, ends_on: date) -> date:
    return starts_on + (ends_on - starts_on) / 2


def _flags(
    pair: PairBalanceRow,
    ordered: list[PairSessionRow],
    performed: dict[tuple[str, str], dict[str, int]],
    missing: dict[str, list[str]],
    limits: Thresholds,
) -> list[Flag]:
    flags = []
    members = list(pair.members)
    last = ordered[-limits.balance_sessions :]
    counts = {
        m: sum(performed[(pair.pair_id, s.session_id)].get(m, 0) for s in last) for m in members
    }
    recent_balance = balance([counts[m] for m in members])
    if recent_balance is not None and recent_balance < limits.performer_balance:
        detail = tuple(
            lazy("%(member)s performed %(count)s", member=m, count=n) for m, n in counts.items()
        )
        flags.append(
            Flag(
                "performer_imbalance",
                lazy_plural(
                    "performer balance %(balance)s over the last session, below "
                    "the threshold of %(threshold)s: %(detail)s",
                    "performer balance %(balance)s over the last %(count)s sessions, below "
                    "the threshold of %(threshold)s: %(detail)s",
                    len(last),
                    balance=Fixed(recent_balance),
                    threshold=Fixed(limits.performer_balance),
                    detail=detail,
                ),
            )
        )
    closed = [s for s in ordered if s.closed_at is not None][-limits.reflection_sessions :]
    if closed and not any(s.reflections for s in closed):
        flags.append(
            Flag(
                "no_reflection",
                lazy_plural(
                    "no reflection in the last closed session; the threshold is "
                    "a reflection in every %(every)s closed sessions",
                    "no reflection in the last %(count)s closed sessions; the threshold is "
                    "a reflection in every %(every)s closed sessions",
                    len(closed),
                    every=limits.reflection_sessions,
                ),
            )
        )
    if (
        pair.feedback_balance is not None
        and pair.feedback_balance < limits.feedback_balance
        and pair.peer_feedback >= limits.min_peer_feedback
    ):
        flags.append(
            Flag(
                "one_way_feedback",
                lazy(
                    "peer feedback mostly one way: balance %(balance)s over %(count)s "
                    "feedbacks, below the threshold of %(threshold)s (counted from %(least)s "
                    "peer feedbacks on)",
                    balance=Fixed(pair.feedback_balance),
                    count=pair.peer_feedback,
                    threshold=Fixed(limits.feedback_balance),
                    least=limits.min_peer_feedback,
                ),
            )
        )
    if missing:
        unmet = "; ".join(f"{s}: {', '.join(goals)}" for s, goals in sorted(missing.items()))
        flags.append(
            Flag(
                "goals_without_evidence",
                lazy(
                    "past the middle of the placement, every goal needs some evidence; "
                    "goals without evidence: %(detail)s",
                    detail=unmet,
                ),
            )
        )
    return flags
