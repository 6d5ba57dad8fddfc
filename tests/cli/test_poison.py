"""Poison lines through ``peerlog import`` (and its dry run) and ``peerlog record``, on
SQLite and PostgreSQL: each is reported by its line number with its field and rule, no
traceback, and every good line around it is recorded."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from peerlog import CommandRejected, PeerLog
from peerlog.cli.importing import import_file
from peerlog.domain.events import StepRecorded
from peerlog.persistence.sqlite import SQLiteFactory
from peerlog.projections import Runner, StoreEvents
from peerlog.web import create_app
from peerlog.web.views import course_info
from tests.cli.conftest import Cli
from tests.conftest import Store
from tests.poison import GOOD_NOTES, POISONS, Poison, good_steps, with_bom
from tests.support import COURSE, T0, Placement

AT_STEP = T0.replace(hour=9).isoformat()


@pytest.fixture
def placement(app: PeerLog) -> Placement:
    return Placement(app).seed()


def _poison_file(p: Placement, path: Path) -> tuple[Path, dict[int, Poison]]:
    """A file that starts with a byte-order mark and a good line, then a poison on
    every line, then another good line."""
    first, last = (json.dumps(step).encode() for step in good_steps(p))
    lines = [with_bom(first)]
    where: dict[int, Poison] = {}
    for poison in POISONS:
        lines.append(poison.json_text(p))
        where[len(lines)] = poison
    lines.append(last)
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path, where


def _check_report(report: dict[str, object], where: dict[int, Poison], *, dry_run: bool) -> None:
    rejected = report["rejected"]
    assert isinstance(rejected, list)
    expected = {n: p for n, p in where.items() if not (dry_run and p.needs_record)}
    assert [r["line"] for r in rejected] == sorted(expected)
    for rejection in rejected:
        poison = expected[rejection["line"]]
        (error,) = rejection["errors"]
        assert poison.field_matches(error["field"]), (poison, error)
        assert error["rule"] == poison.rule, (poison, error)


def test_import_reports_each_poison_line_and_records_the_good_ones(
    peerlog: Cli, placement: Placement, tmp_path: Path
) -> None:
    path, where = _poison_file(placement, tmp_path / "poison.jsonl")
    before = placement.app.store.max_notification_id() or 0

    result = peerlog("import", str(path), "--format", "json")

    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    report = json.loads(result.stdout)
    assert (report["lines"], report["recorded"], report["stopped"]) == (len(where) + 2, 2, None)
    _check_report(report, where, dry_run=False)
    app = placement.app
    app.forget_cached_state()
    assert app.store.max_notification_id() == before + 2
    notes = [e.note for e in app.history("pair/p1") if isinstance(e, StepRecorded)]
    assert notes == list(GOOD_NOTES)


def test_a_dry_run_reports_the_same_lines_and_records_nothing(
    peerlog: Cli, placement: Placement, tmp_path: Path
) -> None:
    path, where = _poison_file(placement, tmp_path / "poison.jsonl")
    before = placement.app.store.max_notification_id() or 0

    result = peerlog("import", "--dry-run", str(path), "--format", "json")

    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["valid"] == 2
    _check_report(report, where, dry_run=True)
    text = peerlog("import", "--dry-run", str(path)).stdout
    assert "line 2 (record_step" in text
    assert "Traceback" not in text
    assert placement.app.store.max_notification_id() == before


def test_a_line_longer_than_a_command_is_read_past_not_held(
    peerlog: Cli, placement: Placement, tmp_path: Path
) -> None:
    first, last = (json.dumps(step) for step in good_steps(placement))
    path = tmp_path / "long.jsonl"
    with path.open("w") as out:
        out.write(first + "\n")
        out.write('{"command": "record_step", "note": "' + "x" * (3 * 1024 * 1024) + '"}\n')
        out.write("y" * (2 * 1024 * 1024))  # the last line, without a line break
        out.write("\n" + last + "\n")

    result = peerlog("import", str(path), "--format", "json")

    report = json.loads(result.stdout)
    assert [(r["line"], r["errors"][0]["rule"]) for r in report["rejected"]] == [
        (2, "too_large"),
        (3, "too_large"),
    ]
    assert report["recorded"] == 2


@pytest.mark.parametrize("poison", POISONS, ids=str)
def test_record_rejects_it_as_the_api_does(
    peerlog: Cli, placement: Placement, poison: Poison
) -> None:
    before = placement.app.store.max_notification_id() or 0
    result = peerlog("record", "--json", "-", input=poison.json_text(placement))
    assert result.exit_code in {1, 2}, result.output
    assert "Traceback" not in result.output
    if result.exit_code == 1:
        assert f"[{poison.rule}]" in result.output, result.output
    else:  # what is not a command object at all is a usage error
        assert poison.rule in {"too_deep", "too_large", "not_an_object"}, result.output
    assert placement.app.store.max_notification_id() == before


def test_a_nul_sent_every_way_never_reaches_the_read_models(
    peerlog: Cli, placement: Placement, tmp_path: Path
) -> None:
    """A goal title with NUL once jammed PostgreSQL's read models for good ("text fields
    cannot contain NUL"): now it is refused at every door, and rebuilding works."""
    app = placement.app
    nul = placement.cmd("add_goal", "coord", course_id=COURSE, goal_id="nul", title="A\u0000B")
    good = placement.cmd("add_goal", "coord", course_id=COURSE, goal_id="team", title="Teamwork")
    for sent in (nul, json.dumps(nul)):
        with pytest.raises(CommandRejected):
            app.execute(sent)
    outcomes = list(app.execute_many([nul, json.dumps(nul).encode()]))
    assert [o.rule for o in outcomes if isinstance(o, CommandRejected)] == ["control_character"] * 2
    path = tmp_path / "goals.jsonl"
    path.write_text(json.dumps(nul) + "\n" + json.dumps(good) + "\n")
    assert peerlog("import", str(path)).exit_code == 1
    assert peerlog("record", "--json", json.dumps(nul)).exit_code == 1
    web = create_app(app)
    secret = web.state.services.tokens.create("coord", "coordinator")[1]
    with TestClient(web, base_url="https://testserver") as client:
        headers = {"Authorization": f"Bearer {secret}"}
        assert client.post("/api/commands", json=nul, headers=headers).status_code == 422
        batch = client.post("/api/commands/batch", json={"commands": [nul]}, headers=headers)
        assert batch.json()["rejected"] == 1
    web.state.services.close()

    peerlog.ok("projections", "run")
    assert "rebuilt up to position" in peerlog.ok("projections", "rebuild")
    peerlog.ok("dashboard", "--supervisor", "sup1")
    runner = Runner(StoreEvents(PeerLog(app.settings)))
    try:
        goals = [(g["goal_id"], g["title"]) for g in course_info(runner.store, COURSE)["goals"]]
    finally:
        runner.close()
    assert goals[-1] == ("team", "Teamwork")
    assert "nul" not in dict(goals)


