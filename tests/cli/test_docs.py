"""The commands shown in README.md and docs/cli.md print what the docs say they print.

Each document's ``console`` blocks are run in order against one fresh SQLite record, in a
folder of their own: ``$ peerlog ...`` lines are commands (a trailing backslash continues
a command on the next line; ``> FILE``, ``< FILE``, ``| head -n N`` and ``| tail -n N``
work as in a
shell), and the lines under a command are its output. A ``jsonl file=NAME`` block is
written to NAME first. What legitimately changes between runs is masked on both sides:
times after the demo placement (when things were recorded, "now"), digests, generated
command ids, API tokens and their ids, checkpoint keys, signatures and root hashes, and
SQLite paths.

``PEERLOG_UPDATE_DOCS=1 pytest tests/cli/test_docs.py`` rewrites the shown output.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from peerlog.cli import cli

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = ["README.md", "docs/cli.md"]
AFTER_THE_DEMO = date(2026, 6, 1)
"""Times after this are when the docs were made (recorded_at, now); the demo's own
times (--start 2026-03-02) are before it and are compared exactly."""
UPDATE = os.environ.get("PEERLOG_UPDATE_DOCS", "") not in ("", "0")

TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)([ T]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:[+-]\d\d:\d\d|Z)?)?")
MASKS = [
    (re.compile(r"\b[0-9a-f]{64}\b"), "<digest>"),
    (re.compile(r"\bcli-[0-9a-f]{16}\b"), "cli-<id>"),
    (re.compile(r"\bplg_[A-Za-z0-9_-]{43}\b"), "plg_<token>"),
    # Checkpoint keys and signatures, root hashes: made anew for each record.
    (re.compile(r"\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}"), "+<key>"),
    (re.compile(r"(\u2014 \S+) [A-Za-z0-9+/]{86,}={0,2}"), r"\1 <signature>"),
    (re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{43}="), "<hash>"),
    (re.compile(r"\(\d[\d,]* bytes\)"), "(<size> bytes)"),
    (re.compile(r"\), \d[\d,]* bytes$", re.MULTILINE), "), <size> bytes"),
    (re.compile(r"\btok-[0-9a-f]{12}\b"), "tok-<id>"),
    (re.compile(r'"delay_seconds": \d+'), '"delay_seconds": <delay>'),
    (re.compile(r"sqlite:///\S+?(?=[\s:;,)]|$)"), "sqlite:///<file>"),
    (re.compile(r'"name": "[0-9a-f]{32}"'), '"name": "<account>"'),
]


def mask(text: str) -> str:
    def moment(match: re.Match[str]) -> str:
        day = date(int(match[1]), int(match[2]), int(match[3]))
        return "<now>" if day >= AFTER_THE_DEMO else match[0]

    text = TIME.sub(moment, text)
    for pattern, replacement in MASKS:
        text = pattern.sub(replacement, text)
    return "\n".join(line.rstrip() for line in text.splitlines())


@dataclass
class Step:
    command: str
    shown: list[str]
    start: int
    """Index of the first output line in the document's lines."""
    end: int


@dataclass
class Document:
    path: Path
    lines: list[str]
    steps: list[Step | tuple[str, str]] = field(default_factory=list)
    """Commands, and (file name, content) of files to write, in document order."""


def parse(path: Path) -> Document:
    doc = Document(path, path.read_text().split("\n"))
    lines = doc.lines
    i = 0
    while i < len(lines):
        fence = lines[i].strip()
        if fence.startswith("```jsonl file="):
            name = fence.split("file=", 1)[1]
            j = i + 1
            while lines[j].strip() != "```":
                j += 1
            doc.steps.append((name, "\n".join(lines[i + 1 : j]) + "\n"))
            i = j + 1
            continue
        if fence != "```console":
            i += 1
            continue
        i += 1
        while lines[i].strip() != "```":
            assert lines[i].startswith("$ "), f"{path}:{i + 1}: expected a $ command"
            command = lines[i][2:]
            while command.endswith("\\"):
                i += 1
                command = command[:-1] + " " + lines[i].strip()
            i += 1
            start = i
            while not lines[i].startswith("$ ") and lines[i].strip() != "```":
                i += 1
            doc.steps.append(Step(command, lines[start:i], start, i))
        i += 1
    return doc


def run(command: str, env: dict[str, str | None], folder: Path) -> str:
    words = shlex.split(command)
    head: int | None = None
    if "|" in words:
        at = words.index("|")
        pipe, words = words[at + 1 :], words[:at]
        assert pipe[0] in ("head", "tail"), f"only '| head/tail -n N' is supported: {command}"
        assert pipe[1] == "-n", f"only '| head/tail -n N' is supported: {command}"
        head = int(pipe[2]) if pipe[0] == "head" else -int(pipe[2])
    target = source = None
    if ">" in words:
        at = words.index(">")
        target, words = folder / words[at + 1], words[:at]
    if "<" in words:
        at = words.index("<")
        source, words = folder / words[at + 1], words[:at]
    assert words[0] == "peerlog", f"docs run peerlog commands only: {command}"
    result = CliRunner().invoke(
        cli,
        words[1:],
        env=env,
        input=source.read_bytes() if source else None,
        catch_exceptions=False,
    )
    if target is not None:
        target.write_text(result.stdout)
        return result.stderr
    out = result.output
    if head is not None:
        kept = out.splitlines()[:head] if head > 0 else out.splitlines()[head:]
        out = "\n".join(kept) + "\n"
    return out


@pytest.mark.parametrize("name", DOCUMENTS)
def test_documented_commands_print_what_the_docs_show(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = parse(ROOT / name)
    assert any(isinstance(s, Step) for s in doc.steps), f"{name} shows no commands"
    monkeypatch.chdir(tmp_path)
    env: dict[str, str | None] = {
        "PEERLOG_DATABASE_URL": f"sqlite:///{tmp_path}/docs.sqlite3",
        "PEERLOG_ACTOR": None,
        # The record's own checkpoint key, named as the documents' set-up names it.
        "PEERLOG_CHECKPOINT_KEY_FILE": str(tmp_path / "checkpoint.key"),
        "PEERLOG_CHECKPOINT_ORIGIN": "hospital.example/peerlog",
    }
    mismatches = []
    replacements: list[tuple[Step, list[str]]] = []
    for step in doc.steps:
        if isinstance(step, tuple):
            (tmp_path / step[0]).write_text(step[1])
            continue
        actual = run(step.command, env, tmp_path)
        actual_lines = actual.rstrip("\n").split("\n") if actual.strip() else []
        replacements.append((step, actual_lines))
        if mask("\n".join(step.shown)).strip() != mask(actual).strip():
            mismatches.append(
                f"$ {step.command}\n--- the docs show:\n"
                + "\n".join(step.shown)
                + "\n--- it prints:\n"
                + actual
            )
    if UPDATE and mismatches:
        # Show the record the document names, not the test's temporary one.
        named = re.search(r"export PEERLOG_DATABASE_URL=(\S+)", "\n".join(doc.lines))
        shown_url = named[1] if named else "sqlite:////tmp/peerlog.sqlite3"
        lines = doc.lines
        for step, actual_lines in reversed(replacements):
            lines[step.start : step.end] = [
                line.replace(str(env["PEERLOG_DATABASE_URL"]), shown_url) for line in actual_lines
            ]
        doc.path.write_text("\n".join(lines))
        pytest.skip(f"rewrote the output shown in {name}")
    assert not mismatches, "\n\n".join(mismatches)
