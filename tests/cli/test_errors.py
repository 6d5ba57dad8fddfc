"""Errors a user can cause are one clear line and a non-zero exit code, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from peerlog.cli import cli


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "postgresql://nobody@127.0.0.1:1/nothing",
            "Error: cannot use the record at postgresql://nobody@127.0.0.1:1/nothing: ",
        ),
        (
            "mysql://somewhere/db",
            "Error: configuration: cannot use the store 'mysql://somewhere/db'",
        ),
    ],
)
def test_a_store_that_cannot_be_used(url: str, message: str) -> None:
    for args in (("--db", url, "replay", "p1"),):
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == 1
        assert result.stderr.startswith(message)
        assert len(result.stderr.splitlines()) == 1
        assert "Traceback" not in result.output


def test_a_folder_where_the_sqlite_file_should_be(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--db", f"sqlite:///{tmp_path}", "verify"], catch_exceptions=False
    )
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: configuration: {tmp_path} is a folder; PEERLOG_DATABASE_URL names an SQLite file\n"
    )


def test_the_environment_names_the_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/from-env.sqlite3"
    result = CliRunner().invoke(
        cli, ["verify"], env={"PEERLOG_DATABASE_URL": url}, catch_exceptions=False
    )
    # verify only reads: it names the record it was given and does not make one.
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: there is no record at {url}: ")
    assert not (tmp_path / "from-env.sqlite3").exists()
    made = CliRunner().invoke(
        cli, ["demo", "--pairs", "1", "--weeks", "1"], env={"PEERLOG_DATABASE_URL": url}
    )
    assert made.exit_code == 0, made.output
    result = CliRunner().invoke(
        cli, ["verify"], env={"PEERLOG_DATABASE_URL": url}, catch_exceptions=False
    )
    assert result.exit_code == 0
    assert result.stdout.startswith("verified: ")


def test_usage_errors_exit_2() -> None:
    for args in (["nonsense"], ["replay"], ["audit", "s1"], ["balance", "p1", "--format", "xml"]):
        result = CliRunner().invoke(cli, args, catch_exceptions=False)
        assert result.exit_code == 2
        assert "Usage: " in result.stderr
