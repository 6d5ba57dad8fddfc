"""Shared fixtures: every storage test runs on SQLite and on PostgreSQL.

PostgreSQL tests use the server named by ``PEERLOG_TEST_POSTGRES_URL``; each test gets
a schema of its own (random name, dropped afterwards), so tests keep apart in one
database. Without the variable those tests are skipped - unless
``PEERLOG_REQUIRE_POSTGRES`` is set, as CI sets it: then a missing or unreachable
server fails them instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from peerlog import PeerLog

# The tests read English unless they choose a language: a developer's Swedish or Danish
# locale does not change what they expect.
os.environ["PEERLOG_LANGUAGE"] = "en"

POSTGRES_URL = os.environ.get("PEERLOG_TEST_POSTGRES_URL", "")
REQUIRE_POSTGRES = os.environ.get("PEERLOG_REQUIRE_POSTGRES", "") not in ("", "0")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and (
            callspec.params.get("store") == "postgres"
            or str(callspec.params.get("writers_store", "")).startswith("postgres")
        ):
            item.add_marker(pytest.mark.postgres)


@dataclass
class Store:
    """Where a test's record lives."""

    kind: str
    env: dict[str, str]
    schema: str = ""
    path: Path | None = None
    url: str = ""
    """The PostgreSQL database, when it is not the shared test database."""

    def open(self, **kwargs: object) -> PeerLog:
        return PeerLog(self.env, **kwargs)  # type: ignore[arg-type]

    def connect(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.url or POSTGRES_URL, autocommit=True)

    def execute_raw(
        self, statement: str, params: tuple[object, ...] = ()
    ) -> list[tuple[object, ...]]:
        """Run SQL on the store directly, behind peerlog's back (to tamper, or to look)."""
        if self.kind == "sqlite":
            import sqlite3

            assert self.path is not None
            lite = sqlite3.connect(self.path, isolation_level=None)
            try:
                return lite.execute(statement.replace("%s", "?"), params).fetchall()
            finally:
                lite.close()
        with self.connect() as conn:
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
            cursor = conn.execute(statement.encode(), params)
            return cursor.fetchall() if cursor.description else []


def drop_schemas(schema: str) -> None:
    """Drop a test's schema and the schema of its read models."""
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        for name in (schema, f"{schema}_read"):
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


def postgres_available() -> str | None:
    """None if the test server answers, else why not."""
    if not POSTGRES_URL:
        return "PEERLOG_TEST_POSTGRES_URL is not set"
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"cannot reach {POSTGRES_URL}: {exc}"
    return None


def _postgres_or_skip() -> None:
    problem = postgres_available()
    if problem is not None:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is required here but {problem}")
        pytest.skip(problem)


def _a_store(kind: str, tmp_path: Path, **settings: str) -> Iterator[Store]:
    """An empty record of the ``kind`` (``sqlite`` or ``postgres``) with extra settings;
    a PostgreSQL schema is dropped afterwards."""
    if kind == "sqlite":
        path = tmp_path / "record.sqlite3"
        yield Store("sqlite", {"PEERLOG_DATABASE_URL": f"sqlite:///{path}", **settings}, path=path)
        return
    _postgres_or_skip()
    schema = f"test_{uuid.uuid4().hex[:12]}"
    env = {"PEERLOG_DATABASE_URL": POSTGRES_URL, "PEERLOG_SCHEMA": schema, **settings}
    yield Store("postgres", env, schema=schema)
    drop_schemas(schema)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    yield from _a_store(request.param, tmp_path)


@pytest.fixture(params=["sqlite", "postgres", "postgres-grouped"])
def writers_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A store for races of concurrent writers: SQLite, PostgreSQL with each command
    committed alone (the default) and PostgreSQL with group commit on."""
    if request.param == "postgres-grouped":
        yield from _a_store("postgres", tmp_path, PEERLOG_GROUP_COMMIT="on")
    else:
        yield from _a_store(request.param, tmp_path)


@pytest.fixture
def postgres_store(tmp_path: Path) -> Iterator[Store]:
    """A PostgreSQL store only, for what only PostgreSQL can show (many writers at once)."""
    _postgres_or_skip()
    schema = f"test_{uuid.uuid4().hex[:12]}"
    yield Store(
        "postgres",
        {"PEERLOG_DATABASE_URL": POSTGRES_URL, "PEERLOG_SCHEMA": schema},
        schema=schema,
    )
    drop_schemas(schema)


@contextmanager
def own_database() -> Iterator[Store]:
    """A PostgreSQL store in a database of its own on the test server, dropped after.

    For what depends on every session of a database (an erasure waits until none holds
    a snapshot from before it): the shared test database has other suites' readers."""
    _postgres_or_skip()
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = urlsplit(POSTGRES_URL)._replace(path=f"/{name}").geturl()
    try:
        yield Store("postgres", {"PEERLOG_DATABASE_URL": url, "PEERLOG_SCHEMA": "peerlog"},
                    schema="peerlog", url=url)  # fmt: skip
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def app(store: Store) -> Iterator[PeerLog]:
    peerlog = store.open()
    yield peerlog
    peerlog.close()


OpenApp = Callable[..., PeerLog]


_skipped_postgres: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and "postgres" in report.keywords:
        _skipped_postgres.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    del exitstatus
    if REQUIRE_POSTGRES and _skipped_postgres:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(
            f"\n{len(_skipped_postgres)} PostgreSQL test(s) were skipped, but PostgreSQL is required:"
        )
        for nodeid in _skipped_postgres:
            print(f"  {nodeid}")


@pytest.fixture(autouse=True, scope="session")
def _master_key_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests keep away from the user's own master key and checkpoint key: key files
    per test session (processes a test starts inherit them)."""
    patch = pytest.MonkeyPatch()
    keys = tmp_path_factory.mktemp("keys")
    if not os.environ.get("PEERLOG_MASTER_KEY"):
        patch.setenv("PEERLOG_MASTER_KEY_FILE", str(keys / "master.key"))
    patch.delenv("PEERLOG_CHECKPOINT_KEY", raising=False)
    patch.setenv("PEERLOG_CHECKPOINT_KEY_FILE", str(keys / "checkpoint.key"))
    patch.setenv("PEERLOG_CHECKPOINT_ORIGIN", "tests.peerlog.example/record")
    yield
    patch.undo()
