"""The benchmark figures, each measured beside its baselines in the same run."""

from __future__ import annotations

import json
import sqlite3
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from benchmarks import data
from benchmarks.library import (
    DefaultRunnerProjection,
    LibraryLog,
    PairLog,
    PostgresDefaultRunnerView,
    SQLiteDefaultRunnerView,
    library_env,
)
from peerlog import PeerLog
from peerlog.application import STATE_CACHE_SIZE
from peerlog.cli import demo
from peerlog.integrity.service import Integrity
from peerlog.projections import (
    TABLES,
    AsOf,
    Runner,
    StoreEvents,
    Thresholds,
    audit,
    overview,
)
from peerlog.projections.participation import SUPERVISORS
from peerlog.projections.timeline import timeline
from peerlog.web import charts, pages, views
from peerlog.web.access import Scope
from peerlog.web.roster import Roster
from peerlog.web.tokens import Role, Token

Report = Callable[[str], None]


@dataclass(frozen=True)
class Size:
    writes: int
    writers: int
    per_writer: int
    rebuild_events: int
    sample: int
    replay_events: int
    audit_events: int
    imports: int
    repeats: int
    integrity_events: int
    xapi_events: int
    guard: int = 12_000
    """Identifiers, and as many ordinary strings, in the guard's corpus."""
    serve_seconds: float = 10.0
    """How long each run of the HTTP load lasts, with one worker process or four."""
    serve_rounds: int = 3
    """How many times the two are run, in turn."""
    audit_events_large: int = 16_000
    """The events of the longer pair whose student's audit is measured too."""
    timeline_events: tuple[int, ...] = (1_000, 10_000)
    """The events of the pairs whose newest timeline page is measured."""
    rebuild_regions: int = 1
    """Into how many regions the rebuild's events are split: more than one, and one
    region is loaded through the application, its ids prefixed, and copied in SQL with
    its ids renamed (``data.copy_regions``; the copies' chains are not valid, so the
    record is not verified)."""


SIZES = {
    "tiny": Size(
        60,
        8,
        10,
        3_000,
        200,
        200,
        400,
        1_000,
        3,
        3_000,
        300,
        1_000,
        audit_events_large=1_600,
        timeline_events=(100, 1_000),
        serve_seconds=3,
        serve_rounds=2,
    ),
    "default": Size(3_000, 8, 300, 1_000_000, 3_000, 2_000, 4_000, 100_000, 15, 1_000_000, 1_800),
    "large": Size(
        30_000,
        8,
        3_000,
        10_000_000,
        30_000,
        20_000,
        40_000,
        1_000_000,
        15,
        10_000_000,
        18_000,
        120_000,
        audit_events_large=160_000,
        timeline_events=(10_000, 100_000),
        serve_seconds=30,
        serve_rounds=5,
        rebuild_regions=10,
    ),
}


@dataclass
class Result:
    figure: str
    store: str
    subject: str
    value: float
    unit: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    size: Size
    stores: tuple[str, ...]
    postgres_url: str
    folder: Path
    report: Report
    results: list[Result] = field(default_factory=list)

    def add(self, result: Result) -> Result:
        self.results.append(result)
        self.report(
            f"  {result.figure} [{result.store}] {result.subject}: "
            f"{result.value:,.1f} {result.unit}"
        )
        return result


