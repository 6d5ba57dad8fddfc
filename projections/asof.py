"""As-of answers: the same projections, folded in memory over the events that had been
recorded (or had occurred) by a time.

``--as-of T`` keeps the events recorded by T (``recorded_at <= T``); ``--as-of-occurred T``
keeps everything recorded so far about what happened by T (``occurred_at <= T``). A
correction or retraction counts from when it was recorded, or from its own
``occurred_at``, like any other event. Both may be given at once.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from peerlog.domain.events import DomainEvent, StudentsPaired
from peerlog.domain.vocabulary import course_stream, pair_stream
from peerlog.folding import folding
from peerlog.i18n import lazy
from peerlog.integrity.audits import integrity_of
from peerlog.persistence.records import RecordedEvent
from peerlog.projections.base import Projection
from peerlog.projections.overview import InMemory
from peerlog.projections.participation import (
    BALANCE,
    MEMBER_COUNTS,
    PARTICIPATION,
    PairBalanceRow,
    Participation,
)
from peerlog.projections.progression import (
    COURSES,
    EVIDENCE_KEYS,
    GOALS,
    PROGRESSION,
    SUMMARY,
    Progression,
)
from peerlog.projections.remembered import FoldKey, RememberedFold, RememberedFolds
from peerlog.projections.source import EventSource
from peerlog.projections.tables import Rows
from peerlog.projections.trends import Trends, goal_weeks

P = TypeVar("P", bound=Projection)


class NotInRecord(LookupError):
    """What a report asks about is not in the record (at that time)."""


@dataclass(frozen=True)
class AsOf:
    recorded: datetime | None = None
    occurred: datetime | None = None

    def describe(self, now: datetime) -> dict[str, str]:
        """The report's ``as_of`` (and ``as_of_occurred``) fields."""
        out = {"as_of": (self.recorded or now).isoformat()}
        if self.occurred is not None:
            out["as_of_occurred"] = self.occurred.isoformat()
        return out


def merged(source: EventSource, streams: Iterable[str]) -> Iterator[RecordedEvent]:
    """The stored events of several streams, in the order they were recorded."""
    return heapq.merge(*(source.records(s) for s in streams), key=lambda r: r.id)


def fold(
    source: EventSource, projection: type[P], records: Iterable[RecordedEvent], as_of: AsOf
) -> tuple[P, list[RecordedEvent]]:
    """Fold the kept events into a fresh projection in memory; also return what was kept."""
    return fold_with(source.decode, projection, records, as_of)


def fold_with(
    decode: Callable[[str, bytes], DomainEvent],
    projection: type[P],
    records: Iterable[RecordedEvent],
    as_of: AsOf,
) -> tuple[P, list[RecordedEvent]]:
    """:func:`fold` with events decoded by ``decode``."""
    state = projection(Rows(projection.tables, track=False))
    kept: list[RecordedEvent] = []
    fold_onto(decode, state, records, as_of, kept)
    return state, kept


def fold_onto(
    decode: Callable[[str, bytes], DomainEvent],
    state: Projection,
    records: Iterable[RecordedEvent],
    as_of: AsOf,
    kept: list[RecordedEvent],
) -> bool:
    """Fold the kept events onto ``state`` and append them to ``kept``; whether any was
    left out for having been recorded after ``as_of.recorded``."""
    topics = state.topics()
    late = False
    with folding():
        for record in records:
            if as_of.recorded is not None and record.recorded_at > as_of.recorded:
                late = True
                continue
            event = decode(record.topic, record.state)
            if as_of.occurred is not None and event.occurred_at > as_of.occurred:
                continue
            kept.append(record)
            if record.topic in topics:
                state.apply(record.id, record.recorded_at, event)
    return late


def fold_all(source: EventSource, projection: type[P]) -> P:
    """A projection folded over the whole record, in memory (what its read model holds)."""
    state = projection(Rows(projection.tables, track=False))
    decode = source.decode
    with folding():
        for position, topic, stored, recorded_at in source.iter_raw(0, topics=projection.topics()):
            state.apply(position, recorded_at, decode(topic, stored))
    return state


@dataclass(frozen=True)
class MadeAudit:
    """An audit's content, and the stored events it was made from."""

    content: dict[str, Any]
    records: dict[str, list[RecordedEvent]]
    """Every stored event of the streams it read (the course's and the student's pairs')."""
    kept: list[RecordedEvent]
    """Those it counted: recorded (and occurred) by the as-of time."""


