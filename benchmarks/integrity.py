"""What keeping the record verifiable costs: the Merkle tree beside one writer, and
building it, checkpoints, proofs, verifying against a checkpoint and the examiner's
audit file on a record of the suite's size.

The large record is made fast: rows of the size of a real step event, inserted straight
into the events table (PostgreSQL ``COPY``, SQLite ``executemany``) with their chain
links, in 30,000 streams; the tree's costs depend on the number of leaves, not on what
they say. A demo placement is then recorded on top through the application, so that the
audit file of one of its students carries proofs as deep as the record."""

from __future__ import annotations

import json
import random
import sqlite3
import statistics
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import psycopg
from psycopg import sql

from benchmarks import data
from benchmarks.suite import Context, Result, _open_pairs, _steps
from peerlog import PeerLog
from peerlog.cli import demo
from peerlog.integrity import merkle, tamper
from peerlog.integrity.checkpoints import Checkpoint
from peerlog.integrity.notes import Signer
from peerlog.integrity.service import Integrity
from peerlog.persistence import chain
from peerlog.persistence.records import to_micros
from peerlog.persistence.sqlite import format_time
from peerlog.projections import AsOf
from peerlog.projections.audit_file import make_file
from peerlog.projections.source import StoreEvents
from peerlog.web.services import TREE_SECONDS

SYNTHETIC_STREAMS: Final = 30_000
KEY: Final = {"PEERLOG_CHECKPOINT_KEY": str(Signer.generate("bench.peerlog.example/record"))}
"""Benchmark stores sign with a key of their own, made for the run."""


def upkeep(ctx: Context, store: str) -> None:
    _tree_upkeep(ctx, store)


def integrity(ctx: Context, store: str) -> None:
    _large_record(ctx, store)


