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
:class:`psycopg.sql.Identifier` (the PostgreSQL store is in
:mod:`peerlog.persistence.postgres_keys`).
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from eventsourcing.persistence import InfrastructureFactory, OperationalError

from peerlog.persistence.sqlite import SQLiteDatastore, SQLiteFactory, format_time

ERASURE_WAIT_SECONDS: Final = 30.0
"""How long forgetting waits for other readers to let go of the old key bytes."""


class ErasureIncomplete(OperationalError):
    """The key is gone from the table, but its old bytes could not yet be removed from
    the database files; forgetting the person again finishes the job."""


class MasterKeyChanged(OperationalError):
    """The store's keys were rewrapped under another master key than the one this
    process read them with (``peerlog keys rotate``)."""


Rewrap = Callable[[str, bytes], bytes]
"""A person's id and wrapped key -> the key wrapped under the new master key."""
RewrapRecordKeys = Callable[[bytes | None], bytes]
"""The record keys wrapped under the old master key (None: never stored, derived from
it) -> wrapped under the new one."""
Progress = Callable[[int, int], None]
"""How many person keys were rewrapped, of how many."""


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
    def insert(self, wrapped: Mapping[str, bytes], *, record_keys: bytes | None) -> None:
        """Store new wrapped keys; a person who already has a row (a key, or a
        tombstone) keeps it. ``record_keys`` is what :meth:`record_keys` gave when the
        caller's master key was checked: if the store's keys were rewrapped since
        (under another master key), nothing is stored and :class:`MasterKeyChanged`
        is raised."""

    @abstractmethod
    def record_keys(self) -> bytes | None:
        """The record's own keys (command digests, xAPI pseudonyms) wrapped under the
        master key, or None if they were never stored (they are then derived from
        the master key: it was never changed)."""

    @abstractmethod
    def rewrap(
        self,
        rewrap: Rewrap,
        record_keys: RewrapRecordKeys,
        *,
        batch: int,
        progress: Progress | None = None,
    ) -> int:
        """Rewrap every person key and the record keys under a new master key, in one
        transaction (an interrupted rewrap changes nothing), then remove the old bytes
        from the database files; how many person keys were rewrapped."""

    @abstractmethod
    def remove_old_bytes(self) -> None:
        """Remove from the database files the bytes of key rows replaced before (a
        rewrap that was interrupted after it was committed)."""

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
            conn.execute(
                "CREATE TABLE IF NOT EXISTS master_key (id INTEGER PRIMARY KEY CHECK (id = 1), "
                "record_keys BLOB, changed_at TEXT)"
            )
            conn.execute("INSERT OR IGNORE INTO master_key (id) VALUES (1)")

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

    def record_keys(self) -> bytes | None:
        with self.datastore.transaction(write=False) as conn:
            row = conn.execute("SELECT record_keys FROM master_key WHERE id = 1").fetchone()
        return row[0] if row else None

    def insert(self, wrapped: Mapping[str, bytes], *, record_keys: bytes | None) -> None:
        if not wrapped:
            return
        self._secure(self.datastore.connection())
        with self.datastore.transaction(write=True) as conn:
            row = conn.execute("SELECT record_keys FROM master_key WHERE id = 1").fetchone()
            if (row[0] if row else None) != record_keys:
                raise MasterKeyChanged(_CHANGED)
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
        self._truncate_wal(conn, _ERASED, _FORGET_AGAIN)

    def rewrap(
        self,
        rewrap: Rewrap,
        record_keys: RewrapRecordKeys,
        *,
        batch: int,
        progress: Progress | None = None,
    ) -> int:
        self._secure(self.datastore.connection())
        with self.datastore.transaction(write=True) as conn:
            row = conn.execute("SELECT record_keys FROM master_key WHERE id = 1").fetchone()
            new_record_keys = record_keys(row[0] if row else None)
            rows = conn.execute(
                "SELECT person_id, wrapped FROM person_keys WHERE wrapped IS NOT NULL "
                "ORDER BY person_id"
            ).fetchall()
            for done, chunk in _batches(rows, batch):
                conn.executemany(
                    "UPDATE person_keys SET wrapped = ? WHERE person_id = ?",
                    [(rewrap(person, wrapped), person) for person, wrapped in chunk],
                )
                if progress is not None:
                    progress(done, len(rows))
            conn.execute(
                "INSERT INTO master_key (id, record_keys, changed_at) VALUES (1, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET record_keys = excluded.record_keys, "
                "changed_at = excluded.changed_at",
                (new_record_keys, format_time(datetime.now(UTC))),
            )
        self._truncate_wal(conn, _REWRAPPED, _ROTATE_AGAIN)
        return len(rows)

    def remove_old_bytes(self) -> None:
        # Rows are rewritten with secure_delete on: what remains is in the log.
        self._truncate_wal(self.datastore.connection(), _REWRAPPED, _ROTATE_AGAIN)

    @staticmethod
    def _secure(conn: Any) -> None:
        # Every write to the key table zeroes the space it frees, so that no copy of a
        # key is left behind in a free block or a free page of the file.
        conn.execute("PRAGMA secure_delete=ON")

    def _truncate_wal(self, conn: Any, done: str, again: str) -> None:
        """Copy every page into the database file and empty the write-ahead log, which
        still holds the pages as they were before the key rows were changed."""
        deadline = time.monotonic() + ERASURE_WAIT_SECONDS
        while True:
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if not busy:
                return
            if time.monotonic() > deadline:
                msg = (
                    f"{done}, but other connections kept reading old pages of "
                    f"{self.datastore.path}, so its write-ahead log could not be emptied; "
                    f"{again} when they are done"
                )
                raise ErasureIncomplete(msg)
            time.sleep(0.05)


_ERASED: Final = "the key was deleted"
_FORGET_AGAIN: Final = "forget the person again"
_REWRAPPED: Final = "the keys were rewrapped under the new master key"
_ROTATE_AGAIN: Final = "run 'peerlog keys rotate' again (with the new key) to finish"
_CHANGED: Final = (
    "the person keys of this store were rewrapped under another master key ('peerlog keys "
    "rotate'); configure the new master key in this process"
)


def _batches(rows: list[Any], size: int) -> list[tuple[int, list[Any]]]:
    """The rows in batches of ``size``, each with how many rows are done after it."""
    return [
        (min(start + size, len(rows)), rows[start : start + size])
        for start in range(0, len(rows), size)
    ]


def key_store_for(factory: InfrastructureFactory[Any]) -> KeyStore:
    """The key store in the same database as the factory's events."""
    store: KeyStore
    if isinstance(factory, SQLiteFactory):
        store = SQLiteKeyStore(factory.datastore)
    else:
        # PostgreSQL's driver is imported only for a PostgreSQL record: a command on an
        # SQLite record starts without it.
        from peerlog.persistence.postgres import PostgresFactory  # noqa: PLC0415
        from peerlog.persistence.postgres_keys import PostgresKeyStore  # noqa: PLC0415

        if not isinstance(factory, PostgresFactory):
            msg = f"peerlog keeps no person keys with {type(factory).__name__}"
            raise TypeError(msg)
        store = PostgresKeyStore(factory.datastore)
    store.create_table()
    return store
