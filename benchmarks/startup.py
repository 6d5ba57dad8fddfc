"""How long the command line takes to start: ``peerlog --version`` and ``--help`` (which
load no record), and one ``peerlog record`` into an SQLite record (which does), each run
as a new process the way a supervisor types it, median of several runs."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.suite import Context, Result

RUNS = 7
FIGURE = "startup of the command line"


def _peerlog() -> str:
    return str(Path(sys.executable).with_name("peerlog"))


def _median_seconds(argv: list[str], env: dict[str, str], runs: int = RUNS) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, env=env, capture_output=True, check=True, timeout=120)
        times.append(time.perf_counter() - started)
    return times


def startup(ctx: Context) -> None:
    record = ctx.folder / "startup.sqlite3"
    env = {**os.environ, "PEERLOG_DATABASE_URL": f"sqlite:///{record}"}
    peerlog = _peerlog()
    subprocess.run(
        [peerlog, "record", "open_course", "--actor", "coord", "course_id=c0", "title=Ward",
         "starts_on=2026-03-02", "ends_on=2026-04-24", "scale=pass", "pass_level=pass",
         "goals:=[]"],
        env=env, capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    runs = {
        "peerlog --version": [peerlog, "--version"],
        "peerlog --help": [peerlog, "--help"],
    }
    for subject, argv in runs.items():
        times = _median_seconds(argv, env)
        ctx.add(_result(subject, "-", times))
    counter = iter(range(1, 1000))

    def one_record() -> None:
        n = next(counter)
        subprocess.run(
            [peerlog, "record", "add_goal", "--actor", "coord", "course_id=c0",
             f"goal_id=g{n}", f"title=Goal {n}"],
            env=env, capture_output=True, check=True, timeout=120,
        )  # fmt: skip

    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        one_record()
        times.append(time.perf_counter() - started)
    ctx.add(_result("peerlog record add_goal (one command into SQLite)", "sqlite", times))


def _result(subject: str, store: str, times: list[float]) -> Result:
    return Result(
        FIGURE,
        store,
        subject,
        statistics.median(times) * 1000,
        "ms",
        {
            "runs": len(times),
            "min": f"{min(times) * 1000:.0f} ms",
            "max": f"{max(times) * 1000:.0f} ms",
        },
    )
