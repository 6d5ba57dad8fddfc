"""Poison commands through both HTTP endpoints, on SQLite and PostgreSQL: each is
answered with its field and rule (never a 500), alone or in a batch, and a batch
records every good command around it."""

from __future__ import annotations

import json

import pytest

from peerlog.domain.events import StepRecorded
from tests.poison import GOOD_NOTES, POISONS, Poison, good_steps, with_bom
from tests.web.conftest import Web

JSON = {"content-type": "application/json"}


def _check(poison: Poison, error: dict[str, str]) -> None:
    assert poison.field_matches(error["field"]), (poison, error)
    assert error["rule"] == poison.rule, (poison, error)


def _actor(poison: Poison, web: Web) -> str:
    built = poison.build(web.placement)
    return built.get("actor", "s1") if isinstance(built, dict) else "s1"


@pytest.mark.parametrize("poison", POISONS, ids=str)
def test_one_command_is_refused_with_its_field_and_rule(web: Web, poison: Poison) -> None:
    before = web.app.store.max_notification_id() or 0
    response = web.post(
        _actor(poison, web),
        "/api/commands",
        content=poison.json_text(web.placement),
        headers=JSON,
    )
    assert response.status_code == (413 if poison.rule == "too_large" else 422), response.text
    _check(poison, response.json()["errors"][0])
    assert web.app.store.max_notification_id() == before


def test_a_byte_order_mark_is_taken_as_the_cli_takes_it(web: Web) -> None:
    step = web.placement.step("st-bom", note="Sent with a byte-order mark")
    response = web.post(
        "s1", "/api/commands", content=with_bom(json.dumps(step).encode()), headers=JSON
    )
    assert response.status_code == 201, response.text
    batch = {"commands": [web.placement.step("st-bom-2")]}
    response = web.post(
        "s1", "/api/commands/batch", content=with_bom(json.dumps(batch).encode()), headers=JSON
    )
    assert response.json()["accepted"] == 1


def test_a_batch_judges_each_poison_alone_and_records_the_rest(web: Web) -> None:
    p = web.placement
    first, last = good_steps(p)
    poisons = [x for x in POISONS if _actor(x, web) == "s1" and x.rule != "too_large"]
    # Each item as the client wrote it: JSON text spliced into the body as it is.
    items = [json.dumps(first).encode(), *(x.json_text(p) for x in poisons)]
    items.append(json.dumps(last).encode())
    body = b'{"commands": [' + b", ".join(items) + b"]}"
    before = web.app.store.max_notification_id() or 0

    response = web.post("s1", "/api/commands/batch", content=body, headers=JSON)

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["index"] for r in results] == list(range(len(items)))
    assert [r["status"] for r in (results[0], results[-1])] == ["accepted", "accepted"]
    for poison, result in zip(poisons, results[1:-1], strict=True):
        assert result["status"] == "rejected", (poison, result)
        assert result["http_status"] == 422
        _check(poison, result["errors"][0])
    assert web.app.store.max_notification_id() == before + 2
    notes = [e.note for e in web.app.history("pair/p1") if isinstance(e, StepRecorded)]
    assert notes == list(GOOD_NOTES)


def test_a_command_too_large_in_a_batch_is_refused_alone(web: Web) -> None:
    p = web.placement
    (large,) = (x for x in POISONS if x.rule == "too_large")
    first, last = good_steps(p)
    body = json.dumps({"commands": [first, large.build(p), last]})
    response = web.post("s1", "/api/commands/batch", content=body, headers=JSON)
    results = response.json()["results"]
    assert [(r["status"], r["http_status"]) for r in results] == [
        ("accepted", 201),
        ("rejected", 413),
        ("accepted", 201),
    ]
    assert results[1]["errors"][0]["rule"] == "too_large"
