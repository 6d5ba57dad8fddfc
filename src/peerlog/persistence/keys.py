"""The key store: one wrapped key per person, beside the events but not among them.

Each person whose personal texts the record holds has a random 256-bit key, stored
wrapped (AES-GCM) under the master key in the table ``person_keys`` of the same
database as the events (the SQLite file, or the PostgreSQL schema). The table is
not event-sourced: forgetting a person replaces their row by a tombstone (the id and
when it was forgotten, no key), so that the key is gone and no new key is ever made
for that id, and then removes the old bytes physically:

* SQLite: the connection deletes with ``PRAGMA secure_delete=ON`` (freed space is
  overwritten with zeros), then ``PRAGMA wal_checkpoint(TRUNCATE)`` copies the
  zeroed pages into the database file and empties the write-ahead log;
* PostgreSQL: the row is replaced, then ``VACUUM FULL`` rewrites the table (and its
  index) into new files without the old row version, once no transaction that could
  still see the old version is running.

Keys are created on first use in a small transaction of their own; ``INSERT ... ON
CONFLICT DO NOTHING`` followed by a read means two processes never end up with two
keys for one person (the second reads the first one's key). The tombstone occupies
the person's row, so a key can never be created again after forgetting.

SQL values are always parameters; PostgreSQL identifiers go through
:class:`psycopg.sql.Identifier`.
"""

from __future__ import annotations

import json
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any, Final

import psycopg
import psycopg.errors
from eventsourcing.persistence import InfrastructureFactory, OperationalError
from psycopg import sql

from peerlog.persistence.postgres import PostgresDatastore, PostgresFactory
from peerlog.persistence.sqlite import SQLiteDatastore, SQLiteFactory, format_time

ERASURE_WAIT_SECONDS: Final = 30.0
"""How long forgetting waits for other readers to let go of the old key bytes."""


class ErasureIncomplete(OperationalError):
    """The key is gone from the table, but its old bytes could not yet be removed from
    the database files; forgetting the person again finishes the job."""


class KeyStore(ABC):
    """Wrapped person keys and tombstones, in the database of the events."""

    @abstractmethod
    def create_table(self) -> None:
        """Create the key table if it is missing."""

    @abstractmethod
    def select(self, person_ids: Collection[str]) -> dict[str, bytes | None]:
        """The wrapped keys of those people who have a row: bytes, or None if the
        person was forgotten. People without a row are left out."""

    @abstractmethod
    def insert(self, wrapped: Mapping[str, bytes]) -> None:
        """Store new wrapped keys; a person who already has a row (a key, or a
        tombstone) keeps it."""

    @abstractmethod
    def destroy(self, person_id: str, when: datetime) -> None:
        """Replace the person's key by a tombstone and remove the old bytes from the
        database files."""


class SQLiteKeyStore(KeyStore):
    """The key table in the SQLite file of the events."""

    def __init__(self, datastore: SQLiteDatastore) -> None:
        self.datastore = datastore

    def create_table(self) -> None:
        with self.datastore.transaction(write=True) as conn:
            # WITHOUT ROWID: the key lives in the one B-tree of the primary key.
            conn.execute(
                "CREATE TABLE IF NOT EXISTS person_keys ("
                "person_id TEXT PRIMARY KEY, wrapped BLOB, forgotten_at TEXT) WITHOUT ROWID"
            )

    def select(self, person_ids: Collection[str]) -> dict[str, bytes | None]:
        if not person_ids:
            return {}
        with self.datastore.transaction(write=False) as conn:
            rows = conn.execute(
                "SELECT person_id, wrapped FROM person_keys "
                "WHERE person_id IN (SELECT value FROM json_each(?))",
                (json.dumps(sorted(person_ids)),),
            ).fetchall()
        return {row[0]: row[1] for row in rows}

    def insert(self, wrapped: Mapping[str, bytes]) -> None:
        if not wrapped:
            return
        self._secure(self.datastore.connection())
        with self.datastore.transaction(write=True) as conn:
            conn.executemany(
                "INSERT INTO person_keys (person_id, wrapped) VALUES (?, ?) "
                "ON CONFLICT (person_id) DO NOTHING",
                sorted(wrapped.items()),
            )

    def destroy(self, person_id: str, when: datetime) -> None:
        self._secure(self.datastore.connection())
        with self.datastore.transaction(write=True) as conn:
            row = conn.execute(
                "SELECT forgotten_at FROM person_keys WHERE person_id = ?", (person_id,)
            ).fetchone()
            forgotten_at = row[0] if row and row[0] else format_time(when)
            conn.execute("DELETE FROM person_keys WHERE person_id = ?", (person_id,))
            conn.execute(
                "INSERT INTO person_keys (person_id, wrapped, forgotten_at) VALUES (?, NULL, ?)",
                (person_id, forgotten_at),
            )
        self._truncate_wal(conn)

    @staticmethod
    def _secure(conn: Any) -> None:
        # Every write to the key table zeroes the space it frees, so that no copy of a
        # key is left behind in a free block or a free page of the file.
        conn.execute("PRAGMA secure_delete=ON")

    def _truncate_wal(self, conn: Any) -> None:
        """Copy every page into the database file and empty the write-ahead log, which
        still holds the pages as they were before the key was deleted."""
        deadline = time.monotonic() + ERASURE_WAIT_SECONDS
        while True:
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if not busy:
                return
            if time.monotonic() > deadline:
                msg = (
                    "the key was deleted, but other connections kept reading old pages of "
                    f"{self.datastore.path}, so its write-ahead log could not be emptied; "
                    "forget the person again when they are done"
                )
                raise ErasureIncomplete(msg)
            time.sleep(0.05)


