"""Every command and subcommand has help with an example, and docs/cli.md documents it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from peerlog.cli import cli

DOC = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()


def _walk(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    ctx = click.Context(group, **group.context_settings)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        yield (*path, name)
        if isinstance(command, click.Group):
            yield from _walk(command, (*path, name))


COMMANDS = list(_walk(cli))


def test_the_walk_finds_every_command_and_subcommand() -> None:
    found = [" ".join(c) for c in COMMANDS]
    expected = [
        "demo",
        "import",
        "record",
        "courses",
        "goals",
        "pairs",
        "replay",
        "audit",
        "balance",
        "dashboard",
        "verify",
        "projections",
        "projections status",
        "projections run",
        "projections rebuild",
        "projections grant-reader",
        "export",
    ]
    assert [name for name in found if name in expected] == expected


@pytest.mark.parametrize("path", [(), *COMMANDS], ids=lambda p: " ".join(p) or "peerlog")
def test_help_has_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"], catch_exceptions=False)
    assert result.exit_code == 0
    example = result.stdout.split("Example:\n", 1)
    assert len(example) == 2, f"peerlog {' '.join(path)} --help has no example"
    first = example[1].splitlines()[0].strip()
    assert first.startswith(f"peerlog {' '.join(path)}".rstrip())


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_docs_cli_md_documents_it(path: tuple[str, ...]) -> None:
    name = " ".join(path)
    section = re.search(
        rf"^### `peerlog {re.escape(name)}`\n(.*?)(?=^##|\Z)", DOC, re.MULTILINE | re.DOTALL
    )
    assert section, f"docs/cli.md has no section for peerlog {name}"
    body = section.group(1)
    assert re.search(rf"^\$ peerlog {re.escape(name)}\b", body, re.MULTILINE) or (
        f"peerlog {name}" in body
    ), f"the section for peerlog {name} has no example"


def test_the_listed_short_help_is_each_commands_own() -> None:
    from peerlog.cli.registry import COMMANDS, load

    for entry in COMMANDS:
        assert load(entry).get_short_help_str(limit=200) == entry.short_help, entry.name


def _loaded_by(runs: list[list[str]], heavy: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """Run ``peerlog ARGS`` for each of ``runs`` in one fresh process: what they printed,
    and each of the ``heavy`` modules they imported, with the first command that did."""
    import subprocess
    import sys

    probe = (
        "import json, sys\n"
        "from peerlog.cli import cli\n"
        "loaded = {}\n"
        f"for args in {runs!r}:\n"
        "    try:\n"
        "        cli.main(args, prog_name='peerlog', standalone_mode=False)\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"    for m in {heavy!r}:\n"
        "        if m in sys.modules:\n"
        "            loaded.setdefault(m, ' '.join(args))\n"
        "print(json.dumps(loaded))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    *printed, last = done.stdout.splitlines()
    return "\n".join(printed), json.loads(last)


def test_version_and_help_load_neither_the_record_nor_the_server() -> None:
    """``peerlog --version`` and ``--help`` import no store, projection or web server
    (the benchmark suite times them: docs/performance.md)."""
    heavy = ("peerlog.application", "peerlog.projections.runner", "fastapi", "uvicorn",
             "psycopg", "pydantic", "eventsourcing", "weasyprint")  # fmt: skip
    printed, loaded = _loaded_by([["--version"], ["--help"]], heavy)
    assert "Usage: peerlog" in printed
    assert loaded == {}


def test_no_command_s_help_loads_the_web_server() -> None:
    """``peerlog COMMAND --help`` answers without importing the web server or the PDF
    printer (only ``serve`` needs them): reading one module of the web package, as the
    audit's reports do, does not load the rest of it."""
    runs = [[*path, "--help"] for path in COMMANDS if path[0] != "serve"]
    heavy = ("fastapi", "uvicorn", "starlette", "weasyprint", "peerlog.web.app")
    printed, loaded = _loaded_by(runs, heavy)
    assert "Usage: peerlog audit" in printed
    assert loaded == {}


def test_a_record_into_sqlite_loads_neither_postgresql_nor_the_server(tmp_path: Path) -> None:
    """``peerlog record`` on an SQLite record imports no PostgreSQL driver, web server or
    projection runner (the benchmark suite times it: docs/performance.md)."""
    url = f"sqlite:///{tmp_path / 'record.sqlite3'}"
    args = ["--db", url, "record", "open_course", "--actor", "coord", "course_id=c0",
            "title=Ward", "starts_on=2026-03-02", "ends_on=2026-04-24", "scale=pass",
            "pass_level=pass", "goals:=[]"]  # fmt: skip
    heavy = ("psycopg", "peerlog.persistence.postgres", "peerlog.projections.runner",
             "fastapi", "uvicorn", "weasyprint")  # fmt: skip
    printed, loaded = _loaded_by([args], heavy)
    assert printed.startswith("recorded open_course"), printed
    assert "course/c0@1" in printed
    assert loaded == {}
