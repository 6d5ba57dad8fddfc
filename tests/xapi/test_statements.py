"""Every statement ``peerlog export xapi`` makes of the demo placement is valid xAPI (ralph's
models) and follows its template of peerlog's profile; the statements name people only
by opaque accounts and carry no free text unless a deployment asks."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner
from ralph.models.xapi.base.statements import BaseXapiStatement

from peerlog import PeerLog
from peerlog.cli import cli
from peerlog.cli.demo import placement
from peerlog.projections.source import StoreEvents
from peerlog.projections.xapi import Produced, export, xapi_settings
from peerlog.projections.xapi import vocabulary as v
from tests.conftest import Store
from tests.xapi.conftest import DEMO_START, seed_demo
from tests.xapi.profile import template_problems, templates

FORGOTTEN_AT = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def forget_and_dissolve(app: PeerLog) -> None:
    """p01-a is forgotten, then their pair dissolved: the record's last events."""
    app.forget("p01-a", actor="coord-1", command_id="forget-p01-a", occurred_at=FORGOTTEN_AT)
    app.execute(
        {
            "command": "dissolve_pair",
            "command_id": "dissolve-p01",
            "actor": "coord-1",
            "occurred_at": "2026-06-01T09:05:00+00:00",
            "pair_id": "p01",
            "reason": "A student left the programme",
        }
    )


def check_against_templates(produced: list[Produced]) -> Counter[str]:
    by_id = {p.id: (p.template, p.statement) for p in produced}
    problems = {}
    for p in produced:
        found = template_problems(p.template, p.statement, by_id)
        if found:
            problems[f"{p.event} {p.template}"] = found
    assert problems == {}
    return Counter(p.template for p in produced)


def test_every_statement_of_the_demo_is_valid_xapi_and_follows_its_template(store: Store) -> None:
    app = store.open()
    try:
        seed_demo(app)
        forget_and_dissolve(app)
        settings = xapi_settings(StoreEvents(app))
        produced = list(export(StoreEvents(app), settings))
    finally:
        app.close()
    for p in produced:
        BaseXapiStatement.model_validate(p.statement)
    used = check_against_templates(produced)
    # Every template of the profile is used by the demo, and nothing else is.
    assert set(used) == set(templates())
    assert used[v.T_ERASURE] > 0
    assert used[v.T_CORRECTION] > 0
    assert used[v.T_RETRACTION] > 0
    ids = [p.id for p in produced]
    assert len(ids) == len(set(ids))


def test_statements_name_people_only_by_opaque_accounts(store: Store) -> None:
    commands = list(placement(start=DEMO_START, pairs=2, weeks=2))
    people = {c["student_id"] for c in commands if c["command"] == "enroll_student"}
    names = {c["display_name"] for c in commands if c.get("display_name")}
    texts = {
        c[field]
        for c in commands
        for field in ("note", "strengths", "improvements", "plan", "summary", "comment")
        if c.get(field)
    }
    app = store.open()
    try:
        seed_demo(app, pairs=2, weeks=2)
        settings = xapi_settings(StoreEvents(app))
        dumped = [json.dumps(p.statement) for p in export(StoreEvents(app), settings)]
    finally:
        app.close()
    everything = "\n".join(dumped)
    assert people
    assert names
    assert texts
    for secret in people | names | texts:
        assert f'"{secret}"' not in everything
        assert secret not in everything
    account = settings.account_name("p01-a")
    assert len(account) == 32
    assert f'"name": "{account}"' in everything


