"""People by their names: the audit, replay, balance and dashboard name the people the
record gives a display name, and a name reads as [erased] once its person is forgotten."""

from __future__ import annotations

import json

from tests.cli.conftest import Cli
from tests.cli.test_audit_reports import placement
from tests.support import Placement

__all__ = ["placement"]

NOW = "2026-03-03T12:00:00Z"


def test_the_text_audit_names_the_student_and_the_people(
    peerlog: Cli, placement: Placement
) -> None:
    del placement
    text = peerlog.ok("audit", "s1", "--course", "vfu-1")
    assert text.startswith("Audit of Saga Lind (s1) in course vfu-1\n")
    assert "\nPeople:\n  s1: Saga Lind\n  s2: Noah Berg\n  sup1: Eva Holm\n" in text
    # JSON keeps the ids.
    data = json.loads(peerlog.ok("audit", "s1", "--course", "vfu-1", "--format", "json"))
    assert data["student_id"] == "s1"
    assert "Saga Lind" not in json.dumps(data)


def test_replay_balance_and_dashboard_name_people(peerlog: Cli, placement: Placement) -> None:
    del placement
    replay = peerlog.ok("replay", "p1")
    assert "People: Saga Lind (s1), Noah Berg (s2), Eva Holm (sup1).\n" in replay
    balance = peerlog.ok("balance", "p1")
    assert "\nSaga Lind (s1)  " in balance
    assert "\nNoah Berg (s2)  " in balance
    dashboard = peerlog.ok("dashboard", "--now", NOW)
    assert "students Saga Lind (s1), Noah Berg (s2)  supervisor Eva Holm (sup1)" in dashboard
    assert json.loads(peerlog.ok("balance", "p1", "--format", "json"))["members"].keys() == {
        "s1",
        "s2",
    }


def test_a_forgotten_person_reads_as_erased_everywhere(peerlog: Cli, placement: Placement) -> None:
    placement.app.forget("s2", actor="coord", command_id="forget-s2")
    outputs = {
        "audit": peerlog.ok("audit", "s1", "--course", "vfu-1"),
        "replay": peerlog.ok("replay", "p1"),
        "balance": peerlog.ok("balance", "p1"),
        "dashboard": peerlog.ok("dashboard", "--now", NOW),
        "md": peerlog.ok("audit", "s1", "--course", "vfu-1", "--format", "md"),
        "html": peerlog.ok("audit", "s1", "--course", "vfu-1", "--format", "html"),
    }
    for what, text in outputs.items():
        assert "Noah Berg" not in text, what
    assert "  s2: [erased]\n" in outputs["audit"]
    assert "[erased] (s2)" in outputs["replay"]
    assert "\n[erased] (s2)  " in outputs["balance"]
    assert "students Saga Lind (s1), [erased] (s2)" in outputs["dashboard"]
    assert "- s2: [erased]" in outputs["md"]
    assert "[erased] (s2)" in outputs["html"]
    # The others keep their names.
    assert "Saga Lind (s1)" in outputs["replay"]
