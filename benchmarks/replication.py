"""What synchronous replication costs, and dashboards read from a standby while
writers run.

The suite makes PostgreSQL clusters of its own for this (the replication tests'
``tests/replication/clusters.py``: a primary, its synchronous standby s1, a second
standby s2 streaming from s1, on loopback, removed afterwards). The writers' figures
alternate, in one run, blocks with the standby confirming every commit
(``synchronous_standby_names = 's1'``) and blocks where it streams without being waited
for (``''``): the same servers, the same standby, the same moment of the machine; each
mode's figure is the median of its blocks, with their min and max.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from benchmarks import data
from benchmarks.suite import Context, Result, _open_pairs, _percentiles, _steps
from peerlog import PeerLog
from peerlog.projections import Runner, StoreEvents, overview
from peerlog.projections.reads import Reads, read_models_position
from tests.replication import clusters as pg
from tests.replication.clusters import Node

BLOCKS = 10
PAIRS = 50


def _synchronous(primary: Node, *, on: bool) -> None:
    """Switch the primary between waiting for s1 and not, and wait until it does."""
    primary.sql(f"ALTER SYSTEM SET synchronous_standby_names = '{'s1' if on else ''}'")
    primary.sql("SELECT pg_reload_conf()")
    pg.wait_for(
        lambda: (
            primary.sql("SELECT sync_state FROM pg_stat_replication WHERE application_name = 's1'")
            == [("sync" if on else "async",)]
        ),
        "the primary to take the setting",
    )


def _blocks(primary: Node, run_block: Callable[[int], int]) -> dict[bool, list[float]]:
    """commands/s of each block, by mode (synchronous or not), modes alternating."""
    rates: dict[bool, list[float]] = {True: [], False: []}
    for block in range(BLOCKS):
        on = block % 2 == 0
        _synchronous(primary, on=on)
        started = time.perf_counter()
        count = run_block(block)
        rates[on].append(count / (time.perf_counter() - started))
    return rates


def _add(ctx: Context, figure: str, rates: dict[bool, list[float]], commands: int) -> None:
    sync, plain = rates[True], rates[False]
    ctx.add(
        Result(
            figure,
            "postgres",
            "peerlog, a synchronous standby confirming every commit",
            statistics.median(sync),
            "commands/s",
            {
                "min": round(min(sync), 1),
                "max": round(max(sync), 1),
                "vs_without": round(statistics.median(sync) / statistics.median(plain), 3),
                "blocks": len(sync),
                "commands": commands,
            },
        )
    )
    ctx.add(
        Result(
            figure,
            "postgres",
            "peerlog, the standby streaming without being waited for",
            statistics.median(plain),
            "commands/s",
            {"min": round(min(plain), 1), "max": round(max(plain), 1), "blocks": len(plain)},
        )
    )


def replication(ctx: Context) -> None:
    problem = pg.unavailable()
    if problem is not None:
        ctx.report(f"  replication: skipped, {problem}")
        return
    with pg.clusters() as made:
        primary, s1, _ = made.replicated()
        env = {
            "PEERLOG_DATABASE_URL": primary.url,
            "PEERLOG_SCHEMA": "bench_replication",
            "PEERLOG_MASTER_KEY": data.MASTER_KEY,
        }
        setup = PeerLog(env)
        try:
            _open_pairs(setup, "r-", PAIRS)
        finally:
            setup.close()
        _one_writer(ctx, primary, env)
        _eight_writers(ctx, primary, env)
        _reads_while_writing(ctx, primary, s1, env)


def _one_writer(ctx: Context, primary: Node, env: dict[str, str]) -> None:
    total = ctx.size.writes
    per_block = max(1, total // BLOCKS)
    commands = [c for _, c in _steps("r1-", PAIRS, per_block * BLOCKS)]
    for command in commands:  # the pairs are r-p01.., the ids of this figure r1-...
        _retarget(command, "r1-", "r-")
    app = PeerLog(env)
    try:
        app.execute(commands[0])  # warm the caches and the connection

        def block(n: int) -> int:
            for command in commands[n * per_block + (1 if n == 0 else 0) : (n + 1) * per_block]:
                app.execute(command)
            return per_block - (1 if n == 0 else 0)

        rates = _blocks(primary, block)
    finally:
        app.close()
    _add(ctx, "one writer, synchronous standby", rates, per_block * BLOCKS)


def _eight_writers(ctx: Context, primary: Node, env: dict[str, str]) -> None:
    writers = ctx.size.writers
    per_block = max(1, ctx.size.per_writer // (BLOCKS // 2))
    apps = [PeerLog(env) for _ in range(writers)]
    mine = [
        [c for p, c in _steps("r8-", PAIRS, PAIRS * per_block * BLOCKS) if p == f"r8-p{w + 1:02d}"]
        for w in range(writers)
    ]
    for commands in mine:
        for command in commands:
            _retarget(command, "r8-", "r-")
    try:
        with ThreadPoolExecutor(writers) as pool:
            barrier = threading.Barrier(writers)

            def write(writer: int, n: int) -> int:
                barrier.wait()
                for command in mine[writer][n * per_block : (n + 1) * per_block]:
                    apps[writer].execute(command)
                return per_block

            def block(n: int) -> int:
                return sum(pool.map(lambda w: write(w, n), range(writers)))

            rates = _blocks(primary, block)
    finally:
        for app in apps:
            app.close()
    _add(ctx, "eight writers, synchronous standby", rates, writers * per_block * BLOCKS)


def _retarget(command: dict[str, Any], prefix: str, pairs: str) -> None:
    """A step of this figure (ids ``prefix...``) into the shared pairs (``pairs...``)."""
    for key in ("actor", "pair_id", "session_id"):
        command[key] = pairs + command[key].removeprefix(prefix)
    for key in ("performers", "observers"):
        command[key] = [pairs + v.removeprefix(prefix) for v in command[key]]
    command["step_id"] = command["command_id"]  # unique in the shared pair


def _reads_while_writing(ctx: Context, primary: Node, standby: Node, env: dict[str, str]) -> None:
    """The supervisor overview of one course, read from the standby and from the
    primary in turn while four writers record (synchronously) and the projection runner
    follows on the primary; and how far the standby's read models were behind."""
    _synchronous(primary, on=True)
    # 20 s at the default size, 2 s for CI's tiny run, a minute at 10 times the size.
    seconds = max(2.0, min(60.0, ctx.size.writes / 150))
    app = PeerLog(env)
    events = StoreEvents(app)
    runner = Runner(events)
    replica = StoreEvents.open({**env, "PEERLOG_DATABASE_URL": standby.url})
    reads = Reads(events, runner.store, replica=replica, wait=0)
    stop = threading.Event()
    written = [0]
    course = f"r-{_first_course(app)}"
    writers = 4

    def follow() -> None:
        runner.run(follow=True, stop=stop)

    def write(w: int) -> None:
        own = PeerLog(env)
        try:
            n = 0
            while not stop.is_set():
                n += 1
                own.execute(_step(f"r-p{w + 41:02d}", f"rw-{w}-{n}"))
                written[0] += 1
        finally:
            own.close()

    threads = [threading.Thread(target=follow)] + [
        threading.Thread(target=write, args=(w,)) for w in range(writers)
    ]
    try:
        runner.run()  # the read models start up to date, as on a server that follows
        for thread in threads:
            thread.start()
        started = time.perf_counter()
        latencies, lags = _read_in_turn(reads, runner, course, seconds)
        elapsed = time.perf_counter() - started
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        reads.close()
        runner.close()
        app.close()
    _add_reads(ctx, latencies, lags, written[0] / elapsed)


