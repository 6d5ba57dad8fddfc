"""Long pair streams load from a snapshot plus the events after it, to the same state."""

from __future__ import annotations

from peerlog import PeerLog
from peerlog.domain.pair import Pair
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
