"""The key store in a PostgreSQL schema (see :mod:`peerlog.persistence.keys`), in a
module of its own so that a command on an SQLite record never imports PostgreSQL's
driver."""

from __future__ import annotations

import re
import time
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any, Final

import psycopg
import psycopg.errors
from psycopg import sql

from peerlog.persistence.keys import (
    _CHANGED,
    _ERASED,
    _FORGET_AGAIN,
    _REWRAPPED,
    _ROTATE_AGAIN,
    ERASURE_WAIT_SECONDS,
    ErasureIncomplete,
    KeyStore,
    MasterKeyChanged,
    Progress,
    Rewrap,
    RewrapRecordKeys,
    _batches,
)
from peerlog.persistence.postgres import PostgresDatastore

_NUMBER: Final = re.compile(r"\d+")


class PostgresKeyStore(KeyStore):
    """The key table in the PostgreSQL schema of the events."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore
        self.table = datastore.identifier("person_keys")
        self.master_table = datastore.identifier("master_key")

    def create_table(self) -> None:
        self.datastore.create(
            [
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} ("
                    "person_id text PRIMARY KEY, wrapped bytea, forgotten_at timestamptz)"
                ).format(self.table),
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (id integer PRIMARY KEY CHECK (id = 1), "
                    "record_keys bytea, changed_at timestamptz)"
                ).format(self.master_table),
                sql.SQL("INSERT INTO {} (id) VALUES (1) ON CONFLICT (id) DO NOTHING").format(
                    self.master_table
                ),
            ]
        )

    def record_keys(self) -> bytes | None:
        with self.datastore.connection() as conn:
            row = conn.execute(
                sql.SQL("SELECT record_keys FROM {} WHERE id = 1").format(self.master_table)
            ).fetchone()
        return bytes(row[0]) if row and row[0] is not None else None

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

    def insert(self, wrapped: Mapping[str, bytes], *, record_keys: bytes | None) -> None:
        if not wrapped:
            return
        people = sorted(wrapped)
        with self.datastore.connection() as conn, conn.transaction():
            # A rewrap holds this row until it commits; then this reads what it wrote.
            row = conn.execute(
                sql.SQL("SELECT record_keys FROM {} WHERE id = 1 FOR SHARE").format(
                    self.master_table
                )
            ).fetchone()
            if (bytes(row[0]) if row and row[0] is not None else None) != record_keys:
                raise MasterKeyChanged(_CHANGED)
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} (person_id, wrapped) "
                    "SELECT * FROM unnest(%s::text[], %s::bytea[]) "
                    "ON CONFLICT (person_id) DO NOTHING"
                ).format(self.table),
                (people, [wrapped[p] for p in people]),
            )

    def rewrap(
        self,
        rewrap: Rewrap,
        record_keys: RewrapRecordKeys,
        *,
        batch: int,
        progress: Progress | None = None,
    ) -> int:
        with self.datastore.connection() as conn:
            with conn.transaction():
                row = conn.execute(
                    sql.SQL("SELECT record_keys FROM {} WHERE id = 1 FOR UPDATE").format(
                        self.master_table
                    )
                ).fetchone()
                new_record_keys = record_keys(bytes(row[0]) if row and row[0] is not None else None)
                rows = conn.execute(
                    sql.SQL(
                        "SELECT person_id, wrapped FROM {} WHERE wrapped IS NOT NULL "
                        "ORDER BY person_id FOR UPDATE"
                    ).format(self.table)
                ).fetchall()
                update = sql.SQL(
                    "UPDATE {} AS k SET wrapped = n.wrapped "
                    "FROM unnest(%s::text[], %s::bytea[]) AS n(person_id, wrapped) "
                    "WHERE k.person_id = n.person_id"
                ).format(self.table)
                for done, chunk in _batches(rows, batch):
                    conn.execute(
                        update,
                        (
                            [person for person, _ in chunk],
                            [rewrap(person, bytes(wrapped)) for person, wrapped in chunk],
                        ),
                    )
                    if progress is not None:
                        progress(done, len(rows))
                conn.execute(
                    sql.SQL(
                        "INSERT INTO {0} (id, record_keys, changed_at) VALUES (1, %s, now()) "
                        "ON CONFLICT (id) DO UPDATE SET record_keys = excluded.record_keys, "
                        "changed_at = excluded.changed_at"
                    ).format(self.master_table),
                    (new_record_keys,),
                )
                xid_row = conn.execute("SELECT pg_current_xact_id()::text").fetchone()
            assert xid_row is not None
            self._remove(conn, int(xid_row[0]), _REWRAPPED, _ROTATE_AGAIN, both=True)
        return len(rows)

    def remove_old_bytes(self) -> None:
        with self.datastore.connection() as conn:
            row = conn.execute("SELECT pg_current_xact_id()::text").fetchone()
            conn.commit()
            assert row is not None
            self._remove(conn, int(row[0]), _REWRAPPED, _ROTATE_AGAIN, both=True)

    def _remove(
        self,
        conn: psycopg.Connection[Any],
        xid: int,
        done: str,
        again: str,
        *,
        both: bool = False,
        deadline: float | None = None,
    ) -> None:
        """Remove the row versions replaced by transaction ``xid`` (and before it) from
        the files of the key table (and, with ``both``, of the master key's)."""
        deadline = time.monotonic() + ERASURE_WAIT_SECONDS if deadline is None else deadline
        tables = [("person_keys", self.table)]
        if both:
            tables.append(("master_key", self.master_table))
        kept: list[int] = []

        def count(notice: psycopg.errors.Diagnostic) -> None:
            for name, _ in tables:
                kept.extend(_kept_rows(notice, name))

        conn.add_notice_handler(count)
        try:
            self._remove_old_rows(conn, xid, deadline, kept, (done, again, tables))
        finally:
            conn.remove_notice_handler(count)

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
            self._remove(conn, int(row[0]), _ERASED, _FORGET_AGAIN, deadline=deadline)

    def _remove_old_rows(
        self,
        conn: psycopg.Connection[Any],
        xid: int,
        deadline: float,
        kept: list[int],
        why: tuple[str, str, list[tuple[str, sql.Composed]]],
    ) -> None:
        """VACUUM FULL until its own report says it kept no dead row version."""
        done, again, tables = why
        while True:
            self._wait_for_horizon(conn, xid, deadline, done, again)
            kept.clear()
            for _, table in tables:
                self._vacuum_full(conn, table, deadline, done, again)
            if not any(kept):
                return
            # A snapshot from before the change was taken after all (by a session that
            # began while we looked): wait for it too, and rewrite again.
            if time.monotonic() > deadline:
                msg = (
                    f"{done}, but VACUUM FULL had to keep the old row for "
                    f"transactions on the server of {self.datastore.description} that "
                    f"began before it; {again} when they are done"
                )
                raise ErasureIncomplete(msg)

    @staticmethod
    def _vacuum_full(
        conn: psycopg.Connection[Any], table: sql.Composed, deadline: float, done: str, again: str
    ) -> None:
        """Rewrite a key table and its index into new files (the old files are
        truncated when it commits), holding it locked no longer than the deadline."""
        wait_ms = max(1, int((deadline - time.monotonic()) * 1000))
        conn.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(f"{wait_ms}ms")))
        try:
            conn.execute(sql.SQL("VACUUM (FULL, VERBOSE) {}").format(table))
        except psycopg.errors.LockNotAvailable:
            msg = (
                f"{done}, but other sessions kept the key table locked, so "
                f"VACUUM FULL could not remove the old row; {again}"
            )
            raise ErasureIncomplete(msg) from None
        finally:
            conn.execute("RESET lock_timeout")

    def _wait_for_horizon(
        self, conn: psycopg.Connection[Any], xid: int, deadline: float, done: str, again: str
    ) -> None:
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
                    f"{done}, but VACUUM FULL would keep the old row: "
                    f"{len(blockers)} transaction(s) on the server of "
                    f"{self.datastore.description} began before it and are still running "
                    f"(the oldest, a {what}{where}{which}, for {seconds:.0f} s); "
                    f"{again} when they are done"
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


def _kept_rows(notice: psycopg.errors.Diagnostic, table: str) -> list[int]:
    """How many dead row versions VACUUM (FULL, VERBOSE) had to keep, from its report on
    ``table`` ("N dead row versions cannot be removed yet", in the server's language:
    the number comes first in every translation); none when the report is not there."""
    if notice.severity_nonlocalized != "INFO" or table not in (notice.message_primary or ""):
        return []
    found = _NUMBER.search(notice.message_detail or "")
    return [int(found.group())] if found else []
