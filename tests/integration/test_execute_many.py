"""Importing commands in batches records exactly what sending them one by one records."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import msgspec

from peerlog import CommandRejected, CommandResult, PeerLog
from peerlog.cli.demo import placement
from peerlog.domain.pair import Pair
from tests.conftest import Store
from tests.support import Placement


def _commands() -> list[dict[str, Any]]:
    commands = list(placement(seed=3, start=date(2026, 3, 2), pairs=3, weeks=2))
    # Some that break rules, in the middle of the stream.
    bad = [
        {**commands[40], "command_id": "bad-1", "actor": "nobody"},
        {"command": "record_step", "command_id": "bad-2", "actor": "p01-a"},
        {**commands[60], "command_id": "bad-3", "pair_id": "p99"},
    ]
    return commands[:45] + bad[:2] + commands[45:70] + bad[2:] + commands[70:]


def _summary(outcomes: Iterable[CommandResult | CommandRejected]) -> list[tuple[Any, ...]]:
    return [
        ("rejected", o.rule)
        if isinstance(o, CommandRejected)
        else ("ok", o.repeated, len(o.events))
        for o in outcomes
    ]


def _recorded(app: PeerLog) -> list[tuple[str, int, str, str]]:
    return [
        (str(r.originator_id), r.originator_version, r.topic, r.state.decode()[:60])
        for r in app.store.select_records()
    ]


def test_batches_record_what_one_by_one_records(store: Store, tmp_path: Any) -> None:
    commands = _commands()
    batched = store.open()
    one_by_one = PeerLog({"PEERLOG_DATABASE_URL": f"sqlite:///{tmp_path / 'one.sqlite3'}"})
    try:
        outcomes = list(batched.execute_many(commands, batch_size=17))
        expected: list[CommandResult | CommandRejected] = []
        for command in commands:
            try:
                expected.append(one_by_one.execute(command))
            except CommandRejected as rejected:
                expected.append(rejected)
        assert _summary(outcomes) == _summary(expected)
        assert [r[:3] for r in _recorded(batched)] == [r[:3] for r in _recorded(one_by_one)]
        assert batched.verify().verified
        assert sum(isinstance(o, CommandRejected) for o in outcomes) == 3

        # Importing again changes nothing: every accepted command is recognised.
        head = batched.store.max_notification_id()
        again = list(batched.execute_many(commands, batch_size=50))
        assert batched.store.max_notification_id() == head
        assert all(o.repeated for o in again if isinstance(o, CommandResult))
        assert [o.events for o in again if isinstance(o, CommandResult)] == [
            o.events for o in outcomes if isinstance(o, CommandResult)
        ]
    finally:
        batched.close()
        one_by_one.close()


def test_the_same_command_twice_in_a_batch(app: PeerLog) -> None:
    p = Placement(app).seed()
    step = p.step("st1")
    outcomes = list(app.execute_many([step, step, {**step, "note": "Another note"}]))
    first, second, third = outcomes
    assert isinstance(first, CommandResult)
    assert isinstance(second, CommandResult)
    assert second.repeated
    assert second.events == first.events
    assert isinstance(third, CommandRejected)
    assert third.rule == "command_id_reused"


def test_a_batch_that_meets_another_writer_is_decided_again(store: Store) -> None:
    p = Placement(store.open()).seed()
    importer = p.app
    other = store.open()
    try:
        importer.execute(p.step("st1"))  # the importer now has pair p1 cached
        other.execute(p.step("st2"))  # another writer moves p1 on
        outcomes = list(importer.execute_many([p.step("st3"), p.step("st3b"), p.feedback("fb1")]))
        assert all(isinstance(o, CommandResult) and not o.repeated for o in outcomes)
        steps = [r.topic for r in importer.records("pair/p1")].count("StepRecorded")
        assert steps == 4
        assert importer.verify().verified
        # The batch changed the pair it held in place before it met the other writer:
        # what the importer decides on now is the record's pair, not that state.
        fresh = store.open()
        try:
            assert msgspec.to_builtins(importer.uow.load("pair/p1", Pair)) == (
                msgspec.to_builtins(fresh.uow.load("pair/p1", Pair))
            )
        finally:
            fresh.close()
    finally:
        other.close()
        importer.close()
