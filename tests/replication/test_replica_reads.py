"""Reads from a standby (PEERLOG_READ_DATABASE_URL): the dashboard, audits, replays and
balance reports served from a standby agree with the primary's once it has caught up;
every answer says which copy it came from and how far that had come; and a student who
has just recorded something sees it on their page, also while the standby is behind.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from peerlog import PeerLog
from peerlog.projections import Runner, StoreEvents
from peerlog.web import create_app
from peerlog.web.tokens import Tokens
from tests.replication.clusters import Node, current_lsn, free_port
from tests.replication.conftest import Replicated
from tests.support import T0, Placement

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PEERLOG = str(Path(sys.executable).parent / "peerlog")
READERS = {"s1": "student", "sup1": "supervisor", "coord": "coordinator"}


@dataclass
class Record:
    app: PeerLog
    env: dict[str, str]
    """The settings of a server that reads from the standbys."""
    secrets: dict[str, str]
    place: Placement
    primary: Node
    standbys: tuple[Node, Node]

    def caught_up(self) -> None:
        lsn = current_lsn(self.primary)
        for standby in self.standbys:
            standby.wait_for_replay(lsn)


@pytest.fixture(scope="module")
def record(replicated: Replicated) -> Iterator[Record]:
    schema = f"reads_{uuid.uuid4().hex[:10]}"
    base = {"PEERLOG_DATABASE_URL": replicated.primary.url, "PEERLOG_SCHEMA": schema}
    app = PeerLog(base)
    place = Placement(app).seed()
    place.app.execute(place.step("st1"))
    place.app.execute(place.feedback("fb1"))
    place.app.execute(place.reflection("rf1"))
    place.run(
        "assess_goal", "sup1", pair_id="p1", student_id="s1", goal_id="hygiene",
        level="good", kind="formative", occurred_at=(T0 + timedelta(hours=3)).isoformat(),
    )  # fmt: skip
    Runner(StoreEvents(app)).run()
    tokens = Tokens.of(app)
    secrets = {who: tokens.create(who, role)[1] for who, role in READERS.items()}
    s1, s2 = replicated.s1, replicated.s2
    env = {
        **base,
        # Both standbys, in libpq's multi-host form: a standby is preferred.
        "PEERLOG_READ_DATABASE_URL": (
            f"postgresql://postgres@127.0.0.1:{s1.port},127.0.0.1:{s2.port}/peerlog"
        ),
    }
    try:
        yield Record(app, env, secrets, place, replicated.primary, (s1, s2))
    finally:
        app.close()


@pytest.fixture
def served(record: Record) -> Iterator[tuple[TestClient, TestClient]]:
    """The same record served twice: reading from the standbys, and from the primary."""
    on_standby = create_app(PeerLog(record.env), follow=True)
    on_primary = create_app(record.app)
    with (
        TestClient(on_standby, base_url="https://testserver") as standby,
        TestClient(on_primary, base_url="https://testserver") as primary,
    ):
        yield standby, primary
    on_standby.state.services.close()
    on_standby.state.services.app.close()
    on_primary.state.services.close()


def _get(client: TestClient, record: Record, who: str, url: str) -> Any:
    response = client.get(url, headers={"Authorization": f"Bearer {record.secrets[who]}"})
    assert response.status_code == 200, response.text
    return response


def test_answers_from_a_standby_agree_with_the_primary_once_it_caught_up(
    record: Record, served: tuple[TestClient, TestClient]
) -> None:
    standby, primary = served
    record.caught_up()
    moment = record.app.clock().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    urls = {
        "sup1": [
            f"/api/students/s1/audit?course=vfu-1&as_of={moment}",
            f"/api/pairs/p1/balance?as_of={moment}",
            f"/api/pairs/p1/timeline?as_of={moment}",
            "/api/overview?now=2026-03-20T12:00:00%2B00:00",
            "/api/students/s1/progression?course=vfu-1",
        ],
        "coord": ["/api/courses/vfu-1/progression"],
    }
    head = record.app.store.max_notification_id()
    for who, paths in urls.items():
        for path in paths:
            # The standby first: its audit has the primary sign the checkpoint it needs.
            from_standby = _get(standby, record, who, path)
            from_primary = _get(primary, record, who, path)
            assert from_standby.json() == from_primary.json(), path
            assert from_standby.headers["peerlog-read-from"] == "standby", path
            assert from_primary.headers["peerlog-read-from"] == "primary", path
            assert from_standby.headers["peerlog-position"] == str(head), path
            assert from_standby.headers["peerlog-head"] == str(head), path
    audit = _get(standby, record, "sup1", urls["sup1"][0]).json()
    assert audit["integrity"]["verified"] is True
    assert audit["goals"][0]["status"] == "met"


def test_the_dashboard_page_says_it_was_read_from_a_standby(
    record: Record, served: tuple[TestClient, TestClient]
) -> None:
    standby, _ = served
    record.caught_up()
    login = standby.post("/login", data={"token": record.secrets["sup1"]}, follow_redirects=False)
    assert login.status_code == 303
    page = standby.get("/dashboard")
    assert page.status_code == 200
    head = record.app.store.max_notification_id()
    assert f"Read models as of position {head:,} of {head:,} (a standby, up to date)" in page.text
    assert 'data-pair="p1"' in page.text


def test_the_cli_audits_from_a_standby_as_the_primary_does(record: Record) -> None:
    record.caught_up()
    moment = record.app.clock().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    argv = [PEERLOG, "audit", "s1", "--course", "vfu-1", "--as-of", moment, "--format", "json"]
    base = {k: v for k, v in record.env.items() if k != "PEERLOG_READ_DATABASE_URL"}
    from_standby = subprocess.run(
        argv, env={**os.environ, **record.env}, capture_output=True, text=True, check=True
    )
    from_primary = subprocess.run(
        argv, env={**os.environ, **base}, capture_output=True, text=True, check=True
    )
    assert json.loads(from_standby.stdout) == json.loads(from_primary.stdout)
    head = record.app.store.max_notification_id()
    assert "read from postgresql://postgres@127.0.0.1:" in from_standby.stderr
    assert f"record as of position {head:,} of {head:,} (a standby, up to date)" in (
        from_standby.stderr
    )
    assert from_primary.stderr == ""


def _performed(page: str, goal: str) -> int:
    """The 'performed' count of a goal's row on a student's page."""
    row = re.search(rf'<tr data-goal="{goal}".*?</tr>', page, re.DOTALL)
    assert row is not None, page
    return int(re.findall(r'<td class="n">(\d+)</td>', row.group(0))[0])


def test_a_student_reads_their_own_write_while_the_standbys_are_behind(
    record: Record, served: tuple[TestClient, TestClient]
) -> None:
    standby, _ = served
    record.caught_up()
    login = standby.post("/login", data={"token": record.secrets["s1"]}, follow_redirects=False)
    assert login.status_code == 303
    page = "/dashboard/students/s1?course=vfu-1"
    before = _performed(standby.get(page).text, "medication")
    for node in record.standbys:
        node.sql("SELECT pg_wal_replay_pause()")
    try:
        step = record.place.step("st-own", goals=["medication"])
        response = standby.post(
            "/api/commands",
            json={k: v for k, v in step.items() if k != "actor"},
            headers={"Authorization": f"Bearer {record.secrets['s1']}"},
        )
        assert response.status_code == 201, response.text
        position = response.json()["events"][0]["position"]
        # The standbys have not replayed it: the student's page comes from the
        # primary, once its read models hold the write, and says so.
        mine = standby.get(page)
        assert _performed(mine.text, "medication") == before + 1
        assert "(the primary" in mine.text
        api = _get(standby, record, "s1", "/api/students/s1/progression?course=vfu-1")
        assert api.headers["peerlog-read-from"] == "primary"
        medication = next(g for g in api.json()["goals"] if g["goal_id"] == "medication")
        assert medication["evidence"]["performed"] == before + 1
        # Someone who wrote nothing is answered from a standby, which says how far
        # behind it is.
        other = _get(standby, record, "coord", "/api/students/s1/progression?course=vfu-1")
        assert other.headers["peerlog-read-from"] == "standby"
        assert int(other.headers["peerlog-position"]) < position
        assert int(other.headers["peerlog-head"]) >= position
    finally:
        for node in record.standbys:
            node.sql("SELECT pg_wal_replay_resume()")
    record.caught_up()
    again = standby.get(page)
    assert _performed(again.text, "medication") == before + 1
    assert "(a standby" in again.text


def test_a_standby_that_cannot_be_reached_is_passed_over_for_the_primary(
    record: Record,
) -> None:
    away = f"postgresql://postgres@127.0.0.1:{free_port()}/peerlog?connect_timeout=1"
    application = create_app(PeerLog({**record.env, "PEERLOG_READ_DATABASE_URL": away}))
    try:
        with TestClient(application, base_url="https://testserver") as client:
            url = "/api/students/s1/progression?course=vfu-1"
            first = _get(client, record, "coord", url)
            assert first.headers["peerlog-read-from"] == "primary"
            # Passed over for a while: the next reads do not wait for it to fail again.
            started = time.monotonic()
            again = _get(client, record, "coord", url)
            assert time.monotonic() - started < 1.0
            assert again.headers["peerlog-read-from"] == "primary"
            assert again.json() == first.json()
    finally:
        application.state.services.close()
        application.state.services.app.close()
