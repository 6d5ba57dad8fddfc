"""Importing commands in batches records exactly what sending them one by one records."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

import msgspec

from peerlog import CommandRejected, CommandResult, PeerLog
from peerlog.cli.demo import placement
from peerlog.domain.events import FeedbackGiven, ReflectionRecorded, StudentEnrolled
from peerlog.domain.pair import Pair
from peerlog.domain.vocabulary import course_stream, pair_stream
from tests.conftest import Store
from tests.support import COURSE, T0, Placement


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


def _newcomers(p: Placement, pairs: int) -> list[dict[str, Any]]:
    """Each pair two new students and a new supervisor (each named), with a session,
    feedback and a reflection whose texts are the pair's own."""
    at = (T0 + timedelta(hours=1)).isoformat()
    commands: list[dict[str, Any]] = []
    for n in range(pairs):
        a, b, sup, pair = f"n{n}-a", f"n{n}-b", f"n{n}-sup", f"q{n}"
        commands += [
            p.cmd("enroll_student", "coord", course_id=COURSE, student_id=a,
                  display_name=f"Student {n} A", occurred_at=at),
            p.cmd("enroll_student", "coord", course_id=COURSE, student_id=b,
                  display_name=f"Student {n} B", occurred_at=at),
            p.cmd("assign_supervisor", "coord", course_id=COURSE, supervisor_id=sup,
                  display_name=f"Supervisor {n}", occurred_at=at),
            p.cmd("form_pair", "coord", course_id=COURSE, pair_id=pair, students=[a, b],
                  supervisors=[sup], occurred_at=at),
            p.cmd("open_session", a, pair_id=pair, session_id="d1",
                  roles={a: "performer", b: "observer"}, occurred_at=at),
            p.feedback("fb1", b, pair_id=pair, giver=b, receiver=a, occurred_at=at,
                       strengths=f"Calm with patient {n}", improvements=f"Explain step {n}"),
            p.feedback("fb2", sup, pair_id=pair, giver=sup, receiver=b, source="supervisor",
                       occurred_at=at, strengths=f"Clear hand-over {n}",
                       improvements=f"Check the chart first, {n}"),
            p.reflection("rf1", a, pair_id=pair, authors=[a, b], mode="pair", occurred_at=at,
                         stages={"description": f"We changed dressing {n}.",
                                 "action_plan": f"Practise {n}\tagain"}),
        ]  # fmt: skip
    return commands


def test_a_batch_creates_the_keys_of_its_newcomers_at_once(store: Store) -> None:
    """The people a batch's texts are about get their keys in one insert for the batch
    (not one for each command naming someone new), and every text reads back as sent."""
    p = Placement(store.open()).seed()
    app = p.app
    commands = _newcomers(p, pairs=12)
    batch_size = 40
    inserts: list[int] = []
    insert = app.keys.store.insert

    def counted(wrapped: Any, *, record_keys: bytes | None) -> None:
        inserts.append(len(wrapped))
        insert(wrapped, record_keys=record_keys)

    try:
        app.keys.store.insert = counted  # type: ignore[method-assign]
        outcomes = list(app.execute_many(commands, batch_size=batch_size))
        app.keys.store.insert = insert  # type: ignore[method-assign]
        assert all(isinstance(o, CommandResult) and not o.repeated for o in outcomes)
        batches = -(-len(commands) // batch_size)
        assert sum(inserts) == 12 * 3  # every newcomer has a key
        assert len(inserts) <= batches, inserts
    finally:
        app.close()

    # What was sent reads back, from the keys in the store (a process of its own).
    fresh = store.open()
    try:
        sent = {c["command_id"]: c for c in commands}
        for n in range(12):
            history = fresh.history(pair_stream(f"q{n}"))
            texts = [e for e in history if isinstance(e, FeedbackGiven | ReflectionRecorded)]
            assert len(texts) == 3
            for event in texts:
                command = sent[event.command_id]
                if isinstance(event, FeedbackGiven):
                    assert (event.strengths, event.improvements) == (
                        command["strengths"],
                        command["improvements"],
                    )
                else:
                    assert event.stages == command["stages"]
        names = {
            e.student_id: e.display_name
            for e in fresh.history(course_stream(COURSE))
            if isinstance(e, StudentEnrolled)
        }
        assert names["n11-b"] == "Student 11 B"
    finally:
        fresh.close()