def _break_snapshots(store: Store) -> None:
    """Make every snapshot write fail, as a full disk would."""
    if store.kind == "sqlite":
        # SQLite's own way to fail a write with an OperationalError, only for snapshots.
        store.execute_raw("DROP TABLE snapshots")
        store.execute_raw(
            "CREATE VIEW snapshots (originator_id, originator_version, topic, state) "
            "AS SELECT '', 0, '', x'' WHERE 0"
        )
        return
    with store.connect() as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(store.schema)))
        conn.execute(
            "CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'could not extend file: No space left on device' "
            "USING ERRCODE = 'disk_full'; END $$"
        )
        conn.execute(
            "CREATE TRIGGER disk_full BEFORE INSERT ON snapshots "
            "FOR EACH ROW EXECUTE FUNCTION disk_full()"
        )


def test_a_snapshot_that_cannot_be_stored_is_one_log_line(
    store: Store, placement: Placement, tmp_path: Path
) -> None:
    _break_snapshots(store)
    steps = [placement.step(f"st{n}", occurred_at=AT_STEP) for n in range(6)]
    path = tmp_path / "steps.jsonl"
    path.write_text("".join(json.dumps(step) + "\n" for step in steps))
    # The command as a user runs it: what it prints to the terminal is what they see.
    result = subprocess.run(
        [str(Path(sys.executable).parent / "peerlog"), "import", str(path)],
        env={**os.environ, **store.env, "PEERLOG_SNAPSHOT_INTERVAL": "2"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"{path}: 6 lines: 6 recorded")
    warnings = [line for line in result.stderr.splitlines() if line.strip()]
    assert warnings, result.stderr
    assert all(line.startswith("peerlog: could not store a snapshot of ") for line in warnings), (
        warnings
    )
    print("\n" + "\n".join(warnings))
    assert "Traceback" not in result.stderr


def test_running_out_of_disk_stops_an_import_with_one_line(
    sqlite_full: tuple[PeerLog, Path], caplog: pytest.LogCaptureFixture
) -> None:
    app, path = sqlite_full
    with caplog.at_level(logging.WARNING):
        report = import_file(app, path)
    assert report.stopped is not None
    assert "the store failed" in report.stopped
    assert "full" in report.stopped
    assert report.recorded < report.lines
    for record in caplog.records:
        assert record.exc_info is None, record.getMessage()
        assert "\n" not in record.getMessage()


@pytest.fixture
def sqlite_full(tmp_path: Path) -> Iterator[tuple[PeerLog, Path]]:
    """A SQLite record whose file may not grow (SQLite says: database or disk is
    full), and a file of more commands than fit."""
    store = tmp_path / "full.sqlite3"
    app = PeerLog({"PEERLOG_DATABASE_URL": f"sqlite:///{store}", "PEERLOG_SNAPSHOT_INTERVAL": "3"})
    try:
        p = Placement(app).seed()
        factory = app.factory
        assert isinstance(factory, SQLiteFactory)
        connection = factory.datastore.connection()
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        connection.execute(f"PRAGMA max_page_count = {pages + 4}")
        path = tmp_path / "many.jsonl"
        note = "A long note about the shift, " * 40
        path.write_text(
            "".join(
                json.dumps(p.step(f"st{n}", note=note, occurred_at=AT_STEP)) + "\n"
                for n in range(400)
            )
        )
        yield app, path
    finally:
        app.close()
