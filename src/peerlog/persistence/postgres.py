"""PostgreSQL persistence through psycopg 3: the production store.

A command's events are appended by one call of a database function, so that each
command costs one round trip and one durable commit. The function takes a
transaction-level advisory lock (serialising appends, so positions are committed in
order), checks that the streams the command read have not moved on, computes each
event's hash-chain link (the same formula as :mod:`peerlog.persistence.chain`),
stores the events and the command, and notifies listeners.

All SQL is composed with :mod:`psycopg.sql`; the schema name is an identifier, never
formatted in as text, and every value is a parameter.

**Failover.** With a multi-host URL (``target_session_attrs=read-write``) every new
connection goes to whichever server is the primary. When a connection breaks, the pool
drops its idle connections (they went to the same server) and a writer's own
connection is replaced. A command whose connection broke while it was being appended
is *ambiguous*: its commit may have reached the old primary and its synchronous
standby, or not. The recorder settles it before answering: it waits (a bounded time,
``PEERLOG_FAILOVER_SECONDS``) for a primary, looks the command up by its id there, and
either returns where its events landed (it was recorded) or appends it again (it was
not). So a command is recorded once or answered as failed, never twice.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final

import psycopg
import psycopg.errors
import psycopg_pool
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    DatabaseError,
    InfrastructureFactory,
    IntegrityError,
    InterfaceError,
    ListenNotifySubscription,
    Notification,
    OperationalError,
    PersistenceError,
    ProcessRecorder,
    StoredEvent,
    Subscription,
    Tracking,
    TrackingRecorder,
)
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from peerlog.i18n import lazy
from peerlog.persistence import chain
from peerlog.persistence.base import EventRecorder, RawEvent, Turn
from peerlog.persistence.config import ConfigurationError
from peerlog.persistence.records import (
    Appended,
    CommandIdConflict,
    CommandRecord,
    RecordedEvent,
    StoredCommand,
    StreamConflict,
)

logger = logging.getLogger(__name__)

STREAM_CONFLICT: Final = "PLS01"
DEADLOCK: Final = "40P01"
"""Two writers each waiting for a stream the other holds: one is refused, and decides
again in its turn."""
DEFAULT_SCHEMA: Final = "peerlog"
FAILOVER_SECONDS: Final = 30.0
"""How long a command whose connection broke waits for a primary to settle it."""
RETRY_PAUSE: Final = 0.2
_DISCONNECTED: Final = ("08", "57P", "25006")
"""SQLSTATE classes of a lost or refused connection, and "read-only transaction" (a
server that is no longer the primary)."""


def disconnected(exc: BaseException) -> bool:
    """Whether a psycopg error means the connection (or the primary behind it) is gone,
    rather than a statement the server refused."""
    if not isinstance(exc, psycopg.Error):
        return False
    if isinstance(exc, psycopg.InterfaceError):
        return True
    state = exc.sqlstate
    if state is None:
        return isinstance(exc, psycopg.OperationalError)
    return state.startswith(_DISCONNECTED)


def lock_key(schema: str, purpose: str) -> int:
    """A stable advisory-lock key for one purpose in one schema."""
    digest = hashlib.sha256(f"peerlog:{schema}:{purpose}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


_TRANSLATIONS: Final[tuple[tuple[type[psycopg.Error], type[PersistenceError]], ...]] = (
    (psycopg.errors.UniqueViolation, StreamConflict),
    (psycopg.IntegrityError, IntegrityError),
    (psycopg.OperationalError, OperationalError),
    (psycopg.InterfaceError, InterfaceError),
    (psycopg.DatabaseError, DatabaseError),
)


def _translate(exc: psycopg.Error) -> PersistenceError:
    """The library's exception for a psycopg error (the message is the server's)."""
    if exc.sqlstate == STREAM_CONFLICT:
        return StreamConflict(exc.diag.message_primary or str(exc))
    if exc.sqlstate == DEADLOCK:
        return StreamConflict("two writers waited for each other's streams")
    for psycopg_type, ours in _TRANSLATIONS:
        if isinstance(exc, psycopg_type):
            return ours(str(exc))
    return PersistenceError(str(exc))


_SESSION: Final = sql.SQL("SET jit = off; SET max_parallel_workers_per_gather = 0")


def _configure(conn: psycopg.Connection[tuple[Any, ...]]) -> None:
    """Plan every query as the point lookup or stream that it is.

    peerlog's queries read one stream, one projection's rows or the record in order,
    through indexes. Where the table statistics are missing or stale (a bulk import
    with autovacuum behind, or off), the planner takes a stream of 300 events for
    100,000 and plans a parallel scan with JIT compilation: about 45 ms instead of 1 ms
    per stream, which made verifying 10,000,000 events take half an hour."""
    conn.execute(_SESSION)


def _connect_timeout(conninfo: str, default: float) -> float:
    """How long to wait to connect: the URL's ``connect_timeout`` where it gives one
    (libpq's own, per host), else ``default``."""
    try:
        given = conninfo_to_dict(conninfo).get("connect_timeout")
        seconds = float(given) if given is not None else default
    except (psycopg.ProgrammingError, ValueError):
        return default
    return max(1.0, seconds)


class PostgresDatastore:
    """A pool of autocommit connections to one database, working in one schema."""

    def __init__(
        self,
        conninfo: str,
        *,
        schema: str = DEFAULT_SCHEMA,
        pool_size: int = 4,
        max_pool_size: int = 16,
        connect_timeout: float = 10.0,
        description: str = "",
        failover_seconds: float = FAILOVER_SECONDS,
        group_commit: bool = False,
    ) -> None:
        self.schema = schema
        self.description = description or "PostgreSQL"
        # Waiting for a first connection (a server that is down) takes as long as the
        # URL's connect_timeout says; waiting for a free one in the pool, the default.
        self.connect_timeout = _connect_timeout(conninfo, connect_timeout)
        self.conninfo = conninfo
        self.failover_seconds = failover_seconds
        self.group_commit = group_commit
        """Whether the commands this process's writers append at the same moment go in
        one transaction (:class:`GroupCommit`); otherwise each in its own."""
        self._standby: bool | None = None
        self.pool: psycopg_pool.ConnectionPool[psycopg.Connection[tuple[Any, ...]]] = (
            psycopg_pool.ConnectionPool(
                conninfo,
                min_size=pool_size,
                max_size=max(pool_size, max_pool_size),
                kwargs={"autocommit": True},
                configure=_configure,
                # A connection handed out works: one whose server went away (a
                # failover) is replaced, not given to a reader to fail with.
                check=psycopg_pool.ConnectionPool.check_connection,
                open=False,
                timeout=connect_timeout,
                name=f"peerlog-{schema}",
            )
        )
        self._open_lock = threading.Lock()
        self._opened = False
        self._writers = threading.local()
        self._pinned: list[psycopg.Connection[tuple[Any, ...]]] = []
        self.max_pinned = max(1, max(pool_size, max_pool_size) // 2)

    def _open(self) -> None:
        with self._open_lock:
            if self._opened:
                return
            try:
                self.pool.open(wait=True, timeout=self.connect_timeout)
            except psycopg_pool.PoolTimeout:
                self.pool.close()
                msg = f"cannot connect to {self.description}; is the server running?"
                raise InterfaceError(msg) from None
            self._opened = True

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        self._open()
        try:
            with self.pool.connection() as conn:
                yield conn
        except psycopg.Error as exc:
            if disconnected(exc):
                self.lost_connection()
            raise _translate(exc) from exc
        except psycopg_pool.PoolTimeout as exc:
            msg = f"no connection to {self.description} became free in time"
            raise OperationalError(msg) from exc

    def lost_connection(self) -> None:
        """A connection broke: the pool's idle ones went to the same server, so check
        them now (the broken are replaced at once, not when each is next used)."""
        try:
            self.pool.check()
        except Exception:  # checking is a courtesy: the next use reconnects anyway
            logger.debug("checking the pool's connections failed", exc_info=True)

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        with self.connection() as conn, conn.transaction():
            yield conn

    def connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        """A connection of its own, outside the pool (made at once, where the pool
        waits between attempts after a failure)."""
        conn = psycopg.connect(
            self.conninfo, autocommit=True, connect_timeout=max(1, round(self.connect_timeout))
        )
        _configure(conn)
        return conn

    @contextmanager
    def writer(self) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        """This thread's own connection for appends, kept between them (taking one from
        the pool for every command costs more than the command's SQL). A connection
        that broke is closed and replaced next time, with the primary of the moment."""
        held: psycopg.Connection[tuple[Any, ...]] | None = getattr(self._writers, "held", None)
        if held is not None and not held.closed:
            # A turn holds this thread's connection (and the locks taken on it).
            yield held
            return
        conn: psycopg.Connection[tuple[Any, ...]] | None = getattr(self._writers, "conn", None)
        if (conn is None or conn.closed) and len(self._pinned) >= self.max_pinned:
            # Many writing threads: the rest share the pool.
            self._open()
            try:
                with self.pool.connection() as shared:
                    yield shared
            except psycopg.Error as exc:
                if disconnected(exc):
                    self.lost_connection()
                raise
            except psycopg_pool.PoolTimeout as exc:
                msg = f"no connection to {self.description} became free in time"
                raise OperationalError(msg) from exc
            return
        if conn is None or conn.closed:
            # A failure to connect is the caller's to settle, like a broken connection.
            conn = self.connect()
            self._writers.conn = conn
            with self._open_lock:
                self._pinned.append(conn)
        try:
            yield conn
        except psycopg.Error as exc:
            if disconnected(exc):
                self._release(conn)
                self.lost_connection()
            raise

    def holds_turn(self) -> bool:
        """Whether this thread's writer connection holds a command's turn."""
        return getattr(self._writers, "held", None) is not None

    @contextmanager
    def held_writer(self) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        """This thread's writer connection, held until the block ends: every
        :meth:`writer` of the thread meanwhile is this one, so the appends run in the
        session that holds a turn's locks."""
        with self.writer() as conn:
            self._writers.held = conn
            try:
                yield conn
            finally:
                self._writers.held = None

    def _release(self, conn: psycopg.Connection[tuple[Any, ...]]) -> None:
        self._writers.conn = None
        with self._open_lock:
            if conn in self._pinned:
                self._pinned.remove(conn)
        conn.close()

    @property
    def standby(self) -> bool:
        """Whether the server is a standby (in recovery): it takes no schema changes;
        the primary makes them, and they reach it by replication."""
        if self._standby is None:
            with self.connection() as conn:
                row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
            self._standby = bool(row and row[0])
        return self._standby

    def create(self, statements: Sequence[sql.Composed | sql.SQL], *, name: str = "") -> None:
        """Run schema statements in the schema (created if missing), one process at a
        time, unless the schema already has them: the digest of the statements is kept
        under ``name`` (the digest itself if none) in the schema's ``schema_versions``,
        so that opening a store takes no DDL lock unless its schema changed. On a
        standby, nothing (its schema is the primary's)."""
        digest = hashlib.sha256(b"\0".join(s.as_bytes(None) for s in statements)).hexdigest()
        name = name or digest
        versions = self.identifier("schema_versions")
        if self._created(versions, name, digest) or self.standby:
            return
        with self.transaction() as conn:
            conn.execute(
                sql.SQL("SELECT pg_advisory_xact_lock({})").format(
                    sql.Literal(lock_key(self.schema, "ddl"))
                )
            )
            conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema))
            )
            for statement in statements:
                conn.execute(statement)
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (name text PRIMARY KEY, digest text NOT NULL)"
                ).format(versions)
            )
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} VALUES (%s, %s) "
                    "ON CONFLICT (name) DO UPDATE SET digest = excluded.digest"
                ).format(versions),
                (name, digest),
            )

    def _created(self, versions: sql.Composed, name: str, digest: str) -> bool:
        """Whether the schema has these statements' digest under ``name``."""
        with self.connection() as conn:
            try:
                row = conn.execute(
                    sql.SQL("SELECT digest FROM {} WHERE name = %s").format(versions), (name,)
                ).fetchone()
            except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName):
                return False
        return row is not None and row[0] == digest

    def identifier(self, name: str) -> sql.Composed:
        """A table (or other object) in this datastore's schema."""
        return sql.SQL("{}.{}").format(sql.Identifier(self.schema), sql.Identifier(name))

    def close(self) -> None:
        with self._open_lock:
            pinned, self._pinned = self._pinned, []
        for conn in pinned:
            conn.close()
        self.pool.close()


