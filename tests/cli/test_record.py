"""``peerlog record``: one command from the shell, as FIELD=VALUE words or JSON."""

from __future__ import annotations

import json
import re

import pytest

from peerlog import PeerLog
from tests.cli.conftest import Cli
from tests.support import Placement


@pytest.fixture
def placement(app: PeerLog) -> Placement:
    return Placement(app).seed()


STEP = (
    "record_step",
    "pair_id=p1",
    "session_id=d1",
    "step_id=st7",
    "kind=performance",
    "performers=s1",
    "observers=s2",
    "goals=hygiene,medication",
    "note=Hand hygiene before and after the dressing change",
)


def test_records_a_step_written_as_words(peerlog: Cli, placement: Placement) -> None:
    out = peerlog.ok("record", *STEP, "--actor", "s1", "--id", "shell-1")
    assert re.fullmatch(r"recorded record_step shell-1: pair/p1@3 \(position \d+\)\n", out)
    placement.app.forget_cached_state()
    (record,) = placement.app.records("pair/p1")[2:]
    event = placement.app.event_mapper.to_domain_event(record)
    assert (event.performers, event.observers, event.goals) == (
        ("s1",),
        ("s2",),
        ("hygiene", "medication"),
    )
    assert event.note == "Hand hygiene before and after the dressing change"


def test_the_same_id_again_records_nothing(peerlog: Cli, placement: Placement) -> None:
    peerlog.ok("record", *STEP, "--actor", "s1", "--id", "shell-1")
    head = placement.app.store.max_notification_id()
    again = peerlog.ok("record", *STEP, "--actor", "s1", "--id", "shell-1")
    assert again.startswith("already recorded: record_step shell-1 (pair/p1@3")
    assert placement.app.store.max_notification_id() == head


def test_mappings_nested_fields_json_values_and_the_actor_from_the_environment(
    peerlog: Cli, placement: Placement
) -> None:
    peerlog.env["PEERLOG_ACTOR"] = "s1"
    result = json.loads(
        peerlog.ok(
            "record",
            "switch_roles",
            "pair_id=p1",
            "session_id=d1",
            "roles=s1:observer,s2:performer",
            "--format",
            "json",
        )
    )
    assert result["status"] == "accepted"
    assert re.fullmatch(r"cli-[0-9a-f]{16}", result["command_id"])
    peerlog.ok(
        "record",
        "record_reflection",
        "pair_id=p1",
        "reflection_id=rf9",
        "authors=s1",
        "mode=individual",
        "stages.description=We changed a dressing together",
        "stages.feelings=Calm",
        'goals:=["hygiene"]',
    )
    peerlog.ok(
        "record",
        "correct_entry",
        "pair_id=p1",
        "entry_id=rf9",
        "changes.goals=hygiene,communication",
        "reason=Also about talking with the patient",
    )
    placement.app.forget_cached_state()
    kinds = [r.topic for r in placement.app.records("pair/p1")[2:]]
    assert kinds == ["RolesSwitched", "ReflectionRecorded", "EntryCorrected"]


def test_json_argument_with_words_on_top(peerlog: Cli, placement: Placement) -> None:
    del placement
    command = {
        "command": "give_feedback",
        "actor": "s2",
        "pair_id": "p1",
        "feedback_id": "fb9",
        "giver": "s2",
        "receiver": "s1",
        "source": "peer",
        "goals": ["hygiene"],
        "strengths": "Calm",
        "improvements": "Explain more",
    }
    out = peerlog.ok("record", "--json", json.dumps(command), "session_id=d1", "--id", "j-1")
    assert out.startswith("recorded give_feedback j-1: pair/p1@3")
    from_stdin = peerlog.ok(
        "record", "--json", "-", "--id", "j-2", input=json.dumps(command | {"feedback_id": "fb10"})
    )
    assert from_stdin.startswith("recorded give_feedback j-2:")


def test_a_rejected_command_is_a_message_and_exit_1(peerlog: Cli, placement: Placement) -> None:
    del placement
    result = peerlog("record", *STEP, "--actor", "s3")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: record_step rejected: actor: ")
    patient = peerlog("record", *STEP[:-1], "note=Patient 19121212-1212", "--actor", "s1")
    assert patient.exit_code == 1
    assert "[patient_identifier]" in patient.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("record", "record_step", "pair_id"), "'pair_id' is not FIELD=VALUE"),
        (("record", "pair_id=p1"), 'name the command (as COMMAND, or as "command" in --json)'),
        (("record", "record_stepp"), "'record_stepp' is not a command; the commands are: "),
        (("record", "switch_roles", "roles=s1"), "'s1' is not KEY:VALUE"),
        (("record", "record_step", "goals:=[oops"), "is not valid JSON"),
        (("record", "--json", "[1]"), "a command is a JSON object"),
        (("record", "record_step", "pair_id=p1"), "who records it? give --actor"),
    ],
)
def test_words_that_do_not_parse_are_usage_errors(
    peerlog: Cli, args: tuple[str, ...], message: str
) -> None:
    peerlog.env.pop("PEERLOG_ACTOR", None)
    result = peerlog(*args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_fields_lists_a_commands_fields(peerlog: Cli) -> None:
    out = peerlog.ok("record", "record_step", "--fields")
    assert out.splitlines()[0].split() == ["field", "needed", "write", "it", "as"]
    assert "performers   required  performers=a,b" in out
    assert "note         optional  note=text" in out
    assert "roles" in peerlog.ok("record", "open_session", "--fields")


def test_the_assessed_student_acknowledges_an_assessment(
    peerlog: Cli, placement: Placement
) -> None:
    assess = (
        "assess_goal",
        "pair_id=p1",
        "student_id=s1",
        "goal_id=hygiene",
        "level=pass",
        "kind=formative",
        "assessment_id=f-1",
    )
    out = peerlog.ok("record", *assess, "--actor", "sup1", "--id", "assess-1")
    (reference,) = re.findall(r"pair/p1@\d+", out)
    ack = ("acknowledge_assessment", "pair_id=p1", f"assessment={reference}")
    refused = peerlog("record", *ack, "--actor", "s2", "--id", "ack-s2")
    assert refused.exit_code != 0
    assert "only the assessed student ('s1') may acknowledge" in refused.output
    out = peerlog.ok("record", *ack, "comment=Understood", "--actor", "s1", "--id", "ack-s1")
    assert out.startswith("recorded acknowledge_assessment ack-s1: pair/p1@")
    placement.app.forget_cached_state()
    event = placement.app.event_mapper.to_domain_event(placement.app.records("pair/p1")[-1])
    assert (event.assessment, event.assessment_id, event.comment) == (
        reference,
        "f-1",
        "Understood",
    )
