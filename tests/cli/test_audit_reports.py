"""What an examiner files: the md and html audits name people and show the texts behind
each goal, the PDF is that report printed, and the digest names the audit."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from peerlog import PeerLog
from tests.cli.conftest import Cli
from tests.support import T0, Placement

STRENGTHS = "Calm and thorough with the patient"
FEELINGS = "Nervous at first."


@pytest.fixture
def placement(app: PeerLog) -> Placement:
    """Two students with display names in a pair, a step, feedback and a reflection."""
    p = Placement(app)
    at = T0.isoformat()
    p.run(
        "open_course",
        "coord",
        course_id="vfu-1",
        title="Clinical placement",
        starts_on="2026-03-02",
        ends_on="2026-04-24",
        scale=["not_yet", "pass", "good"],
        pass_level="pass",
        goals=[{"goal_id": "hygiene", "title": "Basic hygiene"}],
        occurred_at=at,
    )
    for student, name in (("s1", "Saga Lind"), ("s2", "Noah Berg")):
        p.run(
            "enroll_student",
            "coord",
            course_id="vfu-1",
            student_id=student,
            display_name=name,
            occurred_at=at,
        )
    p.run(
        "assign_supervisor",
        "coord",
        course_id="vfu-1",
        supervisor_id="sup1",
        display_name="Eva Holm",
        occurred_at=at,
    )
    p.run(
        "form_pair",
        "coord",
        course_id="vfu-1",
        pair_id="p1",
        students=["s1", "s2"],
        supervisors=["sup1"],
        occurred_at=at,
    )
    p.run(
        "open_session",
        "s1",
        pair_id="p1",
        session_id="d1",
        roles={"s1": "performer", "s2": "observer"},
        occurred_at=(T0 + timedelta(minutes=5)).isoformat(),
    )
    app.execute(p.step("st1", occurred_at=(T0 + timedelta(hours=1)).isoformat()))
    app.execute(p.feedback("fb1", occurred_at=(T0 + timedelta(hours=2)).isoformat()))
    app.execute(p.reflection("rf1", occurred_at=(T0 + timedelta(hours=3)).isoformat()))
    return p


def test_markdown_and_html_name_people_and_show_the_texts(
    peerlog: Cli, placement: Placement
) -> None:
    del placement
    md = peerlog.ok("audit", "s1", "--course", "vfu-1", "--format", "md")
    assert md.startswith("# Audit of Saga Lind (s1) in course vfu-1\n")
    assert f"<br>strengths: “{STRENGTHS}”" in md
    assert f"<br>feelings: “{FEELINGS}”" in md
    assert "- sup1: Eva Holm" in md
    page = peerlog.ok("audit", "s1", "--course", "vfu-1", "--format", "html")
    assert "<h1>Audit of Saga Lind (s1) in course vfu-1</h1>" in page
    assert f'<span class="label">strengths:</span> “{STRENGTHS}”' in page
    assert "Noah Berg (s2)" in page


def test_an_erased_name_and_text_are_not_shown(peerlog: Cli, placement: Placement) -> None:
    placement.app.forget("s2", actor="coord", command_id="forget-s2")
    md = peerlog.ok("audit", "s1", "--course", "vfu-1", "--format", "md")
    assert "Noah Berg" not in md
    assert "Saga Lind (s1)" in md
    # s2 gave the feedback: its texts are about s1 too, but sealed under both keys.
    assert STRENGTHS not in md


def test_a_pdf_of_the_audit(peerlog: Cli, placement: Placement, tmp_path: Path) -> None:
    del placement
    out = tmp_path / "s1.pdf"
    assert peerlog.ok("audit", "s1", "--course", "vfu-1", "--format", "pdf", "-o", str(out)) == ""
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    assert data.rstrip().endswith(b"%%EOF")
    assert len(data) > 5_000  # a page of text, not an empty document


def test_different_audits_have_different_digests_and_the_same_one_the_same(
    peerlog: Cli, placement: Placement
) -> None:
    app = placement.app
    first = (T0 + timedelta(hours=1, minutes=30)).isoformat()
    second = (T0 + timedelta(hours=4)).isoformat()
    # As-of times on the recorded axis: what had been recorded by then.
    recorded = [r.recorded_at for r in app.records("pair/p1")]
    early, late = recorded[3].isoformat(), recorded[-1].isoformat()
    del first, second

    def digest(student: str, as_of: str) -> str:
        report = json.loads(
            peerlog.ok("audit", student, "--course", "vfu-1", "--as-of", as_of, "--format", "json")
        )
        return str(report["integrity"]["digest"])

    digests = {(s, t): digest(s, t) for s in ("s1", "s2") for t in (early, late)}
    assert len(set(digests.values())) == 4
    # The record grows and is checkpointed again: the same audits name the same digests.
    app.execute(placement.step("st2"))
    peerlog.ok("checkpoint")
    assert {(s, t): digest(s, t) for s in ("s1", "s2") for t in (early, late)} == digests
