"""The supervisor overview's flags: each has a pair that raises it and one that does not."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest

from peerlog import PeerLog
from peerlog.projections import (
    PROJECTIONS,
    InMemory,
    Runner,
    StoreEvents,
    Thresholds,
    fold_all,
    overview,
)
from peerlog.projections.overview import PairOverview
from tests.support import T0, Placement

AFTER_MIDPOINT = T0 + timedelta(days=40)  # the course runs 2 March - 24 April
BEFORE_MIDPOINT = T0 + timedelta(days=10)


class Shifts:
    """Records whole sessions for a pair, a day apart."""

    def __init__(self, placement: Placement, pair: str, members: tuple[str, str]) -> None:
        self.p = placement
        self.pair = pair
        self.members = members
        self.count = itertools.count(1)
        self.day = T0 + timedelta(days=1, hours=1)

    def session(
        self, performers: list[str], *, reflect: bool = False, feedback: list[str] | None = None
    ) -> None:
        n = next(self.count)
        sid = f"{self.pair}-s{n}"
        at = self.day
        self.day += timedelta(days=1)
        a, b = self.members
        self.p.run(
            "open_session",
            a,
            pair_id=self.pair,
            session_id=sid,
            roles={a: "performer", b: "observer"},
            occurred_at=at.isoformat(),
        )
        for i, performer in enumerate(performers):
            other = b if performer == a else a
            self.p.app.execute(
                self.p.step(
                    f"{sid}-st{i}",
                    actor=performer,
                    pair_id=self.pair,
                    session_id=sid,
                    performers=[performer],
                    observers=[other],
                    goals=["hygiene"],
                    occurred_at=(at + timedelta(minutes=10 + i)).isoformat(),
                )
            )
        for i, giver in enumerate(feedback or []):
            receiver = b if giver == a else a
            self.p.app.execute(
                self.p.feedback(
                    f"{sid}-fb{i}",
                    actor=giver,
                    pair_id=self.pair,
                    session_id=sid,
                    giver=giver,
                    receiver=receiver,
                    occurred_at=(at + timedelta(hours=2, minutes=i)).isoformat(),
                )
            )
        if reflect:
            self.p.app.execute(
                self.p.reflection(
                    f"{sid}-rf",
                    actor=a,
                    pair_id=self.pair,
                    session_id=sid,
                    authors=[a],
                    occurred_at=(at + timedelta(hours=3)).isoformat(),
                )
            )
        self.p.run(
            "close_session",
            b,
            pair_id=self.pair,
            session_id=sid,
            occurred_at=(at + timedelta(hours=8)).isoformat(),
        )


@pytest.fixture
def placement(app: PeerLog) -> Placement:
    p = Placement(app).seed()
    p.run(
        "close_session",
        "s1",
        pair_id="p1",
        session_id="d1",
        occurred_at=T0.replace(hour=15).isoformat(),
    )
    return p


def _overview(app: PeerLog, now: datetime, **limits: float) -> dict[str, PairOverview]:
    runner = Runner(StoreEvents(app))
    try:
        runner.run()
        stored = overview(runner.store, now=now, thresholds=Thresholds(**limits))  # type: ignore[arg-type]
    finally:
        runner.close()
    in_memory = overview(
        InMemory([fold_all(StoreEvents(app), p).rows for p in PROJECTIONS]),
        now=now,
        thresholds=Thresholds(**limits),  # type: ignore[arg-type]
    )
    assert [o.as_dict() for o in stored] == [o.as_dict() for o in in_memory]
    return {o.pair_id: o for o in stored}


def _codes(item: PairOverview) -> set[str]:
    return {f.code for f in item.flags}


def test_performer_imbalance_over_the_last_sessions(placement: Placement) -> None:
    one_sided = Shifts(placement, "p1", ("s1", "s2"))
    taking_turns = Shifts(placement, "p2", ("s3", "s4"))
    for _ in range(5):
        one_sided.session(["s1", "s1", "s1", "s2"], reflect=True)
        taking_turns.session(["s3", "s4", "s3", "s4"], reflect=True)

    pairs = _overview(placement.app, BEFORE_MIDPOINT)

    assert "performer_imbalance" in _codes(pairs["p1"])
    assert "performer_imbalance" not in _codes(pairs["p2"])
    assert "s1 performed 15, s2 performed 5" in pairs["p1"].flags[0].message
    # Flagged pairs come first.
    assert list(pairs) == ["p1", "p2"]


def test_only_the_last_sessions_count_for_the_balance_flag(placement: Placement) -> None:
    recovered = Shifts(placement, "p1", ("s1", "s2"))
    for _ in range(4):
        recovered.session(["s1", "s1", "s1"], reflect=True)
    for _ in range(5):
        recovered.session(["s1", "s2"], reflect=True)
    assert "performer_imbalance" not in _codes(_overview(placement.app, BEFORE_MIDPOINT)["p1"])


def test_no_reflection_in_the_last_closed_sessions(placement: Placement) -> None:
    silent = Shifts(placement, "p1", ("s1", "s2"))
    reflective = Shifts(placement, "p2", ("s3", "s4"))
    silent.session(["s1", "s2"], reflect=True)
    for _ in range(3):
        silent.session(["s1", "s2"])
    for n in range(3):
        reflective.session(["s3", "s4"], reflect=n == 1)

    pairs = _overview(placement.app, BEFORE_MIDPOINT)

    assert "no_reflection" in _codes(pairs["p1"])
    assert "no_reflection" not in _codes(pairs["p2"])


def test_one_way_peer_feedback(placement: Placement) -> None:
    one_way = Shifts(placement, "p1", ("s1", "s2"))
    both_ways = Shifts(placement, "p2", ("s3", "s4"))
    one_way.session(["s1", "s2"], reflect=True, feedback=["s2", "s2", "s2", "s2"])
    both_ways.session(["s3", "s4"], reflect=True, feedback=["s3", "s4", "s4", "s3"])

    pairs = _overview(placement.app, BEFORE_MIDPOINT)

    assert "one_way_feedback" in _codes(pairs["p1"])
    assert "one_way_feedback" not in _codes(pairs["p2"])


def test_too_little_feedback_is_not_called_one_way(placement: Placement) -> None:
    Shifts(placement, "p1", ("s1", "s2")).session(["s1", "s2"], reflect=True, feedback=["s2"] * 3)
    assert "one_way_feedback" not in _codes(_overview(placement.app, BEFORE_MIDPOINT)["p1"])


def test_goals_without_evidence_after_the_midpoint(placement: Placement) -> None:
    evidenced = Shifts(placement, "p2", ("s3", "s4"))
    evidenced.session(["s3", "s4"], reflect=True)
    for student in ("s3", "s4"):
        for goal in ("medication", "communication"):
            placement.run(
                "assess_goal",
                "sup2",
                pair_id="p2",
                student_id=student,
                goal_id=goal,
                level="pass",
                kind="midpoint",
                occurred_at=(T0 + timedelta(days=3)).isoformat(),
            )
    Shifts(placement, "p1", ("s1", "s2")).session(["s1", "s2"], reflect=True)

    before = _overview(placement.app, BEFORE_MIDPOINT)
    after = _overview(placement.app, AFTER_MIDPOINT)

    assert "goals_without_evidence" not in _codes(before["p1"])
    assert "goals_without_evidence" in _codes(after["p1"])
    assert "s1: communication, medication" in after["p1"].flags[-1].message
    assert "goals_without_evidence" not in _codes(after["p2"])


def test_the_overview_of_one_supervisor(placement: Placement) -> None:
    Shifts(placement, "p2", ("s3", "s4")).session(["s3", "s4"])
    runner = Runner(StoreEvents(placement.app))
    try:
        runner.run()
        this_week = T0 + timedelta(days=3)
        mine = overview(runner.store, now=this_week, supervisor="sup2")
        a_month_on = overview(runner.store, now=this_week + timedelta(days=30), supervisor="sup2")
        nobody = overview(runner.store, now=this_week, supervisor="coord")
    finally:
        runner.close()
    assert [o.pair_id for o in mine] == ["p2"]
    assert mine[0].students == ["s3", "s4"]
    assert mine[0].sessions == 1
    assert mine[0].recent_sessions == 1
    assert a_month_on[0].recent_sessions == 0
    assert mine[0].latest_activity_at is not None
    assert nobody == []


def test_a_coordinators_overview_holds_the_pairs_of_their_courses(placement: Placement) -> None:
    at = T0.isoformat()
    placement.run(
        "open_course",
        "coord2",
        course_id="vfu-2",
        title="Clinical placement, term 5",
        starts_on="2026-03-02",
        ends_on="2026-04-24",
        scale=["not_yet", "pass"],
        pass_level="pass",
        goals=[{"goal_id": "hygiene", "title": "Hand hygiene"}],
        occurred_at=at,
    )
    for student in ("t1", "t2"):
        placement.run(
            "enroll_student", "coord2", course_id="vfu-2", student_id=student, occurred_at=at
        )
    placement.run(
        "assign_supervisor", "coord2", course_id="vfu-2", supervisor_id="sup9", occurred_at=at
    )
    placement.run(
        "form_pair",
        "coord2",
        course_id="vfu-2",
        pair_id="q1",
        students=["t1", "t2"],
        supervisors=["sup9"],
        occurred_at=at,
    )
    runner = Runner(StoreEvents(placement.app))
    try:
        runner.run()
        everyone = overview(runner.store, now=AFTER_MIDPOINT)
        for courses in ({"vfu-1"}, {"vfu-2"}, {"vfu-1", "vfu-2"}, set()):
            mine = overview(runner.store, now=AFTER_MIDPOINT, courses=courses)
            assert [o.as_dict() for o in mine] == [
                o.as_dict() for o in everyone if o.course_id in courses
            ]
        assert {
            o.pair_id for o in overview(runner.store, now=AFTER_MIDPOINT, courses={"vfu-2"})
        } == {"q1"}
    finally:
        runner.close()
