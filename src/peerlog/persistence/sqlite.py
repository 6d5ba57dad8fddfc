"""SQLite persistence: the embedded default, one file, zero set-up.

The file runs in WAL mode with ``synchronous=FULL`` so that every accepted command is
durable when ``append`` returns. Writers take the database's write lock at the start
of their transaction (``BEGIN IMMEDIATE``), which serialises appends across threads
and processes, so positions are committed in order.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Final, Self

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

from peerlog.persistence import chain
from peerlog.persistence.base import EventRecorder, RawEvent, Turn
from peerlog.persistence.records import (
    Appended,
    CommandIdConflict,
    CommandRecord,
    RecordedEvent,
    StoredCommand,
    StreamConflict,
)

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_SECONDS: Final = 30.0
POLL_INTERVAL_SECONDS: Final = 0.2


def format_time(moment: datetime) -> str:
    """Times are stored as ISO 8601 text in UTC, to the microsecond, so they sort as text."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


class SQLiteDatastore:
    """Connections to one SQLite file, one per thread.

    Each connection is used by its own thread under a lock of its own, which ``close``
    takes before closing it: closing a connection while another thread is in the middle
    of a statement on it would crash the interpreter, so a thread still reading when the
    store closes finishes its transaction first, and its next one is refused.
    """

    def __init__(self, path: str, *, timeout: float = BUSY_TIMEOUT_SECONDS) -> None:
        self.path = path
        self.timeout = timeout
        self._local = threading.local()
        self._connections: list[tuple[sqlite3.Connection, threading.RLock]] = []
        self._lock = threading.Lock()
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def connection(self) -> sqlite3.Connection:
        return self._handle()[0]

    def _handle(self) -> tuple[sqlite3.Connection, threading.RLock]:
        handle: tuple[sqlite3.Connection, threading.RLock] | None = getattr(
            self._local, "handle", None
        )
        if handle is not None:
            return handle
        if self._closed:
            raise InterfaceError("the SQLite store was closed")
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=self.timeout,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            msg = f"cannot open the SQLite file {self.path}: {exc}"
            raise InterfaceError(msg) from exc
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
        handle = (conn, threading.RLock())
        with self._lock:
            if self.closed:  # closed while this connection was opening
                conn.close()
                raise InterfaceError("the SQLite store was closed")
            self._connections.append(handle)
        self._local.handle = handle
        return handle

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        """A transaction; a writing one holds the write lock from its first statement."""
        conn, lock = self._handle()
        with lock:
            if self._closed:
                raise InterfaceError("the SQLite store was closed")
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            except sqlite3.Error as exc:
                raise _translate(exc) from exc
            try:
                yield conn
            except sqlite3.Error as exc:
                conn.rollback()
                raise _translate(exc) from exc
            except BaseException:
                conn.rollback()
                raise
            try:
                conn.commit()
            except sqlite3.Error as exc:
                conn.rollback()
                raise _translate(exc) from exc

    def backup(self, target: str) -> None:
        """Copy the database into the new file ``target`` with SQLite's online backup
        API, in one step: the copy is the database as one read transaction sees it, and
        writers go on meanwhile (in WAL mode nothing waits for a reader)."""
        try:
            source = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        except sqlite3.Error as exc:
            msg = f"cannot open the SQLite file {self.path}: {exc}"
            raise InterfaceError(msg) from exc
        try:
            destination = sqlite3.connect(target, isolation_level=None)
            try:
                source.backup(destination, pages=-1)
            finally:
                destination.close()
        except sqlite3.Error as exc:
            raise _translate(exc) from exc
        finally:
            source.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            handles = list(self._connections)
            self._connections.clear()
        self._local = threading.local()
        for conn, lock in handles:
            # A connection still in a transaction on another thread is closed once that
            # transaction ends; one held past the busy timeout is left to its thread.
            if lock.acquire(timeout=self.timeout):
                try:
                    conn.close()
                finally:
                    lock.release()


def _translate(exc: sqlite3.Error) -> PersistenceError:
    if isinstance(exc, sqlite3.IntegrityError):
        return IntegrityError(str(exc))
    if isinstance(exc, sqlite3.OperationalError):
        return OperationalError(str(exc))
    if isinstance(exc, sqlite3.DatabaseError):
        return DatabaseError(str(exc))
    return PersistenceError(str(exc))