def audit(
    source: EventSource, student_id: str, course_id: str, as_of: AsOf | None = None
) -> dict[str, Any]:
    """The contract's audit: each goal's status and evidence, the events behind them,
    and the integrity of the record it was made from."""
    return checked_audit(source, student_id, course_id, as_of)[0]


def checked_audit(
    source: EventSource, student_id: str, course_id: str, as_of: AsOf | None = None
) -> tuple[dict[str, Any], MadeAudit]:
    """:func:`audit`, and what it was made from. Each stream is read once: the same
    stored events are folded and their chains checked (only the events after a
    stream's last verified head are hashed again)."""
    made = make_audit(
        source.decode, source.records, student_id, course_id, as_of, folds=source.folds
    )
    # The digest names the audit and the checkpoint it is proven against.
    integrity = integrity_of(source.integrity(), made.records, made.kept, made.content)
    return made.content | {"integrity": integrity}, made


def make_audit(
    decode: Callable[[str, bytes], DomainEvent],
    read: Callable[[str], list[RecordedEvent]],
    student_id: str,
    course_id: str,
    as_of: AsOf | None = None,
    *,
    folds: RememberedFolds | None = None,
) -> MadeAudit:
    """An audit from stored events that ``read`` gives by stream: the record's, or
    those in an examiner's audit file (the same code recounts it). With ``folds``, a
    fold remembered from an earlier audit of the same student is continued with what
    was recorded since, where that gives what folding from scratch gives
    (:mod:`peerlog.projections.remembered`)."""
    given = as_of or AsOf()
    # Without --as-of, the audit is of the record as it stands now, exactly.
    recorded = given.recorded or datetime.now(UTC)
    as_of = AsOf(recorded, given.occurred)
    records = student_records(decode, read, student_id, course_id)
    key: FoldKey = (student_id, course_id, tuple(records), given.recorded, given.occurred)
    remembered = folds.take(key) if folds is not None else None
    news = remembered.news(records) if remembered is not None else None
    late = False
    if remembered is None or news is None:
        kept: list[RecordedEvent] = []
        state = Progression(Rows(Progression.tables, track=False))
        merged = heapq.merge(*records.values(), key=lambda r: r.id)
        late = fold_onto(decode, state, merged, as_of, kept)
        remembered = RememberedFold({}, 0, state, kept)
    elif any(news):
        # The fold is this audit's alone while it is out of ``folds``: continued in place.
        kept = list(remembered.kept)
        merged = heapq.merge(*news, key=lambda r: r.id)
        late = fold_onto(decode, remembered.state, merged, as_of, kept)
        remembered.kept, remembered.goals = kept, None
    # What was folded, as first read (equal to what was read now, up to there).
    remembered.records = {
        stream: remembered.records.get(stream, []) + now[len(remembered.records.get(stream, ())) :]
        for stream, now in records.items()
    }
    remembered.last = max((now[-1].id for now in records.values() if now), default=0)
    # A fold of "now" that left out an event recorded after its moment is not the fold
    # of a later "now": it is not remembered.
    late = late and given.recorded is None
    try:
        content = _content(remembered, student_id, course_id, given, as_of)
    finally:
        if folds is not None and not late:
            folds.keep(key, remembered)
    return MadeAudit(content, records, list(remembered.kept))


def _content(
    remembered: RememberedFold, student_id: str, course_id: str, given: AsOf, as_of: AsOf
) -> dict[str, Any]:
    """The audit without its integrity, from the fold (its goals as made before, if
    nothing was folded since)."""
    state = remembered.state
    rows = state.rows
    course_row = rows.get(COURSES, (course_id,))
    if course_row is None:
        msg = lazy("course '%(course_id)s' had not been opened by then", course_id=course_id)
        raise NotInRecord(msg)
    if rows.get(SUMMARY, (course_id, student_id)) is None:
        if given.recorded or given.occurred:
            msg = lazy(
                "'%(student)s' is not enrolled in course %(course)s (at that time)",
                student=student_id,
                course=course_id,
            )
        else:
            msg = lazy(
                "'%(student)s' is not enrolled in course %(course)s",
                student=student_id,
                course=course_id,
            )
        raise NotInRecord(msg)
    if remembered.goals is None:
        remembered.goals = _goals(state, student_id, course_id)
    assert as_of.recorded is not None
    return {
        "student_id": student_id,
        "course_id": course_id,
        **as_of.describe(as_of.recorded),
        "pass_level": course_row.pass_level,
        # A copy: the caller's to change, the remembered one stays as made.
        "goals": [
            goal | {"evidence": dict(goal["evidence"]), "events": list(goal["events"])}
            for goal in remembered.goals
        ],
    }


