"""``peerlog verify``: exit 0 on an untouched record; exit 1 naming the first bad event."""

from __future__ import annotations

import json
import re

import pytest

from peerlog import PeerLog
from tests.cli.conftest import Cli
from tests.conftest import Store
from tests.support import Placement


@pytest.fixture
def placement(app: PeerLog) -> Placement:
    p = Placement(app).seed()
    for n in range(1, 4):
        p.app.execute(p.step(f"st{n}"))
    return p


def test_an_untouched_record_verifies(peerlog: Cli, placement: Placement) -> None:
    head = placement.app.store.max_notification_id()
    out = peerlog.ok("verify")
    assert out.splitlines()[0] == (
        f"verified: {head} events in 3 streams, hash chains and command log intact"
    )
    assert re.fullmatch(r"digest: [0-9a-f]{64}", out.splitlines()[1])
    assert peerlog.ok("verify", "--pair", "p1").startswith(
        "verified: pair p1: 5 events, hash chain intact\n"
    )


def test_a_changed_event_fails_and_is_named(
    peerlog: Cli, placement: Placement, store: Store
) -> None:
    (position,) = store.execute_raw(
        "SELECT position FROM events WHERE originator_id = %s AND originator_version = %s",
        ("pair/p1", 4),
    )[0]
    state = store.execute_raw("SELECT state FROM events WHERE position = %s", (position,))[0][0]
    assert isinstance(state, bytes | memoryview)
    forged = bytes(state).replace(b"performance", b"preparation")
    store.execute_raw("UPDATE events SET state = %s WHERE position = %s", (forged, position))
    del placement

    for args in (("verify",), ("verify", "--pair", "p1")):
        result = peerlog(*args)
        assert result.exit_code == 1
        lines = result.stdout.splitlines()
        assert lines[0] == "NOT VERIFIED: 1 problem found"
        assert lines[1].startswith(f"first bad event: pair/p1@4 (position {position}): ")
        assert "does not match its hash link" in lines[1]
    report = json.loads(peerlog("verify", "--format", "json").stdout)
    assert report["verified"] is False
    assert report["first_problem"].startswith("pair/p1@4")


def test_an_unknown_pair(peerlog: Cli, placement: Placement) -> None:
    del placement
    result = peerlog("verify", "--pair", "p9")
    assert result.exit_code == 1
    assert result.stderr == "Error: pair 'p9' is not in the record\n"
