"""Where the tree and the checkpoints are kept: tables of their own beside the events.

* ``merkle_tiles``: the tree's hashes in tiles (as C2SP tlog-tiles cuts them): tile
  (level L, index N) holds up to 256 hashes of tree level 8L, those of indexes
  256N to 256N + 255, concatenated. The tile at each level's right edge is partial and
  is rewritten as the tree grows; every other tile is final. Any subtree hash comes
  from one tile (at most 128 hashes folded), so a proof or a root at 10 million
  leaves reads a handful of tiles;
* ``merkle_tree``: how many leaves the tiles hold (one row);
* ``checkpoints``: every signed checkpoint made of the record: its size, root hash,
  the signed note (with the witnesses' cosignatures added to it) and when it was made;
* ``checkpoint_keys``: the signing keys the record no longer signs with (their public
  halves), when each was retired and the size of the last checkpoint it signed.

The tree is derived from the events (and could be rebuilt from them); the checkpoints
are not: they are what was published. SQL values are parameters; PostgreSQL
identifiers go through :class:`psycopg.sql.Identifier`.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from eventsourcing.persistence import InfrastructureFactory
from psycopg import sql

from peerlog.persistence.postgres import PostgresDatastore, PostgresFactory
from peerlog.persistence.sqlite import SQLiteDatastore, SQLiteFactory, format_time, parse_time

TILE_HEIGHT: Final = 8
TILE_WIDTH: Final = 1 << TILE_HEIGHT
HASH_SIZE: Final = 32

TileKey = tuple[int, int]


@dataclass(frozen=True)
class StoredCheckpoint:
    size: int
    root: bytes
    note: str
    made_at: datetime


@dataclass(frozen=True)
class RetiredKey:
    """A checkpoint key the record signed with until ``last_size`` events."""

    verifier: str
    """Its public half, NAME+KEYID+KEY."""
    retired_at: datetime
    last_size: int


class IntegrityStore(ABC):
    """The tree's tiles and size, and the signed checkpoints."""

    @abstractmethod
    def create_tables(self) -> None: ...

    @abstractmethod
    def tree_size(self) -> int:
        """How many leaves the tiles hold."""

    @abstractmethod
    def tiles(self, keys: Collection[TileKey]) -> dict[TileKey, bytes]:
        """The stored tiles among these (level, index) keys."""

    @abstractmethod
    def extend(self, expected: int, size: int, tiles: Mapping[TileKey, bytes]) -> bool:
        """Write tiles and the new size in one transaction, if the tree still holds
        ``expected`` leaves (another process may have extended it first: then nothing
        is written and the answer is False)."""

    @abstractmethod
    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> StoredCheckpoint:
        """Keep a checkpoint; one of the same size kept before wins (and is returned)."""

    @abstractmethod
    def replace_note(self, size: int, note: str) -> None:
        """The checkpoint's note with more signatures (a witness's cosignature)."""

    @abstractmethod
    def checkpoints(self) -> list[StoredCheckpoint]:
        """Every checkpoint, smallest (earliest) first."""

    @abstractmethod
    def checkpoint(self, size: int | None = None) -> StoredCheckpoint | None:
        """The checkpoint of this size, or the latest one."""

    @abstractmethod
    def covering(self, size: int) -> StoredCheckpoint | None:
        """The earliest checkpoint whose tree holds at least ``size`` leaves."""

    @abstractmethod
    def retired_keys(self) -> list[RetiredKey]:
        """The keys the record no longer signs with, earliest retired first."""

    @abstractmethod
    def retire_key(self, key: RetiredKey, notes: Mapping[int, str]) -> None:
        """Retire a key and replace the notes of these checkpoints (size -> note, each
        signed by the next key too), in one transaction."""


