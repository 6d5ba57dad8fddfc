"""Replay for a dispute: the audit and the replay name an event the same way, the replay
narrows to a goal or a kind of event, and an --as-of before the pair was recorded says
what was probably meant."""

from __future__ import annotations

import json
import re

from tests.cli.conftest import Cli
from tests.cli.test_audit_reports import placement
from tests.support import Placement

__all__ = ["placement"]


def test_the_audit_and_the_replay_name_an_event_the_same_way(
    peerlog: Cli, placement: Placement
) -> None:
    del placement
    report = json.loads(peerlog.ok("audit", "s1", "--course", "vfu-1", "--format", "json"))
    (hygiene,) = report["goals"]
    refs = hygiene["events"]
    assert refs
    assert all(re.fullmatch(r"pair/p1@\d+", ref) for ref in refs)
    text = peerlog.ok("audit", "s1", "--course", "vfu-1")
    replay = peerlog.ok("replay", "p1")
    assert replay.splitlines()[4].split()[0] == "event"
    replayed = {line.split()[0] for line in replay.splitlines() if line.startswith("pair/")}
    for ref in refs:
        assert f"    {ref} " in text
        assert ref in replayed


def test_replay_narrows_to_a_goal_and_a_kind(peerlog: Cli, placement: Placement) -> None:
    placement.run(
        "add_goal",
        "coord",
        course_id="vfu-1",
        goal_id="talk",
        title="Talk with patients",
        occurred_at="2026-03-02T07:00:00+00:00",
    )
    placement.app.execute(
        placement.step("st2", goals=["talk"], occurred_at="2026-03-02T11:00:00+00:00")
    )
    steps = peerlog.ok("replay", "p1", "--kind", "step")
    assert "2 shown (step events)" in steps
    assert [line.split()[-1] for line in steps.splitlines() if line.startswith("pair/")] == [
        "hygiene",
        "talk",
    ]
    talk = peerlog.ok("replay", "p1", "--goal", "talk")
    assert "1 shown (events about goal talk)" in talk
    assert "step st2 (performance)" in talk
    assert "step st1" not in talk
    hygiene = peerlog.ok("replay", "p1", "--goal", "hygiene", "--kind", "feedback")
    assert "peer feedback fb1" in hygiene
    assert "step st1" not in hygiene
    events = json.loads(peerlog.ok("replay", "p1", "--goal", "talk", "--format", "json"))
    assert [e["type"] for e in events["events"]] == ["StepRecorded"]
    unknown = peerlog("replay", "p1", "--goal", "talks")
    assert unknown.exit_code == 1
    assert "'talks' is not a goal of course vfu-1. Did you mean talk?" in unknown.stderr


def test_an_as_of_before_the_pair_was_recorded_suggests_the_other_clock(
    peerlog: Cli, placement: Placement
) -> None:
    del placement
    for command in ("replay", "balance"):
        result = peerlog(command, "p1", "--as-of", "2026-03-02")
        assert result.exit_code == 1
        assert "pair p1 was not in the record yet by 2026-03-02 23:59:59 UTC" in result.stderr
        assert "use --as-of-occurred instead" in result.stderr
    shown = peerlog.ok("replay", "p1", "--as-of-occurred", "2026-03-02")
    assert "step st1 (performance)" in shown
