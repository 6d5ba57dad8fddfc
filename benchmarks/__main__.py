"""Run the benchmark suite and print (and save) its table.

    python -m benchmarks [--size tiny|default|large] [--stores postgres,sqlite]
                         [--only writes,posts,writers,rebuild,reads,import,upkeep,integrity,xapi,
                                 guard,replication,workers,capture,startup] [--json FILE]

PostgreSQL is the server named by PEERLOG_BENCH_POSTGRES_URL (or
PEERLOG_TEST_POSTGRES_URL, or postgresql://postgres@127.0.0.1:5432/test); every
benchmark works in a schema of its own and drops it afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import capture, guard, integrity, posts, replication, startup, suite, workers
from benchmarks.report import machine, table
from peerlog.folding import pause_while_folding

PER_STORE = {
    "writes": ("one-writer commands", suite.commands_one_writer),
    "posts": ("single commands from four HTTP clients, against one writer", posts.posts),
    "reads": ("replay and audit", suite.replay_and_audit),
    "import": ("import", suite.importing),
    "rebuild": ("projection rebuild", suite.rebuild),
    "upkeep": ("one writer with and without the Merkle tree kept", integrity.upkeep),
    "integrity": ("Merkle tree, checkpoints, proofs and audit files", integrity.integrity),
    "xapi": ("forwarding to an LRS", suite.forwarding),
    "capture": ("capture page: tap to accepted", capture.tap_to_accepted),
}
FIGURES = (*PER_STORE, "writers", "guard", "replication", "workers", "startup")


STORES = ("postgres", "sqlite")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, checked: stores and figures are lists of known names."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--size", choices=sorted(suite.SIZES), default="default")
    parser.add_argument("--stores", default=",".join(STORES))
    parser.add_argument("--only", default=",".join(FIGURES))
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    args.stores = tuple(s for s in args.stores.split(",") if s)
    args.only = set(args.only.split(","))
    for kind, asked, known in (
        ("stores", set(args.stores), STORES),
        ("figures", args.only, FIGURES),
    ):
        unknown = asked - set(known)
        if unknown:
            parser.error(f"unknown {kind}: {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    pause_while_folding()  # as the command line does: the benchmarks fold in one thread
    stores, only = args.stores, args.only
    url = (
        os.environ.get("PEERLOG_BENCH_POSTGRES_URL")
        or os.environ.get("PEERLOG_TEST_POSTGRES_URL")
        or "postgresql://postgres@127.0.0.1:5432/test"
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="peerlog-bench-") as folder:
        ctx = suite.Context(
            size=suite.SIZES[args.size],
            stores=stores,
            postgres_url=url,
            folder=Path(folder),
            report=lambda line: print(line, file=sys.stderr, flush=True),
        )
        for store in stores:
            for figure, (title, run) in PER_STORE.items():
                if figure in only:
                    ctx.report(f"{title} on {store}")
                    run(ctx, store)
        if "writers" in only and "postgres" in stores:
            ctx.report("eight writers on postgres")
            suite.commands_concurrent(ctx)
        if "startup" in only:
            ctx.report("the command line's startup (new processes)")
            startup.startup(ctx)
        if "guard" in only:
            ctx.report("the patient-identifier guard")
            guard.run(ctx)
        if "replication" in only and "postgres" in stores:
            ctx.report("synchronous replication and reads from a standby (clusters of its own)")
            replication.replication(ctx)
        if "workers" in only and "postgres" in stores:
            ctx.report("serve with one worker process and with four, in turn (postgres)")
            workers.workers(ctx)
    output = {
        "size": args.size,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "python": platform.python_version(),
        "seconds": round(time.perf_counter() - started, 1),
        "results": suite.as_json(ctx),
    }
    print(table(ctx.results, args.size))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(output, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
