"""What arrives together is written together: one pass of the runner writes every
projection's changes in one transaction, so the commands recorded while the runner
was writing the previous batch cost one read-model commit together, not one each."""

from __future__ import annotations

import threading

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
