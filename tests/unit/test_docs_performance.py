"""docs/performance.md stays true to the benchmark suite: the commands it shows are
accepted by the suite's command line, and its table names every figure the suite
measures."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from benchmarks.__main__ import FIGURES, parse
from benchmarks.report import TARGETS

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "performance.md"
MAKEFILE = ROOT / "Makefile"


def _commands() -> list[list[str]]:
    """The argument lists of every ``$ python -m benchmarks`` and ``$ make bench`` line."""
    out = []
    for line in DOC.read_text().splitlines():
        if not line.startswith("$ "):
            continue
        words = shlex.split(line[2:])
        while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
            words.pop(0)  # an environment variable set for the command
        if words[:3] == ["python", "-m", "benchmarks"]:
            out.append(words[3:])
        elif words[:2] == ["make", "bench"]:
            given = [w for w in words[2:] if w.startswith("BENCH_ARGS=")]
            out.append(shlex.split(given[0].removeprefix("BENCH_ARGS=")) if given else [])
    return out


def test_the_documented_commands_are_accepted_by_the_suite() -> None:
    commands = _commands()
    assert len(commands) >= 3
    for argv in commands:
        parse(argv)


def test_a_wrong_command_line_is_refused() -> None:
    with pytest.raises(SystemExit):
        parse(["--stores", "oracle"])
    with pytest.raises(SystemExit):
        parse(["--only", "everything"])


def test_the_make_target_runs_the_suite() -> None:
    assert "$(BIN)/python -m benchmarks $(BENCH_ARGS)" in MAKEFILE.read_text()


def test_the_table_names_every_figure_and_target() -> None:
    text = DOC.read_text()
    for figure in TARGETS:
        assert f"| {figure} |" in text, figure
    for name in FIGURES:
        assert f"`{name}`" in text, name
