"""A warm audit (the same process asked again, as the web server is) continues the fold
it remembers with what was recorded since, and gives what a cold audit (a process that
remembers nothing) gives: after new events, a correction, a retraction, an erasure,
and an event changed behind peerlog's back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import pytest

from peerlog import PeerLog
from peerlog.cli.audit import behind
from peerlog.persistence.records import RecordedEvent
from peerlog.projections import AsOf, asof, audit
from peerlog.projections.asof import make_audit
from peerlog.projections.local_time import course_zone
from peerlog.projections.names import display_names
from peerlog.projections.source import StoreEvents
from peerlog.web.audit_report import render_markdown, render_text
from tests.conftest import Store
from tests.support import COURSE, Placement, swap_step_roles

FUTURE = AsOf(datetime.now(UTC) + timedelta(days=30))
"""A fixed window that keeps whatever the test records (as ``--as-of`` a month ahead)."""


@dataclass
class Warm:
    """A long-lived process's source, and the windows its audits of s1 were made in."""

    source: StoreEvents
    windows: tuple[AsOf | None, ...]
    """Now; as of when the placement was set up (what the test records since does not
    count); and a fixed time ahead (everything counts)."""


@pytest.fixture
def placement(app: PeerLog) -> Placement:
    placed = Placement(app).seed()
    placed.app.execute(placed.step("st1"))
    placed.app.execute(placed.feedback("fb1"))
    return placed


@pytest.fixture
def warm(placement: Placement) -> Warm:
    """Made once in each window (so remembered)."""
    source = StoreEvents(placement.app)
    then = AsOf(placement.app.records("pair/p1")[-1].recorded_at)
    made = Warm(source, (None, then, FUTURE))
    for as_of in made.windows:
        audit(source, "s1", COURSE, as_of)
    assert len(source.folds) == len(made.windows)
    return made


def _formats(source: StoreEvents, report: dict[str, Any], window: AsOf) -> dict[str, Any]:
    """The audit in the forms the CLI and the web give it: JSON, Markdown and text."""
    events = behind(source, report, window)
    names = display_names(source, COURSE)
    zone = course_zone(source, COURSE)
    return {
        "json": report,
        "md": render_markdown(report, events, names, zone),
        "text": render_text(report, events, names, zone),
    }


def _evidence(report: dict[str, Any], goal_id: str) -> dict[str, int]:
    goal = next(g for g in report["goals"] if g["goal_id"] == goal_id)
    evidence: dict[str, int] = goal["evidence"]
    return evidence


def _warm_is_cold(warm: Warm, settings: Mapping[str, str]) -> list[dict[str, Any]]:
    """The warm audits of s1 in each window, each checked against the same audit made
    by a process of its own; the reports (now, then, ahead)."""
    reports = []
    for as_of in warm.windows:
        report = audit(warm.source, "s1", COURSE, as_of)
        # "Now" is a moment: the cold audit is asked for the same one.
        window = as_of or AsOf(datetime.fromisoformat(report["as_of"]))
        cold_app = PeerLog(settings)
        try:
            cold = StoreEvents(cold_app)
            cold_report = audit(cold, "s1", COURSE, window)
            assert _formats(warm.source, report, window) == _formats(cold, cold_report, window)
        finally:
            cold_app.close()
        reports.append(report)
    return reports


def test_a_warm_audit_folds_new_events_onto_what_it_remembers(
    placement: Placement, warm: Warm
) -> None:
    p = placement
    p.app.execute(p.step("st2", performers=["s1"], observers=["s2"], goals=["medication"]))
    p.app.execute(p.reflection("rf1"))
    p.app.execute(p.assessment())
    now, then, ahead = _warm_is_cold(warm, p.app.settings)
    for report in (now, ahead):
        assert _evidence(report, "medication")["performed"] == 1
        assert _evidence(report, "hygiene")["reflections"] == 1
        assert _evidence(report, "hygiene")["assessments"] == 1
    assert _evidence(then, "medication")["performed"] == 0
    assert _evidence(then, "hygiene")["assessments"] == 0
    assert len(warm.source.folds) == len(warm.windows)


