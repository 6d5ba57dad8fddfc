"""The CLI, invoked in-process on the test's store (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest
from click.testing import CliRunner, Result

from peerlog.cli import cli
from tests.conftest import Store


@dataclass
class Cli:
    """``peerlog ARGS`` against one store; unexpected exceptions are raised, not hidden."""

    env: dict[str, str]
    runner: CliRunner = field(default_factory=CliRunner)

    def __call__(self, *args: str, input: str | bytes | None = None) -> Result:  # noqa: A002
        return self.runner.invoke(
            cli, list(args), env=self.env, input=input, catch_exceptions=False
        )

    def ok(self, *args: str, input: str | bytes | None = None) -> str:  # noqa: A002
        """Run a command that must succeed; its standard output."""
        result = self(*args, input=input)
        assert result.exit_code == 0, result.output
        return result.stdout


@pytest.fixture
def peerlog(store: Store) -> Cli:
    return Cli(dict(store.env))


def lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def contains_in_order(text: str, expected: Sequence[str]) -> bool:
    """Whether each expected piece appears in ``text``, each after the one before."""
    at = 0
    for piece in expected:
        found = text.find(piece, at)
        if found < 0:
            return False
        at = found + len(piece)
    return True
