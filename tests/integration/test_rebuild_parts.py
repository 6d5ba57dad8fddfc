"""A rebuild by parts (whole courses, a few at a time): the same tables as a rebuild of
the whole record in one part and as the runner that followed the record; a failure in
the middle leaves the live tables and positions as they were; what was recorded during
the rebuild is taken in afterwards."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

import pytest

from benchmarks.data import prefixed
from peerlog import PeerLog
from peerlog.cli.demo import placement
from peerlog.persistence.base import RawEvent
from peerlog.projections import PROJECTIONS, Runner, StoreEvents
from peerlog.projections.parts import plan
from peerlog.projections.store import Tracked
from tests.conftest import Store
from tests.support import Placement

NAMES = [p.name for p in PROJECTIONS]


def _record(app: PeerLog) -> Placement:
    """Four courses: one with corrections, a retraction and a forgotten student, three
    from the demo generator."""
    seeded = Placement(app).seed()
    for n in range(8):
        app.execute(seeded.step(f"st{n}", actor="s1" if n % 3 else "s2"))
    app.execute(seeded.feedback("fb1", actor="s2"))
    seeded.run(
        "correct_entry", "sup1", pair_id="p1", entry_id="st2", changes={"goals": []}, reason="Fix"
    )
    seeded.run("retract_entry", "sup1", pair_id="p1", entry_id="st4", reason="Duplicate")
    for command in prefixed(placement(pairs=6, weeks=2, pairs_per_course=2), "demo-"):
        app.execute(command)
    app.forget("s2", actor="coord", command_id="forget-s2")
    return seeded


def _tables(runner: Runner) -> dict[str, Any]:
    return {p.name: runner.store.load(p).snapshot() for p in PROJECTIONS}


def _positions(runner: Runner) -> dict[str, Tracked]:
    return runner.store.tracking()


class Failing(StoreEvents):
    """The record, whose reads of some streams (a part of a rebuild) fail or record a
    command when the ``at``-th such read starts."""

    def __init__(self, app: PeerLog, at: int, *, command: dict[str, Any] | None = None) -> None:
        super().__init__(app)
        self.at = at
        self.command = command
        self.reads = 0
        self.recording = app

    def iter_raw(
        self,
        after: int,
        *,
        stop: int | None = None,
        topics: Collection[str] | None = None,
        streams: Collection[str] | None = None,
    ) -> Iterator[RawEvent]:
        if streams is not None:
            self.reads += 1
            if self.reads == self.at:
                if self.command is None:
                    msg = "the record went away"
                    raise ConnectionError(msg)
                self.recording.execute(self.command)
        return super().iter_raw(after, stop=stop, topics=topics, streams=streams)


def test_a_rebuild_by_parts_gives_the_tables_of_one_part_and_of_the_follower(
    store: Store,
) -> None:
    app = store.open()
    follower = Runner(StoreEvents(app), batch_size=40)
    try:
        seeded = _record(app)
        follower.run()
        app.execute(seeded.reflection("late"))
        follower.run()
        live = _tables(follower)
        head = follower.head()
        part_events = head // 5
        parts = plan(StoreEvents(app), head, part_events)
        assert len(parts) >= 3
        assert all(p.streams is not None for p in parts)
        seen: list[str] = []
        by_parts = Runner(StoreEvents(app), part_events=part_events)
        by_parts.progress = lambda what, position, at: seen.append(what)
        try:
            assert by_parts.rebuild(processes=1) == dict.fromkeys(NAMES, head)
            assert _tables(by_parts) == live
            assert any(f"part {len(parts)} of {len(parts)}" in what for what in seen)
            # In a process for each projection, each folding the parts.
            assert by_parts.rebuild(processes=2) == dict.fromkeys(NAMES, head)
            assert _tables(by_parts) == live
        finally:
            by_parts.close()
        whole = Runner(StoreEvents(app))
        try:
            assert len(plan(StoreEvents(app), head, whole.part_events)) == 1
            whole.rebuild(processes=1)
            assert _tables(whole) == live
        finally:
            whole.close()
        assert all(any(tables.values()) for tables in live.values())
    finally:
        follower.close()
        app.close()


def test_a_failure_in_the_middle_part_leaves_the_live_tables_and_positions(
    store: Store,
) -> None:
    app = store.open()
    follower = Runner(StoreEvents(app))
    try:
        seeded = _record(app)
        follower.run()
        app.execute(seeded.reflection("late"))  # a rebuild would move the positions on
        before, positions = _tables(follower), _positions(follower)
        part_events = follower.head() // 5
        failing = Failing(app, at=2)
        runner = Runner(failing, part_events=part_events)
        try:
            with pytest.raises(ConnectionError, match="went away"):
                runner.rebuild(processes=1)
            assert failing.reads == 2
            assert _tables(runner) == before
            assert _positions(runner) == positions
            # The next rebuild starts afresh over what the failed one left.
            runner.source = StoreEvents(app)
            runner.rebuild(processes=1)
            follower.run()
            assert _tables(runner) == _tables(follower) != before
        finally:
            runner.close()
    finally:
        follower.close()
        app.close()


def test_events_recorded_during_a_rebuild_by_parts_are_taken_in_afterwards(
    store: Store,
) -> None:
    app = store.open()
    try:
        seeded = _record(app)
        head = app.store.max_notification_id()
        assert head is not None
        # Recorded as the second part is read (in the course of the last part).
        during = Failing(app, at=2, command=seeded.reflection("during"))
        runner = Runner(during, part_events=head // 5)
        try:
            runner.rebuild(processes=1)
            assert during.reads >= 3
            assert {t.position for t in _positions(runner).values()} == {head}
            assert runner.run() == dict.fromkeys(NAMES, head + 1)
            whole = Runner(StoreEvents(app))
            try:
                whole.rebuild(processes=1)
                assert _tables(runner) == _tables(whole)
            finally:
                whole.close()
        finally:
            runner.close()
    finally:
        app.close()
