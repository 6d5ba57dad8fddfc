"""Threads of one process writing through one application at once, as the server's
request threads do: no lock of the application's is held across a decision or an
append, so commands on different pairs are decided and committed side by side, and
commands on one pair race and retry. Every command is answered, recorded exactly once,
at gap-free positions in commit order; the read models a follower wrote meanwhile
equal a rebuild; a command sent twice at once is recorded once and answered
``repeated`` the other time."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from peerlog import CommandResult, PeerLog
from peerlog.projections import PROJECTIONS, Runner, StoreEvents, fold_all
from tests.conftest import Store
from tests.support import Placement

PAIRS = {"p1": ("s1", "s2"), "p2": ("s3", "s4"), "p3": ("s5", "s6")}
THREADS = 6
"""Two threads on each pair."""
PER_THREAD = 12
BATCH = 10


def _seed(store: Store) -> Placement:
    placement = Placement(store.open()).seed()
    placement.run(
        "form_pair",
        "coord",
        course_id="vfu-1",
        pair_id="p3",
        students=["s5", "s6"],
        supervisors=["sup1"],
    )
    for pair_id, session_id in (("p2", "d2"), ("p3", "d3")):
        first, second = PAIRS[pair_id]
        placement.run(
            "open_session",
            first,
            pair_id=pair_id,
            session_id=session_id,
            roles={first: "performer", second: "observer"},
        )
    return placement


def _step(pair_id: str, command_id: str) -> dict[str, Any]:
    first, second = PAIRS[pair_id]
    return {
        "command": "record_step",
        "command_id": command_id,
        "actor": first,
        "pair_id": pair_id,
        "session_id": {"p1": "d1", "p2": "d2", "p3": "d3"}[pair_id],
        "step_id": f"step-{command_id}",
        "kind": "performance",
        "performers": [first],
        "observers": [second],
        "goals": ["hygiene"],
    }


def _in_threads(count: int, work: Callable[[int], None]) -> None:
    """Run ``work(n)`` in ``count`` threads that start together; raise what any raised."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def run(n: int) -> None:
        try:
            barrier.wait()
            work(n)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


def test_threads_on_distinct_pairs_and_on_one_pair_through_one_application(
    writers_store: Store,
) -> None:
    placement = _seed(writers_store)
    app = placement.app
    follower = Runner(StoreEvents(app))
    stop = threading.Event()
    failed: list[BaseException] = []

    def follow() -> None:
        try:
            follower.run(follow=True, stop=stop)
        except BaseException as exc:  # reported below
            failed.append(exc)

    following = threading.Thread(target=follow)
    following.start()
    answers: dict[str, CommandResult] = {}
    lock = threading.Lock()
    try:

        def write(n: int) -> None:
            pair_id = sorted(PAIRS)[n % len(PAIRS)]
            if n == 0:
                # One thread imports a batch into p1 while the others write one by one.
                batch = [_step("p1", f"batch-{i}") for i in range(BATCH)]
                for outcome in app.execute_many(batch, batch_size=BATCH):
                    assert isinstance(outcome, CommandResult), outcome
                    with lock:
                        answers[outcome.command_id] = outcome
            for i in range(PER_THREAD):
                result = app.execute(_step(pair_id, f"t{n}-{i}"))
                with lock:
                    answers[result.command_id] = result

        _in_threads(THREADS, write)
    finally:
        stop.set()
        following.join()
    assert not failed, failed

    try:
        sent = {f"t{n}-{i}" for n in range(THREADS) for i in range(PER_THREAD)}
        sent |= {f"batch-{i}" for i in range(BATCH)}
        # Every command was answered as recorded now (none as a repeat of itself).
        assert set(answers) == sent
        assert not any(result.repeated for result in answers.values())

        # Positions are gap-free, and each stream's versions were committed in order.
        records = app.store.select_records()
        assert [r.id for r in records] == list(range(1, len(records) + 1))
        by_stream: dict[str, list[int]] = {}
        for record in records:
            by_stream.setdefault(str(record.originator_id), []).append(record.originator_version)
        for versions in by_stream.values():
            assert versions == list(range(1, len(versions) + 1))

        # Each answer names where its event is stored; each command was recorded once.
        where = {r.id: (str(r.originator_id), r.originator_version) for r in records}
        for command_id, result in answers.items():
            (event,) = result.events
            assert where[event.position] == (event.stream, event.version), command_id
            assert event.stream == f"pair/{_step_pair(command_id)}"
        steps = Counter(
            app.event_mapper.decode(r.topic, r.state).command_id
            for r in records
            if r.topic == "StepRecorded"
        )
        assert set(steps) == sent
        assert set(steps.values()) == {1}

        # The cached states are those the record folds to (none overwritten by an older).
        for pair_id in PAIRS:
            assert app.uow.pair(pair_id) == app.state_at(f"pair/{pair_id}", 10**6)

        # The read models the follower wrote meanwhile, caught up, equal a rebuild.
        follower.run()
        stored = {p.name: follower.store.load(p).snapshot() for p in PROJECTIONS}
        assert stored == {
            p.name: fold_all(StoreEvents(app), p).rows.snapshot() for p in PROJECTIONS
        }
        report = app.verify()
        assert report.verified, [p.describe() for p in report.problems]
    finally:
        follower.close()
        app.close()


def _step_pair(command_id: str) -> str:
    if command_id.startswith("batch-"):
        return "p1"
    writer = int(command_id[1:].split("-", maxsplit=1)[0])
    return sorted(PAIRS)[writer % len(PAIRS)]


def test_the_same_command_sent_twice_at_once_is_recorded_once(writers_store: Store) -> None:
    placement = _seed(writers_store)
    app = placement.app
    rounds = 8
    answers: list[list[CommandResult]] = [[] for _ in range(rounds)]
    lock = threading.Lock()
    try:

        def send(n: int) -> None:
            # Both threads send each round's command (one id, one payload) at once;
            # the rounds alternate between two pairs.
            for r in range(rounds):
                result = app.execute(_step("p1" if r % 2 else "p2", f"twice-{r}"))
                with lock:
                    answers[r].append(result)

        _in_threads(2, send)

        records = app.store.select_records()
        steps = Counter(
            app.event_mapper.decode(r.topic, r.state).command_id
            for r in records
            if r.topic == "StepRecorded"
        )
        for r, (first, second) in enumerate(answers):
            # One was recorded; the other answered with the first's result, as a repeat.
            assert sorted([first.repeated, second.repeated]) == [False, True], r
            assert first.events == second.events
            assert steps[f"twice-{r}"] == 1
        assert [r.id for r in records] == list(range(1, len(records) + 1))
    finally:
        app.close()


def test_a_command_sent_twice_at_once_from_two_applications(writers_store: Store) -> None:
    """The same from two applications (two servers' processes, in effect): the writers_store's
    unique command id decides, not anything in one process."""
    placement = _seed(writers_store)
    apps: list[PeerLog] = [placement.app, writers_store.open()]
    answers: list[CommandResult] = []
    lock = threading.Lock()
    try:

        def send(n: int) -> None:
            result = apps[n].execute(_step("p3", "from-both"))
            with lock:
                answers.append(result)

        _in_threads(2, send)
        assert sorted(a.repeated for a in answers) == [False, True]
        assert answers[0].events == answers[1].events
        steps = [
            r for r in placement.app.store.select_records("pair/p3") if r.topic == "StepRecorded"
        ]
        assert len(steps) == 1
    finally:
        for app in apps:
            app.close()
