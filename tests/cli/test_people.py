"""A CLI for people: listing what is in the record so nobody guesses ids, unknown ids
answered with the valid ones, `record --help` naming every command's fields, feedback
given by whoever records it, output into `head` ending quietly, and read-only commands
that refuse a record that is not there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from peerlog import PeerLog
from peerlog.domain.events import FeedbackGiven
from peerlog.domain.vocabulary import pair_stream
from tests.cli.conftest import Cli
from tests.support import COURSE, Placement

NAMES = {"s1": "Hanna Svensson", "s2": "Ali Haddad", "sup1": "Karin Berg"}


@pytest.fixture
def placement(app: PeerLog) -> Placement:
    return Placement(app).seed(NAMES, "Europe/Stockholm")


def test_courses_goals_and_pairs_list_what_is_in_the_record(
    peerlog: Cli, placement: Placement
) -> None:
    del placement
    courses = peerlog.ok("courses").splitlines()
    assert courses[0].split() == [
        "course", "title", "dates", "time", "zone", "goals", "students", "pairs",
    ]  # fmt: skip
    assert courses[1].split() == [
        "vfu-1", "Clinical", "placement,", "term", "3", "2026-03-02", "to", "2026-04-24",
        "Europe/Stockholm", "3", "6", "2",
    ]  # fmt: skip
    (listed,) = json.loads(peerlog.ok("courses", "--format", "json"))
    assert listed["time_zone"] == "Europe/Stockholm"
    goals = peerlog.ok("goals", COURSE)
    assert goals.splitlines()[0] == "Goals of course vfu-1, Clinical placement, term 3:"
    assert ["medication", "safety", "Safe", "medication", "handling"] in [
        line.split() for line in goals.splitlines()
    ]
    assert [g["goal_id"] for g in json.loads(peerlog.ok("goals", COURSE, "--format", "json"))] == [
        "hygiene",
        "medication",
        "communication",
    ]
    pairs = peerlog.ok("pairs")
    assert "p1    vfu-1   Hanna Svensson (s1), Ali Haddad (s2)  Karin Berg (sup1)  Ward 12" in pairs
    assert "p2    vfu-1   s3, s4" in pairs
    data = json.loads(peerlog.ok("pairs", "--course", COURSE, "--format", "json"))
    assert data[0]["students"] == ["s1", "s2"]
    assert data[0]["names"] == NAMES
    assert data[1]["names"] == {}


def test_an_unknown_id_is_answered_with_the_valid_ones(peerlog: Cli, placement: Placement) -> None:
    del placement
    result = peerlog("goals", "vfu-2")
    assert result.exit_code == 1
    assert "course 'vfu-2' is not in the record. Did you mean vfu-1? The courses are: vfu-1." in (
        result.stderr
    )
    result = peerlog("replay", "p11")
    assert result.exit_code == 1
    assert "pair 'p11' is not in the record. Did you mean p1? The pairs are: p1, p2." in (
        result.stderr
    )
    result = peerlog("balance", "ward")
    assert result.exit_code == 1
    assert "pair 'ward' is not in the record. The pairs are: p1, p2." in result.stderr
    result = peerlog("audit", "s9", "--course", COURSE)
    assert result.exit_code == 1
    assert (
        "'s9' is not a student of course vfu-1. "
        "The students of course vfu-1 are: s1, s2, s3, s4, s5, s6." in result.stderr
    )
    result = peerlog(
        "record", "record_step", "--actor", "s1", "pair_id=p1", "session_id=d1", "step_id=x",
        "kind=performance", "performers=s1", "observers=s2", "goals=medicine",
    )  # fmt: skip
    assert result.exit_code == 1
    assert (
        "'medicine' is not a goal of course vfu-1. Did you mean medication? "
        "The goals of course vfu-1 are: hygiene, medication, communication." in result.stderr
    )
    result = peerlog(
        "record", "open_session", "--actor", "s1", "pair_id=p9", "session_id=x",
        "roles=s1:performer,s2:observer",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "[unknown_pair] The pairs are: p1, p2." in result.stderr


def test_record_help_lists_every_command_and_its_fields(peerlog: Cli) -> None:
    text = peerlog.ok("record", "--help")
    assert "The commands and their fields" in text
    assert (
        "record_step        pair_id session_id step_id kind performers observers goals [note]"
        in text
    )
    assert "give_feedback      pair_id feedback_id [giver] receiver" in text
    assert "open_course        course_id title starts_on ends_on scale pass_level goals" in text


def test_feedback_recorded_from_the_shell_is_given_by_the_actor(
    peerlog: Cli, placement: Placement
) -> None:
    peerlog.ok(
        "record", "give_feedback", "--actor", "s2", "pair_id=p1", "session_id=d1",
        "feedback_id=f1", "receiver=s1", "source=peer", "goals=hygiene",
        "strengths=Calm with the patient", "improvements=Explain each step first",
    )  # fmt: skip
    given = [e for e in placement.app.history(pair_stream("p1")) if isinstance(e, FeedbackGiven)]
    assert [(e.giver, e.receiver) for e in given] == [("s2", "s1")]
    fields = peerlog.ok("record", "give_feedback", "--fields").splitlines()
    assert ["giver", "optional", "giver=ID", "(default:", "the", "actor)"] in [
        f.split() for f in fields
    ]


READ_ONLY = [
    ["verify"],
    ["audit", "s1", "--course", "vfu-1"],
    ["replay", "p1"],
    ["balance", "p1"],
    ["dashboard"],
    ["export", "events"],
    ["projections", "status"],
    ["serve", "--port", "8123"],
    ["courses"],
]


@pytest.mark.parametrize(
    "args", READ_ONLY, ids=lambda a: a[0] + (a[1] if a[0] == "projections" else "")
)
def test_a_command_that_only_reads_refuses_a_missing_record(
    args: list[str], tmp_path: Path
) -> None:
    missing = tmp_path / "records" / "ward.sqlite3"
    peerlog = Cli({"PEERLOG_DATABASE_URL": f"sqlite:///{missing}"})
    result = peerlog(*args)
    assert result.exit_code == 1
    assert f"there is no record at sqlite:///{missing}: the file {missing} does not exist" in (
        result.stderr
    )
    assert not missing.exists()
    assert not missing.parent.exists()


def test_a_writing_command_says_it_made_a_new_record(tmp_path: Path) -> None:
    new = tmp_path / "ward.sqlite3"
    peerlog = Cli({"PEERLOG_DATABASE_URL": f"sqlite:///{new}"})
    result = peerlog(
        "record", "open_course", "--actor", "coord", "course_id=c1", "title=Ward",
        "starts_on=2026-03-02", "ends_on=2026-04-24", "scale=pass", "pass_level=pass", "goals:=[]",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"made a new, empty record at sqlite:///{new}" in result.stderr
    assert new.is_file()
    again = peerlog("verify")
    assert again.exit_code == 0
    assert "made a new" not in again.stderr


def test_a_plain_path_is_answered_with_the_url_form(tmp_path: Path) -> None:
    path = tmp_path / "ward.sqlite3"
    result = Cli({})("--db", str(path), "verify")
    assert result.exit_code == 1
    assert f"--db takes a URL, not a path: for the SQLite file {path}, give sqlite:///{path}" in (
        result.stderr
    )
    assert not path.exists()


@pytest.mark.slow
def test_output_piped_into_head_ends_quietly(tmp_path: Path) -> None:
    peerlog = Path(sys.executable).with_name("peerlog")
    env = {**os.environ, "PEERLOG_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}"}
    done = subprocess.run(
        ["/bin/bash", "-c", f'"{peerlog}" demo | head -n 1; echo "exit ${{PIPESTATUS[0]}}"'],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    first, status = done.stdout.splitlines()
    assert first.startswith("Seeded a placement into sqlite:///")
    assert status == "exit 0"
    assert done.stderr == ""  # no "Broken pipe", no traceback