def test_a_correction_recorded_since_counts_in_a_warm_audit(
    placement: Placement, warm: Warm
) -> None:
    placement.run(
        "correct_entry",
        "sup1",
        pair_id="p1",
        entry_id="st1",
        changes={"performers": ["s2"], "observers": ["s1"]},
        reason="The partner performed",
    )
    now, then, ahead = _warm_is_cold(warm, placement.app.settings)
    for report in (now, ahead):
        assert _evidence(report, "hygiene")["performed"] == 0
        assert _evidence(report, "hygiene")["observed"] == 1
    assert _evidence(then, "hygiene")["performed"] == 1


def test_a_retraction_recorded_since_counts_in_a_warm_audit(
    placement: Placement, warm: Warm
) -> None:
    placement.run("retract_entry", "s1", pair_id="p1", entry_id="st1", reason="Recorded twice")
    now, then, ahead = _warm_is_cold(warm, placement.app.settings)
    for report in (now, ahead):
        assert _evidence(report, "hygiene")["performed"] == 0
        assert _evidence(report, "hygiene")["feedback_received"] == 1
    assert _evidence(then, "hygiene")["performed"] == 1


def test_a_warm_audit_after_an_erasure_is_the_cold_one(placement: Placement, warm: Warm) -> None:
    before = _formats(warm.source, audit(warm.source, "s1", COURSE, FUTURE), FUTURE)
    placement.app.forget("s2", actor="coord", command_id="forget-s2")
    *_, ahead = _warm_is_cold(warm, placement.app.settings)
    # The partner's feedback still counts; its texts read as erased.
    assert _evidence(ahead, "hygiene")["feedback_received"] == 1
    assert _formats(warm.source, ahead, FUTURE)["md"] != before["md"]


class _Moment:
    """Stands in for ``datetime`` in the audit: "now" is the test's."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self, tz: tzinfo | None = None) -> datetime:
        del tz
        return self.at

    fromisoformat = staticmethod(datetime.fromisoformat)


def test_a_fold_of_now_that_left_out_an_event_recorded_after_it_is_not_continued(
    placement: Placement, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "Now" moves: an event recorded after one audit's moment (a clock ahead of the
    auditing process's) counts in a later one."""
    source = StoreEvents(placement.app)
    moment = placement.app.records("pair/p1")[-1].recorded_at
    placement.app.execute(placement.step("st2"))
    monkeypatch.setattr(asof, "datetime", _Moment(moment))
    first = audit(source, "s1", COURSE)
    assert _evidence(first, "hygiene")["performed"] == 1
    monkeypatch.setattr(asof, "datetime", datetime)
    second = _warm_is_cold(Warm(source, (None,)), placement.app.settings)[0]
    assert _evidence(second, "hygiene")["performed"] == 2


def test_a_warm_audit_of_a_tampered_record_is_the_cold_one(
    store: Store, placement: Placement, warm: Warm
) -> None:
    placement.app.execute(placement.step("st2", goals=["medication"]))
    assert audit(warm.source, "s1", COURSE)["integrity"]["verified"] is True
    swap_step_roles(store, "pair/p1", "st1")
    for report in _warm_is_cold(warm, placement.app.settings):
        # The forged event is counted as it now reads, and reported.
        assert _evidence(report, "hygiene")["performed"] == 0
        assert _evidence(report, "hygiene")["observed"] == 1
        assert report["integrity"]["verified"] is False
        assert any("pair/p1@3 " in problem for problem in report["integrity"]["problems"])


def test_an_event_read_late_that_belongs_before_the_last_one_folded_refolds(
    placement: Placement,
) -> None:
    """An audit reads its streams one after another: an event of the course recorded
    before one of the pair, but after the course was read, is folded in its place the
    next time, not after the pair's."""
    p = placement
    source = StoreEvents(p.app)
    p.run("add_goal", "coord", course_id=COURSE, goal_id="wound", title="Wound care")
    p.app.execute(p.step("st2", goals=["wound"]))
    hidden = p.app.records(f"course/{COURSE}")[-1].id

    def read_before(stream: str) -> list[RecordedEvent]:
        return [r for r in source.records(stream) if r.id != hidden]

    first = make_audit(source.decode, read_before, "s1", COURSE, FUTURE, folds=source.folds)
    assert "wound" not in [g["goal_id"] for g in first.content["goals"]]
    again = make_audit(source.decode, source.records, "s1", COURSE, FUTURE, folds=source.folds)
    cold = make_audit(source.decode, source.records, "s1", COURSE, FUTURE)
    assert again.content == cold.content
    assert _evidence(again.content, "wound")["performed"] == 1
