"""Benchmark data: the demo's generator at scale, loaded into fresh stores."""

from __future__ import annotations

import math
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from peerlog import PeerLog
from peerlog.cli.demo import placement, start_of_demo

START = date(2026, 1, 5)
MASTER_KEY = "YmVuY2htYXJrLW1hc3Rlci1rZXktMzItYnl0ZXMhISE="
"""A fixed master key for benchmark stores (they hold made-up people only)."""

ID_FIELDS = (
    "command_id",
    "actor",
    "course_id",
    "pair_id",
    "student_id",
    "supervisor_id",
    "coordinator_id",
    "session_id",
    "step_id",
    "feedback_id",
    "reflection_id",
    "entry_id",
    "giver",
    "receiver",
)
ID_LISTS = ("students", "supervisors", "performers", "observers", "authors")


def prefixed(commands: Iterable[dict[str, Any]], prefix: str) -> Iterator[dict[str, Any]]:
    """The same commands with every id prefixed, so several placements share a store."""
    for command in commands:
        out = _prefix_ids(dict(command), prefix)
        if "roles" in out:
            out["roles"] = {f"{prefix}{k}": v for k, v in out["roles"].items()}
        if "changes" in out:
            out["changes"] = _prefix_ids(dict(out["changes"]), prefix)
        yield out


def _prefix_ids(fields: dict[str, Any], prefix: str) -> dict[str, Any]:
    for name in ID_FIELDS:
        if name in fields:
            fields[name] = f"{prefix}{fields[name]}"
    for name in ID_LISTS:
        if name in fields:
            fields[name] = [f"{prefix}{v}" for v in fields[name]]
    return fields


def events_per_pair(weeks: int = 8) -> int:
    """About how many events the generator records per pair."""
    sample = list(placement(seed=11, start=START, pairs=6, weeks=weeks))
    return len(sample) // 6


@dataclass
class Store:
    """A fresh store for one benchmark."""

    kind: str
    env: dict[str, str]
    drop: Any

    def open(self, **extra: str) -> PeerLog:
        return PeerLog({**self.env, **extra})


def fresh_store(kind: str, postgres_url: str, folder: Path, name: str) -> Store:
    """An empty SQLite file or PostgreSQL schema."""
    if kind == "sqlite":
        path = folder / f"{name}-{uuid.uuid4().hex[:6]}.sqlite3"
        env = {"PEERLOG_DATABASE_URL": f"sqlite:///{path}", "PEERLOG_MASTER_KEY": MASTER_KEY}

        def drop_file() -> None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)

        return Store(kind, env, drop_file)
    schema = f"bench_{name}_{uuid.uuid4().hex[:6]}"
    env = {
        "PEERLOG_DATABASE_URL": postgres_url,
        "PEERLOG_SCHEMA": schema,
        "PEERLOG_MASTER_KEY": MASTER_KEY,
    }

    def drop_schemas() -> None:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            for each in (schema, f"{schema}_read"):
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(each))
                )

    return Store(kind, env, drop_schemas)


def load(app: PeerLog, commands: Iterable[dict[str, Any]], *, report: Any = None) -> float:
    """Record commands in batches; returns the seconds it took. Rejections are errors."""
    started = time.perf_counter()
    for count, outcome in enumerate(app.execute_many(commands, batch_size=2000), 1):
        if not hasattr(outcome, "events"):
            msg = f"benchmark data was rejected: {outcome}"
            raise RuntimeError(msg)
        if report is not None and count % 50_000 == 0:
            report(f"loaded {count} commands")
    return time.perf_counter() - started


PAIRS_PER_COURSE = 20


def pairs_for_events(events: int, *, weeks: int = 8) -> int:
    """How many pairs a placement of ``weeks`` needs for at least ``events`` events."""
    return max(2, math.ceil(events * 1.05 / events_per_pair(weeks)))


def streams_for_events(events: int, *, weeks: int = 8) -> int:
    """How many aggregates (pairs and their courses) that placement records into: all of
    them are busy every week, so a process loading it keeps them all in its cache."""
    pairs = pairs_for_events(events, weeks=weeks)
    return pairs + math.ceil(pairs / PAIRS_PER_COURSE)