class SQLiteIntegrityStore(IntegrityStore):
    def __init__(self, datastore: SQLiteDatastore) -> None:
        self.datastore = datastore

    def create_tables(self) -> None:
        with self.datastore.transaction(write=True) as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS merkle_tiles (level INTEGER NOT NULL, "
                "idx INTEGER NOT NULL, hashes BLOB NOT NULL, PRIMARY KEY (level, idx)) "
                "WITHOUT ROWID"
            )
            conn.execute(
                "CREATE TABLE IF NOT EXISTS merkle_tree (id INTEGER PRIMARY KEY CHECK (id = 1), "
                "size INTEGER NOT NULL)"
            )
            conn.execute("INSERT OR IGNORE INTO merkle_tree VALUES (1, 0)")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS checkpoints (size INTEGER PRIMARY KEY, "
                "root BLOB NOT NULL, note TEXT NOT NULL, made_at TEXT NOT NULL)"
            )
            conn.execute(
                "CREATE TABLE IF NOT EXISTS checkpoint_keys (verifier TEXT PRIMARY KEY, "
                "retired_at TEXT NOT NULL, last_size INTEGER NOT NULL)"
            )

    def tree_size(self) -> int:
        with self.datastore.transaction(write=False) as conn:
            (size,) = conn.execute("SELECT size FROM merkle_tree WHERE id = 1").fetchone()
        return int(size)

    def tiles(self, keys: Collection[TileKey]) -> dict[TileKey, bytes]:
        if not keys:
            return {}
        with self.datastore.transaction(write=False) as conn:
            rows = conn.execute(
                "SELECT t.level, t.idx, t.hashes FROM merkle_tiles AS t JOIN "
                "(SELECT json_extract(value, '$[0]') AS level, json_extract(value, '$[1]') AS idx "
                "FROM json_each(?)) AS k ON t.level = k.level AND t.idx = k.idx",
                (json.dumps([list(k) for k in keys]),),
            ).fetchall()
        return {(row[0], row[1]): bytes(row[2]) for row in rows}

    def extend(self, expected: int, size: int, tiles: Mapping[TileKey, bytes]) -> bool:
        with self.datastore.transaction(write=True) as conn:
            (current,) = conn.execute("SELECT size FROM merkle_tree WHERE id = 1").fetchone()
            if current != expected:
                return False
            conn.executemany(
                "INSERT INTO merkle_tiles VALUES (?, ?, ?) ON CONFLICT (level, idx) "
                "DO UPDATE SET hashes = excluded.hashes",
                [(level, index, hashes) for (level, index), hashes in tiles.items()],
            )
            conn.execute("UPDATE merkle_tree SET size = ? WHERE id = 1", (size,))
        return True

    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> StoredCheckpoint:
        with self.datastore.transaction(write=True) as conn:
            conn.execute(
                "INSERT INTO checkpoints VALUES (?, ?, ?, ?) ON CONFLICT (size) DO NOTHING",
                (
                    checkpoint.size,
                    checkpoint.root,
                    checkpoint.note,
                    format_time(checkpoint.made_at),
                ),
            )
        found = self.checkpoint(checkpoint.size)
        assert found is not None
        return found

    def replace_note(self, size: int, note: str) -> None:
        with self.datastore.transaction(write=True) as conn:
            conn.execute("UPDATE checkpoints SET note = ? WHERE size = ?", (note, size))

    def _select(self, where: str, params: tuple[Any, ...]) -> list[StoredCheckpoint]:
        with self.datastore.transaction(write=False) as conn:
            rows = conn.execute(
                f"SELECT size, root, note, made_at FROM checkpoints {where}",  # noqa: S608 - constant clauses
                params,
            ).fetchall()
        return [StoredCheckpoint(r[0], bytes(r[1]), r[2], parse_time(r[3])) for r in rows]

    def checkpoints(self) -> list[StoredCheckpoint]:
        return self._select("ORDER BY size", ())

    def checkpoint(self, size: int | None = None) -> StoredCheckpoint | None:
        found = (
            self._select("ORDER BY size DESC LIMIT 1", ())
            if size is None
            else self._select("WHERE size = ?", (size,))
        )
        return found[0] if found else None

    def covering(self, size: int) -> StoredCheckpoint | None:
        found = self._select("WHERE size >= ? ORDER BY size LIMIT 1", (size,))
        return found[0] if found else None

    def retired_keys(self) -> list[RetiredKey]:
        with self.datastore.transaction(write=False) as conn:
            rows = conn.execute(
                "SELECT verifier, retired_at, last_size FROM checkpoint_keys ORDER BY retired_at"
            ).fetchall()
        return [RetiredKey(r[0], parse_time(r[1]), r[2]) for r in rows]

    def retire_key(self, key: RetiredKey, notes: Mapping[int, str]) -> None:
        with self.datastore.transaction(write=True) as conn:
            conn.execute(
                "INSERT INTO checkpoint_keys VALUES (?, ?, ?)",
                (key.verifier, format_time(key.retired_at), key.last_size),
            )
            conn.executemany(
                "UPDATE checkpoints SET note = ? WHERE size = ?",
                [(note, size) for size, note in notes.items()],
            )


