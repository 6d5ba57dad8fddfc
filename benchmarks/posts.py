"""Single commands over HTTP from four clients, against one writer in process.

Four client threads each POST ``record_step`` commands, one per request, into a pair of
their own, to a real ``peerlog serve`` (one worker process) on loopback: once with the
server following the record (its read models kept up to date beside the writes, the
default) and once with ``--no-follow``. Beside them one writer in process records the
same commands into a store seeded alike (the in-process one-writer figure). The three
are run in turn, round after round, for ``repeats`` rounds of the same number of
commands; each figure is the median of its rounds, with their min and max, and its
ratio to the in-process writer within each round.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import httpx2

from benchmarks import data
from benchmarks.suite import Context, _interleaved, _rate_result, _ratio
from tests.web.server import serve
from tests.web.test_load import GOALS, _seed

CLIENTS = 4


def _step(client: int, n: int, round_: int) -> dict[str, Any]:
    me, partner = f"c{client}-a", f"c{client}-b"
    performer, observer = (me, partner) if n % 2 else (partner, me)
    return {
        "command": "record_step",
        "command_id": f"c{client}-r{round_}-{n}",
        "actor": me,
        "pair_id": f"p{client}",
        "session_id": f"p{client}-s1",
        "step_id": f"st-r{round_}-{n}",
        "kind": "performance",
        "performers": [performer],
        "observers": [observer],
        "goals": [GOALS[n % len(GOALS)]],
        "note": "Checked the drug chart with my partner",
    }


def _over_http(
    url: str, secrets: dict[str, str], per_client: int, failures: list[str]
) -> Callable[[int], tuple[int, list[float]]]:
    """A run: each client POSTs ``per_client`` commands one by one; the accepted count
    and every request's latency."""

    def run(round_: int) -> tuple[int, list[float]]:
        latencies: list[float] = []
        accepted = [0]
        lock = threading.Lock()
        barrier = threading.Barrier(CLIENTS)

        def client(c: int) -> None:
            with httpx2.Client(
                base_url=url, headers={"Authorization": f"Bearer {secrets[f'c{c}']}"}, timeout=60
            ) as http:
                barrier.wait()
                for n in range(per_client):
                    command = _step(c, n, round_)
                    started = time.perf_counter()
                    response = http.post("/api/commands", json=command)
                    took = time.perf_counter() - started
                    with lock:
                        latencies.append(took)
                        if response.status_code == 201:
                            accepted[0] += 1
                        else:
                            failures.append(f"{response.status_code}: {response.text[:200]}")

        threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return accepted[0], latencies

    return run


def posts(ctx: Context, store: str) -> None:
    size = ctx.size
    rounds = size.repeats
    per_client = max(1, size.writes // rounds // CLIENTS)
    failures: list[str] = []
    with ExitStack() as stack:
        stores = {
            name: data.fresh_store(store, ctx.postgres_url, ctx.folder, f"posts{name}")
            for name in ("local", "follow", "nofollow")
        }
        for fresh in stores.values():
            stack.callback(fresh.drop)
        secrets = {}
        for name, fresh in stores.items():
            setup = fresh.open()
            try:
                secrets[name] = _seed(setup)
            finally:
                setup.close()
        local = stores["local"].open()
        stack.callback(local.close)

        def in_process(round_: int) -> tuple[int, list[float]]:
            latencies = []
            for n in range(per_client):
                for c in range(CLIENTS):
                    started = time.perf_counter()
                    local.execute(_step(c, n, round_))
                    latencies.append(time.perf_counter() - started)
            return len(latencies), latencies

        servers = {
            name: stack.enter_context(
                serve(
                    stores[name].env,
                    ctx.folder / f"posts-{store}-{name}.log",
                    "--no-access-log",
                    *(("--no-follow",) if name == "nofollow" else ()),
                )
            )
            for name in ("follow", "nofollow")
        }
        measured = _interleaved(
            rounds,
            {
                "local": in_process,
                "follow": _over_http(
                    servers["follow"].url, secrets["follow"], per_client, failures
                ),
                "nofollow": _over_http(
                    servers["nofollow"].url, secrets["nofollow"], per_client, failures
                ),
            },
        )
    figure = f"single commands, {CLIENTS} HTTP clients"
    ctx.add(
        _rate_result(
            figure, store, "peerlog, one writer in process", measured["local"], "commands/s"
        )
    )
    for name, subject in (
        ("follow", "peerlog serve, following the record"),
        ("nofollow", "peerlog serve --no-follow"),
    ):
        ctx.add(
            _rate_result(
                figure,
                store,
                subject,
                measured[name],
                "commands/s",
                **_ratio("of_in_process", measured[name], measured["local"]),
                failed_requests=len(failures),
            )
        )
