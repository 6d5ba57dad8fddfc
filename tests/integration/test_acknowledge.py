"""An assessment acknowledged by the assessed student, through the application on both
stores: the record keeps it once, the audit lists it under the goal beside the
assessment (without counting it), the timeline tells it with the student's answer, and
the progression read model keeps it as the in-memory fold does."""

from __future__ import annotations

from datetime import timedelta

import pytest

from peerlog.domain.errors import CommandRejected
from peerlog.projections import Runner, StoreEvents, audit, fold_all
from peerlog.projections.progression import MENTIONS, Progression
from peerlog.projections.timeline import timeline
from tests.conftest import Store
from tests.support import COURSE, T0, Placement


def test_an_acknowledged_assessment_is_in_the_audit_and_the_timeline(store: Store) -> None:
    placement = Placement(store.open()).seed()
    app = placement.app
    at = T0 + timedelta(days=1)
    assessed = placement.run(
        "assess_goal",
        "sup1",
        pair_id="p1",
        student_id="s1",
        goal_id="hygiene",
        level="good",
        kind="midpoint",
        comment="Careful hand hygiene throughout",
        assessment_id="mid-1",
        occurred_at=at.isoformat(),
    )
    (assessment,) = assessed.events
    reference = str(assessment)
    acknowledged = placement.run(
        "acknowledge_assessment",
        "s1",
        pair_id="p1",
        assessment="mid-1",
        comment="Read it; I will keep it up",
        occurred_at=(at + timedelta(hours=2)).isoformat(),
    )
    (ack,) = acknowledged.events
    ack_ref = str(ack)
    assert ack.topic == "AssessmentAcknowledged"

    # Once: again by its event reference, or by someone else, is rejected.
    with pytest.raises(CommandRejected) as again:
        placement.run("acknowledge_assessment", "s1", pair_id="p1", assessment=reference)
    assert again.value.rule == "already_acknowledged"
    with pytest.raises(CommandRejected) as other:
        placement.run("acknowledge_assessment", "s2", pair_id="p1", assessment="mid-1")
    assert other.value.rule == "not_allowed"

    report = audit(StoreEvents(app), "s1", COURSE)
    (hygiene,) = [g for g in report["goals"] if g["goal_id"] == "hygiene"]
    assert hygiene["events"] == [reference, ack_ref]
    assert hygiene["evidence"]["assessments"] == 1
    assert (hygiene["status"], hygiene["latest_level"]) == ("met", "good")
    # The other member's audit does not list it.
    other_audit = audit(StoreEvents(app), "s2", COURSE)
    assert all(ack_ref not in g["events"] for g in other_audit["goals"])

    told = timeline(StoreEvents(app), "p1").by_event()[ack_ref]
    assert told.type == "AssessmentAcknowledged"
    assert told.summary == (
        f"s1 acknowledged the midpoint assessment {reference} on goal hygiene (good)"
    )
    assert [(t.label, t.value) for t in told.texts] == [("comment", "Read it; I will keep it up")]
    assert "s1" in told.people
    chosen = timeline(StoreEvents(app), "p1").select(kind="assessment")
    assert [item.event for item in chosen] == [reference, ack_ref]
    assert timeline(StoreEvents(app), "p1").by_event()[reference].summary == (
        "midpoint assessment of s1 on goal hygiene: good"
    )

    runner = Runner(StoreEvents(app), [Progression])
    try:
        runner.run()
        stored = runner.store.load(Progression).snapshot()
        assert stored == fold_all(StoreEvents(app), Progression).rows.snapshot()
        assert {row[3:] for row in stored[MENTIONS.name]} == {("s1", "hygiene", ack_ref)}
    finally:
        runner.close()
        app.close()
