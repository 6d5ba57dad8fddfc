"""The benchmark table, and what the machine was."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.suite import Result

TARGETS = {
    "one-writer commands": "postgres: >= 70% of raw one-row-per-transaction (median of rounds)",
    "projection rebuild": "postgres: >= 40,000 events/s and >= 50x the default runner",
    "replay of one pair": "< 20 ms for 2,000 events (the pair's state from its events)",
    "audit of one student, as of": "warm: < 30 ms for 4,000 events, < 120 ms for 16,000",
    "timeline page, warm": "< 15 ms for 1,000 events and for 10,000 (the newest 50)",
    "import from JSON lines": "postgres: >= 5,000 commands/s",
    "eight writers, different pairs": (
        "0 events lost; postgres: >= 80% of raw eight-writer inserts and >= 3x one writer"
    ),
    "one writer, Merkle tree kept": ">= 90% of the same writer without it, same run",
    "startup of the command line": "--version and --help < 0.3 s, a record < 0.8 s",
    "patient-identifier guard": (
        ">= 99.5% of identifiers caught, <= 0.5% of ordinary strings rejected"
    ),
}


def machine() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError), Path("/proc/cpuinfo").open() as info:
        cpu = next((line.split(":", 1)[1].strip() for line in info if "model name" in line), "")
    postgres = ""
    with contextlib.suppress(OSError):
        postgres = subprocess.run(
            ["psql", "--version"], capture_output=True, text=True, check=False, timeout=5
        ).stdout.strip()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**30
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": memory,
        "system": platform.platform(),
        "postgres": postgres,
    }


def table(results: Sequence[Result], size: str) -> str:
    lines = [f"peerlog benchmarks (size {size})", ""]
    lines.append("| figure | store | measured | value | details |")
    lines.append("|---|---|---|---|---|")
    for r in results:
        details = ", ".join(f"{k} {v}" for k, v in r.details.items() if k != "summary")
        lines.append(
            f"| {r.figure} | {r.store} | {r.subject} | {r.value:,.1f} {r.unit} | {details} |"
        )
    lines.append("")
    lines.append("Targets: " + "; ".join(f"{k}: {v}" for k, v in TARGETS.items()))
    return "\n".join(lines)
