"""Multi-host PostgreSQL URLs: messages never show a password, and a URL that names
several servers connects to the kind it is for (the primary for writing, a standby for
reading) unless it says otherwise."""

from __future__ import annotations

import pytest

from peerlog.persistence.config import (
    ConfigurationError,
    describe_url,
    several_hosts,
    store_env,
    with_session_attrs,
)
from peerlog.persistence.postgres import failover_seconds, group_commit
from peerlog.projections.reads import wait_seconds

MULTI = "postgresql://peerlog:s3cret@db1:5432,db2:5433/peerlog?connect_timeout=5"


def test_a_multi_host_url_is_described_without_its_password() -> None:
    assert describe_url(MULTI) == "postgresql://peerlog@db1:5432,db2:5433/peerlog"
    assert "s3cret" not in describe_url(MULTI)
    assert describe_url("postgresql://db1/peerlog") == "postgresql://db1/peerlog"


def test_several_hosts_connect_to_the_primary_unless_the_url_says() -> None:
    assert several_hosts(MULTI)
    assert not several_hosts("postgresql://peerlog@db1:5432/peerlog")
    conninfo = store_env(MULTI)["PEERLOG_POSTGRES_CONNINFO"]
    assert conninfo.endswith("?connect_timeout=5&target_session_attrs=read-write")
    assert with_session_attrs(MULTI, "prefer-standby").endswith(
        "target_session_attrs=prefer-standby"
    )
    said = MULTI + "&target_session_attrs=any"
    assert with_session_attrs(said, "read-write") == said
    single = "postgresql://peerlog@db1/peerlog"
    assert store_env(single)["PEERLOG_POSTGRES_CONNINFO"] == single


def test_the_waits_are_checked() -> None:
    assert failover_seconds(None) == 30
    assert failover_seconds("2.5") == 2.5
    with pytest.raises(ConfigurationError, match="PEERLOG_FAILOVER_SECONDS is a number"):
        failover_seconds("soon")
    assert group_commit(None) is False
    assert group_commit("on") is True
    assert group_commit(" OFF ") is False
    with pytest.raises(ConfigurationError, match="PEERLOG_GROUP_COMMIT is on or off"):
        group_commit("yes")
    assert wait_seconds({}) == 1
    with pytest.raises(ConfigurationError, match="PEERLOG_READ_WAIT is a number"):
        wait_seconds({"PEERLOG_READ_WAIT": "-1"})