def test_a_deployment_may_send_names_texts_ids_and_xapi_2(store: Store) -> None:
    app = store.open()
    try:
        seed_demo(app, pairs=2, weeks=2)
        env = {
            **app.settings,
            "PEERLOG_XAPI_HOMEPAGE": "https://lms.example.edu",
            "PEERLOG_XAPI_ACCOUNTS": "ids",
            "PEERLOG_XAPI_NAMES": "1",
            "PEERLOG_XAPI_TEXTS": "1",
            "PEERLOG_XAPI_VERSION": "2.0.0",
        }
        named = PeerLog(env)
        try:
            produced = list(export(StoreEvents(named), xapi_settings(StoreEvents(named))))
        finally:
            named.close()
    finally:
        app.close()
    check_against_templates(produced)
    steps = [p.statement for p in produced if p.template == v.T_STEP_PERFORMED]
    first = steps[0]
    assert first["version"] == "2.0.0"
    assert "team" not in first["context"]
    assert first["context"]["contextGroups"][0]["group"]["account"]["name"].startswith("pairs/")
    performer = first["context"]["extensions"][v.EVENT]
    assert performer.startswith("pair/p0")
    assert first["actor"]["account"]["homePage"] == "https://lms.example.edu"
    assert first["actor"]["account"]["name"] in {"p01-a", "p01-b"}
    assert first["actor"]["name"]  # the display name, as enrolled
    assert first["result"]["extensions"][v.TEXTS]["note"]
    reflections = [p.statement for p in produced if p.template == v.T_REFLECTION]
    assert set(reflections[0]["result"]["extensions"][v.TEXTS]["stages"]) <= set(
        reflections[0]["result"]["extensions"][v.GIBBS_STAGES]
    )


def _lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines()]


def test_export_xapi_writes_the_statements_as_json_lines(store: Store) -> None:
    app = store.open()
    try:
        seed_demo(app, pairs=2, weeks=1)
        settings = xapi_settings(StoreEvents(app))
        every = [p.statement for p in export(StoreEvents(app), settings)]
        of_p02 = [p.statement for p in export(StoreEvents(app), settings, "p02")]
    finally:
        app.close()
    runner = CliRunner()
    result = runner.invoke(cli, ["export", "xapi"], env=store.env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert _lines(result.stdout) == every
    result = runner.invoke(cli, ["export", "xapi", "--pair", "p02"], env=store.env)
    assert result.exit_code == 0
    assert _lines(result.stdout) == of_p02
    assert of_p02
    assert all("pairs/p02" in json.dumps(s) for s in of_p02)
    result = runner.invoke(cli, ["export", "xapi", "--pair", "p09"], env=store.env)
    assert result.exit_code == 1
    assert "pair 'p09' is not in the record" in result.stderr
    result = runner.invoke(cli, ["export", "xapi", "--format", "csv"], env=store.env)
    assert result.exit_code == 2
    assert "xAPI statements are JSON" in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PEERLOG_XAPI_HOMEPAGE", "lms.example.edu", "give an http(s) URL"),
        ("PEERLOG_XAPI_ACCOUNTS", "names", "give opaque"),
        ("PEERLOG_XAPI_VERSION", "1.0", "give one of 1.0.3, 2.0.0"),
        ("PEERLOG_XAPI_NAMES", "perhaps", "give 1 (yes) or 0 (no)"),
    ],
)
def test_a_wrong_setting_is_a_message(store: Store, name: str, value: str, message: str) -> None:
    app = store.open()
    app.close()
    result = CliRunner().invoke(cli, ["export", "xapi"], env={**store.env, name: value})
    assert result.exit_code == 1
    assert f"configuration: {name} is {value!r}; {message}" in result.stderr


def test_the_validator_finds_what_breaks_a_template(store: Store) -> None:
    app = store.open()
    try:
        seed_demo(app, pairs=1, weeks=1)
        produced = list(export(StoreEvents(app), xapi_settings(StoreEvents(app))))
    finally:
        app.close()
    opened = next(p for p in produced if p.template == v.T_SESSION_OPENED)
    step = next(p for p in produced if p.template == v.T_STEP_PERFORMED)
    assert template_problems(opened.template, opened.statement) == []

    def broken(p: Produced, change: Any) -> list[str]:
        statement = json.loads(json.dumps(p.statement))
        change(statement)
        return template_problems(p.template, statement)

    assert broken(opened, lambda s: s["context"]["extensions"].pop(v.ROLE))
    assert broken(opened, lambda s: s["context"]["extensions"].update({v.ROLE: "boss"}))
    assert broken(opened, lambda s: s["actor"].update({"mbox": "mailto:a@b.se"}))
    assert broken(opened, lambda s: s["verb"].update({"id": v.PERFORMED}))
    assert broken(step, lambda s: s["context"]["contextActivities"].pop("parent"))
    assert broken(step, lambda s: s["context"]["team"].update({"member": []}))
    assert broken(step, lambda s: s["context"]["extensions"].update({v.GIBBS_STAGES: []}))
    assert broken(step, lambda s: s["context"]["extensions"].update({"https://example.org/x": 1}))
    assert template_problems(v.T_ERASURE, step.statement)
