"""``peerlog import``: good lines are applied, every bad line is reported by number, a
re-import changes nothing, a dry run records nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from peerlog import PeerLog
from tests.cli.conftest import Cli
from tests.support import T0, Placement

AT = T0.replace(hour=9).isoformat()


def _line(data: dict[str, Any]) -> str:
    return json.dumps(data)


@pytest.fixture
def placement(app: PeerLog) -> Placement:
    return Placement(app).seed()


def mixed_file(p: Placement, path: Path) -> Path:
    step = p.step("st1", occurred_at=AT) | {"command_id": "imp-1"}
    lines = [
        _line(step),  # 1 good
        '{"command": "record_step", "command_id": "imp-x", ',  # 2 bad JSON
        _line({"command": "frobnicate", "command_id": "imp-3", "actor": "s1"}),  # 3 unknown
        _line(p.step("st3", goals=["surgery"]) | {"command_id": "imp-4"}),  # 4 rule
        _line(  # 5 a personal identity number in a note
            p.step("st4", note="Patient 19121212-1212 was calm") | {"command_id": "imp-5"}
        ),
        "",  # 6 blank
        _line(p.feedback("fb1", occurred_at=AT) | {"command_id": "imp-7"}),  # 7 good
        _line(p.step("st8") | {"command_id": "imp-1"}),  # 8 the id of line 1, another payload
        _line(p.step("st9", performers="s1") | {"command_id": "imp-9"}),  # 9 wrong type
        _line(p.reflection("rf1", occurred_at=AT) | {"command_id": "imp-10"}),  # 10 good
        _line(step),  # 11 line 1 again: already recorded, not an error
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _pair_events(app: PeerLog) -> list[tuple[str, str]]:
    out = []
    for record in app.records("pair/p1"):
        event = app.event_mapper.decode(record.topic, record.state)
        out.append((record.topic, event.command_id))
    return out


def test_applies_exactly_the_good_lines_and_reports_each_bad_one(
    peerlog: Cli, placement: Placement, tmp_path: Path
) -> None:
    before = _pair_events(placement.app)
    path = mixed_file(placement, tmp_path / "day.jsonl")

    result = peerlog("import", str(path))

    assert result.exit_code == 1
    out = result.stdout.splitlines()
    assert out[0] == f"{path}: 11 lines: 3 recorded, 1 already recorded, 7 rejected"
    assert out[1] == "line 2: not valid JSON: EOF while parsing a value at column 49 [json_invalid]"
    assert out[2].startswith("line 3 (command_id imp-3): command: unknown command 'frobnicate'")
    assert out[3].startswith("line 4 (record_step, command_id imp-4): goals")
    assert "surgery" in out[3]
    assert out[4].startswith("line 5 (record_step, command_id imp-5): note")
    assert out[4].endswith("[patient_identifier]")
    assert out[5] == (
        "line 6: a blank line; a JSON-lines file has one command per line [blank_line]"
    )
    assert out[6].startswith("line 8 (record_step, command_id imp-1): command_id: ")
    assert "[command_id_reused]" in out[6]
    assert out[7].startswith("line 9 (record_step, command_id imp-9): performers")
    assert len(out) == 8
    placement.app.forget_cached_state()
    added = _pair_events(placement.app)[len(before) :]
    assert added == [
        ("StepRecorded", "imp-1"),
        ("FeedbackGiven", "imp-7"),
        ("ReflectionRecorded", "imp-10"),
    ]


def test_importing_the_same_file_again_changes_nothing(
    peerlog: Cli, placement: Placement, tmp_path: Path
) -> None:
    path = mixed_file(placement, tmp_path / "day.jsonl")
    peerlog("import", str(path))
    head = placement.app.store.max_notification_id()

    again = peerlog("import", str(path))

    assert again.exit_code == 1
    assert again.stdout.splitlines()[0] == (
        f"{path}: 11 lines: 0 recorded, 4 already recorded, 7 rejected"
    )
    assert placement.app.store.max_notification_id() == head


def test_a_clean_file_exits_zero_and_reads_stdin(peerlog: Cli, placement: Placement) -> None:
    text = "\n".join(
        _line(placement.step(f"st{n}", occurred_at=AT) | {"command_id": f"ok-{n}"})
        for n in range(1, 4)
    )
    result = peerlog("import", "-", input=text + "\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == "stdin: 3 lines: 3 recorded, 0 already recorded, 0 rejected\n"


def test_dry_run_validates_only_and_says_what_it_cannot_check(
    peerlog: Cli, placement: Placement, tmp_path: Path
) -> None:
    path = mixed_file(placement, tmp_path / "day.jsonl")
    head = placement.app.store.max_notification_id()

    result = peerlog("import", "--dry-run", str(path))

    assert result.exit_code == 1
    out = result.stdout.splitlines()
    # Lines 4 (an unknown goal) and 8 (a reused id) need the record: a dry run passes them.
    assert out[0] == f"{path} (dry run): 11 lines: 6 valid, 5 rejected"
    assert [line.split(" ", 2)[1].rstrip(":") for line in out[1:6]] == ["2", "3", "5", "6", "9"]
    assert "cannot check what needs the record" in result.stdout
    assert "Nothing was recorded." in result.stdout
    assert placement.app.store.max_notification_id() == head


def test_json_report(peerlog: Cli, placement: Placement, tmp_path: Path) -> None:
    path = mixed_file(placement, tmp_path / "day.jsonl")
    result = peerlog("import", str(path), "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert (report["lines"], report["recorded"], report["already_recorded"]) == (11, 3, 1)
    assert [r["line"] for r in report["rejected"]] == [2, 3, 4, 5, 6, 8, 9]
    reused = report["rejected"][5]
    assert reused["command"] == "record_step"
    assert reused["errors"][0]["rule"] == "command_id_reused"


def test_progress_goes_to_stderr_when_asked(
    peerlog: Cli, placement: Placement, tmp_path: Path
) -> None:
    path = tmp_path / "steps.jsonl"
    path.write_text(
        "".join(
            _line(placement.step(f"st{n}", occurred_at=AT) | {"command_id": f"pr-{n}"}) + "\n"
            for n in range(1, 6)
        )
    )
    quiet = peerlog("import", str(path))
    assert quiet.stderr == ""
    shown = peerlog("import", "--progress", str(path))
    assert shown.exit_code == 0
    assert "importing" in shown.stderr
    assert "5 in" in shown.stderr
    assert "importing" not in shown.stdout


def test_a_missing_file_is_a_usage_error(peerlog: Cli, tmp_path: Path) -> None:
    result = peerlog("import", str(tmp_path / "nowhere.jsonl"))
    assert result.exit_code == 2
    assert "nowhere.jsonl" in result.stderr
    assert "No such file" in result.stderr
