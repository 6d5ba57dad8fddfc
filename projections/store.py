"""Where read models live: plain SQL tables, beside the event store.

On SQLite they are tables in the same file; on PostgreSQL they live in their own schema
(``<schema>_read``, e.g. ``peerlog_read``), so that a dashboard role can be given the
read models and nothing else. A projection's changed rows and its tracking position are
written in one transaction; a runner that follows the record writes every projection's
changes of one pass in one transaction (:meth:`ReadStore.flush_all`).
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any, ClassVar, Final

import psycopg
from eventsourcing.persistence import IntegrityError
from psycopg import sql

from peerlog.persistence.postgres import PostgresDatastore, PostgresEventRecorder, lock_key
from peerlog.persistence.sqlite import SQLiteDatastore
from peerlog.projections.base import Projection
from peerlog.projections.tables import (
    SQL_TYPES,
    R,
    Rows,
    Table,
    from_sql,
    iter_rows_sql,
    row_from_sql,
    to_sql,
)

TRACKING: Final = "projection_tracking"
FRESH: Final = "__rebuild"
"""The suffix of the tables a rebuild writes before it switches them in."""
ROWS_PER_WRITE: Final = 10_000
"""How many rows of a rebuild one SQLite write transaction adds to the fresh tables."""
POLL_SECONDS: Final = 0.2


@dataclass(frozen=True)
class Tracked:
    """How far a projection's stored read model has got."""

    position: int
    version: int
    updated_at: datetime | None


class ReadStore(ABC):
    """The SQL side of the read models."""

    dialect: ClassVar[str]

    @abstractmethod
    def ensure(self, projections: Sequence[type[Projection]]) -> None:
        """Create the tracking table and any missing read-model tables."""

    @abstractmethod
    def tracking(self) -> dict[str, Tracked]:
        """Every projection's stored position and version."""

    @abstractmethod
    def load(self, projection: type[Projection]) -> Rows:
        """All rows of a projection's tables."""

    def flush(
        self,
        projection: Projection,
        old: int,
        new: int,
        *,
        before_commit: Callable[[], None] | None = None,
    ) -> None:
        """Write the rows changed since the last flush and move the position from
        ``old`` to ``new``, in one transaction; fail if the stored position is not ``old``
        (another runner got there first)."""
        self.flush_all([(projection, old, new)], before_commit=before_commit)

    @abstractmethod
    def flush_all(
        self,
        moves: Sequence[tuple[Projection, int, int]],
        *,
        before_commit: Callable[[], None] | None = None,
    ) -> None:
        """:meth:`flush` for several projections ((projection, old, new) each), all in
        one transaction (one durable commit); fail, writing nothing, if any stored
        position is not its ``old``."""

    @abstractmethod
    def start_fresh(self, projection: type[Projection]) -> None:
        """Create empty fresh tables (``<table>__rebuild``) for a rebuild of the
        projection, dropping any a failed rebuild left; the live tables are untouched."""

    @abstractmethod
    def add_rows(self, projection: Projection) -> None:
        """Write all rows of a (part of a) rebuilt projection into its fresh tables, in
        short transactions; the live tables are untouched."""

    @abstractmethod
    def switch(self, projection: type[Projection], position: int) -> None:
        """Switch the live tables to the fresh ones and set the projection's position
        and version, in one short transaction."""

    @abstractmethod
    def read(self, table: Table[R], **where: Any) -> list[R]:
        """Rows of a read-model table (optionally those whose columns equal values)."""

    @abstractmethod
    @contextmanager
    def lock(self, name: str, *, wait: bool) -> Iterator[bool]:
        """Hold the projection's lock (yields False if another process holds it and
        ``wait`` is false)."""

    @contextmanager
    def locks(self, names: Sequence[str]) -> Iterator[None]:
        """Hold several projections' locks (waiting for each, in the order given)."""
        with ExitStack() as held:
            for name in names:
                held.enter_context(self.lock(name, wait=True))
            yield

    @abstractmethod
    def wait_for_events(self, timeout: float, stop: threading.Event | None) -> None:
        """Return when new events may have been recorded (or after ``timeout``); the
        notices of events recorded meanwhile are taken in at once, so that what was
        recorded during a flush is answered by one pass."""

    def close(self) -> None:  # noqa: B027 - most stores hold nothing to release
        """Release what the store holds."""