# The link formula is the one in peerlog.persistence.chain. Every statement of a
# PL/pgSQL function takes a fresh snapshot, so what is read after the lock is taken
# includes everything committed before it.
_LINK: Final = """
    sha256(
        coalesce(v_previous, decode(repeat('00', 32), 'hex'))
        || int4send(length(v_oid)) || v_oid
        || int8send(v_version) || int8send(v_position) || int8send(v_micros)
        || int4send(length(v_topic)) || v_topic
        || v_state)
"""

_CREATE_APPEND_ONE: Final = """
CREATE OR REPLACE FUNCTION {function}(
    p_stream text, p_version bigint, p_topic text, p_state bytea,
    p_command_id text, p_command text, p_digest bytea,
    p_check_stream text, p_check_version bigint, p_previous bytea,
    OUT o_position bigint, OUT o_recorded_at timestamptz, OUT o_chain bytea)
LANGUAGE plpgsql AS $fn$
DECLARE
    v_previous bytea;
    v_micros bigint;
    v_position bigint;
    v_version bigint := p_version;
    v_state bytea := p_state;
    v_oid bytea := convert_to(p_stream, 'UTF8');
    v_topic bytea := convert_to(p_topic, 'UTF8');
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(p_stream, {stream_seed}));
    PERFORM pg_advisory_xact_lock({lock});
    IF p_check_stream IS NOT NULL AND coalesce(
        (SELECT max(originator_version) FROM {events} WHERE originator_id = p_check_stream), 0
    ) <> p_check_version THEN
        RAISE EXCEPTION 'stream % has moved on from version %', p_check_stream, p_check_version
            USING ERRCODE = {stream_conflict};
    END IF;
    SELECT coalesce(max(position), 0) + 1, clock_timestamp() INTO v_position, o_recorded_at
        FROM {events};
    IF p_previous IS NOT NULL THEN
        -- The writer appended the event before: its link, as it was stored.
        v_previous := p_previous;
    ELSE
        SELECT chain INTO v_previous FROM {events}
            WHERE originator_id = p_stream AND originator_version = p_version - 1;
    END IF;
    v_micros := (extract(epoch FROM o_recorded_at) * 1000000)::bigint;
    o_chain := {link};
    INSERT INTO {events} VALUES (
        v_position, p_stream, p_version, p_topic, p_state, o_recorded_at, o_chain,
        p_command_id, p_command, p_digest, CASE WHEN p_command_id IS NULL THEN NULL ELSE 1 END);
    o_position := v_position;
    PERFORM pg_notify({channel}, v_position::text);
END
$fn$
"""

