"""What the API and the dashboard show, as JSON-ready data, for one token's scope.

Progression and the supervisor overview come from the read models (what the
projections keep up to date); audits, balance reports and timelines are folded from
the record itself, as of a time, by the same code the CLI uses.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

from peerlog.i18n import gettext, lazy
from peerlog.projections import AsOf, Runner, Thresholds, directory, overview
from peerlog.projections.overview import PairOverview
from peerlog.projections.participation import MEMBER_COUNTS, PARTICIPATION
from peerlog.projections.progression import (
    COURSES,
    EVIDENCE_KEYS,
    GOALS,
    PROGRESSION,
    STATUSES,
    SUMMARY,
)
from peerlog.projections.reads import Source
from peerlog.projections.source import EventSource
from peerlog.projections.store import ReadStore
from peerlog.projections.tables import Table
from peerlog.projections.timeline import KIND_NAMES, Item, timeline
from peerlog.projections.trends import goal_weeks, pair_trend, weekly_balances
from peerlog.web.access import Scope
from peerlog.web.errors import ApiError
from peerlog.web.tokens import Role


def read(store: ReadStore, table: Table[Any], **where: Any) -> list[dict[str, Any]]:
    """Read-model rows as dicts by column name."""
    return [table.named(row) for row in store.read(table, **where)]


@dataclasses.dataclass(frozen=True)
class Page:
    """One page of a list that grows."""

    limit: int
    offset: int

    def of(self, items: Sequence[Any]) -> tuple[list[Any], dict[str, Any]]:
        total = len(items)
        chosen = list(items[self.offset : self.offset + self.limit])
        after = self.offset + len(chosen)
        return chosen, {
            "total": total,
            "limit": self.limit,
            "offset": self.offset,
            "next_offset": after if after < total else None,
        }


# --- read models -----------------------------------------------------------------------


def positions(source: Source) -> dict[str, int]:
    """How far the read models read have got (the slowest projection), and the
    record's head on the primary."""
    return {"position": source.position, "head": source.head, "lag": source.lag}


def projections(runner: Runner) -> dict[str, Any]:
    """Each projection's progress on the primary, where the runner keeps them."""
    statuses = runner.status()
    head = runner.head()
    position = min((s.position for s in statuses), default=head)
    return {
        "projections": [s.as_dict() for s in statuses],
        "position": position,
        "head": head,
        "lag": max(0, head - position),
    }


