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
                row = conn.execute("SELECT (txid_current() % 4294967296)::text").fetchone()
            assert row is not None
            self._wait_for_older_transactions(conn, str(row[0]))
            # VACUUM FULL copies the row versions that some transaction may still see;
            # with no older transaction left, the old version holding the key is dropped.
            conn.execute(
                sql.SQL("SET lock_timeout = {}").format(
                    sql.Literal(f"{int(ERASURE_WAIT_SECONDS * 1000)}ms")
                )
            )
            try:
                conn.execute(sql.SQL("VACUUM FULL {}").format(self.table))
            except psycopg.errors.LockNotAvailable:
                msg = (
                    "the key was deleted, but other sessions kept the key table locked, so "
                    "VACUUM FULL could not remove the old row; forget the person again"
                )
                raise ErasureIncomplete(msg) from None
            finally:
                conn.execute("RESET lock_timeout")

    def _wait_for_older_transactions(self, conn: psycopg.Connection[Any], xid: str) -> None:
        """Wait until no transaction of this database that began before ``xid`` (the one
        that removed the key) is running, or holds a snapshot from before it."""
        deadline = time.monotonic() + ERASURE_WAIT_SECONDS
        while True:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND backend_type <> 'autovacuum worker' "
                "AND (age(backend_xmin) >= age(%s::xid) OR age(backend_xid) >= age(%s::xid))",
                (xid, xid),
            ).fetchone()
            if row is None or not row[0]:
                return
            if time.monotonic() > deadline:
                msg = (
                    "the key was deleted, but transactions that began before that are still "
                    f"running in {self.datastore.description}, and VACUUM FULL would keep "
                    "the old row for them; forget the person again when they are done"
                )
                raise ErasureIncomplete(msg)
            time.sleep(0.05)


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