_RECORD_COLUMNS: Final = sql.SQL(
    "position, originator_id, originator_version, topic, state, recorded_at, chain"
)


def _conflict(exc: psycopg.errors.UniqueViolation) -> StreamConflict | CommandIdConflict:
    if exc.diag.constraint_name == "events_command":
        return CommandIdConflict("a command with this id was recorded before")
    return StreamConflict("another writer appended to a stream first")


def _record(row: tuple[Any, ...]) -> RecordedEvent:
    return RecordedEvent.of(row[0], row[1], row[2], row[3], row[4], row[5], row[6])


_COMMAND_COLUMNS: Final = sql.SQL(
    "command_id, command, command_digest, recorded_at, position, command_events"
)


def _command(row: tuple[Any, ...]) -> StoredCommand:
    return StoredCommand(
        command_id=row[0],
        command=row[1],
        digest=bytes(row[2]),
        recorded_at=row[3],
        first_position=row[4],
        event_count=row[5],
    )


class PostgresEventRecorder(EventRecorder):
    """Events, commands and hash chains in one PostgreSQL schema."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore
        ds = datastore
        self.events = ds.identifier("events")
        self.append_one = ds.identifier("append_event")
        self.channel = f"peerlog_{ds.schema}"[:63]
        self._lock = sql.Literal(lock_key(ds.schema, "append"))
        self.heads = chain.Heads()
        self._group = _group_for(ds.conninfo, ds.schema)
        self._group_versions = sql.SQL(
            "SELECT s, coalesce((SELECT max(originator_version) FROM {} "
            "WHERE originator_id = s), 0) FROM unnest(%s::text[]) AS s"
        ).format(self.events)
        self._group_ids = sql.SQL("SELECT command_id FROM {} WHERE command_id = ANY(%s)").format(
            self.events
        )
        self._group_head = sql.SQL(
            "SELECT coalesce(max(position), 0), clock_timestamp() FROM {}"
        ).format(self.events)
        self._group_links = sql.SQL(
            "SELECT e.originator_id, e.originator_version, e.chain FROM {} AS e "
            "JOIN unnest(%s::text[], %s::bigint[]) AS n(s, v) "
            "ON e.originator_id = n.s AND e.originator_version = n.v"
        ).format(self.events)
        self._group_insert = sql.SQL(
            "INSERT INTO {} (position, originator_id, originator_version, topic, state, "
            "recorded_at, chain, command_id, command, command_digest, command_events) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        ).format(self.events)
        self._stream_seed = sql.Literal(lock_key(ds.schema, "streams"))
        # A stream's lock: keyed by the stream's name, hashed by the server, taken in
        # the order of the keys (so two writers never wait for each other in a cycle).
        self._stream_locks = {
            function: sql.SQL(
                "SELECT {}(k) FROM (SELECT DISTINCT hashtextextended(s, {}) AS k "
                "FROM unnest(%s::text[]) AS s ORDER BY k) AS t"
            ).format(sql.SQL(function), self._stream_seed)
            for function in ("pg_advisory_xact_lock", "pg_advisory_lock", "pg_advisory_unlock")
        }
        self._copy_events = sql.SQL(
            "COPY {} (position, originator_id, originator_version, topic, state, recorded_at, "
            "chain, command_id, command, command_digest, command_events) FROM STDIN"
        ).format(self.events)
        self._append_one_sql = sql.SQL(
            "SELECT o_position, o_recorded_at, o_chain FROM {}({})"
        ).format(self.append_one, sql.SQL(", ").join([sql.Placeholder()] * 10))
        # Composed once: turning it into bytes on every command would cost more than its SQL.
        self._append_one = self._append_one_sql.as_bytes(None)

    def create_table(self) -> None:
        ds = self.datastore
        names = {
            "lock": sql.Literal(lock_key(ds.schema, "append")),
            "events": self.events,
            "stream_conflict": sql.Literal(STREAM_CONFLICT),
            "channel": sql.Literal(self.channel),
            "link": sql.SQL(_LINK),
            "stream_seed": self._stream_seed,
        }
        ds.create(
            name="events",
            statements=[
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} ("
                    "position bigint PRIMARY KEY, "
                    "originator_id text NOT NULL, "
                    "originator_version bigint NOT NULL, "
                    "topic text NOT NULL, "
                    "state bytea NOT NULL, "
                    "recorded_at timestamptz NOT NULL, "
                    "chain bytea NOT NULL, "
                    "command_id text, "
                    "command text, "
                    "command_digest bytea, "
                    "command_events integer, "
                    "CONSTRAINT events_command UNIQUE (command_id), "
                    "CONSTRAINT events_stream_version UNIQUE (originator_id, originator_version))"
                ).format(self.events),
                sql.SQL(_CREATE_APPEND_ONE).format(function=self.append_one, **names),
            ],
        )

    def append(
        self,
        stored_events: Sequence[StoredEvent],
        *,
        command: CommandRecord | None = None,
        expected: Mapping[str, int] | None = None,
    ) -> list[Appended]:
        if not stored_events:
            return []
        if command is None or not self.datastore.group_commit or self.datastore.holds_turn():
            # A command in its turn appends on the connection that holds the turn.
            return self.append_alone(stored_events, command, expected)
        entry = Pending(self, stored_events, command, expected or {})
        return self._group.append(entry)

    def append_alone(
        self,
        stored_events: Sequence[StoredEvent],
        command: CommandRecord | None,
        expected: Mapping[str, int] | None,
    ) -> list[Appended]:
        """One command's events, appended in a transaction of their own."""
        # The streams being written are guarded by their unique (stream, version) key;
        # only the streams the command read without writing need checking.
        written = {str(s.originator_id) for s in stored_events}
        checks = {k: v for k, v in (expected or {}).items() if k not in written}
        if len(stored_events) > 1 or len(checks) > 1:
            return self.append_batch([(stored_events, command)], expected=expected)[0]
        cmd = (command.command_id, command.command, command.digest) if command else (None,) * 3
        stored = stored_events[0]
        params = (
            str(stored.originator_id),
            stored.originator_version,
            stored.topic,
            stored.state,
            *cmd,
            *next(iter(checks.items()), (None, None)),
            self.heads.before(str(stored.originator_id), stored.originator_version),
        )

        def attempt() -> list[list[Appended]]:
            with self.datastore.writer() as conn:
                rows = conn.execute(self._append_one, params, prepare=True).fetchall()
            return [[Appended(row[0], row[1], bytes(row[2])) for row in rows]]

        appended = self._settled([command], attempt)
        self.heads.remember([(stored_events, command)], appended)
        return appended[0]

    def append_batch(
        self,
        commands: Sequence[tuple[Sequence[StoredEvent], CommandRecord | None]],
        *,
        expected: Mapping[str, int] | None = None,
    ) -> list[list[Appended]]:
        if not any(events for events, _ in commands):
            return [[] for _ in commands]
        written = {str(s.originator_id) for events, _ in commands for s in events}
        checks = {k: v for k, v in (expected or {}).items() if k not in written}
        known, needed = self.heads.known(chain.first_links_needed(commands))

        def attempt() -> list[list[Appended]]:
            with self.datastore.writer() as conn, conn.transaction():
                # Wait for any command holding its turn at these streams.
                conn.execute(self.stream_locks("pg_advisory_xact_lock"), (sorted(written),))
                return self._append_batch(conn, commands, checks, needed, known)

        appended = self._settled([command for _, command in commands], attempt)
        self.heads.remember(commands, appended)
        return appended

    def append_group(self, entries: Sequence[Pending]) -> None:
        """Several commands' events in one transaction (one durable commit for all),
        each command checked on its own against the record and the commands before it
        here: one that conflicts is answered with its conflict and leaves the others
        be. Each entry's ``landed`` or ``error`` is set. Two round trips, pipelined:
        the locks and what the checks and links need; then the rows and the commit."""
        written = sorted({str(s.originator_id) for e in entries for s in e.events})
        streams = sorted({*written, *(k for e in entries for k in e.expected)})
        known = {k: v for e in entries for k, v in e.known.items()}
        # Each command's own first links: a command refused here may have been the
        # first of the group on a stream that a later one appends to.
        needed = sorted(
            {
                n
                for e in entries
                for n in chain.first_links_needed([(e.events, e.command)])
                if n not in known
            }
        )
        with self.datastore.writer() as conn, conn.pipeline(), conn.transaction():
            # Wait for any command holding its turn at these streams, then for the
            # append lock: what is read from here on stays true until the commit.
            conn.execute(self.stream_locks("pg_advisory_xact_lock"), (written,))
            conn.execute(sql.SQL("SELECT pg_advisory_xact_lock({})").format(self._lock))
            versions_read = conn.execute(self._group_versions, (streams,))
            ids_read = conn.execute(self._group_ids, ([e.command.command_id for e in entries],))
            head_read = conn.execute(self._group_head)
            links_read = conn.execute(
                self._group_links, ([s for s, _ in needed], [v for _, v in needed])
            )
            versions: dict[str, int] = dict(versions_read.fetchall())
            ids = {row[0] for row in ids_read.fetchall()}
            head = head_read.fetchone()
            assert head is not None  # an aggregate always returns a row
            previous = dict(known)
            previous.update({(r[0], r[1]): bytes(r[2]) for r in links_read.fetchall()})
            accepted = [e for e in entries if _admit(e, versions, ids)]
            if not accepted:
                return
            rows, appended = chain.linked_rows(
                [(e.events, e.command) for e in accepted],
                after=head[0],
                recorded_at=head[1],
                previous=previous,
            )
            conn.cursor().executemany(self._group_insert, rows)
            conn.execute(
                sql.SQL("SELECT pg_notify({}, %s)").format(sql.Literal(self.channel)),
                (str(rows[-1][0]),),
            )
        for entry, landed in zip(accepted, appended, strict=True):
            entry.landed = landed

    def stream_locks(self, function: str) -> sql.Composed:
        """A statement that calls an advisory-lock ``function`` for each stream of its
        one parameter (a list of stream ids), in the order of their keys."""
        return self._stream_locks[function]

    def turn(self) -> Turn:
        return PostgresTurn(self)

    def _settled(
        self,
        commands: Sequence[CommandRecord | None],
        attempt: Callable[[], list[list[Appended]]],
    ) -> list[list[Appended]]:
        """Run an append; if its connection broke, settle what became of it on the
        primary of the moment: the commands were recorded (their events' places are
        returned), or they were not (appended again), within ``failover_seconds``."""
        deadline: float | None = None
        while True:
            try:
                return attempt()
            except psycopg.errors.UniqueViolation as exc:
                raise _conflict(exc) from exc
            except psycopg.Error as exc:
                if not disconnected(exc) or any(c is None for c in commands):
                    raise _translate(exc) from exc
                lost = exc
            if deadline is None:
                deadline = time.monotonic() + self.datastore.failover_seconds
                logger.warning(
                    "lost %s while appending (%s); settling the command by its id",
                    self.datastore.description,
                    type(lost).__name__,
                )
            found = self._recorded([c for c in commands if c is not None], deadline, lost)
            if found is not None:
                return found

    def _recorded(
        self, commands: Sequence[CommandRecord], deadline: float, lost: psycopg.Error
    ) -> list[list[Appended]] | None:
        """Where the commands' events landed, if the primary (waited for until
        ``deadline``) has them; None if it has none of them."""
        ids = [c.command_id for c in commands]
        while True:
            try:
                with self.datastore.connect() as conn:
                    rows = conn.execute(
                        sql.SQL("SELECT {} FROM {} WHERE command_id = ANY(%s)").format(
                            _COMMAND_COLUMNS, self.events
                        ),
                        (ids,),
                    ).fetchall()
                    stored = {row[0]: _command(row) for row in rows}
                    if not stored:
                        return None
                    if len(stored) < len(ids) or any(
                        stored[c.command_id].digest != c.digest for c in commands
                    ):
                        # Recorded by another writer (or in part by none): the caller
                        # answers each command from the store.
                        raise CommandIdConflict("a command with this id was recorded before")
                    out = []
                    for command in commands:
                        first = stored[command.command_id]
                        landed = conn.execute(
                            sql.SQL(
                                "SELECT position, recorded_at, chain FROM {} "
                                "WHERE position BETWEEN %s AND %s ORDER BY position"
                            ).format(self.events),
                            (first.first_position, first.last_position),
                        ).fetchall()
                        out.append([Appended(r[0], r[1], bytes(r[2])) for r in landed])
                    logger.warning("the command was recorded before the connection broke")
                    return out
            except psycopg.Error as exc:
                if not disconnected(exc):
                    raise _translate(exc) from exc
                if time.monotonic() >= deadline:
                    msg = (
                        f"{self.datastore.description} could not be reached for "
                        f"{self.datastore.failover_seconds:g} s after the connection broke "
                        "during a command; it may or may not have been recorded: send it "
                        "again with the same command_id"
                    )
                    raise OperationalError(msg) from lost
                time.sleep(RETRY_PAUSE)

    def _append_batch(
        self,
        conn: psycopg.Connection[Any],
        commands: Sequence[tuple[Sequence[StoredEvent], CommandRecord | None]],
        checks: Mapping[str, int],
        needed: list[tuple[str, int]],
        known: Mapping[tuple[str, int], bytes],
    ) -> list[list[Appended]]:
        # Each statement after the lock sees everything committed before it was taken.
        conn.execute(sql.SQL("SELECT pg_advisory_xact_lock({})").format(self._lock))
        if checks:
            current = dict(
                conn.execute(
                    sql.SQL(
                        "SELECT s, coalesce((SELECT max(originator_version) FROM {} "
                        "WHERE originator_id = s), 0) FROM unnest(%s::text[]) AS s"
                    ).format(self.events),
                    (list(checks),),
                ).fetchall()
            )
            for stream, version in checks.items():
                if current.get(stream) != version:
                    msg = f"stream {stream} is at version {current.get(stream)}, not {version}"
                    raise StreamConflict(msg)
        head = conn.execute(
            sql.SQL("SELECT coalesce(max(position), 0), clock_timestamp() FROM {}").format(
                self.events
            )
        ).fetchone()
        assert head is not None  # an aggregate always returns a row
        after, now = head
        previous = dict(known)
        if needed:
            found = conn.execute(
                sql.SQL(
                    "SELECT e.originator_id, e.originator_version, e.chain FROM {} AS e "
                    "JOIN unnest(%s::text[], %s::bigint[]) AS n(s, v) "
                    "ON e.originator_id = n.s AND e.originator_version = n.v"
                ).format(self.events),
                ([s for s, _ in needed], [v for _, v in needed]),
            ).fetchall()
            previous.update({(row[0], row[1]): bytes(row[2]) for row in found})
        rows, appended = chain.linked_rows(
            commands, after=after, recorded_at=now, previous=previous
        )
        with conn.cursor().copy(self._copy_events) as copy:
            for row in rows:
                copy.write_row(row)
        conn.execute(
            sql.SQL("SELECT pg_notify({}, %s)").format(sql.Literal(self.channel)),
            (str(rows[-1][0]),),
        )
        return appended

    def find_commands(self, command_ids: Collection[str]) -> dict[str, StoredCommand]:
        if not command_ids:
            return {}
        rows = self._select(
            sql.SQL("SELECT {} FROM {} WHERE command_id = ANY(%s)").format(
                _COMMAND_COLUMNS, self.events
            ),
            (list(command_ids),),
        )
        return {row[0]: _command(row) for row in rows}

    def _select(
        self, statement: sql.Composed | sql.SQL, params: Sequence[Any]
    ) -> list[tuple[Any, ...]]:
        with self.datastore.connection() as conn:
            return conn.execute(statement, params, prepare=True, binary=True).fetchall()

    def select_events(
        self,
        originator_id: Any,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        return [
            StoredEvent(*row)
            for row in self._select(
                *_stream_query(
                    sql.SQL("originator_id, originator_version, topic, state"),
                    self.events,
                    str(originator_id),
                    gt=gt,
                    lte=lte,
                    desc=desc,
                    limit=limit,
                )
            )
        ]

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        clauses: list[sql.Composable] = []
        params: list[Any] = []
        if start is not None:
            clauses.append(sql.SQL("position >= %s" if inclusive_of_start else "position > %s"))
            params.append(start)
        if stop is not None:
            clauses.append(sql.SQL("position <= %s"))
            params.append(stop)
        if topics:
            clauses.append(sql.SQL("topic = ANY(%s)"))
            params.append(list(topics))
        statement = sql.SQL("SELECT {} FROM {}").format(_RECORD_COLUMNS, self.events)
        if clauses:
            statement += sql.SQL(" WHERE ") + sql.SQL(" AND ").join(clauses)
        statement += sql.SQL(" ORDER BY position LIMIT %s")
        params.append(limit)
        return [_record(row) for row in self._select(statement, params)]

    def max_notification_id(self) -> int | None:
        rows = self._select(sql.SQL("SELECT max(position) FROM {}").format(self.events), ())
        value = rows[0][0]
        return int(value) if value is not None else None

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> Subscription[ApplicationRecorder]:
        return ListenSubscription(self, gt=gt, topics=topics)

    def find_command(self, command_id: str) -> StoredCommand | None:
        rows = self._select(
            sql.SQL("SELECT {} FROM {} WHERE command_id = %s").format(
                _COMMAND_COLUMNS, self.events
            ),
            (command_id,),
        )
        return _command(rows[0]) if rows else None

    def select_commands(self) -> list[StoredCommand]:
        rows = self._select(
            sql.SQL("SELECT {} FROM {} WHERE command_id IS NOT NULL ORDER BY position").format(
                _COMMAND_COLUMNS, self.events
            ),
            (),
        )
        return [_command(row) for row in rows]

    def select_records(
        self,
        originator_id: str | None = None,
        *,
        start: int | None = None,
        stop: int | None = None,
        limit: int | None = None,
    ) -> list[RecordedEvent]:
        clauses: list[sql.Composable] = []
        params: list[Any] = []
        if originator_id is not None:
            clauses.append(sql.SQL("originator_id = %s"))
            params.append(originator_id)
        if start is not None:
            clauses.append(sql.SQL("position >= %s"))
            params.append(start)
        if stop is not None:
            clauses.append(sql.SQL("position <= %s"))
            params.append(stop)
        statement = sql.SQL("SELECT {} FROM {}").format(_RECORD_COLUMNS, self.events)
        if clauses:
            statement += sql.SQL(" WHERE ") + sql.SQL(" AND ").join(clauses)
        statement += sql.SQL(
            " ORDER BY originator_version" if originator_id is not None else " ORDER BY position"
        )
        if limit is not None:
            statement += sql.SQL(" LIMIT %s")
            params.append(limit)
        return [_record(row) for row in self._select(statement, params)]

    def iter_raw(
        self,
        after: int,
        *,
        stop: int | None = None,
        topics: Collection[str] | None = None,
        streams: Collection[str] | None = None,
    ) -> Iterator[RawEvent]:
        params: list[Any] = []
        if streams is not None:
            # Each stream's events through the (originator_id, originator_version)
            # index, not a scan of the whole record for a few of its streams. The
            # OFFSET 0 keeps the conditions on positions and topics out of the per-stream
            # subquery: with them inside, the planner scanned the whole record (or,
            # before the table was analysed, a bitmap of all its positions) per stream.
            statement = sql.SQL(
                "SELECT e.position, e.topic, e.state, e.recorded_at "
                "FROM unnest(%s::text[]) AS s(id) CROSS JOIN LATERAL "
                "(SELECT position, topic, state, recorded_at FROM {} "
                "WHERE originator_id = s.id OFFSET 0) AS e WHERE e.position > %s"
            ).format(self.events)
            params.append(sorted(streams))
        else:
            statement = sql.SQL(
                "SELECT position, topic, state, recorded_at FROM {} WHERE position > %s"
            ).format(self.events)
        params.append(after)
        if stop is not None:
            statement += sql.SQL(" AND position <= %s")
            params.append(stop)
        if topics is not None:
            statement += sql.SQL(" AND topic = ANY(%s)")
            params.append(sorted(topics))
        statement += sql.SQL(" ORDER BY position")
        # A server-side cursor streams a long record without holding it all in memory;
        # binary rows carry the states as they are, not as hex text twice their size.
        with (
            self.datastore.connection() as conn,
            conn.transaction(),
            conn.cursor(name="peerlog_raw_events", binary=True) as cursor,
        ):
            cursor.itersize = 10_000
            cursor.execute(statement, params)
            yield from cursor

    def select_positions(self) -> list[int]:
        rows = self._select(
            sql.SQL("SELECT position FROM {} ORDER BY position").format(self.events), ()
        )
        return [row[0] for row in rows]

    def select_streams(self) -> list[str]:
        rows = self._select(
            sql.SQL("SELECT DISTINCT originator_id FROM {} ORDER BY 1").format(self.events), ()
        )
        return [row[0] for row in rows]

    def stream_lengths(self) -> dict[str, int]:
        rows = self._select(
            sql.SQL(
                "SELECT originator_id, max(originator_version) FROM {} GROUP BY originator_id"
            ).format(self.events),
            (),
        )
        return {row[0]: row[1] for row in rows}

    def close(self) -> None:
        self.datastore.close()


@dataclass
class Pending:
    """One command waiting to be appended with others."""

    recorder: PostgresEventRecorder
    events: Sequence[StoredEvent]
    command: CommandRecord
    expected: Mapping[str, int]
    known: dict[tuple[str, int], bytes] = field(default_factory=dict)
    landed: list[Appended] | None = None
    error: BaseException | None = None
    alone: bool = False
    done: bool = False

    def __post_init__(self) -> None:
        self.known, _ = self.recorder.heads.known(chain.first_links_needed([(self.events, None)]))


def _admit(entry: Pending, versions: dict[str, int], ids: set[str]) -> bool:
    """Whether a command of a group may be appended after the record (``versions``,
    ``ids``) and the group's commands before it; if so, it becomes part of them."""
    if entry.command.command_id in ids:
        entry.error = CommandIdConflict("a command with this id was recorded before")
        return False
    firsts: dict[str, int] = {}
    for stored in entry.events:
        firsts.setdefault(str(stored.originator_id), stored.originator_version)
    moved = [s for s, v in entry.expected.items() if s not in firsts and versions.get(s, 0) != v]
    moved += [s for s, first in firsts.items() if versions.get(s, 0) + 1 != first]
    if moved:
        entry.error = StreamConflict("another writer appended to a stream first")
        return False
    for stored in entry.events:
        versions[str(stored.originator_id)] = stored.originator_version
    ids.add(entry.command.command_id)
    return True


class GroupCommit:
    """Commands of one process's writers to one schema, appended together.

    The first writer to arrive appends its command alone and leads; those that arrive
    meanwhile wait, and the next of them to lead appends all of them in one
    transaction (one durable commit, instead of one each under the append lock). Each
    command was decided on its own and is checked on its own; a group that fails as a
    whole (a lost connection) is appended again command by command, each by its
    own writer."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queue: list[Pending] = []
        self._leading = False

    def append(self, entry: Pending) -> list[Appended]:
        with self._cond:
            self._queue.append(entry)
            while self._leading and not entry.done:
                self._cond.wait()
            lead = not entry.done
            if lead:
                self._leading = True
                group, self._queue = self._queue, []
        if lead:
            try:
                self._lead(entry, group)
            finally:
                with self._cond:
                    for each in group:
                        each.done = True
                    self._leading = False
                    self._cond.notify_all()
        if entry.alone:
            return entry.recorder.append_alone(entry.events, entry.command, entry.expected)
        if entry.error is not None:
            raise entry.error
        assert entry.landed is not None  # set by the leader with done
        entry.recorder.heads.remember([(entry.events, entry.command)], [entry.landed])
        return entry.landed

    @staticmethod
    def _lead(leader: Pending, group: list[Pending]) -> None:
        if len(group) == 1:
            try:
                leader.landed = leader.recorder.append_alone(
                    leader.events, leader.command, leader.expected
                )
            except BaseException as exc:  # noqa: BLE001 - raised in its writer's thread
                leader.error = exc
            return
        try:
            leader.recorder.append_group(group)
        except (psycopg.Error, PersistenceError) as exc:
            logger.debug("a group of %d commands failed (%s)", len(group), type(exc).__name__)
            for each in group:
                each.alone = True
                each.error = None


_GROUPS: dict[tuple[str, str], GroupCommit] = {}
_GROUPS_LOCK = threading.Lock()


def _group_for(conninfo: str, schema: str) -> GroupCommit:
    with _GROUPS_LOCK:
        return _GROUPS.setdefault((conninfo, schema), GroupCommit())


class PostgresTurn(Turn):
    """A command's turn: session-level advisory locks on the streams, taken on this
    thread's writer connection (held until the turn ends) when the command lost a
    race. The append function takes the same lock on the stream it writes for its
    transaction, so it waits while another command holds its turn; the holder's own
    appends run in the session that holds the lock, and pass."""

    def __init__(self, recorder: PostgresEventRecorder) -> None:
        self._recorder = recorder
        self._held: list[str] = []
        self._stack: ExitStack | None = None
        self._conn: psycopg.Connection[tuple[Any, ...]] | None = None

    def lost_race(self, streams: Collection[str]) -> bool:
        recorder = self._recorder
        try:
            if self._conn is None:
                self._stack = ExitStack()
                self._conn = self._stack.enter_context(recorder.datastore.held_writer())
            self._unlock()
            wanted = sorted(streams)
            self._conn.execute(recorder.stream_locks("pg_advisory_lock"), (wanted,))
            self._held = wanted
        except psycopg.Error as exc:
            self._end(exc)
            raise _translate(exc) from exc
        return True

    def _unlock(self) -> None:
        if self._held and self._conn is not None and not self._conn.closed:
            held, self._held = self._held, []
            self._conn.execute(self._recorder.stream_locks("pg_advisory_unlock"), (held,))

    def _end(self, exc: BaseException | None) -> None:
        stack, self._stack, self._conn = self._stack, None, None
        if stack is not None:
            stack.__exit__(type(exc) if exc else None, exc, exc.__traceback__ if exc else None)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self._unlock()
        except psycopg.Error as exc:
            # The connection broke (its locks went with it): replaced next time.
            self._end(exc)
            if value is None:
                raise _translate(exc) from exc
            return
        self._end(value)


def _stream_query(
    columns: sql.Composable,
    table: sql.Composable,
    originator_id: str,
    *,
    gt: int | None,
    lte: int | None,
    desc: bool,
    limit: int | None,
) -> tuple[sql.Composed, list[Any]]:
    statement = sql.SQL("SELECT {} FROM {} WHERE originator_id = %s").format(columns, table)
    params: list[Any] = [originator_id]
    if gt is not None:
        statement += sql.SQL(" AND originator_version > %s")
        params.append(gt)
    if lte is not None:
        statement += sql.SQL(" AND originator_version <= %s")
        params.append(lte)
    statement += sql.SQL(
        " ORDER BY originator_version DESC" if desc else " ORDER BY originator_version"
    )
    if limit is not None:
        statement += sql.SQL(" LIMIT %s")
        params.append(limit)
    return statement, params


class ListenSubscription(ListenNotifySubscription[PostgresEventRecorder]):
    """Wakes when the append function notifies the schema's channel."""

    def __init__(
        self, recorder: PostgresEventRecorder, gt: int | None = None, topics: Sequence[str] = ()
    ) -> None:
        super().__init__(recorder=recorder, gt=gt, topics=topics)
        self._listen_thread = threading.Thread(target=self._listen, daemon=True)
        self._listen_thread.start()

    def _listen(self) -> None:
        try:
            with self._recorder.datastore.connection() as conn:
                conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._recorder.channel)))
                while not self._has_been_stopped and not self._thread_error:
                    for _ in conn.notifies(timeout=0.1, stop_after=1):
                        self._has_been_notified.set()
        except Exception as exc:  # noqa: BLE001 - handed to the subscriber's thread, which raises it
            if self._thread_error is None:
                self._thread_error = exc
            self.stop()

    def __exit__(self, *args: object, **kwargs: Any) -> None:
        try:
            super().__exit__(*args, **kwargs)
        finally:
            self._listen_thread.join()