def _moment(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def course_info(store: ReadStore, course_id: str) -> dict[str, Any]:
    """A course as the read models hold it, with its goals in the order they were added."""
    found = read(store, COURSES, course_id=course_id)
    if not found:
        raise ApiError(
            404,
            "course_id",
            "not_in_read_models",
            f"course '{course_id}' is not in the read models yet; see /api/projections",
        )
    course = found[0]
    goals = sorted(read(store, GOALS, course_id=course_id), key=lambda g: g["ordinal"])
    return {
        "course_id": course_id,
        "title": course["title"],
        "starts_on": course["starts_on"].isoformat(),
        "ends_on": course["ends_on"].isoformat(),
        "scale": list(course["scale"]),
        "pass_level": course["pass_level"],
        "goals": [
            {
                "goal_id": g["goal_id"],
                "title": g["title"],
                "area": g["area"],
                "retired": g["retired_at"] is not None,
            }
            for g in goals
        ],
    }


def _goal_progress(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": row["status"],
        "latest_level": row["latest_level"],
        "evidence": {key: row[key] for key in (*EVIDENCE_KEYS, "assessments")},
        "first_evidence_at": _moment(row["first_evidence_at"]),
        "latest_evidence_at": _moment(row["latest_evidence_at"]),
    }


def _summary(row: dict[str, Any] | None) -> dict[str, int]:
    keys = ("goals", *STATUSES, "retired")
    return {key: (row[key] if row else 0) for key in keys}


def progression_grid(store: ReadStore, course_id: str, students: Sequence[str]) -> dict[str, Any]:
    """Goals by students: each student's status and evidence on every goal."""
    course = course_info(store, course_id)
    rows: dict[str, dict[str, dict[str, Any]]] = {s: {} for s in students}
    summaries: dict[str, dict[str, Any]] = {}
    if students:
        for row in read(store, PROGRESSION, course_id=course_id, student_id=list(students)):
            rows[row["student_id"]][row["goal_id"]] = _goal_progress(row)
        for row in read(store, SUMMARY, course_id=course_id, student_id=list(students)):
            summaries[row["student_id"]] = row
    return {
        **course,
        "students": [
            {
                "student_id": student,
                "summary": _summary(summaries.get(student)),
                "goals": rows[student],
            }
            for student in students
        ],
    }


def student_progression(store: ReadStore, course_id: str, student_id: str) -> dict[str, Any]:
    """One student's progression in a course, goal by goal."""
    grid = progression_grid(store, course_id, [student_id])
    mine = grid["students"][0]
    goals = []
    for goal in grid["goals"]:
        progress = mine["goals"].get(goal["goal_id"])
        if progress is None:
            progress = {
                "status": "no_evidence",
                "latest_level": None,
                "evidence": dict.fromkeys((*EVIDENCE_KEYS, "assessments"), 0),
                "first_evidence_at": None,
                "latest_evidence_at": None,
            }
        goals.append({**goal, **progress})
    return {
        "student_id": student_id,
        "course_id": course_id,
        "title": grid["title"],
        "starts_on": grid["starts_on"],
        "ends_on": grid["ends_on"],
        "scale": grid["scale"],
        "pass_level": grid["pass_level"],
        "summary": mine["summary"],
        "goals": goals,
    }


def supervisor_overview(
    store: ReadStore,
    scope: Scope,
    *,
    now: datetime,
    thresholds: Thresholds,
    include_dissolved: bool,
) -> list[dict[str, Any]]:
    """The overview of the pairs the token reads, flagged pairs first, each with its
    members' counts (for balance bars)."""
    if scope.role is Role.SUPERVISOR:
        pairs = overview(
            store,
            now=now,
            supervisor=scope.actor,
            thresholds=thresholds,
            include_dissolved=include_dissolved,
        )
    elif scope.role is Role.COORDINATOR:
        pairs = overview(
            store,
            now=now,
            courses=set(scope.courses()),
            thresholds=thresholds,
            include_dissolved=include_dissolved,
        )
    else:
        raise ApiError(
            403,
            "authorization",
            "forbidden",
            f"the supervisor overview is for supervisors and coordinators, not a {scope.role}",
        )
    return _with_members(store, pairs, now)


def _with_members(
    store: ReadStore, pairs: list[PairOverview], now: datetime
) -> list[dict[str, Any]]:
    """Each pair with its members' counts (for balance bars) and its weekly performer
    balance (for a sparkline)."""
    counts: dict[tuple[str, str], dict[str, int]] = {}
    if pairs:
        for row in read(store, PARTICIPATION, pair_id=[p.pair_id for p in pairs]):
            counts[(row["pair_id"], row["student_id"])] = {k: row[k] for k in MEMBER_COUNTS}
    weekly = weekly_balances(store, [p.pair_id for p in pairs], until=now.date())
    out = []
    for pair in pairs:
        item = pair.as_dict()
        item["members"] = {
            s: counts.get((pair.pair_id, s), dict.fromkeys(MEMBER_COUNTS, 0)) for s in pair.students
        }
        item["weekly_balance"] = [
            {"week": week, "performer_balance": value}
            for week, value in weekly.get(pair.pair_id, [])
        ]
        out.append(item)
    return out


def pair_trends(
    store: ReadStore, pair_id: str, *, now: datetime, thresholds: Thresholds
) -> dict[str, Any]:
    """A pair week by week and session by session, from the read models."""
    found = pair_trend(store, pair_id, until=now.date(), thresholds=thresholds)
    if found is None:
        raise ApiError(
            404,
            "pair_id",
            "not_in_read_models",
            f"pair '{pair_id}' is not in the read models yet; see /api/projections",
        )
    return found


def student_trends(
    store: ReadStore, course_id: str, student_id: str, *, now: datetime
) -> dict[str, Any]:
    """A student's goals by weeks in a course, from the read models."""
    course = course_info(store, course_id)
    return goal_weeks(store, course_id, student_id, course["goals"], until=now.date())


# --- the record, as of a time ----------------------------------------------------------


def pair_timeline(
    events: EventSource,
    pair_id: str,
    as_of: AsOf,
    *,
    session: str | None = None,
    student: str | None = None,
    goal: str | None = None,
    kind: str | None = None,
) -> tuple[dict[str, Any], list[Item]]:
    """A pair's history as of a time (the dispute replay): its head, and the events the
    filters choose (made into data by :func:`timeline_item`, only those shown, as a
    page's cost must not grow with the pair). An unknown kind, or a goal the pair's
    course does not have, is a message naming the ones there are."""
    if kind is not None and kind not in KIND_NAMES:
        raise ApiError(
            422,
            "kind",
            "unknown_kind",
            lazy(
                "'%(kind)s' is not a kind of event; the kinds are %(kinds)s",
                kind=kind,
                kinds=", ".join(KIND_NAMES),
            ),
        )
    told = timeline(events, pair_id, as_of, with_state=True)
    if goal is not None and told.course_id is not None:
        course = directory.course(events, told.course_id)
        if course is not None and goal not in course.goals:
            raise ApiError(422, "goal", "unknown_goal", course.unknown_goal(goal))
    chosen = told.select(session=session, student=student, goal=goal, kind=kind)
    head = {
        "pair_id": pair_id,
        "course_id": told.course_id,
        **as_of.describe(datetime.now(UTC)),
        "events": told.total,
    }
    return head, chosen


PAGE_SIZE: Final = 50
"""Events on a page of the dashboard's timeline."""


def timeline_page(
    items: Sequence[Item], page: int, at: int | None = None
) -> tuple[list[Item], dict[str, int]]:
    """One page of a timeline, newest first (page 1 holds the newest ``PAGE_SIZE``
    events), and where it stands; a page beyond the last is a message. ``at``, the
    position of an event among the items, asks for the page that holds it (a link from
    a correction to the entry it changes, which may be on another page)."""
    pages = max(1, -(-len(items) // PAGE_SIZE))
    if at is not None:
        newest_first = [item.position for item in reversed(items)]
        if at in newest_first:
            page = newest_first.index(at) // PAGE_SIZE + 1
    if page > pages:
        raise ApiError(
            422,
            "page",
            "no_such_page",
            lazy("there is no page %(page)s; the last page is %(pages)s", page=page, pages=pages),
        )
    start = len(items) - (page - 1) * PAGE_SIZE
    shown = list(reversed(items[max(0, start - PAGE_SIZE) : max(0, start)]))
    return shown, {"page": page, "pages": pages}


def timeline_item(item: Item, scope: Scope) -> dict[str, Any]:
    """One event of a pair's timeline as data, with what the token does not read withheld."""
    data = item.as_dict()
    data["withheld"] = []
    if scope.sees_all_texts_of(item.people) and not _partner_assessment(item, scope):
        return data
    data["withheld"] = sorted(data["texts"])
    data["texts"] = {}
    data["erased"] = []
    fields = data["fields"]
    for text in item.raw.personal_text:
        _withhold(fields, text.path)
    if _partner_assessment(item, scope):
        fields.pop("level", None)
        data["withheld"].append("level")
        data["summary"] = gettext(
            "{kind} assessment of {student_id} on goal {goal_id} (level withheld: students "
            "are assessed one by one)"
        ).format(
            kind=fields.get("kind", ""),
            student_id=fields.get("student_id", ""),
            goal_id=fields.get("goal_id", ""),
        )
    return data


def _withhold(fields: dict[str, Any], path: str) -> None:
    """Take out the field a personal text's path names (``changes.note``, ``stages.*``)."""
    *outer, name = path.removesuffix(".*").split(".")
    for part in outer:
        inner = fields.get(part)
        if not isinstance(inner, dict):
            return
        fields = inner
    fields.pop(name, None)


def _partner_assessment(item: Item, scope: Scope) -> bool:
    """A student does not read the assessments of a partner."""
    return (
        scope.role is Role.STUDENT
        and item.type == "GoalAssessed"
        and getattr(item.raw, "student_id", None) != scope.actor
    )