def placement_for_events(events: int, *, seed: int = 1, weeks: int = 8) -> Iterator[dict[str, Any]]:
    """A placement with at least ``events`` events, in courses of 20 pairs."""
    pairs = pairs_for_events(events, weeks=weeks)
    return placement(
        seed=seed, start=START, pairs=pairs, weeks=weeks, pairs_per_course=PAIRS_PER_COURSE
    )


LONG = {"pairs": 1, "shifts_per_week": 5, "steps_per_shift": 8}
"""A pair that works every weekday, with long shifts."""


def long_pair(events: int, *, prefix: str, seed: int = 5) -> Iterator[dict[str, Any]]:
    """One course with one pair whose stream has at least ``events`` events, ending last
    week."""
    weeks = 1
    while True:
        commands = list(placement(seed=seed, start=start_of_demo(weeks=weeks), weeks=weeks, **LONG))
        if sum(1 for c in commands if "pair_id" in c) >= events:
            return prefixed(commands, prefix)
        weeks += 1


def region(copy: int) -> str:
    """The id prefix of one copy of a region (:func:`copy_regions`): ``rg0-``, ``rg1-`` ..."""
    return f"rg{copy}-"


COPY_COLUMNS = "originator_version, topic, recorded_at, chain, command_digest, command_events"
"""The columns of an event row that a copy keeps as they are."""


def copy_regions(store: Store, copies: int) -> int:
    """Copy the event rows of a record loaded with every id prefixed by ``region(0)``
    (:func:`prefixed`) ``copies - 1`` more times, in SQL, with every id renamed to
    ``region(k)``: in the stored states (msgspec JSON), the stream ids, the command
    ids and the commands, at new positions after the head. The copies are independent
    regions for the projections; their hash chains (and the Merkle tree, the keys of
    their sealed texts) are not made again, so the result is only for the rebuild
    figure, not for verification. Returns the new head."""
    old = region(0)
    if store.kind == "sqlite":
        path = store.env["PEERLOG_DATABASE_URL"].removeprefix("sqlite:///")
        with sqlite3.connect(path, isolation_level=None) as lite:
            (head,) = lite.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()
            for k in range(1, copies):
                new = region(k)
                lite.execute(
                    f"INSERT INTO events (position, originator_id, state, command_id, command, "  # noqa: S608 - constant columns
                    f"{COPY_COLUMNS}) SELECT position + ?, replace(originator_id, ?, ?), "
                    "CAST(replace(CAST(state AS TEXT), ?, ?) AS BLOB), "
                    "replace(command_id, ?, ?), replace(command, ?, ?), "
                    f"{COPY_COLUMNS} FROM events WHERE position <= ?",
                    (k * head, *(old, new) * 4, head),
                )
        lite.close()
        return int(head) * copies
    with psycopg.connect(store.env["PEERLOG_DATABASE_URL"], autocommit=True) as conn:
        events = sql.Identifier(store.env["PEERLOG_SCHEMA"], "events")
        head = conn.execute(
            sql.SQL("SELECT coalesce(max(position), 0) FROM {}").format(events)
        ).fetchone()
        assert head is not None
        for k in range(1, copies):
            new = region(k)
            conn.execute(
                sql.SQL(
                    "INSERT INTO {events} (position, originator_id, state, command_id, command, "
                    "{columns}) SELECT position + %s, replace(originator_id, %s, %s), "
                    "convert_to(replace(convert_from(state, 'UTF8'), %s, %s), 'UTF8'), "
                    "replace(command_id, %s, %s), replace(command, %s, %s), "
                    "{columns} FROM {events} WHERE position <= %s"
                ).format(events=events, columns=sql.SQL(COPY_COLUMNS)),
                (k * head[0], *(old, new) * 4, head[0]),
            )
        conn.execute(sql.SQL("ANALYZE {}").format(events))
    return int(head[0]) * copies