class PostgresSnapshotRecorder(AggregateRecorder):
    """Snapshots of aggregate states, to load long streams without replaying them all."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore
        self.table = datastore.identifier("snapshots")

    def create_table(self) -> None:
        self.datastore.create(
            [
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} ("
                    "originator_id text NOT NULL, originator_version bigint NOT NULL, "
                    "topic text NOT NULL, state bytea NOT NULL, "
                    "PRIMARY KEY (originator_id, originator_version))"
                ).format(self.table)
            ]
        )

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        del kwargs
        if not stored_events:
            return None
        with self.datastore.transaction() as conn, conn.cursor() as cursor:
            cursor.executemany(
                sql.SQL("INSERT INTO {} VALUES (%s, %s, %s, %s)").format(self.table),
                [
                    (str(s.originator_id), s.originator_version, s.topic, s.state)
                    for s in stored_events
                ],
            )
        return None

    def select_events(
        self,
        originator_id: Any,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        statement, params = _stream_query(
            sql.SQL("originator_id, originator_version, topic, state"),
            self.table,
            str(originator_id),
            gt=gt,
            lte=lte,
            desc=desc,
            limit=limit,
        )
        with self.datastore.connection() as conn:
            rows = conn.execute(statement, params, prepare=True).fetchall()
        return [StoredEvent(row[0], row[1], row[2], bytes(row[3])) for row in rows]


class PostgresTrackingRecorder(TrackingRecorder):
    """The position each projection has processed up to."""

    def __init__(self, datastore: PostgresDatastore, table: str = "tracking") -> None:
        self.datastore = datastore
        self.table = datastore.identifier(table)

    def create_table(self) -> None:
        self.datastore.create(
            [
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} ("
                    "application_name text PRIMARY KEY, notification_id bigint NOT NULL)"
                ).format(self.table)
            ]
        )

    def insert_tracking(self, tracking: Tracking) -> None:
        with self.datastore.transaction() as conn:
            self.write_tracking(conn, tracking)

    def write_tracking(self, conn: psycopg.Connection[Any], tracking: Tracking) -> None:
        """Record a position inside the caller's transaction; positions only move forward."""
        row = conn.execute(
            sql.SQL(
                "INSERT INTO {0} VALUES (%s, %s) ON CONFLICT (application_name) "
                "DO UPDATE SET notification_id = excluded.notification_id "
                "WHERE {0}.notification_id < excluded.notification_id RETURNING notification_id"
            ).format(self.table),
            (tracking.application_name, tracking.notification_id),
        ).fetchone()
        if row is None:
            msg = (
                f"{tracking.application_name} has already processed "
                f"position {tracking.notification_id}"
            )
            raise IntegrityError(msg)

    def max_tracking_id(self, application_name: str) -> int | None:
        with self.datastore.connection() as conn:
            row = conn.execute(
                sql.SQL("SELECT notification_id FROM {} WHERE application_name = %s").format(
                    self.table
                ),
                (application_name,),
            ).fetchone()
        return int(row[0]) if row else None


