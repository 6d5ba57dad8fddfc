"""A shift's worth of clients at once: 50 clients record commands over HTTP for 60
seconds (loopback only, bounded in time), some re-sending what they sent before, some
sending batches. Nothing is lost: every accepted command is in the record exactly
once, nothing else is, and the read models the server kept up to date while it ran
agree with a rebuild from the record.

PEERLOG_LOAD_SECONDS shortens or lengthens the run (60 by default).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest

from peerlog import PeerLog
from peerlog.projections import PROJECTIONS, Runner, StoreEvents, fold_all
from peerlog.web import Tokens
from tests.conftest import Store
from tests.web.server import serve

CLIENTS = 50
SECONDS = float(os.environ.get("PEERLOG_LOAD_SECONDS", "60"))
GOALS = ["hygiene", "medication", "communication"]


def _seed(app: PeerLog) -> dict[str, str]:
    """A course with a pair per client, each with a session open; a token per client."""

    def cmd(command: str, command_id: str, actor: str, **fields: Any) -> dict[str, Any]:
        return {"command": command, "command_id": command_id, "actor": actor, **fields}

    commands = [
        cmd(
            "open_course", "seed-course", "coord", course_id="load-1", title="Load",
            starts_on="2026-03-02", ends_on="2026-12-24", scale=["not_yet", "pass"], pass_level="pass",
            goals=[{"goal_id": g, "title": g} for g in GOALS],
        ),
        cmd("assign_supervisor", "seed-sup", "coord", course_id="load-1", supervisor_id="sup"),
    ]  # fmt: skip
    for n in range(CLIENTS):
        a, b = f"c{n}-a", f"c{n}-b"
        commands += [
            cmd("enroll_student", f"seed-{a}", "coord", course_id="load-1", student_id=a),
            cmd("enroll_student", f"seed-{b}", "coord", course_id="load-1", student_id=b),
            cmd("form_pair", f"seed-p{n}", "coord", course_id="load-1", pair_id=f"p{n}", students=[a, b], supervisors=["sup"]),
            cmd("open_session", f"seed-s{n}", a, pair_id=f"p{n}", session_id=f"p{n}-s1", roles={a: "performer", b: "observer"}),
        ]  # fmt: skip
    outcomes = list(app.execute_many(commands))
    assert all(not isinstance(o, Exception) for o in outcomes)
    tokens = Tokens.of(app)
    return {f"c{n}": tokens.create(f"c{n}-a", "student")[1] for n in range(CLIENTS)}


@dataclass
class Tally:
    accepted: list[str] = field(default_factory=list)
    repeated: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _client(url: str, n: int, secret: str, deadline: float, tally: Tally) -> None:
    me, partner = f"c{n}-a", f"c{n}-b"
    rng = random.Random(n)
    sent: list[dict[str, Any]] = []
    counter = 0

    def step() -> dict[str, Any]:
        nonlocal counter
        counter += 1
        performer = rng.choice([me, partner])
        observer = partner if performer == me else me
        return {
            "command": "record_step", "command_id": f"c{n}-{counter}", "pair_id": f"p{n}",
            "session_id": f"p{n}-s1", "step_id": f"st{counter}", "kind": "performance",
            "performers": [performer], "observers": [observer], "goals": [rng.choice(GOALS)],
            "note": "Checked the drug chart with my partner",
        }  # fmt: skip

    with httpx2.Client(
        base_url=url, headers={"Authorization": f"Bearer {secret}"}, timeout=60
    ) as http:
        while time.monotonic() < deadline:
            roll = rng.random()
            started = time.perf_counter()
            if roll < 0.1 and sent:
                again = rng.choice(sent)
                response = http.post("/api/commands", json=again)
                expected = {200}
                outcomes = [(again["command_id"], response.status_code, "repeated")]
            elif roll < 0.2:
                batch = [step() for _ in range(5)]
                if sent:
                    batch.append(rng.choice(sent))
                response = http.post("/api/commands/batch", json={"commands": batch})
                expected = {200}
                outcomes = (
                    [
                        (r["command_id"], r["http_status"], r["status"])
                        for r in response.json()["results"]
                    ]
                    if response.status_code == 200
                    else []
                )
                sent += batch[:5]
            else:
                command = step()
                response = http.post("/api/commands", json=command)
                expected = {201}
                outcomes = [(command["command_id"], response.status_code, "accepted")]
                sent.append(command)
            elapsed = time.perf_counter() - started
            with tally.lock:
                tally.requests += 1
                tally.latencies.append(elapsed)
                if response.status_code not in expected:
                    tally.failures.append(f"{response.status_code}: {response.text[:300]}")
                for command_id, status, kind in outcomes:
                    if status == 201 and kind == "accepted":
                        tally.accepted.append(command_id)
                    elif status == 200 and kind == "repeated":
                        tally.repeated.append(command_id)
                    else:
                        tally.failures.append(f"{command_id}: {status} {kind}")


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 4])
def test_fifty_clients_for_a_minute_lose_nothing(
    postgres_store: Store, tmp_path: Path, workers: int
) -> None:
    """On one server process, and on four (``--workers 4``), of which one follows."""
    store = postgres_store
    app = store.open()
    secrets = _seed(app)
    seeded = {c.command_id for c in app.store.select_commands()}
    app.close()
    tally = Tally()
    log = tmp_path / "serve.log"
    with serve(store.env, log, "--no-access-log", "--workers", str(workers)) as server:
        deadline = time.monotonic() + SECONDS
        threads = [
            threading.Thread(
                target=_client, args=(server.url, n, secrets[f"c{n}"], deadline, tally)
            )
            for n in range(CLIENTS)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=SECONDS + 120)
        took = time.monotonic() - started
        assert not any(t.is_alive() for t in threads)
        # The server's follower catches up with the last commands.
        headers = {"Authorization": f"Bearer {secrets['c0']}"}
        catch_up = time.monotonic()
        while httpx2.get(server.url + "/api/projections", headers=headers, timeout=30).json()[
            "lag"
        ]:
            assert time.monotonic() - catch_up < 60, "the follower fell behind for good"
            time.sleep(0.1)
        caught_up_after = time.monotonic() - catch_up

    latencies = sorted(tally.latencies)
    report = {
        "workers": workers,
        "clients": CLIENTS,
        "seconds": round(took, 1),
        "requests": tally.requests,
        "commands_accepted": len(tally.accepted),
        "commands_repeated": len(tally.repeated),
        "accepted_per_second": round(len(tally.accepted) / took, 1),
        "latency_ms": {
            "median": round(statistics.median(latencies) * 1000, 1),
            "p95": round(latencies[int(len(latencies) * 0.95)] * 1000, 1),
            "p99": round(latencies[int(len(latencies) * 0.99)] * 1000, 1),
            "max": round(latencies[-1] * 1000, 1),
        },
        "read_models_caught_up_after_s": round(caught_up_after, 2),
        "failures": len(tally.failures),
    }
    (tmp_path / "load.json").write_text(json.dumps(report, indent=2))
    print("\n" + json.dumps(report))
    assert tally.failures == []
    assert len(tally.accepted) > CLIENTS * 10
    text = log.read_text()
    assert "Traceback" not in text
    # One process followed the record; the others said they served.
    assert text.count("follows the record: it keeps the read models") == 1
    assert text.count("another process follows the record") == workers - 1

    app = store.open()
    try:
        stored = Counter(c.command_id for c in app.store.select_commands())
        assert all(count == 1 for count in stored.values())
        accepted = Counter(tally.accepted)
        assert all(count == 1 for count in accepted.values())  # accepted once, repeated after
        assert set(stored) - seeded == set(accepted)
        assert set(tally.repeated) <= set(accepted)
        assert app.verify().verified
        # What the server's follower wrote agrees with the record folded afresh and with
        # a rebuild of the tables.
        runner = Runner(StoreEvents(app))
        followed = {p.name: runner.store.load(p).snapshot() for p in PROJECTIONS}
        in_memory = {p.name: fold_all(StoreEvents(app), p).rows.snapshot() for p in PROJECTIONS}
        runner.rebuild()
        rebuilt = {p.name: runner.store.load(p).snapshot() for p in PROJECTIONS}
        runner.close()
        assert followed == in_memory
        assert rebuilt == in_memory
    finally:
        app.close()
