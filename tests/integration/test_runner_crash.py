"""A runner killed in the middle of a batch loses nothing and counts nothing twice: after
a restart the read models equal a clean rebuild."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

from peerlog.projections import PROJECTIONS, Runner, StoreEvents, fold_all
from tests.conftest import Store
from tests.support import Placement

RUNNER = textwrap.dedent(
    """
    import json, sys, time
    from peerlog import PeerLog
    from peerlog.projections import Runner, StoreEvents

    flushes = 0

    def before_commit():
        global flushes
        flushes += 1
        if flushes == 3:
            print("inside the third batch", flush=True)
            time.sleep(60)

    app = PeerLog(json.loads(sys.argv[1]))
    Runner(StoreEvents(app), batch_size=10, before_commit=before_commit).run()
    print("finished", flush=True)
    """
)


def test_a_runner_killed_mid_batch_recovers_to_what_a_rebuild_gives(store: Store) -> None:
    placement = Placement(store.open()).seed()
    app = placement.app
    for n in range(20):
        app.execute(placement.step(f"st{n}", actor="s1" if n % 3 else "s2"))
        if n % 4 == 0:
            app.execute(placement.feedback(f"fb{n}"))
    placement.run("retract_entry", "sup1", pair_id="p1", entry_id="st2", reason="Duplicate")
    head = app.store.max_notification_id()
    assert head is not None
    assert head > 30

    with subprocess.Popen(
        [sys.executable, "-c", RUNNER, json.dumps(store.env)],
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.strip() == "inside the third batch"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    runner = Runner(StoreEvents(app), batch_size=10)
    try:
        # Every projection's batch is written in one transaction: the first two batches
        # were committed for all of them, the third for none.
        positions = {s.name: s.position for s in runner.status()}
        assert [positions[p.name] for p in PROJECTIONS] == [20, 20, 20]
        runner.run()
        assert {s.name: s.position for s in runner.status()} == dict.fromkeys(positions, head)
        stored = {p.name: runner.store.load(p).snapshot() for p in PROJECTIONS}
        runner.rebuild()
        rebuilt = {p.name: runner.store.load(p).snapshot() for p in PROJECTIONS}
        in_memory = {p.name: fold_all(StoreEvents(app), p).rows.snapshot() for p in PROJECTIONS}
    finally:
        runner.close()
        app.close()
    assert stored == rebuilt == in_memory


def test_two_runners_at_once_never_count_twice(store: Store) -> None:
    placement = Placement(store.open()).seed()
    app = placement.app
    for n in range(30):
        app.execute(placement.step(f"st{n}"))
    first, second = Runner(StoreEvents(app), batch_size=4), Runner(StoreEvents(app), batch_size=7)
    try:
        # Interleave their batches: each notices the other moved on and reloads.
        for _ in range(20):
            for runner in (first, second):
                runner._pass()
        first.run()
        second.run()
        stored = {p.name: first.store.load(p).snapshot() for p in PROJECTIONS}
        in_memory = {p.name: fold_all(StoreEvents(app), p).rows.snapshot() for p in PROJECTIONS}
    finally:
        first.close()
        second.close()
        app.close()
    assert stored == in_memory
