"""``peerlog audit`` and ``peerlog balance``: the contract's JSON, with numbers worked
out by hand from the history in :mod:`tests.cli.scenario`, now and as of a time."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from peerlog import PeerLog
from tests.cli.conftest import Cli
from tests.cli.scenario import DAY, History, build

EVIDENCE_KEYS = [
    "performed",
    "observed",
    "feedback_received",
    "feedback_given",
    "reflections",
    "assessments",
]


@pytest.fixture
def history(app: PeerLog) -> History:
    return build(app)


def _evidence(*counts: int) -> dict[str, int]:
    return dict(zip(EVIDENCE_KEYS, counts, strict=True))


def _refs(*versions: int) -> list[str]:
    return [f"pair/p1@{v}" for v in versions]


def _recent(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    assert abs((datetime.now(UTC) - moment).total_seconds()) < 60
    return moment


def test_audit_json_matches_the_contract(peerlog: Cli, history: History) -> None:
    del history
    report = json.loads(peerlog.ok("audit", "s1", "--course", "vfu-1", "--format", "json"))

    _recent(report.pop("as_of"))
    integrity = report.pop("integrity")
    assert integrity["verified"] is True
    assert re.fullmatch(r"[0-9a-f]{64}", integrity["digest"])
    assert [list(g["evidence"]) for g in report["goals"]] == [EVIDENCE_KEYS] * 3
    # Versions in pair/p1: 1 formed, 2 session, 3-7 st1-st5, 8-11 fb1-fb4, 12-13 rf1-rf2,
    # 14-15 the assessments, 16 the correction of st2, 17 the retraction of st3.
    assert report == {
        "student_id": "s1",
        "course_id": "vfu-1",
        "pass_level": "pass",
        "goals": [
            {
                "goal_id": "hygiene",
                "title": "Basic hygiene and infection control",
                "status": "met",
                "latest_level": "good",
                # st1 performed; st2 observed once corrected; fb1 and fb3 received; rf1.
                "evidence": _evidence(1, 1, 2, 0, 1, 1),
                "events": _refs(3, 4, 8, 10, 12, 14, 16),
                "retired": False,
            },
            {
                "goal_id": "medication",
                "title": "Safe medication handling",
                "status": "not_met",
                "latest_level": "not_yet",
                # st2 observed (corrected); st3 retracted; fb2 given.
                "evidence": _evidence(0, 1, 0, 1, 0, 1),
                "events": _refs(4, 9, 15, 16),
                "retired": False,
            },
            {
                "goal_id": "communication",
                "title": "Communicate with patients",
                "status": "evidenced",
                "latest_level": None,
                # st4 and st5 performed; fb4 received; rf2.
                "evidence": _evidence(2, 0, 1, 0, 1, 0),
                "events": _refs(6, 7, 11, 13),
                "retired": False,
            },
        ],
    }


def test_audit_as_of_before_the_correction(peerlog: Cli, history: History) -> None:
    as_of = history.before_correction.isoformat()
    report = json.loads(
        peerlog.ok("audit", "s1", "--course", "vfu-1", "--as-of", as_of, "--format", "json")
    )
    assert report["as_of"] == as_of
    goals = {g["goal_id"]: g for g in report["goals"]}
    # Uncorrected: s1 performed st1 and st2; st3 (not yet retracted) is observed.
    assert goals["hygiene"]["evidence"] == _evidence(2, 0, 2, 0, 1, 1)
    assert goals["medication"]["evidence"] == _evidence(1, 1, 0, 1, 0, 1)
    later = json.loads(peerlog.ok("audit", "s1", "--course", "vfu-1", "--format", "json"))
    assert report["integrity"]["digest"] != later["integrity"]["digest"]


def test_balance_json_matches_the_contract(peerlog: Cli, history: History) -> None:
    del history
    report = json.loads(peerlog.ok("balance", "p1", "--format", "json"))
    _recent(report.pop("as_of"))
    # Performer: s1 st1, st4, st5 = 3; s2 st2 (corrected), st4 = 2 (st3 retracted):
    # p = 3/5, balance = 1 - |2p - 1| = 0.8. Peer feedback given: s1 1, s2 2:
    # balance = 1 - |2/3 - 1| = 0.6667.
    assert report == {
        "pair_id": "p1",
        "members": {
            "s1": {
                "performer": 3,
                "observer": 1,
                "feedback_given": 1,
                "feedback_received": 3,
                "reflections": 2,
            },
            "s2": {
                "performer": 2,
                "observer": 2,
                "feedback_given": 2,
                "feedback_received": 1,
                "reflections": 1,
            },
        },
        "performer_balance": 0.8,
        "feedback_balance": 0.6667,
    }


def test_balance_as_of_either_clock(peerlog: Cli, history: History) -> None:
    recorded = json.loads(
        peerlog.ok(
            "balance", "p1", "--as-of", history.before_correction.isoformat(), "--format", "json"
        )
    )
    # Before the correction and the retraction: s1 st1, st2, st4, st5 = 4; s2 st3, st4 = 2.
    assert {m: c["performer"] for m, c in recorded["members"].items()} == {"s1": 4, "s2": 2}
    assert recorded["performer_balance"] == 0.6667
    # What had happened by Wednesday: the same entries, but not Friday's correction nor
    # Saturday's retraction.
    occurred = json.loads(
        peerlog.ok("balance", "p1", "--as-of-occurred", "2026-03-04", "--format", "json")
    )
    assert occurred["members"] == recorded["members"]
    assert occurred["as_of_occurred"] == "2026-03-04T23:59:59.999999+00:00"


def test_balance_text(peerlog: Cli, history: History) -> None:
    del history
    out = peerlog.ok("balance", "p1")
    assert out.splitlines()[2:] == [
        "student  performer  observer  feedback given  feedback received  reflections",
        "s1               3         1               1                  3            2",
        "s2               2         2               2                  1            1",
        "",
        "performer balance 0.80  (1.00 even, 0.00 one member does all the performing)",
        "feedback balance  0.67  (peer feedback given)",
    ]


def test_audit_text_shows_goals_evidence_events_integrity(peerlog: Cli, history: History) -> None:
    del history
    out = peerlog.ok("audit", "s1", "--course", "vfu-1")
    assert "3 goals: met 1, not met 1, evidenced 1" in out
    assert "medication: Safe medication handling\n  status: not met (latest level: not_yet)" in out
    assert (
        "  evidence: performed 0, observed 1, feedback received 0, feedback given 1, "
        "reflections 0, assessments 1"
    ) in out
    assert re.search(
        r"pair/p1@4 +2026-03-03 09:10 UTC  step st2 \(performance\): performed by s1, observed by "
        r"s2; goals hygiene, medication; corrected at pair/p1@\d+",
        out,
    )
    assert (
        "Integrity: verified: the hash chains check out and the events are those of the "
        "checkpoint of tests.peerlog.example/record at "
    ) in out
    assert "events (2 event streams checked)" in out
    assert re.search(r"^Digest: [0-9a-f]{64}$", out, re.MULTILINE)


def test_audit_markdown_and_html(peerlog: Cli, history: History) -> None:
    del history
    md = peerlog.ok("audit", "s1", "--course", "vfu-1", "--format", "md")
    assert md.startswith("# Audit of s1 in course vfu-1\n")
    assert "| hygiene | met (latest level: good) | 1 | 1 | 2 | 0 | 1 | 1 |" in md
    assert "## Integrity" in md
    page = peerlog.ok("audit", "s1", "--course", "vfu-1", "--format", "html")
    assert page.startswith("<!DOCTYPE html>")
    assert "<style>" in page
    assert "@media print" in page
    # Standalone: nothing is loaded from elsewhere.
    assert not re.search(r"<link|<script|src=|url\(|https?://", page)
    assert '<td class="st-not_met">✗ not met (latest level: not_yet)</td>' in page
    assert page.rstrip().endswith("</html>")


def test_unknown_student_course_or_pair(peerlog: Cli, history: History) -> None:
    del history
    for args, message in (
        (
            ("audit", "s9", "--course", "vfu-1"),
            "'s9' is not a student of course vfu-1. The students of course vfu-1 are: s1, s2",
        ),
        (
            ("audit", "s1", "--course", "vfu-9"),
            "course 'vfu-9' is not in the record. Did you mean vfu-1? The courses are: vfu-1.",
        ),
        (("balance", "p9"), "pair 'p9' is not in the record. The pairs are: p1"),
        (
            ("balance", "p1", "--as-of", DAY.replace(year=2020).isoformat()),
            "pair p1 was not in the record yet by 2020-03-03 09:00:00 UTC",
        ),
    ):
        result = peerlog(*args)
        assert result.exit_code == 1
        assert result.stderr.startswith(f"Error: {message}")
        assert len(result.stderr.splitlines()) == 1
        assert result.stdout == ""