class PostgresKeyStore(KeyStore):
    """The key table in the PostgreSQL schema of the events."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore
        self.table = datastore.identifier("person_keys")

    def create_table(self) -> None:
        self.datastore.create(
            [
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} ("
                    "person_id text PRIMARY KEY, wrapped bytea, forgotten_at timestamptz)"
                ).format(self.table)
            ]
        )

    def select(self, person_ids: Collection[str]) -> dict[str, bytes | None]:
        if not person_ids:
            return {}
        with self.datastore.connection() as conn:
            rows = conn.execute(
                sql.SQL("SELECT person_id, wrapped FROM {} WHERE person_id = ANY(%s)").format(
                    self.table
                ),
                (sorted(person_ids),),
                prepare=True,
            ).fetchall()
        return {row[0]: bytes(row[1]) if row[1] is not None else None for row in rows}

    def insert(self, wrapped: Mapping[str, bytes]) -> None:
        if not wrapped:
            return
        people = sorted(wrapped)
        with self.datastore.connection() as conn:
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} (person_id, wrapped) "
                    "SELECT * FROM unnest(%s::text[], %s::bytea[]) "
                    "ON CONFLICT (person_id) DO NOTHING"
                ).format(self.table),
                (people, [wrapped[p] for p in people]),
            )

    def destroy(self, person_id: str, when: datetime) -> None:
        deadline = time.monotonic() + ERASURE_WAIT_SECONDS
        with self.datastore.connection() as conn:
            with conn.transaction():
                conn.execute(
                    sql.SQL(
                        "INSERT INTO {0} (person_id, wrapped, forgotten_at) "
                        "VALUES (%s, NULL, %s) ON CONFLICT (person_id) DO UPDATE SET "
                        "wrapped = NULL, forgotten_at = coalesce({0}.forgotten_at, %s)"
                    ).format(self.table),
                    (person_id, when, when),
                )
                row = conn.execute("SELECT pg_current_xact_id()::text").fetchone()
            assert row is not None
            xid = int(row[0])
            kept: list[int] = []

            def count(notice: psycopg.errors.Diagnostic) -> None:
                kept.extend(_kept_rows(notice, "person_keys"))

            conn.add_notice_handler(count)
            try:
                self._remove_old_rows(conn, xid, deadline, kept)
            finally:
                conn.remove_notice_handler(count)

    def _remove_old_rows(
        self, conn: psycopg.Connection[Any], xid: int, deadline: float, kept: list[int]
    ) -> None:
        """VACUUM FULL until its own report says it kept no dead row version."""
        while True:
            self._wait_for_horizon(conn, xid, deadline)
            kept.clear()
            self._vacuum_full(conn, deadline)
            if not any(kept):
                return
            # A snapshot from before the erasure was taken after all (by a session that
            # began while we looked): wait for it too, and rewrite again.
            if time.monotonic() > deadline:
                msg = (
                    "the key was deleted, but VACUUM FULL had to keep the old row for "
                    f"transactions on the server of {self.datastore.description} that "
                    "began before it; forget the person again when they are done"
                )
                raise ErasureIncomplete(msg)

    def _vacuum_full(self, conn: psycopg.Connection[Any], deadline: float) -> None:
        """Rewrite the key table and its index into new files (the old files are
        truncated when it commits), holding it locked no longer than the deadline."""
        wait_ms = max(1, int((deadline - time.monotonic()) * 1000))
        conn.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(f"{wait_ms}ms")))
        try:
            conn.execute(sql.SQL("VACUUM (FULL, VERBOSE) {}").format(self.table))
        except psycopg.errors.LockNotAvailable:
            msg = (
                "the key was deleted, but other sessions kept the key table locked, so "
                "VACUUM FULL could not remove the old row; forget the person again"
            )
            raise ErasureIncomplete(msg) from None
        finally:
            conn.execute("RESET lock_timeout")

    def _wait_for_horizon(self, conn: psycopg.Connection[Any], xid: int, deadline: float) -> None:
        """Wait until VACUUM can remove a row version deleted by transaction ``xid``:
        no transaction anywhere on the server that began before it is still running (a
        new snapshot - in this database too, VACUUM's own included - reaches back to
        it), no session of this database holds a snapshot from before it, and no
        replication slot or standby (hot_standby_feedback) holds one either."""
        while True:
            blockers = conn.execute(_BLOCKERS, {"xid": xid}).fetchall()
            if not blockers:
                return
            if time.monotonic() > deadline:
                what, database, pid, seconds = blockers[0]
                where = f" in database {database}" if database else ""
                which = f", pid {pid}" if pid else ""
                msg = (
                    "the key was deleted, but VACUUM FULL would keep the old row: "
                    f"{len(blockers)} transaction(s) on the server of "
                    f"{self.datastore.description} began before it and are still running "
                    f"(the oldest, a {what}{where}{which}, for {seconds:.0f} s); "
                    "forget the person again when they are done"
                )
                raise ErasureIncomplete(msg)
            time.sleep(0.05)


_BLOCKERS: Final = sql.SQL(
    # The erasing transaction's id, as the 32-bit xid the views show, pushed later by
    # vacuum_defer_cleanup_age where it is set (PostgreSQL 15 and older).
    "WITH mine AS (SELECT ((%(xid)s::bigint + coalesce(nullif(current_setting("
    "'vacuum_defer_cleanup_age', true), '')::bigint, 0)) %% 4294967296)::text::xid AS xid) "
    "SELECT backend_type, datname, pid, "
    "extract(epoch FROM now() - coalesce(xact_start, backend_start))::float8 "
    "FROM pg_stat_activity, mine "
    "WHERE pid <> pg_backend_pid() AND ("
    # a transaction anywhere that began before the erasure and is still running
    "age(backend_xid) >= age(mine.xid) OR ("
    # a snapshot from before it in this database (a standby's, through its walsender);
    # a plain (auto)VACUUM's snapshot holds nothing back
    "(datname = current_database() OR datname IS NULL) "
    "AND age(backend_xmin) >= age(mine.xid) "
    "AND NOT (backend_type = 'autovacuum worker' AND query NOT LIKE '%%ANALYZE%%'))) "
    "UNION ALL SELECT 'prepared transaction', database, NULL, "
    "extract(epoch FROM now() - prepared)::float8 FROM pg_prepared_xacts, mine "
    "WHERE age(transaction) >= age(mine.xid) "
    "UNION ALL SELECT 'replication slot', database, NULL, 0 FROM pg_replication_slots, mine "
    "WHERE age(xmin) >= age(mine.xid) "
    "ORDER BY 4 DESC"
)


_NUMBER: Final = re.compile(r"\d+")


def _kept_rows(notice: psycopg.errors.Diagnostic, table: str) -> list[int]:
    """How many dead row versions VACUUM (FULL, VERBOSE) had to keep, from its report on
    ``table`` ("N dead row versions cannot be removed yet", in the server's language:
    the number comes first in every translation); none when the report is not there."""
    if notice.severity_nonlocalized != "INFO" or table not in (notice.message_primary or ""):
        return []
    found = _NUMBER.search(notice.message_detail or "")
    return [int(found.group())] if found else []


def key_store_for(factory: InfrastructureFactory[Any]) -> KeyStore:
    """The key store in the same database as the factory's events."""
    store: KeyStore
    if isinstance(factory, SQLiteFactory):
        store = SQLiteKeyStore(factory.datastore)
    elif isinstance(factory, PostgresFactory):
        store = PostgresKeyStore(factory.datastore)
    else:
        msg = f"peerlog keeps no person keys with {type(factory).__name__}"
        raise TypeError(msg)
    store.create_table()
    return store
