"""As-of answers on both clocks: what had been recorded by a time, and what had happened
by a time - with a correction and a retraction made days after the entries."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from peerlog import PeerLog
from peerlog.projections import AsOf, NotInRecord, audit, balance_report
from peerlog.projections.source import StoreEvents
from tests.support import T0, Placement

DAY = T0.replace(hour=9) + timedelta(days=1)  # Tuesday 09:00, the shift the steps happened


def _between(earlier: datetime, later: datetime) -> datetime:
    return earlier + (later - earlier) / 2


@pytest.fixture
def history(app: PeerLog) -> dict[str, datetime]:
    """Two steps on Tuesday; on Friday the first is corrected (the partner performed);
    on Saturday the second is retracted; then a step from Monday is recorded late."""
    p = Placement(app).seed()
    at = {}
    p.app.execute(p.step("st1", occurred_at=DAY.isoformat()))
    at["steps"] = p.app.execute(
        p.step("st2", occurred_at=(DAY + timedelta(hours=1)).isoformat())
    ).recorded_at
    at["correction"] = p.run(
        "correct_entry",
        "sup1",
        pair_id="p1",
        entry_id="st1",
        changes={"performers": ["s2"], "observers": ["s1"]},
        reason="The partner performed; the roles were swapped when it was recorded",
        occurred_at=(DAY + timedelta(days=3)).isoformat(),
    ).recorded_at
    at["retraction"] = p.run(
        "retract_entry",
        "s1",
        pair_id="p1",
        entry_id="st2",
        reason="Recorded twice",
        occurred_at=(DAY + timedelta(days=4)).isoformat(),
    ).recorded_at
    at["late"] = p.app.execute(
        p.step(
            "st0",
            performers=["s2"],
            observers=["s1"],
            occurred_at=(DAY - timedelta(days=1)).isoformat(),
        )
    ).recorded_at
    return at


def _performed(app: PeerLog, student: str, as_of: AsOf) -> int:
    report = audit(StoreEvents(app), student, "vfu-1", as_of)
    (hygiene,) = [g for g in report["goals"] if g["goal_id"] == "hygiene"]
    return int(hygiene["evidence"]["performed"])


def _performers(app: PeerLog, as_of: AsOf) -> dict[str, int]:
    report = balance_report(StoreEvents(app), "p1", as_of)
    return {member: counts["performer"] for member, counts in report["members"].items()}


def test_as_of_recorded_time(app: PeerLog, history: dict[str, datetime]) -> None:
    before_correction = AsOf(recorded=_between(history["steps"], history["correction"]))
    before_retraction = AsOf(recorded=_between(history["correction"], history["retraction"]))
    before_late_step = AsOf(recorded=_between(history["retraction"], history["late"]))
    now = AsOf()

    # Recorded by then: two steps by s1, uncorrected.
    assert _performers(app, before_correction) == {"s1": 2, "s2": 0}
    assert _performed(app, "s1", before_correction) == 2
    # The correction counts from when it was recorded.
    assert _performers(app, before_retraction) == {"s1": 1, "s2": 1}
    # The retraction too.
    assert _performers(app, before_late_step) == {"s1": 0, "s2": 1}
    # The step recorded late is there once it was recorded.
    assert _performers(app, now) == {"s1": 0, "s2": 2}
    assert _performed(app, "s2", now) == 2


def test_as_of_occurred_time(app: PeerLog, history: dict[str, datetime]) -> None:
    del history
    # By Tuesday noon: both steps happened, the late-recorded Monday step too; the
    # correction (Friday) and the retraction (Saturday) had not happened yet.
    tuesday = AsOf(occurred=DAY + timedelta(hours=3))
    assert _performers(app, tuesday) == {"s1": 2, "s2": 1}
    # By Friday evening the correction had happened, not yet the retraction.
    friday = AsOf(occurred=DAY + timedelta(days=3, hours=8))
    assert _performers(app, friday) == {"s1": 1, "s2": 2}
    # By Sunday both had.
    sunday = AsOf(occurred=DAY + timedelta(days=5))
    assert _performers(app, sunday) == {"s1": 0, "s2": 2}
    assert _performed(app, "s1", sunday) == 0


def test_both_clocks_at_once(app: PeerLog, history: dict[str, datetime]) -> None:
    """Recorded before the correction was, about what happened by Friday evening: the
    correction had happened by then but had not been recorded."""
    as_of = AsOf(
        recorded=_between(history["steps"], history["correction"]),
        occurred=DAY + timedelta(days=3, hours=8),
    )
    assert _performers(app, as_of) == {"s1": 2, "s2": 0}
    report = balance_report(StoreEvents(app), "p1", as_of)
    assert report["as_of"] == as_of.recorded.isoformat()  # type: ignore[union-attr]
    assert report["as_of_occurred"] == as_of.occurred.isoformat()  # type: ignore[union-attr]


def test_the_audit_names_the_events_behind_the_evidence(
    app: PeerLog, history: dict[str, datetime]
) -> None:
    del history
    report = audit(StoreEvents(app), "s2", "vfu-1")
    (hygiene,) = [g for g in report["goals"] if g["goal_id"] == "hygiene"]
    # st1 (pair/p1@3) as corrected (@5) and the late st0 (@7); not the retracted st2.
    assert hygiene["events"] == ["pair/p1@3", "pair/p1@5", "pair/p1@7"]
    assert report["integrity"]["verified"] is True


def test_a_report_before_the_record_knew_of_it_says_so(app: PeerLog) -> None:
    Placement(app).seed()
    with pytest.raises(NotInRecord, match="not in the record"):
        audit(StoreEvents(app), "s1", "no-such-course")
    with pytest.raises(NotInRecord, match="not enrolled"):
        audit(StoreEvents(app), "s9", "vfu-1")
    with pytest.raises(NotInRecord, match="not in the record"):
        balance_report(StoreEvents(app), "p9")
    long_ago = AsOf(recorded=datetime(2020, 1, 1, tzinfo=DAY.tzinfo))
    with pytest.raises(NotInRecord):
        balance_report(StoreEvents(app), "p1", long_ago)
