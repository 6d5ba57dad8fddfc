"""What a team could pick instead: the eventsourcing library with its defaults.

* ``LibraryLog`` records the same step events in a declarative aggregate through the
  library's own persistence (PostgreSQL or SQLite module, JSON transcoder, no cache,
  no snapshots) - every command loads its aggregate and saves it.
* ``DefaultRunnerView`` runs peerlog's own projection logic under the library's
  ``ProjectionRunner``, which processes one event per transaction.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from peerlog.domain.events import DomainEvent
from peerlog.persistence.postgres import PostgresTrackingRecorder
from peerlog.persistence.sqlite import SQLiteTrackingRecorder
from peerlog.projections import PROJECTIONS
from peerlog.projections.store import PostgresReadStore, SQLiteReadStore


class PairLog(Aggregate):
    """A pair's steps, as a library aggregate with the library's defaults."""

    @event("Formed")
    def __init__(self, pair_id: str) -> None:
        self.pair_id = pair_id
        self.steps = 0

    @event("StepRecorded")
    def record_step(
        self,
        session_id: str,
        step_id: str,
        kind: str,
        performers: list[str],
        observers: list[str],
        goals: list[str],
        note: str,
    ) -> None:
        del session_id, step_id, kind, performers, observers, goals, note
        self.steps += 1


class LibraryLog(Application[Any]):
    """The library's application, with the library's persistence and defaults."""


def library_env(kind: str, url_or_path: str, schema: str) -> dict[str, str]:
    """The library's own settings for its PostgreSQL or SQLite module."""
    if kind == "sqlite":
        return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": url_or_path}
    parts = urlsplit(url_or_path)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": parts.path.lstrip("/"),
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": parts.username or "postgres",
        "POSTGRES_PASSWORD": parts.password or "",
        "POSTGRES_SCHEMA": schema,
    }


class _OneByOne:
    """Holds peerlog's projections and writes each event's changes in its own transaction."""

    def _setup(self, read: Any) -> None:
        self.read = read
        self.read.ensure(PROJECTIONS)
        self.states = [p() for p in PROJECTIONS]
        self.processed = 0
        self.first_at = 0.0
        self.last_at = 0.0

    def process(self, domain_event: DomainEvent, tracking: Tracking) -> None:
        for state in self.states:
            if type(domain_event) in state.handlers:
                state.apply(tracking.notification_id, datetime.now(UTC), domain_event)
        with self.read.datastore.transaction(**self._write) as conn:
            for state in self.states:
                self.read.write_changes(conn, state)
            self.write_tracking(conn, tracking)  # type: ignore[attr-defined]
        self.processed += 1
        # Timed from the first event processed, so that starting the runner is not counted.
        self.last_at = time.perf_counter()
        if self.processed == 1:
            self.first_at = self.last_at

    _write: ClassVar[dict[str, Any]] = {}


class PostgresDefaultRunnerView(PostgresTrackingRecorder, _OneByOne):
    def __init__(self, datastore: Any, table: str = "tracking") -> None:
        super().__init__(datastore, "bench_default_runner_tracking")
        del table
        self._setup(PostgresReadStore(datastore, "unused"))


class SQLiteDefaultRunnerView(SQLiteTrackingRecorder, _OneByOne):
    _write: ClassVar[dict[str, Any]] = {"write": True}

    def __init__(self, datastore: Any, table: str = "tracking") -> None:
        super().__init__(datastore, "bench_default_runner_tracking")
        del table
        self._setup(SQLiteReadStore(datastore))


class DefaultRunnerProjection(Projection[Any]):
    """peerlog's projections, fed by the library's runner one event at a time."""

    name = "benchdefault"

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.process(domain_event, tracking)
