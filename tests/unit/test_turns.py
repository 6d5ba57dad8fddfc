"""In-process turns at pairs: one thread at a time holds a pair's turn, and threads
taking several turns at once never wait on each other for ever."""

from __future__ import annotations

import random
import threading
import time

from peerlog.unit_of_work import PairTurns

TIMEOUT = 60.0
"""Seconds a thread may take before the test calls it stuck (a deadlock)."""


def test_threads_holding_overlapping_pairs_never_share_one_or_deadlock() -> None:
    turns = PairTurns()
    pairs = [f"pair/p{n}" for n in range(8)]
    holders: dict[str, threading.Thread] = {}
    guard = threading.Lock()
    clashes: list[str] = []
    failures: list[BaseException] = []
    rounds = 300

    def work(seed: int) -> None:
        draw = random.Random(seed)
        me = threading.current_thread()
        try:
            for _ in range(rounds):
                # Given unsorted, sometimes with the same pair twice.
                wanted = draw.sample(pairs, draw.randint(1, 4)) + draw.sample(pairs, 1)
                with turns.hold_all(wanted):
                    with guard:
                        clashes.extend(p for p in wanted if holders.setdefault(p, me) is not me)
                    assert set(wanted) <= turns.mine()
                    time.sleep(0)  # let the other threads run while these turns are held
                    # A turn taken again inside one held already is the same turn.
                    with turns.hold(wanted[0]):
                        pass
                    assert wanted[0] in turns.mine()
                    with guard:
                        for pair in set(wanted):
                            if holders.get(pair) is me:
                                del holders[pair]
                assert not turns.mine()
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(seed,), daemon=True) for seed in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not [t for t in threads if t.is_alive()], "threads waiting on each other's turns"
    assert not failures
    assert not clashes, f"held by two threads at once: {sorted(set(clashes))}"


class _WatchedCondition(threading.Condition):
    """A condition that tells when a thread starts waiting on it."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        self.waiting.set()
        return super().wait(timeout)


def test_a_thread_waits_for_a_held_pair_and_goes_on_once_it_is_given_back() -> None:
    turns = PairTurns()
    watched = turns._cond = _WatchedCondition()
    held = threading.Event()
    release = threading.Event()
    got_them = threading.Event()
    order: list[str] = []

    def first() -> None:
        with turns.hold("pair/p2"):
            held.set()
            assert release.wait(TIMEOUT)
            order.append("first gives back p2")

    def second() -> None:
        with turns.hold_all(["pair/p3", "pair/p1", "pair/p2"]):
            order.append("second holds p1, p2, p3")
            got_them.set()

    one = threading.Thread(target=first, daemon=True)
    one.start()
    assert held.wait(TIMEOUT)
    two = threading.Thread(target=second, daemon=True)
    two.start()
    # The second thread waits for p2, having taken p1 (named before it) but not p3.
    assert watched.waiting.wait(TIMEOUT)
    assert not got_them.is_set()
    with watched:
        assert turns._held == {"pair/p1", "pair/p2"}
    release.set()
    assert got_them.wait(TIMEOUT)
    one.join(TIMEOUT)
    two.join(TIMEOUT)
    assert not one.is_alive()
    assert not two.is_alive()
    assert order == ["first gives back p2", "second holds p1, p2, p3"]
    # Everything was given back together.
    with watched:
        assert not turns._held
