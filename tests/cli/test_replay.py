"""``peerlog replay``: a pair's history event by event, as the record knew it."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from peerlog import PeerLog
from tests.cli.conftest import Cli
from tests.cli.scenario import DAY, History, build


@pytest.fixture
def history(app: PeerLog) -> History:
    return build(app)


def _line_of(out: str, position_marker: str) -> str:
    (line,) = [ln for ln in out.splitlines() if re.search(position_marker, ln)]
    return line


def test_every_event_with_times_actor_and_plain_words(peerlog: Cli, history: History) -> None:
    del history
    out = peerlog.ok("replay", "p1")
    lines = out.splitlines()
    assert lines[0] == "Pair p1 (course vfu-1): 17 events in the record."
    assert lines[3].split() == ["event", "recorded", "occurred", "actor", "what", "happened"]
    st1 = _line_of(out, r"step st1 ")
    assert re.match(
        r"pair/p1@\d+ +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC  2026-03-03 09:00:00 UTC  s1     "
        r"step st1 \(performance\): performed by s1, observed by s2; goal hygiene$",
        st1,
    )
    assert '  note: "Hand hygiene before and after the dressing change"' in out
    assert '  strengths: "Calm and thorough with the patient"' in out
    assert "midpoint assessment of s1 on goal medication: not_yet" in out
    assert "reflection rf2 (pair) by s1, s2, 2 of 6 Gibbs stages; goal communication" in out


def test_corrections_and_retractions_are_shown_next_to_their_entries(
    peerlog: Cli, history: History
) -> None:
    del history
    out = peerlog.ok("replay", "p1")
    st2, note, changed = out.split("step st2 (performance)", 1)[1].split("\n")[:3]
    assert st2 == ": performed by s1, observed by s2; goals hygiene, medication"
    assert note.strip() == 'note: "Hand hygiene before and after the dressing change"'
    assert re.fullmatch(
        r" +corrected at pair/p1@(\d+) \(2 days 23 h later\): performers s1 -> s2; observers s2 -> s1",
        changed,
    )
    assert re.search(
        r"retracted at pair/p1@\d+ \(3 days 23 h later\): it no longer counts$", out, re.MULTILINE
    )
    correction = _line_of(out, r"corrected step st2:")
    assert re.search(
        r"  sup1   corrected step st2: performers s1 -> s2; observers s2 -> s1 "
        r"\(2 days 23 h after the entry, pair/p1@\d+\)$",
        correction,
    )
    assert 'reason: "The partner performed; the roles were swapped when it was recorded"' in out


def test_as_of_shows_the_record_as_it_stood_an_entry_corrected_later_is_uncorrected(
    peerlog: Cli, history: History
) -> None:
    out = peerlog.ok("replay", "p1", "--as-of", history.before_correction.isoformat())
    assert out.splitlines()[0].startswith(
        "Pair p1 (course vfu-1): 17 events in the record; 15 shown"
    )
    assert "step st2 (performance): performed by s1, observed by s2" in out
    assert "corrected" not in out
    assert "retracted" not in out
    now = peerlog.ok("replay", "p1")
    assert "corrected at pair/p1@" in now


def test_as_of_occurred(peerlog: Cli, history: History) -> None:
    del history
    moment = (DAY + timedelta(days=3, hours=12)).isoformat()
    out = peerlog.ok("replay", "p1", "--as-of-occurred", moment)
    assert "corrected step st2" in out
    assert "retracted" not in out


def test_session_student_and_state(peerlog: Cli, history: History) -> None:
    out = peerlog.ok("replay", "p1", "--session", "d1", "--student", "sup1", "--state")
    shown = [ln for ln in out.splitlines()[4:] if re.match(r"pair/p1@\d+ ", ln)]
    # In session d1, sup1 recorded fb3, the correction and the retraction (assessments
    # belong to no session).
    assert [re.split(r"\s{2,}", ln.strip())[4].split(":")[0] for ln in shown] == [
        "supervisor feedback fb3 from sup1 to s1; goal hygiene",
        "corrected step st2",
        "retracted step st3",
    ]
    states = [ln.strip() for ln in out.splitlines() if ln.strip().startswith("state:")]
    roles = "state: session d1: s1 performer, s2 observer"
    assert states == [
        f"{roles}; performed s1 4, s2 2 (balance 0.67); feedback given s1 1, s2 1 (balance 1.00)",
        f"{roles}; performed s1 3, s2 3 (balance 1.00); feedback given s1 1, s2 2 (balance 0.67)",
        f"{roles}; performed s1 3, s2 2 (balance 0.80); feedback given s1 1, s2 2 (balance 0.67)",
    ]
    history.placement.run(
        "close_session", "s1", pair_id="p1", session_id="d1", summary="Shift done"
    )
    closed = peerlog.ok("replay", "p1", "--state").rstrip().splitlines()
    assert closed[-2].strip() == 'summary: "Shift done"'
    assert closed[-1].strip() == (
        "state: no session open; performed s1 3, s2 2 (balance 0.80); "
        "feedback given s1 1, s2 2 (balance 0.67)"
    )


def test_late_entries_are_marked(peerlog: Cli, history: History) -> None:
    p = history.placement
    # Recorded after Saturday's retraction, about a step on Thursday: the record had
    # moved on by two days when it was entered.
    p.app.execute(p.step("st0", occurred_at=(DAY + timedelta(days=2)).isoformat()))
    out = peerlog.ok("replay", "p1", "--session", "d1")
    late = out.split("step st0 (performance)", 1)[1].splitlines()
    assert late[2].strip() == "LATE: recorded 2 days later than the events before it"
    assert out.count("LATE") == 1
    assert "late = recorded more than 24 h later" in out
    assert "LATE" not in peerlog.ok("replay", "p1", "--late-after", "24000")


def test_json(peerlog: Cli, history: History) -> None:
    del history
    report = json.loads(peerlog.ok("replay", "p1", "--format", "json", "--state"))
    assert report["pair_id"] == "p1"
    assert report["as_of"].endswith("+00:00")
    assert report["events_in_record"] == 17
    st2 = next(
        e for e in report["events"] if e["entry_id"] == "st2" and e["type"] == "StepRecorded"
    )
    assert st2["event"] == "pair/p1@4"
    assert st2["fields"]["performers"] == ["s1"]
    assert st2["texts"] == {"note": "Hand hygiene before and after the dressing change"}
    assert [c["kind"] for c in st2["changed_by"]] == ["corrected"]
    correction = next(e for e in report["events"] if e["type"] == "EntryCorrected")
    assert correction["changes"]["event"] == "pair/p1@4"
    assert report["events"][-1]["state"]["performer"] == {"s1": 3, "s2": 2}


def test_a_forgotten_persons_texts_read_as_erased(tmp_path: Path) -> None:
    # On SQLite only: what is shown does not depend on the store, and on PostgreSQL an
    # erasure waits for every older transaction in the database (see docs/privacy.md).
    env = {"PEERLOG_DATABASE_URL": f"sqlite:///{tmp_path}/record.sqlite3"}
    app = PeerLog(env)
    try:
        history = build(app)
        history.placement.app.forget("s2", actor="coord", command_id="forget-s2")
    finally:
        app.close()
    peerlog = Cli(env)
    out = peerlog.ok("replay", "p1", "--session", "d1")
    assert "note: [erased]" in out
    assert '"Hand hygiene' not in out
    report = json.loads(peerlog.ok("replay", "p1", "--format", "json"))
    st1 = next(e for e in report["events"] if e["entry_id"] == "st1")
    assert st1["erased"] == ["note"]
    assert st1["texts"] == {"note": "[erased]"}


def test_unknown_pair_session_or_student(peerlog: Cli, history: History) -> None:
    del history
    for args, message in (
        (("replay", "p9"), "pair 'p9' is not in the record"),
        (("replay", "p1", "--session", "d9"), "pair p1 has no session d9 (as of then)"),
        (("replay", "p1", "--student", "s9"), "no event of pair p1 names s9 (as of then)"),
        (("replay", "p1", "--as-of", "yesterday"), "is not a time"),
    ):
        result = peerlog(*args)
        assert result.exit_code in (1, 2)
        assert message in result.stderr
        assert "Traceback" not in result.output
