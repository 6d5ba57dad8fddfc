"""Poison commands through ``PeerLog.execute`` and ``execute_many``, on SQLite and
PostgreSQL: each is rejected naming its field and rule, as a value and as JSON text,
nothing of it is written, and in a batch every good command around it is recorded."""

from __future__ import annotations

from json import dumps
from typing import Any

import pytest

from peerlog import CommandRejected, CommandResult, PeerLog
from peerlog.domain.events import StepRecorded
from tests.poison import GOOD_NOTES, POISONS, Poison, good_steps, with_bom
from tests.support import Placement


@pytest.fixture
def placement(app: PeerLog) -> Placement:
    p = Placement(app).seed()
    app.execute(good_steps(p)[0])
    return p


def _notes(app: PeerLog) -> list[str | None]:
    return [e.note for e in app.history("pair/p1") if isinstance(e, StepRecorded)]


def _check(poison: Poison, rejected: CommandRejected) -> None:
    assert poison.field_matches(rejected.field), str(rejected)
    assert rejected.rule == poison.rule, str(rejected)
    assert f"[{poison.rule}]" in str(rejected)
    # What an error shows never carries a control character back.
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in str(rejected))


@pytest.mark.parametrize("poison", POISONS, ids=str)
def test_execute_rejects_it_as_a_value_and_as_json_text(
    placement: Placement, poison: Poison
) -> None:
    app = placement.app
    before = app.store.max_notification_id() or 0
    for sent in (poison.build(placement), poison.json_text(placement)):
        with pytest.raises(CommandRejected) as rejected:
            app.execute(sent)
        _check(poison, rejected.value)
    assert app.store.max_notification_id() == before


def test_a_batch_with_poison_records_every_good_command_around_it(placement: Placement) -> None:
    app = placement.app
    first, second = good_steps(placement)
    third = placement.step("st-good-3", note="Sent as JSON text with a byte-order mark")
    items: list[Any] = [second]
    for poison in POISONS:
        items += [poison.build(placement), poison.json_text(placement)]
    items.append(with_bom(dumps(third).encode()))
    before = app.store.max_notification_id() or 0

    outcomes = list(app.execute_many(items, batch_size=7))

    assert len(outcomes) == len(items)
    assert isinstance(outcomes[0], CommandResult)
    assert isinstance(outcomes[-1], CommandResult)
    for index, poison in enumerate(POISONS):
        for outcome in outcomes[1 + 2 * index : 3 + 2 * index]:
            assert isinstance(outcome, CommandRejected), (poison, outcome)
            _check(poison, outcome)
    # Exactly the two good commands were written, with their texts as sent.
    assert app.store.max_notification_id() == before + 2
    assert _notes(app) == [*GOOD_NOTES, third["note"]]
    assert first["note"] == GOOD_NOTES[0]
