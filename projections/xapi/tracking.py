"""How far forwarding to each learning record store has got, and what a store refused.

Two tables beside the read models (the SQLite file; ``<schema>_read`` on PostgreSQL):

* ``xapi_forwarding``: per store (its Statements URL, without credentials), the
  position of the last event whose statements the store took, and how many were sent;
* ``xapi_refused``: the statements a store refused, with the status and reason it gave.

The position moves only after the store has answered for every statement up to it, in a
transaction that checks the position it moves from, so two forwarders started by
mistake never both move it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from eventsourcing.persistence import IntegrityError
from psycopg import sql

from peerlog.projections.store import PostgresReadStore, ReadStore, SQLiteReadStore

FORWARDING: Final = "xapi_forwarding"
REFUSED: Final = "xapi_refused"


@dataclass(frozen=True)
class Forwarded:
    target: str
    position: int
    statements: int
    updated_at: datetime | None


@dataclass(frozen=True)
class Refusal:
    statement_id: str
    position: int
    event: str
    status: int
    reason: str
    refused_at: datetime


class ForwardingStore:
    """The two tables, on either store."""

    def __init__(self, store: ReadStore) -> None:
        self.store = store
        self.postgres = isinstance(store, PostgresReadStore)
        if not self.postgres and not isinstance(store, SQLiteReadStore):
            msg = f"no forwarding tables for {type(store).__name__}"
            raise TypeError(msg)
        self.ensure()

    # SQLite and PostgreSQL differ in placeholders and in where the tables live; the
    # statements are otherwise the same.
    def _sql(self, text: str) -> Any:
        if not self.postgres:
            return text.format(forwarding=FORWARDING, refused=REFUSED).replace("%s", "?")
        assert isinstance(self.store, PostgresReadStore)
        return sql.SQL(text).format(
            forwarding=self.store.name(FORWARDING), refused=self.store.name(REFUSED)
        )

    def _run(self, statement: str, params: tuple[Any, ...] = (), *, write: bool = True) -> Any:
        if self.postgres:
            assert isinstance(self.store, PostgresReadStore)
            with self.store.datastore.transaction() as conn:
                pg = conn.execute(self._sql(statement), params)
                return pg.fetchall() if pg.description else pg.rowcount
        assert isinstance(self.store, SQLiteReadStore)
        with self.store.datastore.transaction(write=write) as lite:
            cursor = lite.execute(self._sql(statement), params)
            return cursor.fetchall() if cursor.description else cursor.rowcount

    def ensure(self) -> None:
        time = "timestamptz" if self.postgres else "TEXT"
        if self.postgres:
            assert isinstance(self.store, PostgresReadStore)
            with self.store.datastore.transaction() as conn:
                conn.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                        sql.Identifier(self.store.schema)
                    )
                )
        self._run(
            "CREATE TABLE IF NOT EXISTS {forwarding} (target TEXT PRIMARY KEY, "
            f"position BIGINT NOT NULL, statements BIGINT NOT NULL, updated_at {time})"
        )
        self._run(
            "CREATE TABLE IF NOT EXISTS {refused} (target TEXT NOT NULL, "
            "statement_id TEXT NOT NULL, position BIGINT NOT NULL, event TEXT NOT NULL, "
            f"status INTEGER NOT NULL, reason TEXT NOT NULL, refused_at {time} NOT NULL, "
            "PRIMARY KEY (target, statement_id))"
        )

    @staticmethod
    def _time(value: Any) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value
        return datetime.fromisoformat(str(value))

    def forwarded(self, target: str) -> Forwarded:
        rows = self._run(
            "SELECT position, statements, updated_at FROM {forwarding} WHERE target = %s",
            (target,),
            write=False,
        )
        if not rows:
            return Forwarded(target, 0, 0, None)
        position, statements, updated_at = rows[0]
        return Forwarded(target, position, statements, self._time(updated_at))

    def all_forwarded(self) -> list[Forwarded]:
        rows = self._run(
            "SELECT target, position, statements, updated_at FROM {forwarding} ORDER BY target",
            write=False,
        )
        return [Forwarded(t, p, s, self._time(u)) for t, p, s, u in rows]

    def advance(self, target: str, old: int, new: int, sent: int, refused: list[Refusal]) -> None:
        """Move the position from ``old`` to ``new`` and note ``refused``, in one
        transaction; fail if the stored position is not ``old``."""
        now = datetime.now(UTC)
        stamp: Any = now if self.postgres else now.isoformat()
        insert = (
            "INSERT INTO {forwarding} (target, position, statements, updated_at) "
            "VALUES (%s, 0, 0, NULL) ON CONFLICT (target) DO NOTHING"
        )
        update = (
            "UPDATE {forwarding} SET position = %s, statements = statements + %s, "
            "updated_at = %s WHERE target = %s AND position = %s"
        )
        note = (
            "INSERT INTO {refused} (target, statement_id, position, event, status, reason, "
            "refused_at) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (target, statement_id) "
            "DO UPDATE SET status = excluded.status, reason = excluded.reason, "
            "refused_at = excluded.refused_at"
        )
        rows = [
            (target, r.statement_id, r.position, r.event, r.status, r.reason, stamp)
            for r in refused
        ]
        if self.postgres:
            assert isinstance(self.store, PostgresReadStore)
            with self.store.datastore.transaction() as conn:
                conn.execute(self._sql(insert), (target,))
                moved = conn.execute(self._sql(update), (new, sent, stamp, target, old)).rowcount
                if moved != 1:
                    raise IntegrityError(_moved(target, old))
                if rows:
                    with conn.cursor() as cursor:
                        cursor.executemany(self._sql(note), rows)
            return
        assert isinstance(self.store, SQLiteReadStore)
        with self.store.datastore.transaction(write=True) as lite:
            lite.execute(self._sql(insert), (target,))
            moved = lite.execute(self._sql(update), (new, sent, stamp, target, old)).rowcount
            if moved != 1:
                raise IntegrityError(_moved(target, old))
            if rows:
                lite.executemany(self._sql(note), rows)

    def refusals(self, target: str) -> list[Refusal]:
        rows = self._run(
            "SELECT statement_id, position, event, status, reason, refused_at FROM {refused} "
            "WHERE target = %s ORDER BY position, statement_id",
            (target,),
            write=False,
        )
        return [
            Refusal(s, p, e, st, r, self._time(at) or datetime.now(UTC))
            for s, p, e, st, r, at in rows
        ]


def _moved(target: str, old: int) -> str:
    return f"forwarding to {target} moved past position {old} in another process"