class PostgresIntegrityStore(IntegrityStore):
    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore
        self.tiles_table = datastore.identifier("merkle_tiles")
        self.tree_table = datastore.identifier("merkle_tree")
        self.checkpoints_table = datastore.identifier("checkpoints")
        self.keys_table = datastore.identifier("checkpoint_keys")

    def create_tables(self) -> None:
        self.datastore.create(
            [
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (level integer NOT NULL, idx bigint NOT NULL, "
                    "hashes bytea NOT NULL, PRIMARY KEY (level, idx))"
                ).format(self.tiles_table),
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (id integer PRIMARY KEY CHECK (id = 1), "
                    "size bigint NOT NULL)"
                ).format(self.tree_table),
                sql.SQL("INSERT INTO {} VALUES (1, 0) ON CONFLICT (id) DO NOTHING").format(
                    self.tree_table
                ),
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (size bigint PRIMARY KEY, root bytea NOT NULL, "
                    "note text NOT NULL, made_at timestamptz NOT NULL)"
                ).format(self.checkpoints_table),
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (verifier text PRIMARY KEY, "
                    "retired_at timestamptz NOT NULL, last_size bigint NOT NULL)"
                ).format(self.keys_table),
            ]
        )

    def tree_size(self) -> int:
        with self.datastore.connection() as conn:
            row = conn.execute(
                sql.SQL("SELECT size FROM {} WHERE id = 1").format(self.tree_table)
            ).fetchone()
        return int(row[0]) if row else 0

    def tiles(self, keys: Collection[TileKey]) -> dict[TileKey, bytes]:
        if not keys:
            return {}
        with self.datastore.connection() as conn:
            rows = conn.execute(
                sql.SQL(
                    "SELECT t.level, t.idx, t.hashes FROM {} AS t "
                    "JOIN unnest(%s::integer[], %s::bigint[]) AS k(level, idx) "
                    "ON t.level = k.level AND t.idx = k.idx"
                ).format(self.tiles_table),
                ([k[0] for k in keys], [k[1] for k in keys]),
                prepare=True,
            ).fetchall()
        return {(row[0], row[1]): bytes(row[2]) for row in rows}

    def extend(self, expected: int, size: int, tiles: Mapping[TileKey, bytes]) -> bool:
        with self.datastore.transaction() as conn:
            # The tree is derived from the events and extended again after a crash, so its
            # commits need not wait for the disk, and do not hold up the appends' flushes.
            conn.execute("SET LOCAL synchronous_commit = off")
            row = conn.execute(
                sql.SQL("SELECT size FROM {} WHERE id = 1 FOR UPDATE").format(self.tree_table)
            ).fetchone()
            if row is None or row[0] != expected:
                return False
            with conn.cursor() as cursor:
                cursor.executemany(
                    sql.SQL(
                        "INSERT INTO {} VALUES (%s, %s, %s) ON CONFLICT (level, idx) "
                        "DO UPDATE SET hashes = excluded.hashes"
                    ).format(self.tiles_table),
                    [(level, index, hashes) for (level, index), hashes in tiles.items()],
                )
            conn.execute(
                sql.SQL("UPDATE {} SET size = %s WHERE id = 1").format(self.tree_table), (size,)
            )
        return True

    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> StoredCheckpoint:
        with self.datastore.connection() as conn:
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} VALUES (%s, %s, %s, %s) ON CONFLICT (size) DO NOTHING"
                ).format(self.checkpoints_table),
                (checkpoint.size, checkpoint.root, checkpoint.note, checkpoint.made_at),
            )
        found = self.checkpoint(checkpoint.size)
        assert found is not None
        return found

    def replace_note(self, size: int, note: str) -> None:
        with self.datastore.connection() as conn:
            conn.execute(
                sql.SQL("UPDATE {} SET note = %s WHERE size = %s").format(self.checkpoints_table),
                (note, size),
            )

    def _select(self, where: sql.Composable, params: tuple[Any, ...]) -> list[StoredCheckpoint]:
        with self.datastore.connection() as conn:
            rows = conn.execute(
                sql.SQL("SELECT size, root, note, made_at FROM {} ").format(self.checkpoints_table)
                + where,
                params,
            ).fetchall()
        return [StoredCheckpoint(r[0], bytes(r[1]), r[2], r[3].astimezone(UTC)) for r in rows]

    def checkpoints(self) -> list[StoredCheckpoint]:
        return self._select(sql.SQL("ORDER BY size"), ())

    def checkpoint(self, size: int | None = None) -> StoredCheckpoint | None:
        found = (
            self._select(sql.SQL("ORDER BY size DESC LIMIT 1"), ())
            if size is None
            else self._select(sql.SQL("WHERE size = %s"), (size,))
        )
        return found[0] if found else None

    def covering(self, size: int) -> StoredCheckpoint | None:
        found = self._select(sql.SQL("WHERE size >= %s ORDER BY size LIMIT 1"), (size,))
        return found[0] if found else None

    def retired_keys(self) -> list[RetiredKey]:
        with self.datastore.connection() as conn:
            rows = conn.execute(
                sql.SQL(
                    "SELECT verifier, retired_at, last_size FROM {} ORDER BY retired_at"
                ).format(self.keys_table)
            ).fetchall()
        return [RetiredKey(r[0], r[1], r[2]) for r in rows]

    def retire_key(self, key: RetiredKey, notes: Mapping[int, str]) -> None:
        with self.datastore.connection() as conn, conn.transaction():
            conn.execute(
                sql.SQL("INSERT INTO {} VALUES (%s, %s, %s)").format(self.keys_table),
                (key.verifier, key.retired_at, key.last_size),
            )
            with conn.cursor() as cursor:
                cursor.executemany(
                    sql.SQL("UPDATE {} SET note = %s WHERE size = %s").format(
                        self.checkpoints_table
                    ),
                    [(note, size) for size, note in notes.items()],
                )


def integrity_store_for(factory: InfrastructureFactory[Any]) -> IntegrityStore:
    """The integrity tables in the same database as the factory's events."""
    store: IntegrityStore
    if isinstance(factory, SQLiteFactory):
        store = SQLiteIntegrityStore(factory.datastore)
    elif isinstance(factory, PostgresFactory):
        store = PostgresIntegrityStore(factory.datastore)
    else:
        msg = f"peerlog keeps no Merkle tree with {type(factory).__name__}"
        raise TypeError(msg)
    store.create_tables()
    return store
