"""Two rules a user relies on, followed to what they read: a revised goal's title is the
title the read models and the audit show, and a batch (an import, an HTTP batch)
rejects a command more than five minutes ahead of the record's clock, as a single
command is rejected."""

from __future__ import annotations

from datetime import timedelta

import pytest

from peerlog import CommandRejected, CommandResult
from peerlog.projections import Runner, StoreEvents
from peerlog.projections.asof import AsOf, audit
from peerlog.projections.progression import GOALS, Progression
from tests.conftest import Store
from tests.support import COURSE, T0, FixedClock, Placement

REVISED = "Hand hygiene, aseptic technique and infection control"


def _goal_titles(runner: Runner) -> dict[str, str]:
    rows = runner.store.load(Progression)
    return {key[1]: row.title for key, row in rows.of(GOALS).items() if key[0] == COURSE}


def test_a_revised_goal_title_reaches_the_read_models_and_the_audit(store: Store) -> None:
    placement = Placement(store.open()).seed()
    app = placement.app
    app.execute(placement.step("st1"))
    runner = Runner(StoreEvents(app))
    try:
        runner.run()
        assert _goal_titles(runner)["hygiene"] == "Basic hygiene and infection control"
        before = app.records(f"course/{COURSE}")[-1].recorded_at
        placement.run(
            "revise_goal",
            "coord",
            course_id=COURSE,
            goal_id="hygiene",
            title=REVISED,
            occurred_at=(T0 + timedelta(hours=2)).isoformat(),
        )
        runner.run()

        titles = _goal_titles(runner)
        assert titles["hygiene"] == REVISED
        assert titles["medication"] == "Safe medication handling"
        now = {g["goal_id"]: g["title"] for g in audit(StoreEvents(app), "s1", COURSE)["goals"]}
        assert now["hygiene"] == REVISED
        # As of before the revision, the audit shows the title the goal had then.
        then = audit(StoreEvents(app), "s1", COURSE, AsOf(recorded=before))
        assert {g["goal_id"]: g["title"] for g in then["goals"]}["hygiene"] == (
            "Basic hygiene and infection control"
        )
    finally:
        runner.close()
        app.close()


def test_a_batch_rejects_a_command_more_than_five_minutes_ahead(store: Store) -> None:
    clock = FixedClock(T0 + timedelta(hours=1))
    placement = Placement(store.open(clock=clock)).seed()
    app = placement.app
    try:
        ahead = placement.step(
            "st-ahead", occurred_at=(clock.now + timedelta(minutes=6)).isoformat()
        )
        at_edge = placement.step(
            "st-edge", occurred_at=(clock.now + timedelta(minutes=5)).isoformat()
        )
        after = placement.step("st-after")
        outcomes = list(app.execute_many([ahead, at_edge, after]))

        assert [type(o) for o in outcomes] == [CommandRejected, CommandResult, CommandResult]
        rejected = outcomes[0]
        assert isinstance(rejected, CommandRejected)
        assert rejected.rule == "not_in_future"
        assert rejected.violations[0].field == "occurred_at"
        steps = [
            getattr(e, "step_id", None) for e in app.history("pair/p1") if hasattr(e, "step_id")
        ]
        assert steps == ["st-edge", "st-after"]
        # The same command alone is rejected by the same rule.
        again = placement.step("st-ahead-alone", occurred_at=ahead["occurred_at"])
        with pytest.raises(CommandRejected) as alone:
            app.execute(again)
        assert alone.value.rule == rejected.rule
    finally:
        app.close()
