"""Long pair streams load from a snapshot plus the events after it, to the same state."""

from __future__ import annotations

import pytest

from peerlog import PeerLog
from peerlog.domain.pair import Pair
from peerlog.persistence.config import ConfigurationError
from tests.conftest import Store
from tests.support import Placement


def test_a_long_stream_is_snapshotted_and_loads_to_the_same_state(store: Store) -> None:
    env = {**store.env, "PEERLOG_SNAPSHOT_INTERVAL": "10"}
    placement = Placement(PeerLog(env)).seed()
    for n in range(25):
        placement.app.execute(placement.step(f"st{n}", actor="s1" if n % 2 else "s2"))
    placement.run("retract_entry", "sup1", pair_id="p1", entry_id="st3", reason="Duplicate")
    placement.app.close()

    fresh = PeerLog(env)
    try:
        snapshots = fresh.snapshot_recorder.select_events("pair/p1", desc=True, limit=1)
        assert [s.originator_version for s in snapshots] == [20]
        loaded = fresh._load("pair/p1", Pair)
        replayed = fresh.state_at("pair/p1", 10_000)
        assert loaded == replayed
        assert loaded is not None
        assert loaded.version == 28
        assert loaded.entries["st3"].retracted
    finally:
        fresh.close()


def test_a_state_cache_smaller_than_the_busy_pairs_gives_the_same_record(store: Store) -> None:
    # Two pairs written in turn through a cache of one state: each command reloads its
    # pair (from a snapshot and the events after it) and decides on the same state.
    env = {**store.env, "PEERLOG_STATE_CACHE_SIZE": "1", "PEERLOG_SNAPSHOT_INTERVAL": "5"}
    app = PeerLog(env)
    try:
        assert app.state_cache_size == 1
        placement = Placement(app).seed()
        placement.run(
            "open_session",
            "s3",
            pair_id="p2",
            session_id="d2",
            roles={"s3": "performer", "s4": "observer"},
        )
        for n in range(12):
            if n % 2:
                placement.app.execute(placement.step(f"st{n}"))
            else:
                placement.app.execute(
                    placement.step(
                        f"st{n}",
                        actor="s3",
                        pair_id="p2",
                        session_id="d2",
                        performers=["s3"],
                        observers=["s4"],
                    )
                )
        for pair in ("p1", "p2"):
            loaded = app._load(f"pair/{pair}", Pair)
            assert loaded == app.state_at(f"pair/{pair}", 10_000)
            assert loaded is not None
            assert len(loaded.entries) == 6
        assert app.verify().verified
    finally:
        app.close()


@pytest.mark.parametrize("name", ["PEERLOG_STATE_CACHE_SIZE", "PEERLOG_SNAPSHOT_INTERVAL"])
@pytest.mark.parametrize("value", ["0", "-3", "many", "2.5"])
def test_a_wrong_cache_size_or_snapshot_interval_is_a_clear_error(
    store: Store, name: str, value: str
) -> None:
    with pytest.raises(ConfigurationError, match=f"{name} is a whole number above zero"):
        PeerLog({**store.env, name: value})
