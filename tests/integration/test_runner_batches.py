"""What arrives together is written together: one pass of the runner writes every
projection's changes in one transaction, so the commands recorded while the runner
was writing the previous batch cost one read-model commit together, not one each."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from peerlog.projections import PROJECTIONS, Runner, StoreEvents, fold_all
from tests.conftest import Store
from tests.support import Placement


def _caught_up(runner: Runner, placement: Placement) -> None:
    """Every projection is at the head, and its read model equals a rebuild."""
    head = runner.head()
    assert {s.name: s.position for s in runner.status()} == {p.name: head for p in PROJECTIONS}
    stored = {p.name: runner.store.load(p).snapshot() for p in PROJECTIONS}
    assert stored == {
        p.name: fold_all(StoreEvents(placement.app), p).rows.snapshot() for p in PROJECTIONS
    }


def test_commands_recorded_together_cost_one_commit(store: Store) -> None:
    placement = Placement(store.open()).seed()
    commits: list[int] = []
    runner = Runner(StoreEvents(placement.app), before_commit=lambda: commits.append(1))
    try:
        for n in range(25):
            placement.app.execute(placement.step(f"st{n}"))
        runner.run()
        # Every projection's changes, of every event so far, in one transaction.
        assert len(commits) == 1
        _caught_up(runner, placement)
    finally:
        runner.close()
        placement.app.close()


@pytest.mark.postgres
def test_commands_recorded_during_a_flush_are_written_in_the_next_one(
    postgres_store: Store,
) -> None:
    """On PostgreSQL the record's appends do not wait for the read models' writes: ten
    commands recorded while the runner writes a batch are written by one more commit."""
    placement = Placement(postgres_store.open()).seed()
    commits: list[int] = []

    def record_ten() -> None:
        for n in range(10):
            placement.app.execute(placement.step(f"during-{n}"))

    def before_commit() -> None:
        commits.append(1)
        if len(commits) == 1:
            writer = threading.Thread(target=record_ten)
            writer.start()
            writer.join()

    runner = Runner(StoreEvents(placement.app), before_commit=before_commit)
    try:
        placement.app.execute(placement.step("first"))
        runner.run()
        assert len(commits) == 2
        _caught_up(runner, placement)
    finally:
        runner.close()
        placement.app.close()


class _TimedRunner(Runner):
    """A runner that notes when each of its passes begins."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.starts: list[float] = []

    def _pass(self) -> bool:
        self.starts.append(time.monotonic())
        return super()._pass()


def test_a_following_runner_writes_commands_sent_one_by_one_together(store: Store) -> None:
    """Single commands (one POST each) arriving faster than the runner's ``gather``
    interval are written a few per commit: passes begin at least ``gather`` apart, and
    the read models still reach every event."""
    placement = Placement(store.open()).seed()
    gather = 0.3
    commits: list[int] = []
    runner = _TimedRunner(
        StoreEvents(placement.app), gather=gather, before_commit=lambda: commits.append(1)
    )
    stop = threading.Event()
    follower = threading.Thread(target=runner.run, kwargs={"follow": True, "stop": stop})
    try:
        runner.run()  # caught up with the seed: what follows is one command at a time
        before = len(commits)
        runner.starts.clear()
        follower.start()
        for n in range(20):
            placement.app.execute(placement.step(f"one-{n}"))
            time.sleep(0.02)
        deadline = time.monotonic() + 30
        while runner.status()[0].position < runner.head() and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        follower.join()
        assert 1 <= len(commits) - before < 20
        gaps = [b - a for a, b in zip(runner.starts, runner.starts[1:], strict=False)]
        assert gaps, runner.starts
        assert min(gaps) >= gather * 0.98, gaps
        _caught_up(runner, placement)
    finally:
        stop.set()
        runner.close()
        placement.app.close()
