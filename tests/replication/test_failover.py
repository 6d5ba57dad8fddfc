"""Failover under load, by plain promotion: HTTP clients record commands through
``peerlog serve`` while the primary's postmaster is killed with SIGKILL and its
synchronous standby is promoted (``pg_ctl promote``).

The server's URL names both servers (libpq's multi-host form); nothing tells it of the
failover. Each client sends commands one after another and, when one fails (the server
answers 503, or the connection breaks), sends the same command again - with the same
``command_id`` - until it is answered, within a bounded time. Afterwards, on the new
primary: every command a client saw acknowledged is in the record exactly once, at the
position it was told; positions are gap-free; the hash chains verify, and so does the
record against a checkpoint signed before the failover; the read models the server kept
equal a rebuild; and every acknowledged command sent again is answered as repeated,
with its first result. The second standby follows the new primary.

The pause the writers saw is written to ``failover.json`` in the test's folder and
printed (``pytest -s``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.replication.clusters import current_lsn
from tests.replication.conftest import Replicated
from tests.replication.load import schema_env, through_failover

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_clients_lose_nothing_when_the_primary_is_killed_and_the_standby_promoted(
    replicated: Replicated, tmp_path: Path
) -> None:
    primary, s1, s2 = replicated.primary, replicated.s1, replicated.s2
    # No target_session_attrs: peerlog adds read-write for a multi-host URL.
    hosts = f"127.0.0.1:{primary.port},127.0.0.1:{s1.port}"
    env = schema_env(f"postgresql://postgres@{hosts}/peerlog?connect_timeout=2")

    def fail() -> None:
        primary.kill()
        s1.promote()

    report = through_failover(env, tmp_path, fail)
    assert report["acknowledged"] > 0
    # The second standby follows the new primary, as its synchronous standby.
    s2.wait_for_replay(current_lsn(s1))
    assert s1.sql("SELECT sync_state FROM pg_stat_replication WHERE application_name = 's2'") == [
        ("sync",)
    ]
