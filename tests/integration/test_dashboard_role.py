"""On PostgreSQL a dashboard role reads the read models and nothing else."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from peerlog.projections import Runner, StoreEvents
from peerlog.projections.store import PostgresReadStore
from tests.conftest import POSTGRES_URL, Store
from tests.support import Placement


@pytest.fixture
def role() -> Iterator[str]:
    name = f"dashboard_{uuid.uuid4().hex[:8]}"
    yield name
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


@pytest.mark.postgres
def test_the_dashboard_role_reads_read_models_only(postgres_store: Store, role: str) -> None:
    placement = Placement(postgres_store.open()).seed()
    app = placement.app
    app.execute(placement.step("st1"))
    runner = Runner(StoreEvents(app))
    try:
        runner.run()
        assert isinstance(runner.store, PostgresReadStore)
        runner.store.grant_reader(role)
        runner.rebuild()  # tables created after the grant are readable too
    finally:
        runner.close()
        app.close()
    store, read = postgres_store.schema, f"{postgres_store.schema}_read"

    def as_dashboard(statement: str) -> list[tuple[object, ...]]:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
            cursor = conn.execute(statement.format(store=store, read=read).encode())
            return cursor.fetchall() if cursor.description else []

    rows = as_dashboard("SELECT performer FROM \"{read}\".participation WHERE student_id = 's1'")
    assert rows == [(1,)]
    assert as_dashboard('SELECT count(*) FROM "{read}".progression') == [(18,)]
    for forbidden in (
        'SELECT count(*) FROM "{store}".events',
        'SELECT count(*) FROM "{store}".snapshots',
        'DELETE FROM "{store}".events',
        'UPDATE "{read}".participation SET performer = 99',
        "INSERT INTO \"{read}\".projection_tracking VALUES ('x', 0, 1, NULL)",
        'DROP TABLE "{read}".progression',
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            as_dashboard(forbidden)
