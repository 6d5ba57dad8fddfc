"""``peerlog projections``: status, run (and run --follow until Ctrl-C), rebuild,
grant-reader; and ``peerlog dashboard`` on top of them."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from peerlog import PeerLog
from peerlog.projections import Runner, StoreEvents
from peerlog.projections.progression import Progression
from tests.cli.conftest import Cli
from tests.conftest import POSTGRES_URL, Store
from tests.support import Placement

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def placement(app: PeerLog) -> Placement:
    p = Placement(app).seed()
    p.app.execute(p.step("st1"))
    return p


def test_status_run_and_rebuild(peerlog: Cli, placement: Placement) -> None:
    head = placement.app.store.max_notification_id()
    status = peerlog.ok("projections", "status")
    assert status.splitlines()[0].split() == [
        "projection", "position", "head", "lag", "version", "updated", "(UTC)",
    ]  # fmt: skip
    assert re.search(
        rf"^progression\s+0\s+{head}\s+{head}\s+{Progression.version}\s+-$", status, re.MULTILINE
    )

    run = peerlog.ok("projections", "run")
    assert run.splitlines() == [
        f"progression: from 0 to {head} of {head}",
        f"participation: from 0 to {head} of {head}",
        f"trends: from 0 to {head} of {head}",
    ]
    assert peerlog.ok("projections", "run").splitlines()[0] == (
        f"progression: at {head} (already up to date) of {head}"
    )
    rows = json.loads(peerlog.ok("projections", "status", "--format", "json"))
    assert [(r["projection"], r["position"], r["lag"]) for r in rows] == [
        ("progression", head, 0),
        ("participation", head, 0),
        ("trends", head, 0),
    ]
    assert peerlog.ok("projections", "rebuild", "participation").splitlines() == [
        f"participation: rebuilt up to position {head}"
    ]
    unknown = peerlog("projections", "rebuild", "nonsense")
    assert unknown.exit_code == 2


def test_run_follow_keeps_following_until_ctrl_c(store: Store, placement: Placement) -> None:
    env = {**os.environ, **store.env, "PYTHONUNBUFFERED": "1"}
    follower = subprocess.Popen(
        [sys.executable, "-m", "peerlog.cli", "projections", "run", "--follow"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    runner = Runner(StoreEvents(placement.app))
    try:
        assert follower.stderr is not None
        assert follower.stderr.readline() == "following the record; Ctrl-C stops\n"
        placement.app.execute(placement.step("st2"))
        head = placement.app.store.max_notification_id()
        deadline = time.monotonic() + 20
        while min(s.position for s in runner.status()) < (head or 0):
            assert time.monotonic() < deadline, "the follower did not pick up the new event"
            time.sleep(0.05)
        follower.send_signal(signal.SIGINT)
        out, err = follower.communicate(timeout=20)
    finally:
        runner.close()
        if follower.poll() is None:
            follower.kill()
    assert follower.returncode == 0, err
    assert "Traceback" not in err
    assert out.splitlines()[-1] == "stopped"
    assert f"participation: from 0 to {head} of {head}" in out


@pytest.fixture
def role() -> Iterator[str]:
    name = f"cli_reader_{uuid.uuid4().hex[:8]}"
    yield name
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def test_grant_reader(
    peerlog: Cli, store: Store, placement: Placement, request: pytest.FixtureRequest
) -> None:
    del placement
    if store.kind == "sqlite":
        result = peerlog("projections", "grant-reader", "dashboard")
        assert result.exit_code == 1
        assert result.stderr.startswith("Error: grant-reader is for PostgreSQL")
        return
    name = request.getfixturevalue("role")
    out = peerlog.ok("projections", "grant-reader", name)
    assert out.startswith(f"role {name} may now read the tables in schema {store.schema}_read")
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        (read, events) = conn.execute(
            "SELECT has_schema_privilege(%s, %s, 'USAGE'), has_schema_privilege(%s, %s, 'USAGE')",
            (name, f"{store.schema}_read", name, store.schema),
        ).fetchone() or (None, None)
    assert (read, events) == (True, False)


def test_dashboard_brings_the_read_models_up_to_date_and_flags_pairs(
    peerlog: Cli, placement: Placement
) -> None:
    p = placement
    for n in range(2, 7):
        p.app.execute(p.step(f"st{n}"))  # s1 performs every step
    behind = peerlog.ok("dashboard", "--no-update", "--now", "2026-03-03T18:00:00Z")
    assert re.search(r"Read models at position 0 of \d+: \d+ events behind\.", behind)
    out = peerlog.ok("dashboard", "--now", "2026-03-03T18:00:00Z")
    lines = out.splitlines()
    assert lines[0] == "Supervisor overview at 2026-03-03 18:00 UTC: 2 pairs, 1 needs attention."
    assert lines[1].endswith("(up to date).")
    assert lines[3] == "p1  course vfu-1  students s1, s2  supervisor sup1"
    assert lines[4].startswith("    sessions 1 (1 in the last 7 days), last activity 2026-")
    assert lines[5] == "    performer balance 0.00, feedback balance -"
    assert lines[6] == (
        "    ! performer_imbalance: performer balance 0.00 over the last session, "
        "below the threshold of 0.60: s1 performed 6, s2 performed 0"
    )
    relaxed = peerlog.ok(
        "dashboard", "--now", "2026-03-03T18:00:00Z", "--performer-balance", "0", "--format", "json"
    )
    report = json.loads(relaxed)
    assert report["thresholds"]["performer_balance"] == 0
    assert [p["flags"] for p in report["pairs"]] == [[], []]
    mine = peerlog.ok("dashboard", "--supervisor", "sup2", "--now", "2026-03-03T18:00:00Z")
    assert "p2  course vfu-1" in mine
    assert "p1  course" not in mine
    nobody = peerlog("dashboard", "--supervisor", "sup9")
    assert nobody.exit_code == 1
    assert nobody.stderr == "Error: no pairs supervised by 'sup9' in the read models\n"
