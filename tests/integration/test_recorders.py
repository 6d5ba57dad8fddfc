"""peerlog's recorders pass the eventsourcing library's own recorder test cases, so they
can stand in wherever the library expects a recorder."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import InterfaceError, StoredEvent
from eventsourcing.tests.persistence import (
    AggregateRecorderTestCase,
    ApplicationRecorderTestCase,
    NonInterleavingNotificationIDsBaseCase,
    TrackingRecorderTestCase,
)
from psycopg import sql

from peerlog.persistence import chain
from peerlog.persistence.postgres import (
    Pending,
    PostgresDatastore,
    PostgresEventRecorder,
    PostgresSnapshotRecorder,
    PostgresTrackingRecorder,
    lock_key,
)
from peerlog.persistence.records import CommandIdConflict, CommandRecord, StreamConflict
from peerlog.persistence.sqlite import (
    SQLiteDatastore,
    SQLiteEventRecorder,
    SQLiteSnapshotRecorder,
    SQLiteTrackingRecorder,
)
from tests.conftest import POSTGRES_URL, Store, _postgres_or_skip


class SQLiteBase:
    """A fresh SQLite file for each test."""

    def setUp(self) -> None:
        self._dir = TemporaryDirectory()
        self.datastore = SQLiteDatastore(str(Path(self._dir.name) / "recorder.sqlite3"))

    def tearDown(self) -> None:
        self.datastore.close()
        self._dir.cleanup()

    def new_originator_id(self) -> str:
        return f"stream/{uuid.uuid4()}"


class PostgresBase:
    """A fresh schema for each test."""

    def setUp(self) -> None:
        _postgres_or_skip()
        self.schema = f"test_{uuid.uuid4().hex[:12]}"
        self.datastore = PostgresDatastore(POSTGRES_URL, schema=self.schema, pool_size=2)

    def tearDown(self) -> None:
        self.datastore.close()
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.schema))
            )

    def new_originator_id(self) -> str:
        return f"stream/{uuid.uuid4()}"


def _created(recorder: Any) -> Any:
    recorder.create_table()
    return recorder


class TestSQLiteApplicationRecorder(SQLiteBase, ApplicationRecorderTestCase[SQLiteEventRecorder]):
    def create_recorder(self) -> SQLiteEventRecorder:
        return _created(SQLiteEventRecorder(self.datastore))  # type: ignore[no-any-return]


class TestSQLiteNonInterleaving(SQLiteBase, NonInterleavingNotificationIDsBaseCase):
    insert_num = 200

    def create_recorder(self) -> SQLiteEventRecorder:
        return _created(SQLiteEventRecorder(self.datastore))  # type: ignore[no-any-return]


class TestSQLiteSnapshotRecorder(SQLiteBase, AggregateRecorderTestCase):
    def create_recorder(self) -> SQLiteSnapshotRecorder:
        return _created(SQLiteSnapshotRecorder(self.datastore))  # type: ignore[no-any-return]


class TestSQLiteTrackingRecorder(SQLiteBase, TrackingRecorderTestCase):
    def create_recorder(self) -> SQLiteTrackingRecorder:
        return _created(SQLiteTrackingRecorder(self.datastore))  # type: ignore[no-any-return]


@pytest.mark.postgres
class TestPostgresApplicationRecorder(
    PostgresBase, ApplicationRecorderTestCase[PostgresEventRecorder]
):
    def create_recorder(self) -> PostgresEventRecorder:
        return _created(PostgresEventRecorder(self.datastore))  # type: ignore[no-any-return]


@pytest.mark.postgres
class TestPostgresNonInterleaving(PostgresBase, NonInterleavingNotificationIDsBaseCase):
    insert_num = 200

    def create_recorder(self) -> PostgresEventRecorder:
        return _created(PostgresEventRecorder(self.datastore))  # type: ignore[no-any-return]


@pytest.mark.postgres
class TestPostgresSnapshotRecorder(PostgresBase, AggregateRecorderTestCase):
    def create_recorder(self) -> PostgresSnapshotRecorder:
        return _created(PostgresSnapshotRecorder(self.datastore))  # type: ignore[no-any-return]


@pytest.mark.postgres
class TestPostgresTrackingRecorder(PostgresBase, TrackingRecorderTestCase):
    def create_recorder(self) -> PostgresTrackingRecorder:
        return _created(PostgresTrackingRecorder(self.datastore))  # type: ignore[no-any-return]


def test_closing_a_sqlite_store_while_other_threads_read(tmp_path: Path) -> None:
    """Closing waits for transactions in flight on other threads (closing a connection
    mid-statement would crash the interpreter); after it, their next read is refused with
    the store's own error."""
    for round_ in range(20):
        datastore = SQLiteDatastore(str(tmp_path / f"closing{round_}.sqlite3"))
        recorder = _created(SQLiteEventRecorder(datastore))
        refused: list[BaseException] = []
        started = threading.Barrier(4)

        def read(
            recorder: SQLiteEventRecorder = recorder,
            started: threading.Barrier = started,
            refused: list[BaseException] = refused,
        ) -> None:
            started.wait()
            while True:
                try:
                    recorder.select_notifications(start=None, limit=10)
                except InterfaceError as exc:
                    refused.append(exc)
                    return

        readers = [threading.Thread(target=read) for _ in range(3)]
        for reader in readers:
            reader.start()
        started.wait()
        time.sleep(0.01)
        datastore.close()
        for reader in readers:
            reader.join(timeout=10)
        assert not any(reader.is_alive() for reader in readers)
        assert len(refused) == 3
        assert all("closed" in str(error) for error in refused)


