"""Writers racing on one pair: the loser reloads, decides again and retries; no accepted
command is lost or recorded twice, and the hash chain still verifies."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from dataclasses import replace

import pytest

from peerlog import CommandRejected, PeerLog
from peerlog.domain.pair import Pair
from tests.conftest import Store
from tests.support import Placement

WRITERS = 8
COMMANDS_PER_WRITER = 25


def _step(writer: int, n: int) -> dict[str, object]:
    return {
        "command": "record_step",
        "command_id": f"w{writer}-{n}",
        "actor": "s1" if n % 2 else "s2",
        "pair_id": "p1",
        "session_id": "d1",
        "step_id": f"step-{writer}-{n}",
        "kind": "performance",
        "performers": ["s1"],
        "observers": ["s2"],
        "goals": ["hygiene"],
    }


def _write_in_a_process(env: dict[str, str], writer: int, count: int) -> list[str]:
    """One writer process: ``count`` steps into pair p1; the accepted command ids."""
    app = PeerLog(env)
    try:
        return [app.execute(_step(writer, n)).command_id for n in range(count)]
    finally:
        app.close()


def test_eight_processes_on_one_pair(writers_store: Store) -> None:
    """Eight processes record into one pair at once: each accepted command is recorded
    once, positions are gap-free and the chain verifies."""
    Placement(writers_store.open()).seed().app.close()
    context = multiprocessing.get_context("spawn")
    with context.Pool(WRITERS) as pool:
        results = pool.starmap(
            _write_in_a_process, [(writers_store.env, w, 10) for w in range(WRITERS)]
        )
    accepted = [command_id for ids in results for command_id in ids]
    assert len(accepted) == WRITERS * 10
    app = writers_store.open()
    try:
        _assert_each_recorded_once(app, accepted)
    finally:
        app.close()


def _race(store: Store, writers: int, per_writer: int, *, shared: PeerLog | None) -> list[str]:
    """Each writer records steps into pair p1 at once; returns the accepted command ids."""
    accepted: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(writers)

    def write(writer: int) -> None:
        app = shared or store.open()
        try:
            # Every writer has read the pair (and cached it) before anyone writes.
            app.execute(
                {
                    "command": "switch_roles",
                    "command_id": f"warm-{writer}",
                    "actor": "s1",
                    "pair_id": "p1",
                    "session_id": "d1",
                    "roles": {"s1": "performer", "s2": "observer"},
                }
            )
            barrier.wait()
            for n in range(per_writer):
                command_id = f"w{writer}-{n}"
                app.execute(
                    {
                        "command": "record_step",
                        "command_id": command_id,
                        "actor": "s1" if n % 2 else "s2",
                        "pair_id": "p1",
                        "session_id": "d1",
                        "step_id": f"step-{writer}-{n}",
                        "kind": "performance",
                        "performers": ["s1"],
                        "observers": ["s2"],
                        "goals": ["hygiene"],
                    }
                )
                with lock:
                    accepted.append(command_id)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            if shared is None:
                app.close()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return accepted


def _assert_each_recorded_once(app: PeerLog, accepted: list[str]) -> None:
    # Positions are gap-free: each one from 1 to the last is taken, once.
    positions = app.store.select_positions()
    assert positions == list(range(1, len(positions) + 1))
    records = app.records("pair/p1")
    assert [r.originator_version for r in records] == list(range(1, len(records) + 1))
    steps = [
        app.event_mapper.decode(r.topic, r.state) for r in records if r.topic == "StepRecorded"
    ]
    counted = Counter(e.command_id for e in steps)
    assert sorted(counted) == sorted(accepted)
    assert set(counted.values()) == {1}
    report = app.verify()
    assert report.verified, [p.describe() for p in report.problems]


@pytest.mark.postgres
@pytest.mark.parametrize("group_commit", ["off", "on"])
def test_eight_writers_on_one_pair_on_postgresql(postgres_store: Store, group_commit: str) -> None:
    postgres_store = replace(
        postgres_store, env={**postgres_store.env, "PEERLOG_GROUP_COMMIT": group_commit}
    )
    setup = Placement(postgres_store.open()).seed()
    setup.app.close()

    accepted = _race(postgres_store, WRITERS, COMMANDS_PER_WRITER, shared=None)

    assert len(accepted) == WRITERS * COMMANDS_PER_WRITER
    app = postgres_store.open()
    try:
        _assert_each_recorded_once(app, accepted)
    finally:
        app.close()


def test_writers_on_one_pair_each_with_their_own_application(writers_store: Store) -> None:
    setup = Placement(writers_store.open()).seed()
    setup.app.close()

    accepted = _race(writers_store, 4, 10, shared=None)

    assert len(accepted) == 40
    app = writers_store.open()
    try:
        _assert_each_recorded_once(app, accepted)
    finally:
        app.close()


def test_threads_sharing_one_application(writers_store: Store) -> None:
    app = Placement(writers_store.open()).seed().app
    try:
        accepted = _race(writers_store, 4, 10, shared=app)
        assert len(accepted) == 40
        _assert_each_recorded_once(app, accepted)
    finally:
        app.close()


def test_a_writer_with_a_stale_view_reloads_and_decides_again(store: Store) -> None:
    first = Placement(store.open()).seed()
    second = store.open()
    try:
        # Both have the pair cached at the same version.
        second.execute(first.step("st1"))
        first.app.execute(first.step("st2"))  # stale cache: conflict, reload, accepted

        # A command that was valid on the stale view but not on the fresh one is rejected.
        first.app.execute(first.cmd("close_session", "s1", pair_id="p1", session_id="d1"))
        second.execute(
            first.cmd("open_session", "s2", pair_id="p1", session_id="d2", roles={"s2": "observer"})
        )
        with pytest.raises(CommandRejected) as rejected:
            first.app.execute(
                first.cmd(
                    "open_session", "s1", pair_id="p1", session_id="d2", roles={"s1": "performer"}
                )
            )
        assert rejected.value.rule == "duplicate_session"

        pair = first.app.state_at("pair/p1", 1000)
        assert isinstance(pair, Pair)
        assert set(pair.entries) == {"st1", "st2"}
    finally:
        first.app.close()
        second.close()


def test_a_writer_in_its_turn_is_not_overtaken(store: Store) -> None:
    """A command that lost a race holds the pair until it is answered: another writer's
    command on that pair waits for it (and is then recorded after it), not beside it."""
    first = Placement(store.open()).seed()
    second = store.open()
    try:
        before = len(first.app.records("pair/p1"))
        done = threading.Event()
        outcome: list[object] = []

        def other_writer() -> None:
            try:
                outcome.append(second.execute(first.step("st-other", actor="s2")))
            except BaseException as exc:  # reported below
                outcome.append(exc)
            finally:
                done.set()

        with first.app.store.turn() as turn:
            assert turn.lost_race(["pair/p1", "course/vfu-1"])
            thread = threading.Thread(target=other_writer)
            thread.start()
            # The other writer waits for the turn: nothing of it is stored meanwhile.
            assert not done.wait(0.5)
            assert len(first.app.records("pair/p1")) == before
        assert done.wait(30)
        thread.join()
        (result,) = outcome
        assert not isinstance(result, BaseException), result
        records = first.app.records("pair/p1")
        assert len(records) == before + 1
        assert records[-1].topic == "StepRecorded"
    finally:
        first.app.close()
        second.close()