_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS events (
        position INTEGER PRIMARY KEY,
        originator_id TEXT NOT NULL,
        originator_version INTEGER NOT NULL,
        topic TEXT NOT NULL,
        state BLOB NOT NULL,
        recorded_at TEXT NOT NULL,
        chain BLOB NOT NULL,
        command_id TEXT UNIQUE,
        command TEXT,
        command_digest BLOB,
        command_events INTEGER,
        UNIQUE (originator_id, originator_version)
    )""",
)

_RECORD_COLUMNS: Final = (
    "position, originator_id, originator_version, topic, state, recorded_at, chain"
)
_COMMAND_COLUMNS: Final = (
    "command_id, command, command_digest, recorded_at, position, command_events"
)


def _where(conditions: list[tuple[str, Any]]) -> tuple[str, list[Any]]:
    """A WHERE clause from constant conditions, with their values as parameters."""
    if not conditions:
        return "", []
    return " WHERE " + " AND ".join(c for c, _ in conditions), [v for _, v in conditions]


def _stream_query(
    table: str,
    originator_id: Any,
    gt: int | None,
    lte: int | None,
    *,
    desc: bool,
    limit: int | None,
) -> tuple[str, list[Any]]:
    conditions: list[tuple[str, Any]] = [("originator_id = ?", str(originator_id))]
    if gt is not None:
        conditions.append(("originator_version > ?", gt))
    if lte is not None:
        conditions.append(("originator_version <= ?", lte))
    where, params = _where(conditions)
    order = "originator_version DESC" if desc else "originator_version"
    # The table is one of this module's own names; every value is a parameter.
    columns = "originator_id, originator_version, topic, state"
    statement = f"SELECT {columns} FROM {table}{where} ORDER BY {order}"  # noqa: S608
    if limit is not None:
        statement += " LIMIT ?"
        params.append(limit)
    return statement, params


def _record(row: tuple[Any, ...]) -> RecordedEvent:
    return RecordedEvent.of(row[0], row[1], row[2], row[3], row[4], parse_time(row[5]), row[6])


def _command(row: tuple[Any, ...]) -> StoredCommand:
    return StoredCommand(
        command_id=row[0],
        command=row[1],
        digest=row[2],
        recorded_at=parse_time(row[3]),
        first_position=row[4],
        event_count=row[5],
    )


class SQLiteTurn(Turn):
    """On SQLite, whose writers take turns at the whole file anyway, one command at a
    time decides and appends: each holds an exclusive ``flock`` on a file beside the
    database (``<file>-turn``) from before it decides until it is answered. The kernel
    keeps the lock for the open file, so other threads and processes wait for it (no
    busy timeout to run out) and the lock goes with a process that dies."""

    def __init__(self, path: str) -> None:
        self._path = f"{path}-turn"
        self._fd: int | None = None

    def __enter__(self) -> Self:
        try:
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            # A folder the writer cannot create files in: racing, with pauses.
            logger.debug("no turn file beside the database: %s", exc.strerror)
            return self
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # which lets go of the lock

    def lost_race(self, streams: Collection[str]) -> bool:
        del streams
        # Held already: the race was lost to a writer outside turns (an import).
        return self._fd is not None


class SQLiteEventRecorder(EventRecorder):
    """Events, commands and hash chains in one SQLite file."""

    def __init__(self, datastore: SQLiteDatastore) -> None:
        self.datastore = datastore
        self.heads = chain.Heads()

    def turn(self) -> Turn:
        return SQLiteTurn(self.datastore.path)

    def create_table(self) -> None:
        with self.datastore.transaction(write=True) as conn:
            for statement in _SCHEMA:
                conn.execute(statement)

    def append_batch(
        self,
        commands: Sequence[tuple[Sequence[StoredEvent], CommandRecord | None]],
        *,
        expected: Mapping[str, int] | None = None,
    ) -> list[list[Appended]]:
        if not any(events for events, _ in commands):
            return [[] for _ in commands]
        previous, needed = self.heads.known(chain.first_links_needed(commands))
        with self.datastore.transaction(write=True) as conn:
            for stream, version in (expected or {}).items():
                (current,) = conn.execute(
                    "SELECT coalesce(max(originator_version), 0) FROM events "
                    "WHERE originator_id = ?",
                    (stream,),
                ).fetchone()
                if current != version:
                    msg = f"stream {stream} is at version {current}, not {version}"
                    raise StreamConflict(msg)
            (after,) = conn.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()
            for stream, version in needed:
                row = conn.execute(
                    "SELECT chain FROM events WHERE originator_id = ? AND originator_version = ?",
                    (stream, version),
                ).fetchone()
                if row is not None:
                    previous[(stream, version)] = row[0]
            now = datetime.now(UTC)
            rows, appended = chain.linked_rows(
                commands, after=after, recorded_at=now, previous=previous
            )
            recorded_at = format_time(now)
            try:
                conn.executemany(
                    "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(*row[:5], recorded_at, *row[6:]) for row in rows],
                )
            except sqlite3.IntegrityError as exc:
                if "command_id" in str(exc):
                    msg = "a command in this batch was recorded before"
                    raise CommandIdConflict(msg) from exc
                msg = "another writer appended to a stream first"
                raise StreamConflict(msg) from exc
        self.heads.remember(commands, appended)
        return appended

    def find_commands(self, command_ids: Collection[str]) -> dict[str, StoredCommand]:
        if not command_ids:
            return {}
        with self.datastore.transaction(write=False) as conn:
            rows = conn.execute(
                f"SELECT {_COMMAND_COLUMNS} FROM events "  # noqa: S608
                "WHERE command_id IN (SELECT value FROM json_each(?))",
                (json.dumps(list(command_ids)),),
            ).fetchall()
        return {row[0]: _command(row) for row in rows}

    def select_events(
        self,
        originator_id: Any,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        statement, params = _stream_query("events", originator_id, gt, lte, desc=desc, limit=limit)
        with self.datastore.transaction(write=False) as conn:
            rows = conn.execute(statement, params).fetchall()
        return [StoredEvent(*row) for row in rows]

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        conditions: list[tuple[str, Any]] = []
        if start is not None:
            conditions.append(("position >= ?" if inclusive_of_start else "position > ?", start))
        if stop is not None:
            conditions.append(("position <= ?", stop))
        if topics:
            conditions.append(
                ("topic IN (SELECT value FROM json_each(?))", json.dumps(list(topics)))
            )
        where, params = _where(conditions)
        params.append(limit)
        statement = f"SELECT {_RECORD_COLUMNS} FROM events{where} ORDER BY position LIMIT ?"  # noqa: S608
        with self.datastore.transaction(write=False) as conn:
            rows = conn.execute(statement, params).fetchall()
        return [_record(row) for row in rows]

    def max_notification_id(self) -> int | None:
        with self.datastore.transaction(write=False) as conn:
            (value,) = conn.execute("SELECT max(position) FROM events").fetchone()
        return int(value) if value is not None else None

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> Subscription[ApplicationRecorder]:
        return PollingSubscription(self, gt=gt, topics=topics)

    def find_command(self, command_id: str) -> StoredCommand | None:
        with self.datastore.transaction(write=False) as conn:
            row = conn.execute(
                f"SELECT {_COMMAND_COLUMNS} FROM events WHERE command_id = ?",  # noqa: S608
                (command_id,),
            ).fetchone()
        return _command(row) if row else None

    def select_commands(self) -> list[StoredCommand]:
        with self.datastore.transaction(write=False) as conn:
            rows = conn.execute(
                f"SELECT {_COMMAND_COLUMNS} FROM events "  # noqa: S608
                "WHERE command_id IS NOT NULL ORDER BY position"
            ).fetchall()
        return [_command(row) for row in rows]

    def select_records(
        self,
        originator_id: str | None = None,
        *,
        start: int | None = None,
        stop: int | None = None,
        limit: int | None = None,
    ) -> list[RecordedEvent]:
        conditions: list[tuple[str, Any]] = []
        if originator_id is not None:
            conditions.append(("originator_id = ?", originator_id))
        if start is not None:
            conditions.append(("position >= ?", start))
        if stop is not None:
            conditions.append(("position <= ?", stop))
        where, params = _where(conditions)
        order = "originator_version" if originator_id is not None else "position"
        statement = f"SELECT {_RECORD_COLUMNS} FROM events{where} ORDER BY {order}"  # noqa: S608
        if limit is not None:
            statement += " LIMIT ?"
            params.append(limit)
        with self.datastore.transaction(write=False) as conn:
            rows = conn.execute(statement, params).fetchall()
        return [_record(row) for row in rows]

    def iter_raw(
        self,
        after: int,
        *,
        stop: int | None = None,
        topics: Collection[str] | None = None,
        streams: Collection[str] | None = None,
    ) -> Iterator[RawEvent]:
        if streams is not None:
            yield from self._iter_streams(after, stop, topics, streams)
            return
        chunk = 5000
        conditions: list[tuple[str, Any]] = [("position <= ?", stop)] if stop is not None else []
        if topics is not None:
            conditions.append(
                ("topic IN (SELECT value FROM json_each(?))", json.dumps(sorted(topics)))
            )
        while True:
            where, params = _where([("position > ?", after), *conditions])
            statement = (
                f"SELECT position, topic, state, recorded_at FROM events{where} "  # noqa: S608
                "ORDER BY position LIMIT ?"
            )
            with self.datastore.transaction(write=False) as conn:
                rows = conn.execute(statement, [*params, chunk]).fetchall()
            for row in rows:
                yield row[0], row[1], row[2], parse_time(row[3])
            if len(rows) < chunk:
                return
            after = rows[-1][0]

    def _iter_streams(
        self,
        after: int,
        stop: int | None,
        topics: Collection[str] | None,
        streams: Collection[str],
    ) -> Iterator[RawEvent]:
        """:meth:`iter_raw` of some streams: their positions from the stream index alone
        (it holds each event's position; ``+position`` keeps SQLite from walking the
        record by position instead), then their events a chunk of positions at a time,
        each chunk in a read transaction of its own."""
        chunk = 5000
        conditions: list[tuple[str, Any]] = [
            ("originator_id IN (SELECT value FROM json_each(?))", json.dumps(sorted(streams))),
            ("+position > ?", after),
        ]
        if stop is not None:
            conditions.append(("+position <= ?", stop))
        where, params = _where(conditions)
        with self.datastore.transaction(write=False) as conn:
            statement = f"SELECT position FROM events{where} ORDER BY position"  # noqa: S608
            positions = [row[0] for row in conn.execute(statement, params)]
        fetch: list[tuple[str, Any]] = [("position IN (SELECT value FROM json_each(?))", None)]
        if topics is not None:
            fetch.append(("topic IN (SELECT value FROM json_each(?))", json.dumps(sorted(topics))))
        for start in range(0, len(positions), chunk):
            fetch[0] = (fetch[0][0], json.dumps(positions[start : start + chunk]))
            where, params = _where(fetch)
            statement = (
                f"SELECT position, topic, state, recorded_at FROM events{where} "  # noqa: S608
                "ORDER BY position"
            )
            with self.datastore.transaction(write=False) as conn:
                rows = conn.execute(statement, params).fetchall()
            for row in rows:
                yield row[0], row[1], row[2], parse_time(row[3])

    def select_positions(self) -> list[int]:
        with self.datastore.transaction(write=False) as conn:
            rows = conn.execute("SELECT position FROM events ORDER BY position").fetchall()
        return [row[0] for row in rows]

    def select_streams(self) -> list[str]:
        with self.datastore.transaction(write=False) as conn:
            rows = conn.execute("SELECT DISTINCT originator_id FROM events ORDER BY 1").fetchall()
        return [row[0] for row in rows]

    def stream_lengths(self) -> dict[str, int]:
        with self.datastore.transaction(write=False) as conn:
            rows = conn.execute(
                "SELECT originator_id, max(originator_version) FROM events GROUP BY originator_id"
            ).fetchall()
        return {row[0]: row[1] for row in rows}

    def close(self) -> None:
        self.datastore.close()


class PollingSubscription(ListenNotifySubscription[ApplicationRecorder]):
    """SQLite has no LISTEN/NOTIFY: look for new events a few times a second."""

    def __init__(
        self, recorder: ApplicationRecorder, gt: int | None = None, topics: Sequence[str] = ()
    ) -> None:
        super().__init__(recorder=recorder, gt=gt, topics=topics)
        self._poll_thread = threading.Thread(target=self._poll, daemon=True)
        self._poll_thread.start()

    def _poll(self) -> None:
        while not self._has_been_stopped:
            self._has_been_notified.set()
            threading.Event().wait(POLL_INTERVAL_SECONDS)

    def __exit__(self, *args: object, **kwargs: Any) -> None:
        try:
            super().__exit__(*args, **kwargs)
        finally:
            self._poll_thread.join()


class SQLiteSnapshotRecorder(AggregateRecorder):
    """Snapshots of aggregate states, to load long streams without replaying them all."""

    def __init__(self, datastore: SQLiteDatastore) -> None:
        self.datastore = datastore

    def create_table(self) -> None:
        with self.datastore.transaction(write=True) as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS snapshots ("
                "originator_id TEXT NOT NULL, originator_version INTEGER NOT NULL, "
                "topic TEXT NOT NULL, state BLOB NOT NULL, "
                "PRIMARY KEY (originator_id, originator_version)) WITHOUT ROWID"
            )

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        del kwargs
        with self.datastore.transaction(write=True) as conn:
            conn.executemany(
                "INSERT INTO snapshots VALUES (?, ?, ?, ?)",
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
            "snapshots", originator_id, gt, lte, desc=desc, limit=limit
        )
        with self.datastore.transaction(write=False) as conn:
            rows = conn.execute(statement, params).fetchall()
        return [StoredEvent(*row) for row in rows]


class SQLiteTrackingRecorder(TrackingRecorder):
    """The position each projection has processed up to."""

    def __init__(self, datastore: SQLiteDatastore, table: str = "tracking") -> None:
        self.datastore = datastore
        self.table = table

    def create_table(self) -> None:
        with self.datastore.transaction(write=True) as conn:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} ("
                "application_name TEXT PRIMARY KEY, notification_id INTEGER NOT NULL)"
            )

    def insert_tracking(self, tracking: Tracking) -> None:
        with self.datastore.transaction(write=True) as conn:
            self.write_tracking(conn, tracking)

    def write_tracking(self, conn: sqlite3.Connection, tracking: Tracking) -> None:
        """Record a position inside the caller's transaction; positions only move forward."""
        row = conn.execute(
            f"INSERT INTO {self.table} VALUES (?, ?) ON CONFLICT (application_name) "  # noqa: S608 - table name is ours
            "DO UPDATE SET notification_id = excluded.notification_id "
            "WHERE notification_id < excluded.notification_id RETURNING notification_id",
            (tracking.application_name, tracking.notification_id),
        ).fetchone()
        if row is None:
            msg = (
                f"{tracking.application_name} has already processed "
                f"position {tracking.notification_id}"
            )
            raise IntegrityError(msg)

    def max_tracking_id(self, application_name: str) -> int | None:
        with self.datastore.transaction(write=False) as conn:
            row = conn.execute(
                f"SELECT notification_id FROM {self.table} WHERE application_name = ?",  # noqa: S608
                (application_name,),
            ).fetchone()
        return int(row[0]) if row else None


class SQLiteFactory(InfrastructureFactory[SQLiteTrackingRecorder]):
    """Builds the SQLite recorders from the application's environment."""

    SQLITE_PATH = "SQLITE_PATH"

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        path = self.env.get(self.SQLITE_PATH)
        if not path:
            msg = "no SQLite file was configured"
            raise OSError(msg)
        self.datastore = SQLiteDatastore(path)

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        if purpose != "snapshots":
            return self.application_recorder()
        recorder = SQLiteSnapshotRecorder(self.datastore)
        recorder.create_table()
        return recorder

    def application_recorder(self) -> SQLiteEventRecorder:
        recorder = SQLiteEventRecorder(self.datastore)
        recorder.create_table()
        return recorder

    def tracking_recorder(
        self, tracking_recorder_class: type[SQLiteTrackingRecorder] | None = None
    ) -> SQLiteTrackingRecorder:
        recorder = (tracking_recorder_class or SQLiteTrackingRecorder)(self.datastore)
        recorder.create_table()
        return recorder

    def process_recorder(self) -> ProcessRecorder:
        msg = "peerlog keeps projections in its own read models, not in process recorders"
        raise NotImplementedError(msg)

    def close(self) -> None:
        self.datastore.close()
