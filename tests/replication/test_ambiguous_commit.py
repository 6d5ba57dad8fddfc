"""A command whose connection breaks while it is appended is recorded once, or answered
as failed, never twice: the recorder settles it by its id on the primary it reaches.

Each case is made to happen, not waited for by luck, on a primary of the tests' own:

* the commit reached the disk, but the answer never came back (the backend is ended
  while it waits for a synchronous standby that does not exist);
* the connection broke before the command was written (the backend is ended while it
  waits for the append lock another session holds);
* no primary answers within ``PEERLOG_FAILOVER_SECONDS``: the command is answered as
  failed, and sending it again records it once.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import OperationalError
from psycopg import sql

from peerlog import CommandResult, PeerLog
from peerlog.persistence.postgres import lock_key
from tests.replication.clusters import Clusters, Node, wait_for
from tests.support import Placement

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def primary(private_clusters: Clusters) -> Node:
    return private_clusters.primary()


@pytest.fixture
def placement(primary: Node) -> Iterator[tuple[Placement, str]]:
    schema = f"amb_{uuid.uuid4().hex[:10]}"
    app = PeerLog(
        {
            "PEERLOG_DATABASE_URL": primary.url,
            "PEERLOG_SCHEMA": schema,
            "PEERLOG_FAILOVER_SECONDS": "20",
        }
    )
    try:
        yield Placement(app).seed(), schema
    finally:
        app.close()


def _in_thread(work: Callable[[], CommandResult]) -> tuple[threading.Thread, list[Any]]:
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(work())
        except Exception as exc:  # handed to the test, which asserts on it
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _backend_waiting(primary: Node, wait_event: str, other_than: int) -> int | None:
    rows = primary.sql(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event = %s AND pid <> %s",
        ("peerlog", wait_event, other_than),
    )
    return int(rows[0][0]) if rows else None


def _wait_for_backend(primary: Node, wait_event: str, what: str, other_than: int = 0) -> int:
    """The backend that waits on ``wait_event`` (not ``other_than``, one being ended),
    once one does."""
    found: list[int] = []

    def waiting() -> bool:
        pid = _backend_waiting(primary, wait_event, other_than)
        if pid is not None:
            found.append(pid)
        return bool(found)

    wait_for(waiting, what)
    return found[0]


def _stored(app: PeerLog, command_id: str) -> int:
    """How many events of the record carry this command id (its first event does)."""
    return sum(1 for c in app.store.select_commands() if c.command_id == command_id)


def test_a_commit_whose_answer_was_lost_is_found_and_answered_once(
    primary: Node, placement: tuple[Placement, str], caplog: pytest.LogCaptureFixture
) -> None:
    place, _ = placement
    app = place.app
    # The people's keys exist already (the first text by or about someone makes them):
    # the command's one commit is its append.
    app.execute(place.step("st-before"))
    before = app.store.max_notification_id() or 0
    command = place.step("st-lost-answer")
    # Commits now wait for a synchronous standby that is not there: the command's
    # transaction is committed on the primary's disk, and its answer held back.
    primary.sql("ALTER SYSTEM SET synchronous_standby_names = 'absent'")
    primary.sql("SELECT pg_reload_conf()")
    try:
        with caplog.at_level(logging.WARNING, "peerlog.persistence.postgres"):
            thread, outcome = _in_thread(lambda: app.execute(command))
            pid = _wait_for_backend(primary, "SyncRep", "the command to wait for the standby")
            primary.sql("SELECT pg_terminate_backend(%s)", (pid,))
            thread.join(timeout=60)
    finally:
        primary.sql("ALTER SYSTEM RESET synchronous_standby_names")
        primary.sql("SELECT pg_reload_conf()")
    (result,) = outcome
    assert isinstance(result, CommandResult), result
    # Answered as recorded by this very call (not as a repeat of an earlier one), at
    # the position the record holds it.
    assert result.repeated is False
    assert [e.position for e in result.events] == [before + 1]
    assert _stored(app, command["command_id"]) == 1
    assert app.store.max_notification_id() == before + 1
    assert "recorded before the connection broke" in caplog.text
    again = app.execute(command)
    assert again.repeated is True
    assert [e.position for e in again.events] == [before + 1]
    assert app.verify().verified


def test_a_command_lost_before_it_was_written_is_written_once(
    primary: Node, placement: tuple[Placement, str]
) -> None:
    place, schema = placement
    app = place.app
    before = app.store.max_notification_id() or 0
    command = place.step("st-lost-before")
    holder = primary.connect()
    try:
        # Another session holds the append lock: the command waits for it, unwritten.
        holder.execute("BEGIN")
        holder.execute(
            sql.SQL("SELECT pg_advisory_xact_lock({})").format(
                sql.Literal(lock_key(schema, "append"))
            )
        )
        thread, outcome = _in_thread(lambda: app.execute(command))
        pid = _wait_for_backend(primary, "advisory", "the command to wait for the append lock")
        primary.sql("SELECT pg_terminate_backend(%s)", (pid,))
        # The recorder finds no such command on the primary and appends it again: it
        # waits for the lock once more, which the holder now lets go.
        _wait_for_backend(primary, "advisory", "the command to be appended again", pid)
        holder.execute("COMMIT")
        thread.join(timeout=60)
    finally:
        holder.close()
    (result,) = outcome
    assert isinstance(result, CommandResult), result
    assert result.repeated is False
    assert [e.position for e in result.events] == [before + 1]
    assert _stored(app, command["command_id"]) == 1
    assert app.verify().verified


def test_without_a_primary_in_time_the_command_fails_and_a_resend_records_it_once(
    primary: Node, placement: tuple[Placement, str]
) -> None:
    place, schema = placement
    app = place.app
    store = app.store
    store.datastore.failover_seconds = 1.0  # type: ignore[attr-defined]
    before = store.max_notification_id() or 0
    command = place.step("st-no-primary")
    holder = primary.connect()
    holder.execute("BEGIN")
    holder.execute(
        sql.SQL("SELECT pg_advisory_xact_lock({})").format(sql.Literal(lock_key(schema, "append")))
    )
    thread, outcome = _in_thread(lambda: app.execute(command))
    _wait_for_backend(primary, "advisory", "the command to be waiting")
    started = time.monotonic()
    primary.stop("immediate")  # the only server, gone
    thread.join(timeout=60)
    waited = time.monotonic() - started
    with pytest.raises(psycopg.Error):
        holder.execute("COMMIT")
    holder.close()
    (failed,) = outcome
    assert isinstance(failed, OperationalError), failed
    assert "may or may not have been recorded" in str(failed)
    assert "same command_id" in str(failed)
    assert 1.0 <= waited < 30
    primary.start()
    result = app.execute(command)
    assert result.repeated is False
    assert [e.position for e in result.events] == [before + 1]
    assert _stored(app, command["command_id"]) == 1
    assert app.verify().verified
