"""docs/deployment.md tells the truth: its settings are the ones peerlog reads, with
their defaults; the primary's configuration it shows is the one the replication tests
run; the restore script it names is there and takes the arguments it shows; the
headers and lines that say where an answer was read are the ones peerlog gives."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from peerlog.persistence import config, postgres
from peerlog.projections import reads
from tests.replication.auto_failover import MONITOR_SETTINGS
from tests.replication.clusters import REPLICATION_SETTINGS, SYNCHRONOUS_STANDBY

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "deployment.md").read_text()


def _settings_table() -> dict[str, str]:
    lines = DOC.splitlines()
    start = lines.index("| variable | what it sets | default |")
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0].strip("`")] = cells[-1]
    return rows


def test_the_settings_are_peerlogs_with_their_defaults() -> None:
    rows = _settings_table()
    assert set(rows) == {
        config.DATABASE_URL,
        config.READ_DATABASE_URL,
        "PEERLOG_" + postgres.PostgresFactory.FAILOVER_SECONDS,
        "PEERLOG_" + postgres.PostgresFactory.GROUP_COMMIT,
        reads.READ_WAIT,
    }
    assert float(rows["PEERLOG_FAILOVER_SECONDS"]) == postgres.FAILOVER_SECONDS
    assert float(rows[reads.READ_WAIT]) == reads.DEFAULT_WAIT_SECONDS
    assert postgres.group_commit(rows["PEERLOG_GROUP_COMMIT"]) is False


def test_the_primarys_configuration_is_the_tests() -> None:
    block = DOC.split("1. The primary's `postgresql.conf`:", 1)[1].split("```ini", 1)[1]
    lines = [line for line in block.split("```", 1)[0].splitlines() if "=" in line]
    shown = {
        key.strip(): value.strip().strip("'")
        for key, value in (line.split("=", 1) for line in lines)
    }
    expected = {k: str(v) for k, v in REPLICATION_SETTINGS.items() if k != "hot_standby"}
    assert shown == {**expected, "synchronous_standby_names": SYNCHRONOUS_STANDBY}


def test_the_restore_script_is_there_and_takes_what_the_doc_shows() -> None:
    script = ROOT / "docs" / "restore-to-a-point-in-time.sh"
    assert "(restore-to-a-point-in-time.sh)" in DOC
    shown = re.search(r"docs/restore-to-a-point-in-time\.sh (.+?)\n```", DOC, re.DOTALL)
    assert shown is not None
    arguments = shlex.split(shown.group(1).replace("\\\n", " "))
    assert len(arguments) == 5
    assert '"$#" -ne 5' in script.read_text()


def test_the_monitor_settings_named_are_the_tools() -> None:
    for name in ("node_considered_unhealthy_timeout", "primary_demote_timeout"):
        assert f"pgautofailover.{name}" in DOC
        assert name in MONITOR_SETTINGS


def test_where_an_answer_was_read_is_said_as_the_doc_shows() -> None:
    for header in ("Peerlog-Read-From", "Peerlog-Position", "Peerlog-Head"):
        assert f"`{header}" in DOC
    source = reads.Source(None, None, replica=True, position=1790, head=1792)  # type: ignore[arg-type]
    assert set(source.headers()) == {"Peerlog-Read-From", "Peerlog-Position", "Peerlog-Head"}
    words = " ".join(DOC.split())
    assert f'"{source.describe("Read models")}"' in words
    caught_up = reads.Source(None, None, replica=True, position=1792, head=1792)  # type: ignore[arg-type]
    assert caught_up.describe("record") in words
