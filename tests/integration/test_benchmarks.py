"""The benchmark suite runs from end to end at its smallest size on both stores.

This checks that every figure is produced and that the concurrent-writer run loses
nothing; the speeds it prints are not judged here (a test is not a benchmark)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from benchmarks.__main__ import main
from benchmarks.capture import CHROMIUM
from benchmarks.suite import SIZES
from tests.conftest import POSTGRES_URL, _postgres_or_skip
from tests.replication.clusters import REQUIRE as REQUIRE_REPLICATION
from tests.replication.clusters import unavailable
from tests.xapi.lrs import ralph_or_skip

FIGURES = {
    "one-writer commands": {"peerlog", "raw", "eventsourcing library, defaults"},
    "single commands, 4 HTTP clients": {
        "peerlog, one writer in process",
        "peerlog serve, following the record",
        "peerlog serve --no-follow",
    },
    "replay of one pair": {
        "peerlog replay",
        "peerlog timeline",
        "library: load the aggregate, defaults",
    },
    "audit of one student, as of": {"peerlog audit: "},
    "timeline page, warm": {"peerlog newest timeline page: "},
    "import from JSON lines": {"peerlog import"},
    "projection rebuild": {"peerlog runner", "library ProjectionRunner", "raw SELECT"},
    "supervisor overview": {"peerlog overview: one supervisor", "peerlog overview: one course"},
    "storage per event": {"event store", "read models", "Merkle tree tiles"},
    "chain verification": {"peerlog verify"},
    "one writer, Merkle tree kept": {"peerlog, the tree kept beside it"},
    "Merkle tree build": {"peerlog: the tree from the record"},
    "checkpoint": {"peerlog checkpoint"},
    "inclusion proof": {"peerlog: one event"},
    "consistency proof": {"peerlog: an earlier size"},
    "verify against a checkpoint": {"peerlog verify --against"},
    "audit file": {"peerlog audit --bundle"},
    "forwarding to an LRS": {"peerlog export xapi", "peerlog xapi forward to ralph"},
}
if Path(CHROMIUM).exists():  # the capture figure drives Debian's chromium
    FIGURES["capture: tap to accepted (phone, loopback)"] = {"median"}
REPLICATION = {
    "one writer, synchronous standby": {"peerlog, a synchronous standby", "peerlog, the standby"},
    "eight writers, synchronous standby": {
        "peerlog, a synchronous standby",
        "peerlog, the standby",
    },
    "supervisor overview while 4 writers record": {"peerlog overview of one course's pairs"},
}
"""PostgreSQL only, on clusters the suite makes (where the server's programs are)."""


@pytest.mark.postgres
def test_benchmarks_produce_every_figure_on_sqlite_and_postgres(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _postgres_or_skip()
    ralph_or_skip()  # the forwarding figure sends statements to ralph's LRS
    monkeypatch.setenv("PEERLOG_BENCH_POSTGRES_URL", POSTGRES_URL)
    output = tmp_path / "bench.json"
    assert main(["--size", "tiny", "--stores", "postgres,sqlite", "--json", str(output)]) == 0
    report = json.loads(output.read_text())
    results = report["results"]
    for figure, subjects in FIGURES.items():
        for store in ("postgres", "sqlite"):
            measured = {
                r["subject"] for r in results if r["figure"] == figure and r["store"] == store
            }
            for subject in subjects:
                assert any(m.startswith(subject) for m in measured), (figure, store, subject)
    assert all(math.isfinite(r["value"]) and r["value"] > 0 for r in results)
    if unavailable() is None or REQUIRE_REPLICATION:
        for figure, subjects in REPLICATION.items():
            measured = {r["subject"] for r in results if r["figure"] == figure}
            for subject in subjects:
                assert any(m.startswith(subject) for m in measured), (figure, subject)
        reads = [r for r in results if r["figure"] == "supervisor overview while 4 writers record"]
        assert {r["subject"].rpartition(", ")[2] for r in reads} == {
            "from the standby s1",
            "from the primary",
        }
    served = {r["figure"]: r for r in results if r["figure"].startswith("serve --workers")}
    assert set(served) == {"serve --workers 1, 50 clients", "serve --workers 4, 50 clients"}
    for r in served.values():
        assert r["details"]["runs"] == SIZES["tiny"].serve_rounds
        assert r["details"]["failed_requests"] == 0
        assert r["details"]["min"] <= r["value"] <= r["details"]["max"]
    writers = {r["subject"]: r for r in results if r["figure"] == "eight writers, different pairs"}
    assert set(writers) == {
        "peerlog",
        "raw psycopg, eight writers, one row per transaction",
        "peerlog, one writer",
    }
    ours = writers["peerlog"]["details"]
    assert (ours["events_lost"], ours["errors"], ours["chain_verified"]) == (0, 0, True)
    _assert_interleaved(results)
    rebuilds = [r for r in results if r["subject"] == "peerlog runner"]
    assert all(r["details"]["vs_default_runner"] > 0 for r in rebuilds)
    # Each figure is measured on at least the data size it names.
    size = SIZES["tiny"]
    least = {
        "peerlog runner": ("events", size.rebuild_events),
        "peerlog replay: the pair's state from its events": ("events", size.replay_events),
        "peerlog timeline: every event told, texts opened": ("events", size.replay_events),
        "peerlog audit": ("events", size.audit_events),
        "peerlog import": ("commands", size.imports),
    }
    for r in results:
        if r["subject"] in least:
            key, wanted = least[r["subject"]]
            assert r["details"][key] >= wanted, r
    assert all(r["details"]["verified"] for r in results if r["figure"] == "chain verification")
    assert all(
        r["details"]["extends"] for r in results if r["figure"] == "verify against a checkpoint"
    )
    assert all(
        r["details"]["events"] >= size.integrity_events
        for r in results
        if r["figure"] == "Merkle tree build"
    )
    guard = {r["subject"]: r for r in results if r["figure"] == "patient-identifier guard"}
    assert set(guard) == {"identifiers caught", "ordinary strings let through"}
    assert guard["identifiers caught"]["details"]["identifiers"] == size.guard
    assert guard["ordinary strings let through"]["details"]["ordinary_strings"] == size.guard
    assert report["machine"]["cores"] >= 1
    table = capsys.readouterr().out
    assert table.count("\n| ") == len(results) + 1  # and the header
    assert "Targets:" in table


def _assert_interleaved(results: list[dict[str, Any]]) -> None:
    """Each writers' figure is the median of rounds measured in turn with its baselines,
    and each ratio the median of the rounds' ratios, between their min and max."""
    for r in results:
        if r["figure"] in {"one-writer commands", "eight writers, different pairs"}:
            details = r["details"]
            assert details["rounds"] == SIZES["tiny"].repeats
            assert details["min"] <= r["value"] <= details["max"]
            for ratio in ("vs_raw", "vs_library", "vs_one_writer"):
                if ratio in details:
                    assert details[f"{ratio}_min"] <= details[ratio] <= details[f"{ratio}_max"]
