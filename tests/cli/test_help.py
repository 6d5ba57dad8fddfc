"""Every command and subcommand has help with an example, and docs/cli.md documents it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from peerlog.cli import cli

DOC = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()


def _walk(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    ctx = click.Context(group)
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
