"""``peerlog export``: readable events and any read model, as JSON lines or CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from peerlog import PeerLog
from peerlog.projections import PROJECTIONS
from tests.cli.conftest import Cli
from tests.support import Placement


@pytest.fixture
def placement(app: PeerLog) -> Placement:
    p = Placement(app).seed()
    p.app.execute(p.step("st1"))
    p.app.execute(p.feedback("fb1"))
    return p


def test_events_as_json_lines(peerlog: Cli, placement: Placement) -> None:
    rows = [json.loads(line) for line in peerlog.ok("export", "events").splitlines()]
    assert [r["position"] for r in rows] == list(
        range(1, (placement.app.store.max_notification_id() or 0) + 1)
    )
    step = next(r for r in rows if r["type"] == "StepRecorded")
    assert list(step)[:5] == ["position", "recorded_at", "stream", "version", "type"]
    assert (step["stream"], step["version"]) == ("pair/p1", 3)
    assert step["note"] == "Hand hygiene before and after the dressing change"
    assert step["performers"] == ["s1"]
    assert step["actor"] == "s1"


def test_one_pairs_events_as_csv_to_a_file(
    peerlog: Cli, placement: Placement, tmp_path: Path
) -> None:
    del placement
    target = tmp_path / "p1.csv"
    result = peerlog("export", "events", "--pair", "p1", "--format", "csv", "-o", str(target))
    assert result.exit_code == 0
    assert result.stderr == f"wrote 4 rows to {target}\n"
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert [r["type"] for r in rows] == [
        "PairFormed",
        "SessionOpened",
        "StepRecorded",
        "FeedbackGiven",
    ]
    assert json.loads(rows[3]["data"])["strengths"] == "Calm and thorough with the patient"
    assert rows[3]["actor"] == "s2"


def test_a_read_model_as_csv_and_json_lines(peerlog: Cli, placement: Placement) -> None:
    del placement
    behind = peerlog("export", "participation", "--format", "csv")
    assert "the read models are" in behind.stderr
    peerlog.ok("projections", "run")
    text = peerlog.ok("export", "participation", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {(r["student_id"], r["performer"], r["feedback_received"]) for r in rows} >= {
        ("s1", "1", "1"),
        ("s2", "0", "0"),
    }
    balance = [
        json.loads(line)
        for line in peerlog.ok("export", "pair_balance", "--pair", "p1").splitlines()
    ]
    assert balance[0]["members"] == ["s1", "s2"]
    assert balance[0]["steps"] == 1


def test_every_read_model_table_can_be_exported(peerlog: Cli, placement: Placement) -> None:
    del placement
    peerlog.ok("projections", "run")
    for table in (t.name for p in PROJECTIONS for t in p.tables):
        out = peerlog.ok("export", table, "--format", "csv")
        assert out.splitlines()[0].split(",")[0] in {"course_id", "pair_id", "supervisor_id"}


def test_bad_requests(peerlog: Cli, placement: Placement) -> None:
    del placement
    unknown = peerlog("export", "nonsense")
    assert unknown.exit_code == 2
    assert "Invalid value for 'WHAT'" in unknown.stderr
    no_pair = peerlog("export", "progression_courses", "--pair", "p1")
    assert no_pair.exit_code == 2
    assert "progression_courses has no pair_id column" in no_pair.stderr
    missing = peerlog("export", "events", "--pair", "p9")
    assert missing.exit_code == 1
    assert missing.stderr == "Error: pair 'p9' is not in the record\n"
