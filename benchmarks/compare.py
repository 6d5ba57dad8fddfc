"""Compare the benchmark suite of two checkouts of peerlog, run in turns.

    python -m benchmarks.compare BEFORE AFTER [--rounds 3] [--json FILE] -- SUITE ARGS

BEFORE and AFTER are checkouts, each with its own ``.venv`` (``make install``). The
suite runs in BEFORE, then AFTER, then BEFORE again ... (``--rounds`` times each), so
a load that changes during the comparison weighs on both alike. Every figure both
runs report (the same figure, store and subject) is compared round by round: the
ratio after / before, its median, min and max, and whether it got worse (lower for a
rate, higher for a time or a size) by more than ``--tolerance`` (5 %).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

Key = tuple[str, str, str]


def higher_is_better(unit: str) -> bool:
    """Rates (commands/s, events/s, x raw) grow when things improve; times and sizes
    shrink."""
    return "/s" in unit or unit.startswith("x") or unit in {"ratio", "%"}


def run_suite(checkout: Path, suite_args: Sequence[str], out: Path) -> list[dict[str, Any]]:
    python = checkout / ".venv" / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "benchmarks", *suite_args, "--json", str(out)],
        cwd=checkout,
        check=True,
    )
    data = json.loads(out.read_text())
    results = data["results"] if isinstance(data, dict) else data
    return [r for r in results if isinstance(r, dict)]


def by_key(results: list[dict[str, Any]]) -> dict[Key, tuple[float, str]]:
    return {
        (r["figure"], r["store"], r["subject"]): (float(r["value"]), r["unit"]) for r in results
    }


def compare(
    before: list[dict[Key, tuple[float, str]]],
    after: list[dict[Key, tuple[float, str]]],
    tolerance: float,
) -> list[dict[str, Any]]:
    rows = []
    common = set.intersection(*(set(r) for r in before + after))
    for key in sorted(common):
        unit = after[0][key][1]
        ratios = [
            a[key][0] / b[key][0] for b, a in zip(before, after, strict=True) if b[key][0] != 0
        ]
        if not ratios:
            continue
        median = statistics.median(ratios)
        worse = median < 1 - tolerance if higher_is_better(unit) else median > 1 + tolerance
        rows.append(
            {
                "figure": key[0],
                "store": key[1],
                "subject": key[2],
                "unit": unit,
                "before": statistics.median(b[key][0] for b in before),
                "after": statistics.median(a[key][0] for a in after),
                "ratio_median": median,
                "ratio_min": min(ratios),
                "ratio_max": max(ratios),
                "worse": worse,
            }
        )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| figure | store | subject | before | after | unit | after/before median (min-max) | |",
        "|---|---|---|---:|---:|---|---|---|",
    ]
    lines.extend(
        f"| {r['figure']} | {r['store']} | {r['subject']} | {r['before']:,.2f} | "
        f"{r['after']:,.2f} | {r['unit']} | {r['ratio_median']:.2f} "
        f"({r['ratio_min']:.2f}-{r['ratio_max']:.2f}) | {'worse' if r['worse'] else ''} |"
        for r in rows
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tolerance", type=float, default=0.05)
    parser.add_argument("--json", type=Path, default=None)
    argv = sys.argv[1:] if argv is None else argv
    ours, suite_args = (
        (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    )
    args = parser.parse_args(ours)
    before: list[dict[Key, tuple[float, str]]] = []
    after: list[dict[Key, tuple[float, str]]] = []
    with tempfile.TemporaryDirectory(prefix="peerlog-compare-") as folder:
        for round_ in range(args.rounds):
            for name, checkout, into in (
                ("before", args.before, before),
                ("after", args.after, after),
            ):
                print(
                    f"round {round_ + 1}/{args.rounds}: {name} ({checkout})",
                    file=sys.stderr,
                    flush=True,
                )
                out = Path(folder) / f"{name}-{round_}.json"
                into.append(by_key(run_suite(checkout.resolve(), suite_args, out)))
    rows = compare(before, after, args.tolerance)
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 1 if any(r["worse"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
