"""Failover under load with pg_auto_failover (Debian's postgresql-15-auto-failover): a
monitor and three nodes, one primary and two standbys, of which the tool makes one a
synchronous standby (``number_sync_standbys`` 1). The primary's machine is "lost":
its ``pg_autoctl`` service and its postmaster are killed with SIGKILL at once, and the
monitor promotes a standby by itself. The same clients and checks as the plain
promotion's test (tests/replication/load.py), on the URL ``pg_autoctl show uri`` gives.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.replication.auto_failover import Formation, formation, pg_autoctl
from tests.replication.clusters import REQUIRE, wait_for
from tests.replication.conftest import clusters_or_skip
from tests.replication.load import schema_env, through_failover

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def auto() -> Iterator[Formation]:
    clusters_or_skip()
    if pg_autoctl() is None:
        problem = "pg_autoctl is not installed (Debian: postgresql-15-auto-failover)"
        if REQUIRE:
            pytest.fail(f"the replication tests are required here but {problem}")
        pytest.skip(f"{problem} (set PEERLOG_REQUIRE_REPLICATION to fail instead)")
    with formation(3) as made:
        yield made


def test_clients_lose_nothing_when_pg_auto_failover_promotes_a_standby(
    auto: Formation, tmp_path: Path
) -> None:
    uri = auto.uri()
    assert "target_session_attrs=read-write" in uri
    # The tool's URL names every node; peerlog connects as the database's owner.
    url = uri.replace("postgres://", "postgresql://postgres@", 1) + "&connect_timeout=2"
    old = auto.primary()
    # The tool keeps one of the two standbys confirming every commit.
    assert str(old.sql("SHOW synchronous_standby_names")[0][0]).startswith("ANY 1 (")

    def fail() -> None:
        old.kill()
        wait_for(
            lambda: any(
                state in {"primary", "wait_primary"}
                for name, state in auto.states().items()
                if name != old.name
            ),
            "the monitor to promote a standby",
            120,
        )

    report = through_failover(schema_env(url), tmp_path, fail)
    assert report["acknowledged"] > 0
