"""Failover under load: HTTP clients record commands through ``peerlog serve`` while the
primary's postmaster is killed with SIGKILL and its synchronous standby is promoted.

The server's URL names both servers (libpq's multi-host form); nothing tells it of the
failover. Each client sends commands one after another and, when one fails (the server
answers 503, or the connection breaks), sends the same command again - with the same
``command_id`` - until it is answered, within a bounded time. Afterwards, on the new
primary: every command a client saw acknowledged is in the record exactly once, at the
position it was told; positions are gap-free; the hash chains verify, and so does the
record against a checkpoint signed before the failover; the read models the server kept
equal a rebuild; and every acknowledged command sent again is answered as repeated,
with its first result. The second standby follows the new primary.

The pause the writers saw is written to ``failover.json`` in the test's folder and
printed (``pytest -s``).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest

from peerlog import PeerLog
from peerlog.projections import PROJECTIONS, Runner, fold_all
from peerlog.web import Tokens
from tests.replication.clusters import current_lsn, wait_for
from tests.replication.conftest import Replicated
from tests.web.server import serve

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CLIENTS = 8
PEERLOG = str(Path(sys.executable).parent / "peerlog")
BEFORE_KILL = 150
"""Commands acknowledged before the primary is killed."""
AFTER_PROMOTION = 20
"""Commands each client has acknowledged after the promotion before the clients stop."""
BOUND_SECONDS = 120.0


def _cmd(command: str, command_id: str, actor: str, **fields: Any) -> dict[str, Any]:
    return {"command": command, "command_id": command_id, "actor": actor, **fields}


def _seed(app: PeerLog) -> dict[int, str]:
    """A course with a pair per client, each with a session open; a token per client."""
    commands = [
        _cmd(
            "open_course", "seed-course", "coord", course_id="ha-1", title="Failover",
            starts_on="2026-03-02", ends_on="2026-12-24", scale=["not_yet", "pass"],
            pass_level="pass", goals=[{"goal_id": "hygiene", "title": "Hygiene"}],
        ),
        _cmd("assign_supervisor", "seed-sup", "coord", course_id="ha-1", supervisor_id="sup"),
    ]  # fmt: skip
    for n in range(CLIENTS):
        a, b = f"c{n}-a", f"c{n}-b"
        commands += [
            _cmd("enroll_student", f"seed-{a}", "coord", course_id="ha-1", student_id=a),
            _cmd("enroll_student", f"seed-{b}", "coord", course_id="ha-1", student_id=b),
            _cmd("form_pair", f"seed-p{n}", "coord", course_id="ha-1", pair_id=f"p{n}", students=[a, b], supervisors=["sup"]),
            _cmd("open_session", f"seed-s{n}", a, pair_id=f"p{n}", session_id=f"p{n}-s1", roles={a: "performer", b: "observer"}),
        ]  # fmt: skip
    assert all(not isinstance(o, Exception) for o in app.execute_many(commands))
    tokens = Tokens.of(app)
    return {n: tokens.create(f"c{n}-a", "student")[1] for n in range(CLIENTS)}


@dataclass
class Client:
    """One client's view: what it was told, and when."""

    n: int
    secret: str
    acknowledged: dict[str, dict[str, Any]] = field(default_factory=dict)
    """command_id -> the command and the positions it was answered with."""
    acks: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    def command(self, counter: int) -> dict[str, Any]:
        me, partner = f"c{self.n}-a", f"c{self.n}-b"
        return {
            "command": "record_step", "command_id": f"c{self.n}-{counter}",
            "pair_id": f"p{self.n}", "session_id": f"p{self.n}-s1", "step_id": f"st{counter}",
            "kind": "performance", "performers": [me], "observers": [partner],
            "goals": ["hygiene"], "note": "Checked the drug chart with my partner",
        }  # fmt: skip

    def run(self, url: str, stop: threading.Event, deadline: float) -> None:
        counter = 0
        with httpx2.Client(
            base_url=url, headers={"Authorization": f"Bearer {self.secret}"}, timeout=60
        ) as http:
            while not stop.is_set() and time.monotonic() < deadline:
                counter += 1
                command = self.command(counter)
                # The same command (same command_id) until it is answered.
                while time.monotonic() < deadline:
                    try:
                        response = http.post("/api/commands", json=command)
                    except httpx2.TransportError as exc:
                        self.failures.append(type(exc).__name__)
                        stop.wait(0.05)
                        continue
                    if response.status_code in {200, 201}:
                        body = response.json()
                        self.acknowledged[command["command_id"]] = {
                            "command": command,
                            "positions": [e["position"] for e in body["events"]],
                            "status": body["status"],
                        }
                        self.acks.append(time.monotonic())
                        break
                    if response.status_code == 503:
                        self.failures.append("503")
                        stop.wait(0.05)
                        continue
                    self.unexpected.append(f"{response.status_code}: {response.text[:300]}")
                    break


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PEERLOG, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_clients_lose_nothing_when_the_primary_is_killed_and_the_standby_promoted(
    replicated: Replicated, tmp_path: Path
) -> None:
    primary, s1, s2 = replicated.primary, replicated.s1, replicated.s2
    schema = f"ha_{uuid.uuid4().hex[:10]}"
    hosts = f"127.0.0.1:{primary.port},127.0.0.1:{s1.port}"
    env = {
        # No target_session_attrs: peerlog adds read-write for a multi-host URL.
        "PEERLOG_DATABASE_URL": f"postgresql://postgres@{hosts}/peerlog?connect_timeout=2",
        "PEERLOG_SCHEMA": schema,
        "PEERLOG_FAILOVER_SECONDS": "60",
    }
    app = PeerLog(env)
    try:
        secrets = _seed(app)
        seeded = {c.command_id for c in app.store.select_commands()}
    finally:
        app.close()
    (tmp_path / "checkpoint.txt").write_text(_cli(env, "checkpoint").stdout)
    (tmp_path / "peerlog.pub").write_text(_cli(env, "checkpoint", "key").stdout)
    clients = [Client(n, secrets[n]) for n in range(CLIENTS)]
    stop = threading.Event()
    deadline = time.monotonic() + BOUND_SECONDS
    with serve(env, tmp_path / "serve.log", "--no-access-log") as server:
        threads = [
            threading.Thread(target=c.run, args=(server.url, stop, deadline)) for c in clients
        ]
        for thread in threads:
            thread.start()
        try:
            wait_for(lambda: sum(len(c.acks) for c in clients) >= BEFORE_KILL, "commands before")
            killed = time.monotonic()
            primary.kill()
            s1.promote()
            promoted = time.monotonic()
            wait_for(
                lambda: all(
                    sum(1 for t in c.acks if t > promoted) >= AFTER_PROMOTION for c in clients
                ),
                "every client to be answered after the promotion",
                BOUND_SECONDS,
            )
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=BOUND_SECONDS)
        assert not any(t.is_alive() for t in threads)
        acknowledged = {k: v for c in clients for k, v in c.acknowledged.items()}
        # Every acknowledged command sent again is answered as repeated, with its
        # first result.
        with httpx2.Client(base_url=server.url, timeout=60) as http:
            for client in clients:
                for command_id, seen in client.acknowledged.items():
                    again = http.post(
                        "/api/commands",
                        json=seen["command"],
                        headers={"Authorization": f"Bearer {client.secret}"},
                    )
                    assert again.status_code == 200, again.text
                    assert again.json()["status"] == "repeated", command_id
                    assert [e["position"] for e in again.json()["events"]] == seen["positions"]
            # The server's follower brings the read models up to date on the new primary.
            token = {"Authorization": f"Bearer {secrets[0]}"}
            wait_for(
                lambda: http.get("/api/projections", headers=token).json()["lag"] == 0,
                "the read models to catch up on the new primary",
            )
        log = server.log.read_text()

    pauses = []
    for client in clients:
        gaps = [b - a for a, b in zip(client.acks, client.acks[1:], strict=False) if b > killed]
        pauses.append(max(gaps))
    report = {
        "clients": CLIENTS,
        "acknowledged": len(acknowledged),
        "failed_attempts_resent": sum(len(c.failures) for c in clients),
        "kill_to_promoted_s": round(promoted - killed, 2),
        "pause_s": {
            "median": round(statistics.median(pauses), 2),
            "max": round(max(pauses), 2),
        },
        "first_answer_after_kill_s": round(
            min(t for c in clients for t in c.acks if t > killed) - killed, 2
        ),
        # What the server said of the command in flight when the primary died.
        "settled_by_id": log.count("settling the command by its id"),
        "found_recorded": log.count("recorded before the connection broke"),
    }
    (tmp_path / "failover.json").write_text(json.dumps(report, indent=2))
    print("\nfailover:", json.dumps(report))
    assert all(not c.unexpected for c in clients), [c.unexpected for c in clients]
    assert "Traceback" not in log

    after = PeerLog(env)  # finds the new primary by itself
    try:
        assert after.store.datastore.standby is False  # type: ignore[attr-defined]
        stored = {c.command_id: c for c in after.store.select_commands()}
        # Exactly once each, where the client was told (the unique index keeps a
        # command id once; its events are where the answer said).
        assert set(stored) - seeded == set(acknowledged)
        for command_id, seen in acknowledged.items():
            first = stored[command_id]
            assert list(range(first.first_position, first.last_position + 1)) == seen["positions"]
        positions = after.store.select_positions()
        assert positions == list(range(1, len(positions) + 1))
        assert after.verify().verified
        runner = Runner(after)
        followed = {p.name: runner.store.load(p).snapshot() for p in PROJECTIONS}
        in_memory = {p.name: fold_all(after, p).rows.snapshot() for p in PROJECTIONS}
        runner.rebuild()
        rebuilt = {p.name: runner.store.load(p).snapshot() for p in PROJECTIONS}
        runner.close()
        assert followed == in_memory
        assert rebuilt == in_memory
    finally:
        after.close()
    against = _cli(
        env,
        "verify",
        "--against",
        str(tmp_path / "checkpoint.txt"),
        "--key",
        str(tmp_path / "peerlog.pub"),
    )
    assert against.returncode == 0, against.stdout + against.stderr
    assert "verified: the record extends the checkpoint" in against.stdout
    # The second standby follows the new primary, as its synchronous standby.
    s2.wait_for_replay(current_lsn(s1))
    assert s1.sql("SELECT sync_state FROM pg_stat_replication WHERE application_name = 's2'") == [
        ("sync",)
    ]