def _percentiles(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "p50_ms": round(ordered[len(ordered) // 2] * 1000, 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 3),
    }


# --- commands, one writer ------------------------------------------------------------


def _steps(prefix: str, pairs: int, count: int) -> list[tuple[str, dict[str, Any]]]:
    """``count`` record_step commands spread over ``pairs`` pairs (pair id, command)."""
    out = []
    for n in range(count):
        pair = f"{prefix}p{n % pairs + 1:02d}"
        out.append(
            (
                pair,
                {
                    "command": "record_step",
                    "command_id": f"{prefix}bench-{n}",
                    "actor": f"{pair}-a",
                    "pair_id": pair,
                    "session_id": f"{pair}-open",
                    "step_id": f"bench-{n}",
                    "kind": "performance",
                    "performers": [f"{pair}-a"],
                    "observers": [f"{pair}-b"],
                    "goals": ["hygiene", "medication"],
                    "note": "Gave the morning medication with double checks",
                },
            )
        )
    return out


def _open_pairs(app: PeerLog, prefix: str, pairs: int) -> None:
    """A course with ``pairs`` pairs, each with a session open."""
    commands = list(
        data.prefixed(demo.placement(seed=2, start=data.START, pairs=pairs, weeks=1), prefix)
    )
    commands = [
        c
        for c in commands
        if c["command"] in {"open_course", "enroll_student", "assign_supervisor", "form_pair"}
    ]
    for n in range(pairs):
        pair = f"{prefix}p{n + 1:02d}"
        commands.append(
            {
                "command": "open_session",
                "command_id": f"{pair}-open",
                "actor": f"{pair}-a",
                "pair_id": pair,
                "session_id": f"{pair}-open",
                "roles": {f"{pair}-a": "performer", f"{pair}-b": "observer"},
                "occurred_at": "2026-01-05T07:00:00+00:00",
            }
        )
    data.load(app, commands)


def _interleaved(
    rounds: int, runs: dict[str, Callable[[int], tuple[int, list[float]]]]
) -> dict[str, list[tuple[float, list[float]]]]:
    """Each of ``runs`` once per round, in turn (A B C A B C ...): per round, each run's
    rate (items per second) and its latencies. Run in turn, a change of the machine's
    load falls on all of them alike, so a ratio of two taken within a round holds."""
    out: dict[str, list[tuple[float, list[float]]]] = {name: [] for name in runs}
    for n in range(rounds):
        for name, run in runs.items():
            started = time.perf_counter()
            count, latencies = run(n)
            out[name].append((count / (time.perf_counter() - started), latencies))
    return out


def _ratio(
    name: str,
    ours: list[tuple[float, list[float]]],
    theirs: list[tuple[float, list[float]]],
) -> dict[str, float]:
    """The median, min and max over the rounds of ours / theirs, each from one round."""
    ratios = [a / b for (a, _), (b, _) in zip(ours, theirs, strict=True)]
    return {
        name: round(statistics.median(ratios), 3),
        f"{name}_min": round(min(ratios), 3),
        f"{name}_max": round(max(ratios), 3),
    }


def _rate_result(
    figure: str,
    store: str,
    subject: str,
    rounds: list[tuple[float, list[float]]],
    unit: str,
    **details: Any,
) -> Result:
    """A figure from interleaved rounds: the median of the rounds' rates, with their
    min and max, and the percentiles of every latency."""
    rates = [rate for rate, _ in rounds]
    latencies = [t for _, times in rounds for t in times]
    spread = {"rounds": len(rates), "min": round(min(rates), 1), "max": round(max(rates), 1)}
    return Result(
        figure,
        store,
        subject,
        statistics.median(rates),
        unit,
        {**(_percentiles(latencies) if latencies else {}), **spread, **details},
    )


def commands_one_writer(ctx: Context, store: str) -> None:
    """One writer, raw one-row transactions and the library's defaults, in turn."""
    size = ctx.size
    pairs = 50
    rounds = size.repeats
    chunk = max(1, size.writes // rounds)
    fresh = data.fresh_store(store, ctx.postgres_url, ctx.folder, "writes")
    app = fresh.open()
    try:
        _open_pairs(app, "w-", pairs)
        commands = [json.dumps(c).encode() for _, c in _steps("w-", pairs, chunk * rounds)]
        app.execute(commands[0])
        state = app.store.select_records("pair/w-p01")[-1].state
        del commands[0]

        def peerlog(n: int) -> tuple[int, list[float]]:
            latencies = []
            for line in commands[n * chunk : (n + 1) * chunk]:
                t = time.perf_counter()
                app.execute(line)
                latencies.append(time.perf_counter() - t)
            return len(latencies), latencies

        with (
            _raw_one_row_per_transaction(ctx, store, fresh, state) as raw,
            _library_writes(ctx, store, pairs) as library,
        ):
            measured = _interleaved(
                rounds,
                {"peerlog": peerlog, "raw": lambda _: raw(chunk), "library": library(chunk)},
            )
        raw_subject = (
            "raw psycopg, one row per transaction"
            if store == "postgres"
            else "raw sqlite3, one row per transaction"
        )
        ctx.add(
            _rate_result(
                "one-writer commands",
                store,
                "peerlog",
                measured["peerlog"],
                "commands/s",
                **_ratio("vs_raw", measured["peerlog"], measured["raw"]),
                **_ratio("vs_library", measured["peerlog"], measured["library"]),
            )
        )
        ctx.add(_rate_result("one-writer commands", store, raw_subject, measured["raw"], "rows/s"))
        ctx.add(
            _rate_result(
                "one-writer commands",
                store,
                "eventsourcing library, defaults",
                measured["library"],
                "commands/s",
            )
        )
    finally:
        app.close()
        fresh.drop()


@contextmanager
def _raw_one_row_per_transaction(
    ctx: Context, store: str, fresh: data.Store, state: bytes
) -> Iterator[Callable[[int], tuple[int, list[float]]]]:
    """The durability limit: one row of the same size per committed transaction; yields
    a function that inserts ``count`` rows and returns their latencies."""
    if store == "postgres":
        with psycopg.connect(ctx.postgres_url, autocommit=True) as conn:
            table = sql.Identifier(fresh.env["PEERLOG_SCHEMA"], "raw_rows")
            conn.execute(
                sql.SQL(
                    "CREATE TABLE {} (id bigserial PRIMARY KEY, stream text, version bigint, "
                    "topic text, state bytea, recorded_at timestamptz DEFAULT now())"
                ).format(table)
            )
            insert = sql.SQL(
                "INSERT INTO {} (stream, version, topic, state) VALUES (%s, %s, %s, %s)"
            ).format(table)

            def postgres(count: int) -> tuple[int, list[float]]:
                latencies = []
                for n in range(count):
                    t = time.perf_counter()
                    conn.execute(insert, ("pair/w-p01", n, "StepRecorded", state), prepare=True)
                    latencies.append(time.perf_counter() - t)
                return count, latencies

            yield postgres
        return
    path = fresh.env["PEERLOG_DATABASE_URL"].removeprefix("sqlite://")
    lite = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        lite.execute("PRAGMA journal_mode=WAL")
        lite.execute("PRAGMA synchronous=FULL")
        lite.execute(
            "CREATE TABLE raw_rows (id INTEGER PRIMARY KEY, stream TEXT, version INTEGER, "
            "topic TEXT, state BLOB, recorded_at TEXT)"
        )

        def sqlite(count: int) -> tuple[int, list[float]]:
            latencies = []
            for n in range(count):
                t = time.perf_counter()
                lite.execute("BEGIN IMMEDIATE")
                lite.execute(
                    "INSERT INTO raw_rows (stream, version, topic, state, recorded_at) "
                    "VALUES (?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%f', 'now'))",
                    ("pair/w-p01", n, "StepRecorded", state),
                )
                lite.execute("COMMIT")
                latencies.append(time.perf_counter() - t)
            return count, latencies

        yield sqlite
    finally:
        lite.close()


@contextmanager
def _library_app(ctx: Context, store: str) -> Iterator[LibraryLog]:
    """An application of the eventsourcing library with its defaults, in a store of its
    own that is dropped afterwards."""
    schema = f"bench_lib_{uuid.uuid4().hex[:6]}"
    target = str(ctx.folder / f"{schema}.sqlite3") if store == "sqlite" else ctx.postgres_url
    if store == "postgres":
        with psycopg.connect(ctx.postgres_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    app = LibraryLog(env=library_env(store, target, schema))
    try:
        yield app
    finally:
        app.close()
        if store == "postgres":
            with psycopg.connect(ctx.postgres_url, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@contextmanager
def _library_writes(
    ctx: Context, store: str, pairs: int
) -> Iterator[Callable[[int], Callable[[int], tuple[int, list[float]]]]]:
    """The same steps through the eventsourcing library with its defaults: yields, for
    a chunk size, a function that records round ``n``'s chunk of steps."""
    with _library_app(ctx, store) as app:
        ids = []
        for n in range(pairs):
            pair = PairLog(pair_id=f"lib-p{n}")
            app.save(pair)
            ids.append(pair.id)

        def chunked(chunk: int) -> Callable[[int], tuple[int, list[float]]]:
            def run(round_: int) -> tuple[int, list[float]]:
                latencies = []
                steps = _steps("lib-", pairs, chunk * (round_ + 1))[chunk * round_ :]
                for n, (_, command) in enumerate(steps, start=chunk * round_):
                    t = time.perf_counter()
                    pair: PairLog = app.repository.get(ids[n % pairs])
                    pair.record_step(
                        command["session_id"],
                        command["step_id"],
                        command["kind"],
                        command["performers"],
                        command["observers"],
                        command["goals"],
                        command["note"],
                    )
                    app.save(pair)
                    latencies.append(time.perf_counter() - t)
                return len(latencies), latencies

            return run

        yield chunked


# --- commands, eight writers ---------------------------------------------------------


def commands_concurrent(ctx: Context) -> None:
    """Eight writers on eight pairs, raw eight-writer inserts and one writer, in turn."""
    size = ctx.size
    writers = size.writers
    rounds = size.repeats
    chunk = max(1, size.per_writer // rounds)
    fresh = data.fresh_store("postgres", ctx.postgres_url, ctx.folder, "writers")
    setup = fresh.open()
    try:
        _open_pairs(setup, "c-", writers + 1)
    finally:
        setup.close()
    steps = _steps("c-", writers + 1, (writers + 1) * chunk * rounds)
    per_pair: dict[str, list[dict[str, Any]]] = {}
    for pair, command in steps:
        per_pair.setdefault(pair, []).append(command)
    apps = [fresh.open() for _ in range(writers + 1)]
    errors: list[BaseException] = []
    try:
        # Every writer has its pair cached before the first round.
        for n, app in enumerate(apps):
            app.state_at(f"pair/c-p{n + 1:02d}", 1)

        def eight(round_: int) -> tuple[int, list[float]]:
            def write(writer: int) -> None:
                pair = f"c-p{writer + 1:02d}"
                try:
                    for command in per_pair[pair][round_ * chunk : (round_ + 1) * chunk]:
                        apps[writer].execute(command)
                except BaseException as exc:  # noqa: BLE001 - counted below
                    errors.append(exc)

            _in_threads(write, writers)
            return writers * chunk, []

        def one(round_: int) -> tuple[int, list[float]]:
            # The ninth pair, by a writer of its own.
            pair = f"c-p{writers + 1:02d}"
            for command in per_pair[pair][round_ * chunk : (round_ + 1) * chunk]:
                apps[writers].execute(command)
            return chunk, []

        state = apps[0].store.select_records("pair/c-p01")[-1].state
        with _raw_writers(ctx, fresh.env["PEERLOG_SCHEMA"], writers, state) as raw:
            measured = _interleaved(
                rounds, {"peerlog": eight, "raw": lambda _: raw(chunk), "one": one}
            )
    finally:
        for app in apps:
            app.close()
    check = fresh.open()
    try:
        expected = (writers + 1) * chunk * rounds
        stored = check.store.find_commands({c["command_id"] for _, c in steps})
        lost = expected - len(stored)
        verified = check.verify().verified
    finally:
        check.close()
        fresh.drop()
    ctx.add(
        _rate_result(
            "eight writers, different pairs",
            "postgres",
            "peerlog",
            measured["peerlog"],
            "commands/s",
            **_ratio("vs_raw", measured["peerlog"], measured["raw"]),
            **_ratio("vs_one_writer", measured["peerlog"], measured["one"]),
            events_lost=lost,
            errors=len(errors),
            chain_verified=verified,
        )
    )
    ctx.add(
        _rate_result(
            "eight writers, different pairs",
            "postgres",
            "raw psycopg, eight writers, one row per transaction",
            measured["raw"],
            "rows/s",
        )
    )
    ctx.add(
        _rate_result(
            "eight writers, different pairs",
            "postgres",
            "peerlog, one writer",
            measured["one"],
            "commands/s",
        )
    )


def _in_threads(work: Callable[[int], None], count: int) -> None:
    """``work(0)`` to ``work(count - 1)`` at once, each in a thread; returns when all end."""
    barrier = threading.Barrier(count)

    def run(n: int) -> None:
        barrier.wait()
        work(n)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@contextmanager
def _raw_writers(
    ctx: Context, schema: str, writers: int, state: bytes
) -> Iterator[Callable[[int], tuple[int, list[float]]]]:
    """Raw psycopg inserts by ``writers`` threads, each on its own connection, one row of
    the same size per committed transaction: yields a function that has each insert
    ``count`` rows."""
    table = sql.Identifier(schema, "raw_rows")
    conns = [psycopg.connect(ctx.postgres_url, autocommit=True) for _ in range(writers)]
    try:
        conns[0].execute(
            sql.SQL(
                "CREATE TABLE {} (id bigserial PRIMARY KEY, stream text, version bigint, "
                "topic text, state bytea, recorded_at timestamptz DEFAULT now())"
            ).format(table)
        )
        insert = sql.SQL(
            "INSERT INTO {} (stream, version, topic, state) VALUES (%s, %s, %s, %s)"
        ).format(table)

        def run(count: int) -> tuple[int, list[float]]:
            def write(writer: int) -> None:
                for n in range(count):
                    conns[writer].execute(
                        insert, (f"pair/c-p{writer}", n, "StepRecorded", state), prepare=True
                    )

            _in_threads(write, writers)
            return writers * count, []

        yield run
    finally:
        for conn in conns:
            conn.close()


# --- projection rebuild --------------------------------------------------------------


def rebuild(ctx: Context, store: str) -> None:
    size = ctx.size
    fresh = data.fresh_store(store, ctx.postgres_url, ctx.folder, "rebuild")
    # A whole region's placement, recorded day by day, is busy in every pair at once:
    # the loading process keeps every pair's state (PEERLOG_STATE_CACHE_SIZE), as an
    # import of such a placement should be set up to.
    regions = size.rebuild_regions
    per_region = size.rebuild_events // regions
    streams = data.streams_for_events(per_region)
    app = fresh.open(PEERLOG_STATE_CACHE_SIZE=str(max(streams, STATE_CACHE_SIZE)))
    try:
        ctx.report(f"  loading about {per_region:,} events into {store} ...")
        commands = data.placement_for_events(per_region)
        if regions > 1:
            commands = data.prefixed(commands, data.region(0))
        seconds = data.load(app, commands, report=ctx.report)
        app.forget_cached_state()  # the rebuild runs with the memory it needs
        events = app.store.max_notification_id() or 0
        ctx.report(f"  loaded {events:,} events in {seconds:.0f} s")
        if regions > 1:
            started = time.perf_counter()
            events = data.copy_regions(fresh, regions)
            copied = time.perf_counter() - started
            ctx.report(
                f"  copied them into {regions} regions, {events:,} events, in {copied:.0f} s"
            )
        runner = Runner(StoreEvents(app))
        try:
            processes = runner.processes_for(len(runner.projections))
            started = time.perf_counter()
            runner.rebuild()
            elapsed = time.perf_counter() - started
            peak = max(runner.peak_memory.values(), default=None)
            ours = ctx.add(
                Result(
                    "projection rebuild",
                    store,
                    "peerlog runner",
                    events / elapsed,
                    "events/s",
                    {
                        "events": events,
                        "seconds": round(elapsed, 2),
                        "processes": processes,
                        "peak_memory_mb": round(peak / 2**20) if peak else None,
                        "peak_memory_mb_by_projection": {
                            name: round(held / 2**20) for name, held in runner.peak_memory.items()
                        },
                    },
                )
            )
            _dashboard(ctx, store, runner)
            if regions == 1:  # the copies' sealed texts have no keys
                _pages(ctx, store, runner, app)
        finally:
            runner.close()
        default = _default_runner(ctx, store, fresh, min(size.sample, events))
        read = _raw_read(ctx, store, fresh, events)
        ours.details["vs_default_runner"] = round(ours.value / default.value, 1)
        ours.details["vs_raw_read"] = round(ours.value / read.value, 3)
        _storage(ctx, store, fresh, events)
        if regions == 1:  # the copies' chains are not made again
            _verification(ctx, store, app, events)
    finally:
        app.close()
        fresh.drop()


def _dashboard(ctx: Context, store: str, runner: Runner) -> None:
    """The supervisor overview from the rebuilt read models: one supervisor's pairs, and
    one course's (what a coordinator opens)."""
    pairs = runner.store.read(SUPERVISORS)
    supervisor, course = pairs[0].supervisor_id, pairs[0].course_id
    now = datetime.now(UTC)
    views: tuple[tuple[str, Callable[[], list[Any]]], ...] = (
        (
            "one supervisor's pairs",
            lambda: overview(runner.store, now=now, supervisor=supervisor),
        ),
        ("one course's pairs", lambda: overview(runner.store, now=now, courses={course})),
    )
    for subject, view in views:
        shown = len(view())
        median, spread = _median_ms(view, ctx.size.repeats)
        ctx.add(
            Result(
                "supervisor overview",
                store,
                f"peerlog overview: {subject}",
                median,
                "ms",
                {"pairs": shown, "supervised_pairs": len(pairs), **spread},
            )
        )


def _pages(ctx: Context, store: str, runner: Runner, app: PeerLog) -> None:
    """The dashboard's overview of one supervisor's pairs with their sparklines, and a
    pair page with its charts, each made as its route makes it (from the same read
    models and record) and rendered to HTML, every chart drawn afresh; measured in turn
    with what the page was without trends (the overview's read; the pair's timeline)."""
    first = runner.store.read(SUPERVISORS)[0]
    supervisor, pair_id = first.supervisor_id, first.pair_id
    now = datetime.now(UTC)
    limits = Thresholds()
    token = Token("bench", supervisor, Role.SUPERVISOR, (), now)
    source = StoreEvents(app)
    scope = Scope(token, Roster(source).refresh())
    shown = {"scope": scope, "live": None}

    def overview_page() -> str:
        charts.forget()  # every sparkline drawn, as on the first visit
        context = pages.overview_context(source, runner.store, scope, now=now, thresholds=limits)
        return pages.render_page("overview.html", shown | context)

    def pair_page() -> str:
        charts.forget()
        context = pages.pair_context(
            source, runner.store, scope, pair_id, now=now, thresholds=limits
        )
        return pages.render_page("timeline.html", shown | context)

    def timeline_only() -> None:
        views.pair_timeline(source, pair_id, AsOf())

    events = len(app.records(f"pair/{pair_id}"))
    for subject, page, baseline, without in (
        (
            "one supervisor's pairs with sparklines",
            overview_page,
            lambda: overview(runner.store, now=now, supervisor=supervisor),
            "the overview's read alone",
        ),
        ("a pair page with its charts", pair_page, timeline_only, "the pair's timeline alone"),
    ):
        (median, spread), (base, base_spread) = _interleaved_ms(page, baseline, ctx.size.repeats)
        ctx.add(
            Result(
                "dashboard pages with trends",
                store,
                f"peerlog {subject}",
                median,
                "ms",
                {
                    **spread,
                    "bytes": len(page()),
                    "pair_events": events,
                    "baseline": without,
                    "baseline_ms": round(base, 2),
                    **{f"baseline_{k}": v for k, v in base_spread.items()},
                },
            )
        )


def _interleaved_ms(
    fn: Callable[[], Any], baseline: Callable[[], Any], repeats: int
) -> tuple[tuple[float, dict[str, float]], tuple[float, dict[str, float]]]:
    """Median, min and max (ms) of ``fn`` and of ``baseline``, run in turn (A B A B ...)."""
    fn(), baseline()  # warm up
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(repeats):
        for measured, run in ((ours, fn), (theirs, baseline)):
            t = time.perf_counter()
            run()
            measured.append((time.perf_counter() - t) * 1000)

    def spread(times: list[float]) -> tuple[float, dict[str, float]]:
        return statistics.median(times), {
            "min_ms": round(min(times), 2),
            "max_ms": round(max(times), 2),
        }

    return spread(ours), spread(theirs)


def _storage(ctx: Context, store: str, fresh: data.Store, events: int) -> None:
    """Bytes on disk per event: the event store (events, snapshots, keys, their indexes)
    and the read models."""
    read_tables = {*TABLES, "projection_tracking"}
    if store == "postgres":
        schema = fresh.env["PEERLOG_SCHEMA"]
        with psycopg.connect(ctx.postgres_url) as conn:
            sizes: dict[str, int] = dict(
                conn.execute(
                    "SELECT n.nspname, coalesce(sum(pg_total_relation_size(c.oid)), 0) "
                    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = ANY(%s) AND c.relkind = 'r' GROUP BY n.nspname",
                    ([schema, f"{schema}_read"],),
                ).fetchall()
            )
        record, read = int(sizes.get(schema, 0)), int(sizes.get(f"{schema}_read", 0))
    else:
        path = fresh.env["PEERLOG_DATABASE_URL"].removeprefix("sqlite://")
        lite = sqlite3.connect(path)
        try:
            by_table = lite.execute(
                "SELECT m.tbl_name, sum(d.pgsize) FROM dbstat AS d "
                "JOIN sqlite_master AS m ON m.name = d.name GROUP BY m.tbl_name"
            ).fetchall()
        finally:
            lite.close()
        read = sum(size for table, size in by_table if table in read_tables)
        record = sum(size for table, size in by_table if table not in read_tables)
    ctx.add(
        Result(
            "storage per event",
            store,
            "event store (events, snapshots, keys, indexes)",
            record / events,
            "bytes",
            {"total_mb": round(record / 2**20), "events": events},
        )
    )
    ctx.add(
        Result(
            "storage per event",
            store,
            "read models",
            read / events,
            "bytes",
            {"total_mb": round(read / 2**20), "events": events},
        )
    )


def _verification(ctx: Context, store: str, app: PeerLog, events: int) -> None:
    """Checking every stream's hash chain and the positions (peerlog verify)."""
    started = time.perf_counter()
    report = app.verify()
    elapsed = time.perf_counter() - started
    ctx.add(
        Result(
            "chain verification",
            store,
            "peerlog verify, whole record",
            events / elapsed,
            "events/s",
            {"events": events, "seconds": round(elapsed, 2), "verified": report.verified},
        )
    )


def _default_runner(ctx: Context, store: str, fresh: data.Store, sample: int) -> Result:
    """peerlog's projections under the library's runner: one transaction per event."""
    from eventsourcing.projection import ProjectionRunner  # noqa: PLC0415

    env = dict(fresh.env)
    if store == "postgres":
        env |= {
            "PERSISTENCE_MODULE": "peerlog.persistence.postgres:PostgresFactory",
            "POSTGRES_CONNINFO": fresh.env["PEERLOG_DATABASE_URL"],
            "POSTGRES_SCHEMA": fresh.env["PEERLOG_SCHEMA"],
        }
        view: type[Any] = PostgresDefaultRunnerView
    else:
        env |= {
            "PERSISTENCE_MODULE": "peerlog.persistence.sqlite:SQLiteFactory",
            "SQLITE_PATH": fresh.env["PEERLOG_DATABASE_URL"].removeprefix("sqlite://"),
        }
        view = SQLiteDefaultRunnerView
    with ProjectionRunner(
        application_class=PeerLog,
        projection_class=DefaultRunnerProjection,
        view_class=view,
        env=env,
    ) as runner:
        runner.wait(sample, timeout=3600)
        processed = runner.view.processed
        elapsed = runner.view.last_at - runner.view.first_at
        sample = processed - 1
    return ctx.add(
        Result(
            "projection rebuild",
            store,
            "library ProjectionRunner (one transaction per event), sample",
            sample / elapsed,
            "events/s",
            {"events": sample, "seconds": round(elapsed, 2)},
        )
    )


def _raw_read(ctx: Context, store: str, fresh: data.Store, events: int) -> Result:
    """The read limit: selecting every stored event, nothing else."""
    started = time.perf_counter()
    if store == "postgres":
        with psycopg.connect(ctx.postgres_url) as conn, conn.cursor(name="raw") as cursor:
            cursor.itersize = 10_000
            cursor.execute(
                sql.SQL(
                    "SELECT position, topic, state, recorded_at FROM {} ORDER BY position"
                ).format(sql.Identifier(fresh.env["PEERLOG_SCHEMA"], "events"))
            )
            count = sum(1 for _ in cursor)
    else:
        path = fresh.env["PEERLOG_DATABASE_URL"].removeprefix("sqlite://")
        lite = sqlite3.connect(path)
        try:
            count = sum(
                1
                for _ in lite.execute(
                    "SELECT position, topic, state, recorded_at FROM events ORDER BY position"
                )
            )
        finally:
            lite.close()
    elapsed = time.perf_counter() - started
    assert count == events
    return ctx.add(
        Result(
            "projection rebuild",
            store,
            "raw SELECT of the stored events",
            events / elapsed,
            "events/s",
        )
    )


# --- reads ---------------------------------------------------------------------------


def _median_ms(fn: Callable[[], Any], repeats: int) -> tuple[float, dict[str, float]]:
    fn()  # warm up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), {
        "min_ms": round(min(times), 2),
        "max_ms": round(max(times), 2),
    }


def replay_and_audit(ctx: Context, store: str) -> None:
    size = ctx.size
    fresh = data.fresh_store(store, ctx.postgres_url, ctx.folder, "reads")
    app = fresh.open()
    try:
        data.load(app, data.long_pair(size.replay_events, prefix="r-"))
        data.load(app, data.long_pair(size.audit_events, prefix="a-", seed=6))
        source = StoreEvents(app)
        replay_pair = "r-p01"
        events = len(app.records(f"pair/{replay_pair}"))
        # The pair's state from all its events (no snapshot, no cache): what the
        # library's baseline does.
        stream = f"pair/{replay_pair}"
        median, spread = _median_ms(lambda: app.state_at(stream, events), size.repeats)
        ours = ctx.add(
            Result(
                "replay of one pair",
                store,
                "peerlog replay: the pair's state from its events",
                median,
                "ms",
                {"events": events, **spread},
            )
        )
        # What a dispute reads: every event told, its texts opened (by a source that
        # remembers no telling: each one from scratch).
        cold = StoreEvents(app)
        assert cold.folds.tellings is not None
        cold.folds.tellings.enabled = False
        median, spread = _median_ms(lambda: timeline(cold, replay_pair), size.repeats)
        ctx.add(
            Result(
                "replay of one pair",
                store,
                "peerlog timeline: every event told, texts opened",
                median,
                "ms",
                {"events": events, **spread},
            )
        )
        library = _library_load(ctx, store, events)
        ours.details["library_ms"] = round(library.value, 2)
        _timeline_pages(ctx, store, app, source)

        data.load(app, data.long_pair(size.audit_events_large, prefix="w-", seed=7))
        app.forget_cached_state()
        Integrity.of(app).catch_up()  # the tree as a server keeps it: caught up
        for prefix in ("a-", "w-"):
            _audits(ctx, store, fresh, source, prefix)
    finally:
        app.close()
        fresh.drop()


def _timeline_pages(ctx: Context, store: str, app: PeerLog, source: StoreEvents) -> None:
    """The newest page of a pair's timeline (50 events) as the dashboard's pair page and
    the API make it (the pair told, the page's items made into data), warm: the same
    process asked again, at each pair length."""
    token = Token("bench", "bench-coordinator", Role.COORDINATOR, (), datetime.now(UTC))
    for n, events in enumerate(ctx.size.timeline_events, 1):
        pair_id = f"t{n}-p01"
        data.load(app, data.long_pair(events, prefix=f"t{n}-", seed=7 + n))
        scope = Scope(token, Roster(source).refresh())

        def page(pair_id: str = pair_id, scope: Scope = scope) -> list[dict[str, Any]]:
            _, items = views.pair_timeline(source, pair_id, AsOf())
            shown, _ = views.timeline_page(items, 1)
            return [views.timeline_item(item, scope) for item in shown]

        told = len(source.records(f"pair/{pair_id}"))
        median, spread = _median_ms(page, ctx.size.repeats)
        ctx.add(
            Result(
                "timeline page, warm",
                store,
                f"peerlog newest timeline page: {told:,} events, asked again",
                median,
                "ms",
                {"events": told, "shown": len(page()), **spread},
            )
        )


def _audits(ctx: Context, store: str, fresh: data.Store, source: StoreEvents, prefix: str) -> None:
    """An as-of audit of the student of one long pair, the second in its process (the
    chain heads the first verified remembered: only what is new is hashed again), and
    the first in a process that has verified nothing yet (every link hashed)."""
    student, course, pair = f"{prefix}p01-a", f"{prefix}vfu-1", f"pair/{prefix}p01"
    audited = sum(len(source.records(s)) for s in (f"course/{course}", pair))
    records = source.records(pair)
    as_of = AsOf(recorded=records[len(records) * 3 // 4].recorded_at)
    median, spread = _median_ms(lambda: audit(source, student, course, as_of), ctx.size.repeats)
    ctx.add(
        Result(
            "audit of one student, as of",
            store,
            f"peerlog audit: {audited:,} events, warm",
            median,
            "ms",
            {"events": audited, **spread},
        )
    )
    cold = []
    for _ in range(max(3, ctx.size.repeats // 3)):
        app = fresh.open()  # a process of its own: nothing verified, nothing cached
        try:
            started = time.perf_counter()
            audit(StoreEvents(app), student, course, as_of)
            cold.append((time.perf_counter() - started) * 1000)
        finally:
            app.close()
    ctx.add(
        Result(
            "audit of one student, as of",
            store,
            f"peerlog audit: {audited:,} events, cold (first in a process)",
            statistics.median(cold),
            "ms",
            {"events": audited, "min_ms": round(min(cold), 2), "max_ms": round(max(cold), 2)},
        )
    )


def _library_load(ctx: Context, store: str, events: int) -> Result:
    """Loading an aggregate of as many events with the library's defaults."""
    with _library_app(ctx, store) as app:
        pair = PairLog(pair_id="lib-long")
        for n, (_, command) in enumerate(_steps("lib-", 1, events - 1)):
            pair.record_step(
                command["session_id"],
                f"s{n}",
                command["kind"],
                command["performers"],
                command["observers"],
                command["goals"],
                command["note"],
            )
            if n % 500 == 499:
                app.save(pair)
        app.save(pair)
        median, spread = _median_ms(lambda: app.repository.get(pair.id), ctx.size.repeats)
    return ctx.add(
        Result(
            "replay of one pair",
            store,
            "library: load the aggregate, defaults",
            median,
            "ms",
            {"events": events, **spread},
        )
    )


# --- import --------------------------------------------------------------------------


def importing(ctx: Context, store: str) -> None:
    size = ctx.size
    fresh = data.fresh_store(store, ctx.postgres_url, ctx.folder, "import")
    app = fresh.open()
    try:
        lines = [
            json.dumps(c).encode() + b"\n"
            for c in _take(data.placement_for_events(size.imports * 11 // 10, seed=9), size.imports)
        ]
        path = ctx.folder / f"import-{uuid.uuid4().hex[:6]}.jsonl"
        path.write_bytes(b"".join(lines))
        from peerlog.cli.importing import import_file  # noqa: PLC0415

        started = time.perf_counter()
        summary = import_file(app, path)
        elapsed = time.perf_counter() - started
        path.unlink()
        if not summary.ok or summary.recorded != len(lines):
            msg = f"the import did not record every line: {summary}"
            raise RuntimeError(msg)
        ctx.add(
            Result(
                "import from JSON lines",
                store,
                "peerlog import",
                len(lines) / elapsed,
                "commands/s",
                {"commands": len(lines)},
            )
        )
    finally:
        app.close()
        fresh.drop()


# --- forwarding to a learning record store -------------------------------------------


def forwarding(ctx: Context, store: str) -> None:
    """Statements made from the record (no store), and sent to ralph's LRS on loopback
    (its file backend, started for the run: ``make lrs``)."""
    from peerlog.projections.xapi import Forwarder, export, xapi_settings  # noqa: PLC0415
    from tests.xapi.lrs import find_ralph, running_lrs  # noqa: PLC0415

    ralph = find_ralph()
    fresh = data.fresh_store(store, ctx.postgres_url, ctx.folder, "xapi")
    app = fresh.open()
    try:
        data.load(app, data.placement_for_events(ctx.size.xapi_events, seed=13))
        events = app.store.max_notification_id() or 0
        source = StoreEvents(app)
        settings = xapi_settings(source)
        started = time.perf_counter()
        statements = sum(1 for _ in export(source, settings))
        elapsed = time.perf_counter() - started
        ctx.add(
            Result(
                "forwarding to an LRS",
                store,
                "peerlog export xapi: statements made, no store",
                statements / elapsed,
                "statements/s",
                {"statements": statements, "events": events},
            )
        )
        folder = ctx.folder / f"lrs-{store}-{uuid.uuid4().hex[:6]}"
        with running_lrs(folder, ralph=ralph) as lrs:
            forwarder = Forwarder(source, lrs.client(), settings)
            try:
                started = time.perf_counter()
                report = forwarder.run()
                elapsed = time.perf_counter() - started
            finally:
                forwarder.close()
            arrived = len(lrs.statements())
        if report.sent != statements or arrived != statements or report.refused:
            msg = (
                f"forwarding lost statements: {statements} made, {report.sent} sent, "
                f"{arrived} arrived"
            )
            raise RuntimeError(msg)
        ctx.add(
            Result(
                "forwarding to an LRS",
                store,
                "peerlog xapi forward to ralph (file backend, loopback)",
                statements / elapsed,
                "statements/s",
                {
                    "statements": statements,
                    "events": events,
                    "batch_size": forwarder.batch_size,
                    "seconds": round(elapsed, 2),
                    "arrived": arrived,
                },
            )
        )
    finally:
        app.close()
        fresh.drop()


def _take(commands: Iterator[dict[str, Any]], count: int) -> Iterator[dict[str, Any]]:
    for n, command in enumerate(commands):
        if n >= count:
            return
        yield command


def as_json(ctx: Context) -> list[dict[str, Any]]:
    return [asdict(r) for r in ctx.results]