def _tree_upkeep(ctx: Context, store: str) -> None:
    """One writer with and without the tree kept beside it, in alternating blocks of the
    same run: the tree kept as the server keeps it (a thread in the same process catching
    up every TREE_SECONDS)."""
    fresh = data.fresh_store(store, ctx.postgres_url, ctx.folder, "upkeep")
    app = fresh.open(**KEY)
    try:
        pairs = 50
        _open_pairs(app, "u-", pairs)
        commands = [json.dumps(c).encode() for _, c in _steps("u-", pairs, ctx.size.writes)]
        blocks = 10
        per_block = max(1, len(commands) // blocks)
        integrity = Integrity.of(app)
        integrity.catch_up()
        timings: dict[bool, list[float]] = {False: [], True: []}
        for block in range(blocks):
            kept = block % 2 == 1
            stop = threading.Event()
            keeper = threading.Thread(target=_keep, args=(integrity, stop), daemon=True)
            if kept:
                keeper.start()
            chunk = commands[block * per_block : (block + 1) * per_block]
            started = time.perf_counter()
            for line in chunk:
                app.execute(line)
            timings[kept].append(len(chunk) / (time.perf_counter() - started))
            if kept:
                stop.set()
                keeper.join()
        integrity.catch_up()
        without = statistics.mean(timings[False])
        with_tree = statistics.mean(timings[True])
        ctx.add(
            Result(
                "one writer, Merkle tree kept",
                store,
                "peerlog, the tree kept beside it",
                with_tree,
                "commands/s",
                {
                    "without_tree": round(without, 1),
                    "ratio": round(with_tree / without, 3),
                    "blocks": blocks,
                    "commands": per_block * blocks,
                },
            )
        )
    finally:
        app.close()
        fresh.drop()


def _keep(integrity: Integrity, stop: threading.Event) -> None:
    while not stop.is_set():
        integrity.catch_up()
        stop.wait(TREE_SECONDS)


def _rows(count: int, start: datetime) -> Iterator[tuple[Any, ...]]:
    """Synthetic stored events with valid chain links: position, stream, version, topic,
    state, recorded_at, chain."""
    state = (
        b'{"command_id":"bench-000000000","actor":"bench-a","occurred_at":"2026-01-05T07:00:00Z",'
        b'"pair_id":"bench","session_id":"bench-open","step_id":"bench-000000000",'
        b'"kind":"performance","performers":["bench-a"],"observers":["bench-b"],'
        b'"goals":["hygiene","medication"],"note":{"sealed":"' + b"x" * 180 + b'"}}'
    )
    heads: dict[str, tuple[int, bytes]] = {}
    for position in range(1, count + 1):
        stream = f"bench/{position % SYNTHETIC_STREAMS}"
        version, previous = heads.get(stream, (0, chain.GENESIS))
        version += 1
        moment = start + timedelta(microseconds=position)
        link = chain.link(
            previous, stream, version, position, to_micros(moment), "StepRecorded", state
        )
        heads[stream] = (version, link)
        yield position, stream, version, "StepRecorded", state, moment, link


def _load_synthetic(ctx: Context, store: str, fresh: data.Store, count: int) -> float:
    started = time.perf_counter()
    when = datetime(2026, 1, 5, tzinfo=UTC)
    if store == "postgres":
        table = sql.Identifier(fresh.env["PEERLOG_SCHEMA"], "events")
        with psycopg.connect(ctx.postgres_url) as conn:
            with conn.cursor().copy(
                sql.SQL(
                    "COPY {} (position, originator_id, originator_version, topic, state, "
                    "recorded_at, chain) FROM STDIN"
                ).format(table)
            ) as copy:
                for row in _rows(count, when):
                    copy.write_row(row)
            conn.execute(sql.SQL("ANALYZE {}").format(table))
    else:
        path = fresh.env["PEERLOG_DATABASE_URL"].removeprefix("sqlite://")
        lite = sqlite3.connect(path)
        try:
            batch: list[tuple[Any, ...]] = []
            for row in _rows(count, when):
                batch.append((*row[:5], format_time(row[5]), row[6]))
                if len(batch) == 50_000:
                    lite.executemany(
                        "INSERT INTO events (position, originator_id, originator_version, "
                        "topic, state, recorded_at, chain) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        batch,
                    )
                    batch = []
            lite.executemany(
                "INSERT INTO events (position, originator_id, originator_version, topic, "
                "state, recorded_at, chain) VALUES (?, ?, ?, ?, ?, ?, ?)",
                batch,
            )
            lite.commit()
        finally:
            lite.close()
    return time.perf_counter() - started


def _large_record(ctx: Context, store: str) -> None:
    size = ctx.size.integrity_events
    fresh = data.fresh_store(store, ctx.postgres_url, ctx.folder, "tree")
    app = fresh.open(**KEY)
    try:
        app.close()  # the tables exist; the rows go in behind the application
        ctx.report(f"  writing {size:,} synthetic events into {store} ...")
        loaded = _load_synthetic(ctx, store, fresh, size)
        ctx.report(f"  wrote them in {loaded:.0f} s")
        app = fresh.open(**KEY)
        integrity = Integrity.of(app)
        started = time.perf_counter()
        integrity.catch_up()
        elapsed = time.perf_counter() - started
        ctx.add(
            Result(
                "Merkle tree build",
                store,
                "peerlog: the tree from the record",
                size / elapsed,
                "events/s",
                {"events": size, "seconds": round(elapsed, 1)},
            )
        )
        # A placement recorded on top, through the application.
        commands = list(data.prefixed(demo.placement(seed=3, start=data.START, pairs=6), "b-"))
        data.load(app, commands)
        head = app.store.max_notification_id() or 0
        _checkpoints(ctx, store, app, integrity)
        _proofs(ctx, store, integrity, head)
        _against(ctx, store, integrity)
        _bundle(ctx, store, app)
        _tree_storage(ctx, store, fresh, head)
    finally:
        app.close()
        fresh.drop()


def _median_ms(times: list[float]) -> tuple[float, dict[str, float]]:
    return statistics.median(times) * 1000, {
        "min_ms": round(min(times) * 1000, 2),
        "max_ms": round(max(times) * 1000, 2),
    }


def _checkpoints(ctx: Context, store: str, app: PeerLog, integrity: Integrity) -> None:
    """A checkpoint after each of a few commands: the tree caught up, its root, signed, kept."""
    integrity.make_checkpoint()
    times = []
    for n in range(ctx.size.repeats):
        app.execute(
            {
                "command": "add_goal",
                "command_id": f"bench-goal-{n}",
                "actor": "b-coord-1",
                "course_id": "b-vfu-1",
                "goal_id": f"bench-{n}",
                "title": "A goal added to grow the record",
            }
        )
        started = time.perf_counter()
        integrity.make_checkpoint()
        times.append(time.perf_counter() - started)
    median, spread = _median_ms(times)
    ctx.add(
        Result(
            "checkpoint",
            store,
            "peerlog checkpoint: catch up, root, sign, keep",
            median,
            "ms",
            {"events": integrity.tree.size(), **spread},
        )
    )


def _proofs(ctx: Context, store: str, integrity: Integrity, head: int) -> None:
    rng = random.Random(14)  # noqa: S311 - which positions to prove, not secrecy
    size = integrity.tree.size()
    root = integrity.tree.root(size)
    times = []
    for _ in range(ctx.size.repeats * 4):
        position = rng.randrange(1, head + 1)
        started = time.perf_counter()
        proof = integrity.inclusion_proof(position, size)
        times.append(time.perf_counter() - started)
        leaf = integrity.tree.leaf_hashes([position - 1])[position - 1]
        assert merkle.verify_inclusion(position - 1, size, leaf, proof, root)
    median, spread = _median_ms(times)
    ctx.add(
        Result(
            "inclusion proof",
            store,
            "peerlog: one event in the latest checkpoint",
            median,
            "ms",
            {"events": size, "hashes": len(proof), **spread},
        )
    )
    times = []
    for _ in range(ctx.size.repeats * 4):
        old = rng.randrange(1, size)
        started = time.perf_counter()
        proof = integrity.consistency_proof(old, size)
        times.append(time.perf_counter() - started)
        assert merkle.verify_consistency(old, size, integrity.tree.root(old), root, proof)
    median, spread = _median_ms(times)
    ctx.add(
        Result(
            "consistency proof",
            store,
            "peerlog: an earlier size to the latest",
            median,
            "ms",
            {"events": size, "hashes": len(proof), **spread},
        )
    )


def _against(ctx: Context, store: str, integrity: Integrity) -> None:
    latest = integrity.store.checkpoint()
    assert latest is not None
    checkpoint = Checkpoint.parse_body(latest.note.split("\n\n")[0] + "\n")
    started = time.perf_counter()
    verdict = tamper.check(integrity.source, integrity.tree, checkpoint)
    elapsed = time.perf_counter() - started
    ctx.add(
        Result(
            "verify against a checkpoint",
            store,
            "peerlog verify --against: every event hashed again",
            checkpoint.size / elapsed,
            "events/s",
            {"events": checkpoint.size, "seconds": round(elapsed, 1), "extends": verdict.extends},
        )
    )


def _bundle(ctx: Context, store: str, app: PeerLog) -> None:
    """The audit file of a final audit: a student at the end of an 8-week placement."""
    started = time.perf_counter()
    file = make_file(StoreEvents(app), "b-p01-a", "b-vfu-1", AsOf())
    elapsed = time.perf_counter() - started
    events = len(json.loads(file)["events"])
    ctx.add(
        Result(
            "audit file",
            store,
            "peerlog audit --bundle: a final audit",
            len(file) / 1024,
            "KiB",
            {
                "events": events,
                "make_ms": round(elapsed * 1000, 1),
                "record_events": app.store.max_notification_id(),
            },
        )
    )


def _tree_storage(ctx: Context, store: str, fresh: data.Store, events: int) -> None:
    if store == "postgres":
        schema = fresh.env["PEERLOG_SCHEMA"]
        with psycopg.connect(ctx.postgres_url) as conn:
            row = conn.execute(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s "
                "AND c.relname IN ('merkle_tiles', 'merkle_tree', 'checkpoints') "
                "AND c.relkind = 'r'",
                (schema,),
            ).fetchone()
        total = int(row[0]) if row else 0
    else:
        path = fresh.env["PEERLOG_DATABASE_URL"].removeprefix("sqlite://")
        lite = sqlite3.connect(path)
        try:
            (total,) = lite.execute(
                "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN "
                "('merkle_tiles', 'merkle_tree', 'checkpoints', 'sqlite_autoindex_checkpoints_1')"
            ).fetchone()
        finally:
            lite.close()
    ctx.add(
        Result(
            "storage per event",
            store,
            "Merkle tree tiles and checkpoints",
            total / events,
            "bytes",
            {"total_mb": round(total / 2**20, 1), "events": events},
        )
    )
