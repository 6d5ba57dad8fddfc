"""Fixtures of the xAPI tests: a real learning record store, and the demo placement."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from peerlog import CommandRejected, PeerLog
from peerlog.cli.demo import placement
from tests.conftest import POSTGRES_URL, Store, _postgres_or_skip
from tests.xapi.lrs import Lrs, running_lrs

DEMO_START = date(2026, 3, 2)


@pytest.fixture(scope="session")
def xapi_database() -> Iterator[str]:
    """A PostgreSQL database of these tests' own (per test process). Forgetting a person
    waits for every older transaction of its database to end (see docs/privacy.md), so
    the erasures of these tests wait for nobody else's."""
    _postgres_or_skip()
    name = f"peerlog_xapi_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield urlsplit(POSTGRES_URL)._replace(path=f"/{name}").geturl()
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """As the suite's ``store``, with PostgreSQL schemas in :func:`xapi_database`."""
    if request.param == "sqlite":
        path = tmp_path / "record.sqlite3"
        yield Store("sqlite", {"PEERLOG_DATABASE_URL": f"sqlite:///{path}"}, path=path)
        return
    url = request.getfixturevalue("xapi_database")
    schema = f"test_{uuid.uuid4().hex[:12]}"
    yield Store("postgres", {"PEERLOG_DATABASE_URL": url, "PEERLOG_SCHEMA": schema}, schema=schema)
    with psycopg.connect(url, autocommit=True) as conn:
        for each in (schema, f"{schema}_read"):
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(each)))


@pytest.fixture
def lrs(tmp_path: Path) -> Iterator[Lrs]:
    with running_lrs(tmp_path / "lrs") as store:
        yield store


def seed_demo(app: PeerLog, **kwargs: int) -> int:
    """Record the demo placement (the one ``peerlog demo --start 2026-03-02`` seeds);
    returns the head of the record."""
    commands = list(placement(start=DEMO_START, **kwargs))
    rejected = [r for r in app.execute_many(commands) if isinstance(r, CommandRejected)]
    assert rejected == []
    head = app.store.max_notification_id()
    assert head is not None
    return head