def _goals(state: Progression, student_id: str, course_id: str) -> list[dict[str, Any]]:
    """Each goal of the audit: its status, evidence and the events behind it."""
    rows = state.rows
    goals = sorted(
        (g for g in rows.all(GOALS) if g.course_id == course_id), key=lambda g: g.ordinal
    )
    progression = rows.of(PROGRESSION)
    out_goals = []
    for goal in goals:
        goal_id = goal.goal_id
        row = progression[(course_id, student_id, goal_id)]
        out_goals.append(
            {
                "goal_id": goal_id,
                "title": goal.title,
                "status": row.status,
                "latest_level": row.latest_level,
                "evidence": {key: getattr(row, key) for key in (*EVIDENCE_KEYS, "assessments")},
                "events": state.events_behind(course_id, student_id, goal_id),
                "retired": goal.retired_at is not None,
            }
        )
    return out_goals


def student_records(
    decode: Callable[[str, bytes], DomainEvent],
    read: Callable[[str], list[RecordedEvent]],
    student_id: str,
    course_id: str,
) -> dict[str, list[RecordedEvent]]:
    """The stored events of a course and of the pairs a student has been in, by stream:
    all that an audit of the student reads."""
    course = course_stream(course_id)
    course_records = read(course)
    if not course_records:
        msg = lazy("course '%(course_id)s' is not in the record", course_id=course_id)
        raise NotInRecord(msg)
    pairs: list[str] = []
    for record in course_records:
        if record.topic == StudentsPaired.__name__:
            event = decode(record.topic, record.state)
            if isinstance(event, StudentsPaired) and student_id in event.students:
                pairs.append(pair_stream(event.pair_id))
    return {course: course_records} | {stream: read(stream) for stream in pairs}


def audit_weeks(source: EventSource, report: Mapping[str, Any]) -> dict[str, Any]:
    """The goals by weeks of an audit's student, as of the audit's time (its ``as_of``
    and ``as_of_occurred``): the trends projection folded in memory over the events the
    audit read."""
    recorded = datetime.fromisoformat(report["as_of"])
    occurred = report.get("as_of_occurred")
    as_of = AsOf(recorded, datetime.fromisoformat(occurred) if occurred else None)
    student_id, course_id = report["student_id"], report["course_id"]
    records = student_records(source.decode, source.records, student_id, course_id)
    state, _ = fold(source, Trends, heapq.merge(*records.values(), key=lambda r: r.id), as_of)
    until = min(recorded, as_of.occurred or recorded).date()
    return goal_weeks(InMemory([state.rows]), course_id, student_id, report["goals"], until=until)


def balance_report(source: EventSource, pair_id: str, as_of: AsOf | None = None) -> dict[str, Any]:
    """The contract's balance report for a pair."""
    as_of = as_of or AsOf()
    now = datetime.now(UTC)
    records = source.records(pair_stream(pair_id))
    if not records:
        msg = lazy("pair '%(pair_id)s' is not in the record", pair_id=pair_id)
        raise NotInRecord(msg)
    state, _ = fold(source, Participation, records, as_of)
    pair = state.rows.get(BALANCE, (pair_id,))
    if pair is None:
        msg = lazy("pair '%(pair_id)s' had not been formed by then", pair_id=pair_id)
        raise NotInRecord(msg)
    return balance_json(pair, state.rows, as_of.describe(now))


def balance_json(pair: PairBalanceRow, rows: Rows, when: dict[str, str]) -> dict[str, Any]:
    counts = rows.of(PARTICIPATION)
    members = {}
    for member in pair.members:
        row = counts[(pair.pair_id, member)]
        members[member] = {key: getattr(row, key) for key in MEMBER_COUNTS}
    return {
        "pair_id": pair.pair_id,
        **when,
        "members": members,
        "performer_balance": _rounded(pair.performer_balance),
        "feedback_balance": _rounded(pair.feedback_balance),
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