def _read_in_turn(
    reads: Reads, runner: Runner, course: str, seconds: float
) -> tuple[dict[bool, list[float]], list[int]]:
    """The overview from the standby, then from the primary, in turn, for ``seconds``:
    each read's time by copy (standby: True), and how far the standby had come."""
    latencies: dict[bool, list[float]] = {True: [], False: []}
    lags: list[int] = []
    now = datetime.now(UTC)
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        t = time.perf_counter()
        source = reads.read_models()  # the standby's, and how far they had come
        overview(source.store, now=now, courses={course})
        latencies[True].append(time.perf_counter() - t)
        lags.append(source.lag)
        t = time.perf_counter()
        read_models_position(runner.store)  # the same work, on the primary
        overview(runner.store, now=now, courses={course})
        latencies[False].append(time.perf_counter() - t)
    return latencies, lags


def _step(pair: str, command_id: str) -> dict[str, Any]:
    return {
        "command": "record_step", "command_id": command_id, "actor": f"{pair}-a",
        "pair_id": pair, "session_id": f"{pair}-open", "step_id": command_id,
        "kind": "performance", "performers": [f"{pair}-a"], "observers": [f"{pair}-b"],
        "goals": ["hygiene"],
    }  # fmt: skip


def _add_reads(
    ctx: Context, latencies: dict[bool, list[float]], lags: list[int], writes_per_s: float
) -> None:
    for from_standby, subject in ((True, "from the standby s1"), (False, "from the primary")):
        measured = latencies[from_standby]
        details: dict[str, Any] = {
            **_percentiles(measured),
            "reads": len(measured),
            "writes_per_s": round(writes_per_s, 1),
        }
        if from_standby:
            details |= {
                "lag_events_median": statistics.median(lags),
                "lag_events_max": max(lags),
            }
        ctx.add(
            Result(
                "supervisor overview while 4 writers record",
                "postgres",
                f"peerlog overview of one course's pairs, {subject}",
                statistics.median(measured) * 1000,
                "ms",
                details,
            )
        )


def _first_course(app: PeerLog) -> str:
    streams = [s for s in app.store.select_streams() if s.startswith("course/r-")]
    return streams[0].removeprefix("course/r-")
