"""Malformed input is a clear rejection, never a crash."""

from __future__ import annotations

import pytest

from peerlog.commands import COMMAND_NAMES, RecordStep, command_digest, parse_command
from peerlog.domain.errors import CommandRejected


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("{not json", "json_invalid"),
        ("[1, 2]", "not_an_object"),
        ('"record_step"', "not_an_object"),
        ("{}", "missing_command"),
        ('{"command": 7}', "unknown_command"),
        ('{"command": "dance", "command_id": "c1", "actor": "a"}', "unknown_command"),
    ],
)
def test_malformed_commands_are_rejected_with_a_rule(text: str, rule: str) -> None:
    with pytest.raises(CommandRejected) as rejected:
        parse_command(text)
    assert rejected.value.rule == rule
    assert str(rejected.value)


def test_the_message_lists_every_broken_field() -> None:
    with pytest.raises(CommandRejected) as rejected:
        parse_command({"command": "record_step", "command_id": "c 1", "actor": "s1"})
    fields = {v.field for v in rejected.value.violations}
    assert {"command_id", "pair_id", "session_id", "step_id", "kind", "goals"} <= fields
    assert str(rejected.value).startswith("record_step rejected: ")


def test_every_contract_command_has_a_model() -> None:
    assert len(COMMAND_NAMES) == 19
    assert "correct_entry" in COMMAND_NAMES
    assert "acknowledge_assessment" in COMMAND_NAMES


def test_the_digest_depends_on_what_was_given() -> None:
    base = {
        "command_id": "c1",
        "actor": "s1",
        "pair_id": "p1",
        "session_id": "d1",
        "step_id": "st1",
        "kind": "performance",
        "performers": ["s1"],
        "observers": [],
        "goals": [],
    }
    same = RecordStep.model_validate(dict(reversed(base.items())))
    assert command_digest(RecordStep.model_validate(base)) == command_digest(same)
    noted = RecordStep.model_validate({**base, "note": "x"})
    assert command_digest(noted) != command_digest(same)