def failover_seconds(value: str | None) -> float:
    """PEERLOG_FAILOVER_SECONDS: how long a command waits for a new primary."""
    if not value:
        return FAILOVER_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 3600:  # an hour is more than any failover takes
        raise ConfigurationError(
            lazy(
                "%(name)s is a number of seconds (0 to 3600), not %(value)s",
                name="PEERLOG_FAILOVER_SECONDS",
                value=repr(value),
            )
        )
    return seconds


def group_commit(value: str | None) -> bool:
    """PEERLOG_GROUP_COMMIT: whether a process's concurrent commands are committed
    together (``on``) or each alone (``off``, the default)."""
    if not value:
        return False
    chosen = value.strip().lower()
    if chosen not in {"on", "off"}:
        raise ConfigurationError(
            lazy(
                "%(name)s is on or off, not %(value)s",
                name="PEERLOG_GROUP_COMMIT",
                value=repr(value),
            )
        )
    return chosen == "on"


class PostgresFactory(InfrastructureFactory[PostgresTrackingRecorder]):
    """Builds the PostgreSQL recorders from the application's environment."""

    POSTGRES_CONNINFO = "POSTGRES_CONNINFO"
    POSTGRES_SCHEMA = "POSTGRES_SCHEMA"
    POSTGRES_DESCRIPTION = "POSTGRES_DESCRIPTION"
    POSTGRES_POOL_SIZE = "POSTGRES_POOL_SIZE"
    FAILOVER_SECONDS = "FAILOVER_SECONDS"
    GROUP_COMMIT = "GROUP_COMMIT"

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        conninfo = self.env.get(self.POSTGRES_CONNINFO)
        if not conninfo:
            msg = "no PostgreSQL database was configured"
            raise OSError(msg)
        self.datastore = PostgresDatastore(
            conninfo,
            schema=self.env.get(self.POSTGRES_SCHEMA) or DEFAULT_SCHEMA,
            pool_size=int(self.env.get(self.POSTGRES_POOL_SIZE) or 2),
            description=self.env.get(self.POSTGRES_DESCRIPTION) or "PostgreSQL",
            failover_seconds=failover_seconds(self.env.get(self.FAILOVER_SECONDS)),
            group_commit=group_commit(self.env.get(self.GROUP_COMMIT)),
        )

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        if purpose != "snapshots":
            return self.application_recorder()
        recorder = PostgresSnapshotRecorder(self.datastore)
        recorder.create_table()
        return recorder

    def application_recorder(self) -> PostgresEventRecorder:
        recorder = PostgresEventRecorder(self.datastore)
        recorder.create_table()
        return recorder

    def tracking_recorder(
        self, tracking_recorder_class: type[PostgresTrackingRecorder] | None = None
    ) -> PostgresTrackingRecorder:
        recorder = (tracking_recorder_class or PostgresTrackingRecorder)(self.datastore)
        recorder.create_table()
        return recorder

    def process_recorder(self) -> ProcessRecorder:
        msg = "peerlog keeps projections in its own read models, not in process recorders"
        raise NotImplementedError(msg)

    def close(self) -> None:
        self.datastore.close()
