"""Arbitrary JSON in every field of every command (hypothesis), on SQLite and
PostgreSQL, through every door: ``PeerLog.execute`` (as a value and as JSON text),
``execute_many``, ``peerlog import``, ``POST /api/commands`` and
``POST /api/commands/batch``.

Whatever is sent: a clear rejection that names the command's field and rule, or a
command recorded as sent - never a 500, a traceback or a partial write; and a batch
with a poison item in it records every good command around it, with its text.

``PEERLOG_FUZZ_EXAMPLES`` sets how many examples each door gets (default 25; CI's
default keeps ``make test`` short, a longer run is one variable away).
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from peerlog import CommandRejected, CommandResult, PeerLog
from peerlog.cli import cli
from peerlog.domain.events import StepRecorded
from peerlog.domain.vocabulary import ID_RE
from peerlog.persistence.records import StoredCommand
from peerlog.web import create_app
from tests.conftest import Store
from tests.support import COURSE, T0, Placement

EXAMPLES = int(os.environ.get("PEERLOG_FUZZ_EXAMPLES", "25"))
AT = T0.replace(hour=11).isoformat()
ACTORS = {
    "coord": "coordinator",
    **{f"s{i}": "student" for i in range(1, 9)},
    "sup1": "supervisor",
    "sup2": "supervisor",
}
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SUFFIX = itertools.count(1)

Template = Callable[[Placement, int], dict[str, Any]]

TEMPLATES: dict[str, Template] = {
    "open_course": lambda p, n: p.cmd(
        "open_course",
        "coord",
        course_id=f"c{n}",
        title="Clinical placement",
        starts_on="2026-09-01",
        ends_on="2026-10-30",
        scale=["fail", "pass"],
        pass_level="pass",
        goals=[{"goal_id": "g1", "title": "Lead the team", "description": "On a shift"}],
    ),
    "add_goal": lambda p, n: p.cmd(
        "add_goal", "coord", course_id=COURSE, goal_id=f"g{n}", title="Work in a team"
    ),
    "revise_goal": lambda p, n: p.cmd(
        "revise_goal", "coord", course_id=COURSE, goal_id="hygiene", title=f"Hygiene {n}"
    ),
    "retire_goal": lambda p, n: p.cmd(
        "retire_goal", "coord", course_id=COURSE, goal_id="communication", reason="Merged"
    ),
    "enroll_student": lambda p, n: p.cmd(
        "enroll_student", "coord", course_id=COURSE, student_id=f"x{n}", display_name="Sara"
    ),
    "assign_supervisor": lambda p, n: p.cmd(
        "assign_supervisor", "coord", course_id=COURSE, supervisor_id=f"v{n}", display_name="Ola"
    ),
    "assign_coordinator": lambda p, n: p.cmd(
        "assign_coordinator", "coord", course_id=COURSE, coordinator_id=f"k{n}"
    ),
    "form_pair": lambda p, n: p.cmd(
        "form_pair",
        "coord",
        course_id=COURSE,
        pair_id=f"q{n}",
        students=["s7", "s8"],
        supervisors=["sup1"],
        unit="Ward 4",
    ),
    "open_session": lambda p, n: p.cmd(
        "open_session",
        "sup2",
        pair_id="p2",
        session_id=f"e{n}",
        shift="night",
        plan="Evening round",
        roles={"s3": "performer", "s4": "observer"},
    ),
    "switch_roles": lambda p, n: p.cmd(
        "switch_roles",
        "s1",
        pair_id="p1",
        session_id="d1",
        roles={"s1": "observer", "s2": "performer"},
        reason="Halfway",
    ),
    "record_step": lambda p, n: p.step(f"st{n}", occurred_at=AT),
    "give_feedback": lambda p, n: p.feedback(f"fb{n}", occurred_at=AT),
    "record_reflection": lambda p, n: p.reflection(f"rf{n}", occurred_at=AT),
    "assess_goal": lambda p, n: p.cmd(
        "assess_goal",
        "sup1",
        pair_id="p1",
        student_id="s1",
        goal_id="hygiene",
        level="pass",
        kind="formative",
        comment="Safe",
    ),
    "close_session": lambda p, n: p.cmd(
        "close_session", "sup2", pair_id="p2", session_id=f"e{n}", summary="Calm"
    ),
    "correct_entry": lambda p, n: p.cmd(
        "correct_entry",
        "s1",
        pair_id="p1",
        entry_id="st-base",
        changes={"note": f"Corrected {n}"},
        reason="Typo",
    ),
    "retract_entry": lambda p, n: p.cmd(
        "retract_entry", "s1", pair_id="p1", entry_id=f"st{n}", reason="By mistake"
    ),
    "dissolve_pair": lambda p, n: p.cmd("dissolve_pair", "sup2", pair_id="p2", reason="Moved"),
}

TRICKY = st.sampled_from(
    [
        "9999-12-31T23:59:59-05:00",
        "0001-01-01T00:00:00+01:00",
        "1969-12-31T23:59:59Z",
        "1700000000",
        "2026-03-02T07:30:00",
        "\u0000",
        "a\u0000b",
        "\u001b[2J",
        "\ud800",
        "\ufeff",
        "19121212-1212",
        "150902-1904",
        "[erased]",
        "",
        " ",
        "x" * 70,
        "s1",
        "p1",
        "hygiene",
        "performer",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | TRICKY
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8) | TRICKY, inner, max_size=4)
    ),
    max_leaves=12,
)


@dataclass(frozen=True)
class Poison:
    command: str
    field: str
    value: Any

    def build(self, p: Placement) -> dict[str, Any]:
        data = TEMPLATES[self.command](p, next(SUFFIX))
        data[self.field] = self.value
        return data


@st.composite
def poisons(draw: st.DrawFn) -> Poison:
    command = draw(st.sampled_from(sorted(TEMPLATES)))
    fields = sorted(TEMPLATES[command](_EXAMPLE, 0))
    field = draw(st.sampled_from([*fields, "unknown_field"]))
    return Poison(command, field, draw(JSON_VALUES))


_EXAMPLE = Placement(app=None)  # type: ignore[arg-type]
"""Builds templates without a record, to list their fields."""


@pytest.fixture
def placement(app: PeerLog) -> Placement:
    p = Placement(app).seed()
    for student in ("s7", "s8"):
        p.run("enroll_student", "coord", course_id=COURSE, student_id=student)
    p.run("form_pair", "coord", course_id=COURSE, pair_id="pg", students=["s5", "s6"],
          supervisors=["sup2"])  # fmt: skip
    p.run("open_session", "s5", pair_id="pg", session_id="dg", roles={"s5": "performer"})
    app.execute(p.step("st-base", occurred_at=AT))
    return p


def _good(p: Placement) -> dict[str, Any]:
    """A step that must be recorded whatever is sent beside it (its own pair)."""
    n = next(SUFFIX)
    return p.cmd(
        "record_step",
        "s5",
        pair_id="pg",
        session_id="dg",
        step_id=f"good-{n}",
        kind="performance",
        performers=["s5"],
        observers=["s6"],
        goals=["hygiene"],
        note=f"Good step {n}\twith a tab",
    )


def _text(value: dict[str, Any]) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


def _head(app: PeerLog) -> int:
    return app.store.max_notification_id() or 0


def _good_notes(app: PeerLog) -> set[str]:
    return {e.note for e in app.history("pair/pg") if isinstance(e, StepRecorded) and e.note}


def _check_rejection(rejected: CommandRejected) -> None:
    assert rejected.violations
    for violation in rejected.violations:
        assert violation.rule
        assert isinstance(violation.field, str)
        assert violation.message
        assert not any(ord(c) < 32 for c in violation.field + violation.message)


def _recorded_before(app: PeerLog, command: dict[str, Any]) -> StoredCommand | None:
    """The command recorded under the id about to be sent, if any. A fuzzed
    ``command_id`` can be sent twice: a value and then its JSON text, or in two examples
    (they share one record); with the same payload the second is a re-send."""
    command_id = command.get("command_id")
    if not isinstance(command_id, str) or ID_RE.fullmatch(command_id) is None:
        return None
    return app.store.find_command(command_id)


def _check_recorded(
    app: PeerLog, sent: dict[str, Any], result: CommandResult, before: StoredCommand | None
) -> None:
    """An accepted command is in the record as sent: its events carry its id, and a
    text field that was fuzzed is stored as it was given. A re-send of a recorded
    command (its id and payload) answers with the first result."""
    if before is not None:
        assert result.repeated
        assert result.events == app.result_of(before).events
        return
    assert not result.repeated
    for ref in result.events:
        events = app.history(ref.stream)
        event = events[ref.version - 1]
        assert event.command_id == sent["command_id"]
        for name, value in sent.items():
            if isinstance(value, str) and name not in {"occurred_at", "command"}:
                stored = getattr(event, name, value)
                assert stored == value or not isinstance(stored, str), (name, stored, value)


def _execute(app: PeerLog, command: dict[str, Any], *, as_text: bool) -> None:
    before = _head(app)
    first = _recorded_before(app, command)
    try:
        result = app.execute(_text(command) if as_text else command)
    except CommandRejected as rejected:
        _check_rejection(rejected)
        assert _head(app) == before
    else:
        _check_recorded(app, command, result, first)
        if first is not None:
            assert _head(app) == before


RESENT = Poison("dissolve_pair", "command_id", "150902-1904")
"""A poisoned id on a command whose payload does not change: sent again, a re-send."""


@FUZZ
@given(poison=poisons())
@example(poison=RESENT)
def test_execute_takes_or_rejects_anything_as_a_value_and_as_json_text(
    placement: Placement, poison: Poison
) -> None:
    app = placement.app
    _execute(app, poison.build(placement), as_text=False)
    _execute(app, poison.build(placement), as_text=True)


@FUZZ
@given(poison=poisons(), as_text=st.booleans())
@example(poison=RESENT, as_text=False)
@example(poison=RESENT, as_text=True)
def test_execute_many_records_every_good_command_around_poison(
    placement: Placement, poison: Poison, as_text: bool
) -> None:
    app = placement.app
    first, last = _good(placement), _good(placement)
    bad = poison.build(placement)
    before = _head(app)
    recorded = _recorded_before(app, bad)
    outcomes = list(app.execute_many([first, _text(bad) if as_text else bad, last]))
    assert len(outcomes) == 3
    assert isinstance(outcomes[0], CommandResult)
    assert isinstance(outcomes[2], CommandResult)
    assert {first["note"], last["note"]} <= _good_notes(app)
    if isinstance(outcomes[1], CommandRejected):
        _check_rejection(outcomes[1])
        assert _head(app) == before + 2
    else:
        _check_recorded(app, bad, outcomes[1], recorded)
        if recorded is not None:
            assert _head(app) == before + 2


@pytest.fixture
def client(placement: Placement) -> Iterator[tuple[TestClient, dict[str, str]]]:
    web = create_app(placement.app)
    tokens = web.state.services.tokens
    secrets = {actor: tokens.create(actor, role)[1] for actor, role in ACTORS.items()}
    with TestClient(web, base_url="https://testserver", raise_server_exceptions=True) as c:
        yield c, secrets
    web.state.services.close()


ANSWERS = {200, 201, 400, 403, 404, 409, 413, 422}


@FUZZ
@given(poison=poisons())
def test_the_api_answers_anything_with_a_result_or_a_named_error(
    placement: Placement, client: tuple[TestClient, dict[str, str]], poison: Poison
) -> None:
    http, secrets = client
    app = placement.app
    bad = poison.build(placement)
    actor = TEMPLATES[poison.command](placement, 0)["actor"]
    headers = {"Authorization": f"Bearer {secrets[actor]}", "content-type": "application/json"}
    before = _head(app)
    response = http.post("/api/commands", content=_text(bad), headers=headers)
    assert response.status_code in ANSWERS, response.text
    body = response.json()
    if response.status_code >= 400:
        assert body["errors"], body
        assert all(e["rule"] and isinstance(e["field"], str) for e in body["errors"])
        assert _head(app) == before
    first, last = _good(placement), _good(placement)
    batch = b'{"commands": [' + b", ".join([_text(first), _text(bad), _text(last)]) + b"]}"
    headers["Authorization"] = f"Bearer {secrets['s5']}"
    response = http.post("/api/commands/batch", content=batch, headers=headers)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in (results[0], results[2])] == ["accepted", "accepted"]
    assert {first["note"], last["note"]} <= _good_notes(app)


@FUZZ
@given(poison=poisons())
def test_import_reports_anything_by_line_and_records_the_good_lines(
    store: Store, placement: Placement, tmp_path_factory: pytest.TempPathFactory, poison: Poison
) -> None:
    app = placement.app
    first, last = _good(placement), _good(placement)
    path: Path = tmp_path_factory.mktemp("import") / "poison.jsonl"
    path.write_bytes(b"\n".join([_text(first), _text(poison.build(placement)), _text(last)]))
    before = _head(app)
    result = CliRunner().invoke(
        cli, ["import", str(path), "--format", "json"], env=store.env, catch_exceptions=False
    )
    assert result.exit_code in {0, 1}, result.output
    assert "Traceback" not in result.output
    report = json.loads(result.stdout)
    assert report["stopped"] is None
    assert report["lines"] == 3
    assert [r["line"] for r in report["rejected"]] in ([], [2])
    assert report["recorded"] == 3 - len(report["rejected"])
    app.forget_cached_state()
    assert {first["note"], last["note"]} <= _good_notes(app)
    if report["rejected"]:
        assert _head(app) == before + 2


PREPARE: dict[str, str] = {"close_session": "open_session", "retract_entry": "record_step"}


@pytest.mark.parametrize("command", sorted(TEMPLATES))
def test_each_template_is_a_command_the_record_takes(placement: Placement, command: str) -> None:
    """The fuzzed commands start from valid ones, so that what a mutation breaks is the
    field it changed."""
    app = placement.app
    if command in PREPARE:
        app.execute(TEMPLATES[PREPARE[command]](placement, 999))
    sent = TEMPLATES[command](placement, 999)
    _check_recorded(app, sent, app.execute(sent), None)