def _sqlite_now() -> str:
    return str(to_sql(datetime.now(UTC), "timestamp", "sqlite"))


class SQLiteReadStore(ReadStore):
    """Read models as tables in the SQLite file of the record."""

    dialect: ClassVar[str] = "sqlite"

    def __init__(self, datastore: SQLiteDatastore) -> None:
        self.datastore = datastore

    @staticmethod
    def _create(table: Table[Any], name: str) -> str:
        columns = ", ".join(
            f"{c.name} {SQL_TYPES['sqlite'][c.type]}" + ("" if c.nullable else " NOT NULL")
            for c in table.columns
        )
        key = ", ".join(table.column_names[: table.key])
        return f"CREATE TABLE IF NOT EXISTS {name} ({columns}, PRIMARY KEY ({key}))"

    def ensure(self, projections: Sequence[type[Projection]]) -> None:
        with self.datastore.transaction(write=True) as conn:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {TRACKING} (name TEXT PRIMARY KEY, "
                "position INTEGER NOT NULL, version INTEGER NOT NULL, updated_at TEXT)"
            )
            for projection in projections:
                for table in projection.tables:
                    conn.execute(self._create(table, table.name))
                conn.execute(
                    f"INSERT INTO {TRACKING} VALUES (?, 0, ?, NULL) ON CONFLICT DO NOTHING",  # noqa: S608
                    (projection.name, projection.version),
                )

    def tracking(self) -> dict[str, Tracked]:
        with self.datastore.transaction(write=False) as conn:
            statement = f"SELECT name, position, version, updated_at FROM {TRACKING}"  # noqa: S608
            rows = conn.execute(statement).fetchall()
        return {r[0]: Tracked(r[1], r[2], from_sql(r[3], "timestamp")) for r in rows}

    def load(self, projection: type[Projection]) -> Rows:
        rows = Rows(projection.tables)
        with self.datastore.transaction(write=False) as conn:
            for table in projection.tables:
                kinds = [c.type for c in table.columns]
                data = rows.data[table.name]
                make, key = table.row, table.key
                for stored in conn.execute(f"SELECT * FROM {table.name}"):  # noqa: S608
                    values = [from_sql(v, k) for v, k in zip(stored, kinds, strict=True)]
                    data[tuple(values[:key])] = make(*values)
        return rows

    def flush_all(
        self,
        moves: Sequence[tuple[Projection, int, int]],
        *,
        before_commit: Callable[[], None] | None = None,
    ) -> None:
        with self.datastore.transaction(write=True) as conn:
            for projection, old, new in moves:
                self.write_changes(conn, projection)
                moved = conn.execute(
                    f"UPDATE {TRACKING} SET position = ?, version = ?, updated_at = ? "  # noqa: S608
                    "WHERE name = ? AND position = ?",
                    (new, projection.version, _sqlite_now(), projection.name, old),
                ).rowcount
                if moved != 1:
                    raise _moved_on(projection, old)
            if before_commit is not None:
                before_commit()

    def write_changes(
        self, conn: sqlite3.Connection, projection: Projection, *, suffix: str = ""
    ) -> None:
        """Write the rows changed since the last flush, in the caller's transaction."""
        rows = projection.rows
        for table in projection.tables:
            name = table.name + suffix
            keys = table.column_names[: table.key]
            removed = rows.removed[table.name]
            if removed:
                where = " AND ".join(f"{k} = ?" for k in keys)
                conn.executemany(f"DELETE FROM {name} WHERE {where}", list(removed))  # noqa: S608
            changed = rows.changed[table.name]
            if changed:
                data = rows.data[table.name]
                conn.executemany(
                    _upsert(table, name, "?"),
                    iter_rows_sql(table, (data[k] for k in changed), "sqlite"),
                )
        rows.clear_changes()

    def start_fresh(self, projection: type[Projection]) -> None:
        with self.datastore.transaction(write=True) as conn:
            for table in projection.tables:
                conn.execute(f"DROP TABLE IF EXISTS {table.name}{FRESH}")
                conn.execute(self._create(table, table.name + FRESH))

    def add_rows(self, projection: Projection) -> None:
        # The record's writers share the file: a write transaction of its own for each
        # few thousand rows, never one as long as a whole part.
        for table in projection.tables:
            insert = _insert(table, table.name + FRESH, "?")
            rows = iter_rows_sql(table, projection.rows.all(table), "sqlite")
            while chunk := list(islice(rows, ROWS_PER_WRITE)):
                with self.datastore.transaction(write=True) as conn:
                    conn.executemany(insert, chunk)
        projection.rows.clear_changes()

    def switch(self, projection: type[Projection], position: int) -> None:
        with self.datastore.transaction(write=True) as conn:
            for table in projection.tables:
                conn.execute(f"DROP TABLE IF EXISTS {table.name}")
                conn.execute(f"ALTER TABLE {table.name}{FRESH} RENAME TO {table.name}")
            conn.execute(
                f"INSERT INTO {TRACKING} VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "  # noqa: S608
                "position = excluded.position, version = excluded.version, "
                "updated_at = excluded.updated_at",
                (projection.name, position, projection.version, _sqlite_now()),
            )

    def read(self, table: Table[R], **where: Any) -> list[R]:
        statement = f"SELECT * FROM {table.name}"  # noqa: S608
        params: list[Any] = []
        if where:
            kinds = {c.name: c.type for c in table.columns}
            clauses = []
            for column, value in where.items():
                if column not in kinds:
                    msg = f"{table.name} has no column {column}"
                    raise ValueError(msg)
                if isinstance(value, list | tuple | set | frozenset):
                    clauses.append(f"{column} IN (SELECT value FROM json_each(?))")  # noqa: S608
                    params.append(json.dumps([to_sql(v, kinds[column], "sqlite") for v in value]))
                else:
                    clauses.append(f"{column} = ?")
                    params.append(to_sql(value, kinds[column], "sqlite"))
            statement += " WHERE " + " AND ".join(clauses)
        with self.datastore.transaction(write=False) as conn:
            rows = conn.execute(statement, params).fetchall()
        return [row_from_sql(table, r) for r in rows]

    @contextmanager
    def lock(self, name: str, *, wait: bool) -> Iterator[bool]:
        path = Path(f"{self.datastore.path}.projection-{name}.lock")
        with path.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def wait_for_events(self, timeout: float, stop: threading.Event | None) -> None:
        (stop or threading.Event()).wait(min(timeout, POLL_SECONDS))


