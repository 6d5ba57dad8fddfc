"""Clients recording through ``peerlog serve`` across a failover, and what is checked
afterwards: the failover tests' shared part (plain promotion, pg_auto_failover)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

from peerlog import PeerLog
from peerlog.projections import PROJECTIONS, Runner, StoreEvents, fold_all
from peerlog.web import Tokens
from tests.replication.clusters import wait_for
from tests.web.server import serve

CLIENTS = 8
PEERLOG = str(Path(sys.executable).parent / "peerlog")
BEFORE_KILL = 80
"""Commands acknowledged before the primary is killed."""
AFTER_PROMOTION = 10
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


def through_failover(
    env: dict[str, str], tmp_path: Path, fail: Callable[[], None]
) -> dict[str, Any]:
    """Clients record through ``peerlog serve`` (on ``env``'s multi-host URL) while
    ``fail()`` takes the primary away and a standby becomes the primary; then every
    check of the module's description. Returns the report (also in failover.json)."""
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
            fail()
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
        _resend(server.url, clients)
        with httpx2.Client(base_url=server.url, timeout=60) as http:
            # The server's follower brings the read models up to date on the new primary.
            token = {"Authorization": f"Bearer {secrets[0]}"}
            wait_for(
                lambda: http.get("/api/projections", headers=token).json()["lag"] == 0,
                "the read models to catch up on the new primary",
            )
        log = server.log.read_text()
    report = _report(clients, killed, promoted, acknowledged, log)
    (tmp_path / "failover.json").write_text(json.dumps(report, indent=2))
    print("\nfailover:", json.dumps(report))
    assert all(not c.unexpected for c in clients), [c.unexpected for c in clients]
    assert "Traceback" not in log
    _check_record(env, seeded, acknowledged)
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
    return report


def _resend(url: str, clients: list[Client]) -> None:
    """Every acknowledged command sent again is answered as repeated, with its first
    result."""
    with httpx2.Client(base_url=url, timeout=60) as http:
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


def _report(
    clients: list[Client],
    killed: float,
    promoted: float,
    acknowledged: dict[str, Any],
    log: str,
) -> dict[str, Any]:
    pauses = []
    for client in clients:
        gaps = [b - a for a, b in zip(client.acks, client.acks[1:], strict=False) if b > killed]
        pauses.append(max(gaps))
    return {
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


def _check_record(env: dict[str, str], seeded: set[str], acknowledged: dict[str, Any]) -> None:
    after = PeerLog(env)  # finds the new primary by itself
    try:
        assert after.store.datastore.standby is False  # type: ignore[attr-defined]
        stored = {c.command_id: c for c in after.store.select_commands()}
        # Exactly once each, where the client was told (the unique index keeps a
        # command id once; its events are where the answer said).
        assert set(stored) - seeded == set(acknowledged)
        for command_id, seen in acknowledged.items():
            first = stored[command_id]
            positions = list(range(first.first_position, first.last_position + 1))
            assert positions == seen["positions"]
        positions = after.store.select_positions()
        assert positions == list(range(1, len(positions) + 1))
        assert after.verify().verified
        runner = Runner(StoreEvents(after))
        followed = {p.name: runner.store.load(p).snapshot() for p in PROJECTIONS}
        in_memory = {p.name: fold_all(StoreEvents(after), p).rows.snapshot() for p in PROJECTIONS}
        runner.rebuild()
        rebuilt = {p.name: runner.store.load(p).snapshot() for p in PROJECTIONS}
        runner.close()
        assert followed == in_memory
        assert rebuilt == in_memory
    finally:
        after.close()


def schema_env(url: str) -> dict[str, str]:
    return {
        "PEERLOG_DATABASE_URL": url,
        "PEERLOG_SCHEMA": f"ha_{uuid.uuid4().hex[:10]}",
        "PEERLOG_FAILOVER_SECONDS": "60",
    }
