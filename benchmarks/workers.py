"""Accepted commands per second over HTTP with one worker process and with four
(``peerlog serve --workers N`` on PostgreSQL), under the HTTP suite's load: 50
clients recording steps, re-sending some, sending some in batches
(``tests/web/test_load.py``'s clients).

The two are run in turn (1, 4, 1, 4, ...), each on a fresh schema seeded alike, for
``serve_seconds``; the figure is the median of the runs, with their min and max.
"""

from __future__ import annotations

import statistics
import threading
import time

from benchmarks import data
from benchmarks.suite import Context, Result
from tests.web.server import serve
from tests.web.test_load import CLIENTS, Tally, _client, _seed

WORKERS = (1, 4)


def _run(ctx: Context, workers: int, n: int) -> tuple[float, int]:
    """One run: accepted commands per second, and how many requests failed."""
    fresh = data.fresh_store("postgres", ctx.postgres_url, ctx.folder, f"serve{workers}")
    try:
        setup = fresh.open()
        try:
            secrets = _seed(setup)
        finally:
            setup.close()
        tally = Tally()
        log = ctx.folder / f"serve-{workers}-{n}.log"
        with serve(fresh.env, log, "--no-access-log", "--workers", str(workers)) as server:
            deadline = time.monotonic() + ctx.size.serve_seconds
            threads = [
                threading.Thread(
                    target=_client, args=(server.url, c, secrets[f"c{c}"], deadline, tally)
                )
                for c in range(CLIENTS)
            ]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            took = time.monotonic() - started
        return len(tally.accepted) / took, len(tally.failures)
    finally:
        fresh.drop()


def workers(ctx: Context) -> None:
    rates: dict[int, list[float]] = {w: [] for w in WORKERS}
    failures = 0
    for n in range(ctx.size.serve_rounds):
        for count in WORKERS:
            rate, failed = _run(ctx, count, n)
            ctx.report(f"  round {n + 1}, {count} worker(s): {rate:,.1f} commands/s")
            rates[count].append(rate)
            failures += failed
    baseline = statistics.median(rates[1])
    for count in WORKERS:
        runs = rates[count]
        median = statistics.median(runs)
        ctx.add(
            Result(
                f"serve --workers {count}, {CLIENTS} clients",
                "postgres",
                "accepted commands",
                median,
                "commands/s",
                {
                    "min": round(min(runs), 1),
                    "max": round(max(runs), 1),
                    "runs": len(runs),
                    "seconds_each": ctx.size.serve_seconds,
                    "of_one_worker": f"{median / baseline:.2f}x",
                    "failed_requests": failures,
                },
            )
        )
