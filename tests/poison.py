"""Poison commands: what a hostile or careless client sends, and the rejection each must
get - the same field and rule on every path a command enters (``PeerLog.execute`` and
``execute_many``, ``peerlog import`` and its dry run, ``peerlog record``, both HTTP
endpoints).

Each case is JSON text (as a file or a body carries it) and, for the paths that take
decoded values, the same command as a Python value.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from peerlog.json_text import MAX_COMMAND_BYTES
from tests.support import COURSE, T0, Placement

AT = T0.replace(hour=10).isoformat()


@dataclass(frozen=True)
class Poison:
    name: str
    build: Callable[[Placement], Any]
    """The command as a Python value (a dict, or something that is not a command)."""
    field: str
    rule: str
    text: Callable[[Placement], bytes] | None = None
    """The command as JSON text, where it cannot be made from the value by json.dumps."""
    needs_record: bool = False
    """Only the record can tell (a dry run passes it)."""

    def __str__(self) -> str:
        return self.name

    def json_text(self, p: Placement) -> bytes:
        if self.text is not None:
            return self.text(p)
        return json.dumps(self.build(p)).encode()

    def field_matches(self, field: str) -> bool:
        if self.field.endswith("*"):
            return field.startswith(self.field[:-1])
        return field == self.field


def _nested(depth: int) -> Any:
    """A list nested ``depth`` levels deep, built without recursion."""
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


def _step(**fields: Any) -> Callable[[Placement], dict[str, Any]]:
    return lambda p: p.step(**{"occurred_at": AT, **fields})


DEEP = 100_000

POISONS: list[Poison] = [
    Poison(
        "occurred_at that overflows in UTC",
        _step(occurred_at="9999-12-31T23:59:59-05:00"),
        "occurred_at",
        "time_out_of_range",
    ),
    Poison(
        "occurred_at in year 1",
        _step(occurred_at="0001-01-01T00:00:00+01:00"),
        "occurred_at",
        "time_out_of_range",
    ),
    Poison(
        "occurred_at before 1970",
        _step(occurred_at="1969-12-31T23:59:59Z"),
        "occurred_at",
        "time_out_of_range",
    ),
    Poison("occurred_at a number", _step(occurred_at=1_700_000_000), "occurred_at", "not_a_time"),
    Poison("occurred_at digits", _step(occurred_at="1700000000"), "occurred_at", "not_a_time"),
    Poison(
        "occurred_at far ahead",
        _step(occurred_at="9999-01-01T00:00:00Z"),
        "occurred_at",
        "not_in_future",
    ),
    Poison(
        "NUL in a goal title",
        lambda p: p.cmd(
            "add_goal", "coord", course_id=COURSE, goal_id="nul", title="Hand\u0000hygiene"
        ),
        "title",
        "control_character",
    ),
    Poison(
        "escape sequence in a display name",
        lambda p: p.cmd(
            "enroll_student",
            "coord",
            course_id=COURSE,
            student_id="s9",
            display_name="\u001b[2JEva",
        ),
        "display_name",
        "control_character",
    ),
    Poison("C1 control in a note", _step(note="Calm\u0085patient"), "note", "control_character"),
    Poison(
        "NUL in a roles key",
        lambda p: p.cmd(
            "switch_roles",
            "s1",
            pair_id="p1",
            session_id="d1",
            roles={"s1\u0000": "observer", "s2": "performer"},
        ),
        "roles.*",
        "invalid_id",
    ),
    Poison(
        "NUL in a stages key",
        lambda p: p.reflection(stages={"feel\u0000ings": "Calm"}),
        "stages.*",
        "literal_error",
    ),
    Poison(
        "NUL in a correction's text",
        lambda p: p.cmd(
            "correct_entry",
            "s1",
            pair_id="p1",
            entry_id="st-good-1",
            changes={"note": "Calm\u0000"},
            reason="Typo",
        ),
        "changes",
        "control_character",
    ),
    Poison(
        "NUL in a correction's key",
        lambda p: p.cmd(
            "correct_entry",
            "s1",
            pair_id="p1",
            entry_id="st-good-1",
            changes={"no\u0000te": "Calm"},
            reason="Typo",
        ),
        "changes",
        "control_character",
    ),
    Poison(
        f"JSON nested {DEEP:,} levels deep",
        lambda p: {**p.step("st-deep"), "goals": _nested(DEEP)},
        "",
        "too_deep",
        text=lambda p: (
            json.dumps(p.step("st-deep"))[:-1].encode()
            + b', "extra": '
            + b"[" * DEEP
            + b"]" * DEEP
            + b"}"
        ),
    ),
    Poison(
        "more than a command may be",
        _step(note="x" * (MAX_COMMAND_BYTES + 10)),
        "",
        "too_large",
    ),
    Poison("not an object", lambda p: [1, 2], "", "not_an_object"),
]

GOOD_NOTES = ("First\tline,\nsecond line", "A note after the poison")


def good_steps(p: Placement) -> list[dict[str, Any]]:
    """Commands that must be recorded whatever is sent around them (a tab and a line
    break are allowed in a text)."""
    return [
        p.step(f"st-good-{i}", note=note, occurred_at=AT) for i, note in enumerate(GOOD_NOTES, 1)
    ]


def with_bom(text: bytes) -> bytes:
    return b"\xef\xbb\xbf" + text