def _upsert(table: Table[Any], name: str, mark: str) -> str:
    keys = table.column_names[: table.key]
    others = table.column_names[table.key :]
    update = ", ".join(f"{c} = excluded.{c}" for c in others)
    return f"{_insert(table, name, mark)} ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {update}"


def _insert(table: Table[Any], name: str, mark: str) -> str:
    columns = ", ".join(table.column_names)
    marks = ", ".join(mark for _ in table.columns)
    return f"INSERT INTO {name} ({columns}) VALUES ({marks})"  # noqa: S608


class PostgresReadStore(ReadStore):
    """Read models in their own PostgreSQL schema."""

    dialect: ClassVar[str] = "postgres"

    def __init__(self, datastore: PostgresDatastore, channel: str) -> None:
        self.datastore = datastore
        self.schema = f"{datastore.schema}_read"
        self.channel = channel
        self._listener: psycopg.Connection[Any] | None = None
        self._statements: dict[tuple[str, str], str] = {}

    def name(self, table: str) -> sql.Composed:
        return sql.SQL("{}.{}").format(sql.Identifier(self.schema), sql.Identifier(table))

    def _create(self, table: Table[Any], name: str) -> sql.Composed:
        columns = sql.SQL(", ").join(
            sql.SQL("{} {}{}").format(
                sql.Identifier(c.name),
                sql.SQL(SQL_TYPES["postgres"][c.type]),
                sql.SQL("" if c.nullable else " NOT NULL"),
            )
            for c in table.columns
        )
        keys = sql.SQL(", ").join(sql.Identifier(k) for k in table.column_names[: table.key])
        return sql.SQL("CREATE TABLE IF NOT EXISTS {} ({}, PRIMARY KEY ({}))").format(
            self.name(name), columns, keys
        )

    def ensure(self, projections: Sequence[type[Projection]]) -> None:
        if self.datastore.standby:
            return  # a standby's read models are the primary's, replicated
        with self.datastore.transaction() as conn:
            conn.execute(
                sql.SQL("SELECT pg_advisory_xact_lock({})").format(
                    sql.Literal(lock_key(self.schema, "ddl"))
                )
            )
            schema = sql.Identifier(self.schema)
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema))
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (name text PRIMARY KEY, "
                    "position bigint NOT NULL, version integer NOT NULL, updated_at timestamptz)"
                ).format(self.name(TRACKING))
            )
            for projection in projections:
                for table in projection.tables:
                    conn.execute(self._create(table, table.name))
                conn.execute(
                    sql.SQL(
                        "INSERT INTO {} VALUES (%s, 0, %s, NULL) ON CONFLICT DO NOTHING"
                    ).format(self.name(TRACKING)),
                    (projection.name, projection.version),
                )

    def tracking(self) -> dict[str, Tracked]:
        with self.datastore.connection() as conn:
            rows = conn.execute(
                sql.SQL("SELECT name, position, version, updated_at FROM {}").format(
                    self.name(TRACKING)
                )
            ).fetchall()
        return {r[0]: Tracked(r[1], r[2], r[3]) for r in rows}

    def load(self, projection: type[Projection]) -> Rows:
        rows = Rows(projection.tables)
        with self.datastore.connection() as conn:
            for table in projection.tables:
                kinds = [c.type for c in table.columns]
                data = rows.data[table.name]
                with conn.cursor(binary=True) as cursor:
                    cursor.execute(sql.SQL("SELECT * FROM {}").format(self.name(table.name)))
                    make, key = table.row, table.key
                    for stored in cursor:
                        values = [from_sql(v, k) for v, k in zip(stored, kinds, strict=True)]
                        data[tuple(values[:key])] = make(*values)
        return rows

    def _upsert(self, table: Table[Any], name: str) -> sql.Composed:
        keys = [sql.Identifier(k) for k in table.column_names[: table.key]]
        update = sql.SQL(", ").join(
            sql.SQL("{0} = excluded.{0}").format(sql.Identifier(c))
            for c in table.column_names[table.key :]
        )
        return sql.SQL("{} ON CONFLICT ({}) DO UPDATE SET {}").format(
            self._insert(table, name), sql.SQL(", ").join(keys), update
        )

    def _insert(self, table: Table[Any], name: str) -> sql.Composed:
        return sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            self.name(name),
            sql.SQL(", ").join(sql.Identifier(c) for c in table.column_names),
            sql.SQL(", ").join(sql.Placeholder() for _ in table.columns),
        )

    def flush_all(
        self,
        moves: Sequence[tuple[Projection, int, int]],
        *,
        before_commit: Callable[[], None] | None = None,
    ) -> None:
        # Pipelined: the statements go out together and their answers come back at the
        # end (a round trip or two for the batch, not one per table).
        with self.datastore.connection() as conn, conn.pipeline(), conn.transaction():
            checks = []
            for projection, old, new in moves:
                self.write_changes(conn, projection)
                checks.append(
                    (
                        projection,
                        old,
                        conn.execute(
                            self._statement("move", None, TRACKING, conn),
                            (new, projection.version, projection.name, old),
                        ),
                    )
                )
            for projection, old, moved in checks:
                if moved.fetchone() is None:
                    raise _moved_on(projection, old)
            if before_commit is not None:
                before_commit()

    def _statement(
        self, kind: str, table: Table[Any] | None, name: str, conn: psycopg.Connection[Any]
    ) -> str:
        """A statement of the flush as text, composed once (psycopg caches what it
        makes of a text query; a composed one is made again each time)."""
        key = (kind, name)
        found = self._statements.get(key)
        if found is None:
            if kind == "move":
                composed = sql.SQL(
                    "UPDATE {} SET position = %s, version = %s, updated_at = now() "
                    "WHERE name = %s AND position = %s RETURNING name"
                ).format(self.name(TRACKING))
            elif kind == "upsert" and table is not None:
                composed = self._upsert(table, name)
            elif kind == "delete" and table is not None:
                where = sql.SQL(" AND ").join(
                    sql.SQL("{} = %s").format(sql.Identifier(k))
                    for k in table.column_names[: table.key]
                )
                composed = sql.SQL("DELETE FROM {} WHERE {}").format(self.name(name), where)
            else:  # pragma: no cover - the kinds are this class's own
                raise ValueError(kind)
            found = self._statements[key] = composed.as_string(conn)
        return found

    def write_changes(
        self, conn: psycopg.Connection[Any], projection: Projection, *, suffix: str = ""
    ) -> None:
        """Write the rows changed since the last flush, in the caller's transaction."""
        rows = projection.rows
        with conn.cursor() as cursor:
            for table in projection.tables:
                name = table.name + suffix
                removed = rows.removed[table.name]
                if removed:
                    cursor.executemany(self._statement("delete", table, name, conn), list(removed))
                changed = rows.changed[table.name]
                if changed:
                    data = rows.data[table.name]
                    cursor.executemany(
                        self._statement("upsert", table, name, conn),
                        list(iter_rows_sql(table, (data[k] for k in changed), "postgres")),
                    )
        rows.clear_changes()

    def start_fresh(self, projection: type[Projection]) -> None:
        with self.datastore.transaction() as conn:
            for table in projection.tables:
                drop = sql.SQL("DROP TABLE IF EXISTS {}").format(self.name(table.name + FRESH))
                conn.execute(drop)
                conn.execute(self._create(table, table.name + FRESH))

    def add_rows(self, projection: Projection) -> None:
        with self.datastore.transaction() as conn:
            for table in projection.tables:
                columns = sql.SQL(", ").join(sql.Identifier(c) for c in table.column_names)
                copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
                    self.name(table.name + FRESH), columns
                )
                with conn.cursor().copy(copy) as writer:
                    for row in iter_rows_sql(table, projection.rows.all(table), "postgres"):
                        writer.write_row(row)
        projection.rows.clear_changes()

    def switch(self, projection: type[Projection], position: int) -> None:
        with self.datastore.transaction() as conn:
            for table in projection.tables:
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(self.name(table.name)))
                conn.execute(
                    sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                        self.name(table.name + FRESH), sql.Identifier(table.name)
                    )
                )
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} VALUES (%s, %s, %s, now()) ON CONFLICT (name) DO UPDATE SET "
                    "position = excluded.position, version = excluded.version, "
                    "updated_at = excluded.updated_at"
                ).format(self.name(TRACKING)),
                (projection.name, position, projection.version),
            )

    def read(self, table: Table[R], **where: Any) -> list[R]:
        statement = sql.SQL("SELECT * FROM {}").format(self.name(table.name))
        params: list[Any] = []
        if where:
            kinds = {c.name: c.type for c in table.columns}
            clauses = []
            for column, value in where.items():
                if column not in kinds:
                    msg = f"{table.name} has no column {column}"
                    raise ValueError(msg)
                if isinstance(value, list | tuple | set | frozenset):
                    clauses.append(sql.SQL("{} = ANY(%s)").format(sql.Identifier(column)))
                    params.append([to_sql(v, kinds[column], "postgres") for v in value])
                else:
                    clauses.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
                    params.append(to_sql(value, kinds[column], "postgres"))
            statement += sql.SQL(" WHERE ") + sql.SQL(" AND ").join(clauses)
        with self.datastore.connection() as conn:
            rows = conn.execute(statement, params).fetchall()
        return [row_from_sql(table, r) for r in rows]

    def grant_reader(self, role: str) -> None:
        """Let a database role read the read models, and nothing else of peerlog's.

        The role (created if missing, without login - give it one, or grant it to a login
        role) may read every read-model table, also those a rebuild creates later, and has
        no rights on the event store's schema. Run this as the role that creates the read
        models (the one peerlog runs as)."""
        store_schema = sql.Identifier(self.datastore.schema)
        read_schema = sql.Identifier(self.schema)
        name = sql.Identifier(role)
        with self.datastore.transaction() as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(name))
            for statement in (
                "REVOKE ALL ON SCHEMA {store} FROM {role}",
                "REVOKE ALL ON ALL TABLES IN SCHEMA {store} FROM {role}",
                "REVOKE ALL ON ALL FUNCTIONS IN SCHEMA {store} FROM {role}",
                "GRANT USAGE ON SCHEMA {read} TO {role}",
                "GRANT SELECT ON ALL TABLES IN SCHEMA {read} TO {role}",
                "ALTER DEFAULT PRIVILEGES IN SCHEMA {read} GRANT SELECT ON TABLES TO {role}",
            ):
                conn.execute(
                    sql.SQL(statement).format(store=store_schema, read=read_schema, role=name)
                )

    @contextmanager
    def lock(self, name: str, *, wait: bool) -> Iterator[bool]:
        key = sql.Literal(lock_key(self.schema, f"projection:{name}"))
        with self.datastore.connection() as conn:
            if wait:
                conn.execute(sql.SQL("SELECT pg_advisory_lock({})").format(key))
            else:
                (acquired,) = conn.execute(
                    sql.SQL("SELECT pg_try_advisory_lock({})").format(key)
                ).fetchone() or (False,)
                if not acquired:
                    yield False
                    return
            try:
                yield True
            finally:
                # A lock on a server that went away went with it (and with its session).
                if not conn.broken:
                    conn.execute(sql.SQL("SELECT pg_advisory_unlock({})").format(key))

    @contextmanager
    def locks(self, names: Sequence[str]) -> Iterator[None]:
        # On one connection (the pool's others stay free for the readers).
        keys = [sql.Literal(lock_key(self.schema, f"projection:{name}")) for name in names]

        def each(function: str) -> sql.Composed:
            # One statement; its calls are made in the order written.
            calls = (sql.SQL("{}({})").format(sql.SQL(function), key) for key in keys)
            return sql.SQL("SELECT {}").format(sql.SQL(", ").join(calls))

        with self.datastore.connection() as conn:
            conn.execute(each("pg_advisory_lock"))
            try:
                yield
            finally:
                # A lock on a server that went away went with it (and with its session).
                if not conn.broken:
                    conn.execute(each("pg_advisory_unlock"))

    def wait_for_events(self, timeout: float, stop: threading.Event | None) -> None:
        deadline = min(timeout, 1.0)
        try:
            if self._listener is None:
                # A connection of its own: it listens for as long as the runner follows.
                conn = self.datastore.connect()
                conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                self._listener = conn
            for _ in self._listener.notifies(timeout=deadline, stop_after=1):
                break
            # What else was notified meanwhile is answered by the same pass.
            for _ in self._listener.notifies(timeout=0):
                pass
        except psycopg.Error:
            # The server went away (a failover): listen again on the next primary, and
            # meanwhile poll, so that the runner goes on from its tracked position.
            self._drop_listener()
            (stop or threading.Event()).wait(deadline)

    def _drop_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()

    def close(self) -> None:
        self._drop_listener()


def _moved_on(projection: Projection, old: int) -> IntegrityError:
    return IntegrityError(
        f"projection {projection.name} moved past position {old} in another process"
    )


def read_store_for(recorder: object) -> ReadStore:
    """The read-model store beside an application's event recorder."""
    if isinstance(recorder, PostgresEventRecorder):
        return PostgresReadStore(recorder.datastore, recorder.channel)
    datastore = getattr(recorder, "datastore", None)
    if isinstance(datastore, SQLiteDatastore):
        return SQLiteReadStore(datastore)
    msg = f"no read-model store for {type(recorder).__name__}"
    raise TypeError(msg)