@pytest.mark.postgres
def test_opening_a_current_schema_changes_nothing_in_it(postgres_store: Store) -> None:
    """The append function is created when the schema's statements change, not each time
    a store is opened (which took a DDL lock on every command-line call)."""

    def definition() -> str:
        ((xmin,),) = postgres_store.execute_raw(
            "SELECT p.xmin::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = %s AND p.proname = 'append_event'",
            (postgres_store.schema,),
        )
        return str(xmin)

    postgres_store.open().close()
    created = definition()
    for _ in range(3):
        postgres_store.open().close()
    assert definition() == created
    # Statements of another version (an upgrade): opening creates the function again.
    postgres_store.execute_raw("UPDATE schema_versions SET digest = 'older' WHERE name = 'events'")
    postgres_store.open().close()
    assert definition() != created
    ((digest,),) = postgres_store.execute_raw(
        "SELECT digest FROM schema_versions WHERE name = 'events'"
    )
    assert digest != "older"


@pytest.mark.postgres
@pytest.mark.parametrize("grouped", [False, True])
def test_commands_arriving_together_share_a_transaction_only_with_group_commit(
    grouped: bool,
) -> None:
    """With group commit on, commands that arrive while another is being committed are
    committed together, in one transaction; with it off (the default), each alone."""
    _postgres_or_skip()
    schema = f"test_{uuid.uuid4().hex[:12]}"
    datastore = PostgresDatastore(POSTGRES_URL, schema=schema, pool_size=4, group_commit=grouped)
    try:
        recorder = PostgresEventRecorder(datastore)
        recorder.create_table()
        errors: list[BaseException] = []

        def append(n: int) -> None:
            try:
                recorder.append(
                    [StoredEvent(f"s{n}", 1, "T", b"x")],
                    command=CommandRecord(f"c{n}", "record_step", bytes([n]) * 32),
                )
            except BaseException as exc:  # reported below
                errors.append(exc)

        with psycopg.connect(POSTGRES_URL, autocommit=True) as holder:
            # Hold the append lock: the first command waits for it inside its commit...
            holder.execute("SELECT pg_advisory_lock(%s)", (lock_key(schema, "append"),))
            first = threading.Thread(target=append, args=(0,))
            first.start()
            deadline = time.monotonic() + 30
            while (
                time.monotonic() < deadline
                and not holder.execute(
                    "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                ).fetchone()
            ):
                time.sleep(0.01)
            # ... while two more arrive.
            others = [threading.Thread(target=append, args=(n,)) for n in (1, 2)]
            for thread in others:
                thread.start()
            if grouped:
                while (
                    time.monotonic() < deadline and len(recorder._group._queue) < 2
                ):  # the writers waiting
                    time.sleep(0.01)
            else:
                time.sleep(0.3)
            holder.execute("SELECT pg_advisory_unlock(%s)", (lock_key(schema, "append"),))
            for thread in (first, *others):
                thread.join()
        assert not errors, errors
        with psycopg.connect(POSTGRES_URL) as conn:
            rows = conn.execute(
                sql.SQL("SELECT command_id, xmin::text FROM {}.events ORDER BY position").format(
                    sql.Identifier(schema)
                )
            ).fetchall()
        transactions = {xmin for _, xmin in rows}
        assert sorted(c for c, _ in rows) == ["c0", "c1", "c2"]
        assert len(transactions) == (2 if grouped else 3)
    finally:
        datastore.close()
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.mark.postgres
def test_a_refused_command_first_in_a_group_leaves_the_next_one_chained() -> None:
    """In a group, a command refused because its stream moved on may come before one
    that appends to the same stream after that move: the later one is linked to the
    event the record holds, not to a link made up (eight writers on one pair with group
    commit on once recorded an event linked to nothing this way)."""
    _postgres_or_skip()
    schema = f"test_{uuid.uuid4().hex[:12]}"
    datastore = PostgresDatastore(POSTGRES_URL, schema=schema, pool_size=2)
    try:
        first = PostgresEventRecorder(datastore)
        first.create_table()
        # Two writers, each with a recorder of its own (each remembers its own links).
        other = PostgresEventRecorder(datastore)

        def command(n: int) -> CommandRecord:
            return CommandRecord(f"c{n}", "record_step", bytes([n]) * 32)

        first.append([StoredEvent("a", 1, "T", b"1")], command=command(0))
        other.append([StoredEvent("a", 2, "T", b"2")], command=command(1))
        group = [
            # Decided on a at version 1: refused, a is at 2.
            Pending(first, [StoredEvent("a", 2, "T", b"stale")], command(2), {}),
            # Decided on a at version 2 by a writer that did not append version 2.
            Pending(first, [StoredEvent("a", 3, "T", b"3")], command(3), {}),
        ]
        first.append_group(group)

        assert isinstance(group[0].error, StreamConflict)
        assert group[1].landed is not None
        records = first.select_records("a")
        assert [r.state for r in records] == [b"1", b"2", b"3"]
        previous = chain.GENESIS
        for record in records:
            assert record.chain == chain.link_of(record, previous)
            previous = record.chain
    finally:
        datastore.close()
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.mark.postgres
def test_commands_appended_together_are_each_checked_on_their_own() -> None:
    """A group commit appends concurrent commands in one transaction: each is checked
    against the record and the commands before it in the group, and a refused one
    leaves the others recorded, at consecutive positions, chained."""
    _postgres_or_skip()
    schema = f"test_{uuid.uuid4().hex[:12]}"
    datastore = PostgresDatastore(POSTGRES_URL, schema=schema, pool_size=2)
    try:
        recorder = PostgresEventRecorder(datastore)
        recorder.create_table()

        def command(n: int) -> CommandRecord:
            return CommandRecord(f"c{n}", "record_step", bytes([n]) * 32)

        recorder.append([StoredEvent("a", 1, "T", b"1")], command=command(0))
        group = [
            Pending(recorder, [StoredEvent("a", 2, "T", b"2")], command(1), {}),
            # Decided on stream a at version 1: the command before it moved a on.
            Pending(recorder, [StoredEvent("b", 1, "T", b"b")], command(2), {"a": 1}),
            # The id of a recorded command.
            Pending(recorder, [StoredEvent("c", 1, "T", b"c")], command(0), {}),
            Pending(recorder, [StoredEvent("a", 3, "T", b"3")], command(3), {}),
        ]
        recorder.append_group(group)

        assert isinstance(group[1].error, StreamConflict)
        assert isinstance(group[2].error, CommandIdConflict)
        assert [p.landed for p in (group[1], group[2])] == [None, None]
        assert [[a.position for a in p.landed or []] for p in (group[0], group[3])] == [[2], [3]]
        assert recorder.select_positions() == [1, 2, 3]
        records = recorder.select_records("a")
        assert [(r.originator_version, r.state, r.id) for r in records] == [
            (1, b"1", 1),
            (2, b"2", 2),
            (3, b"3", 3),
        ]
        previous = chain.GENESIS
        for record in records:
            assert record.chain == chain.link_of(record, previous)
            previous = record.chain
        assert set(recorder.find_commands(["c0", "c1", "c2", "c3"])) == {"c0", "c1", "c3"}
    finally:
        datastore.close()
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
