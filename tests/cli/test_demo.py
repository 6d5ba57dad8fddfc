"""``peerlog demo``: a realistic placement in a fresh record, the dashboard, what to try."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

from peerlog import PeerLog
from peerlog.cli.demo import placement
from tests.cli.conftest import Cli
from tests.conftest import Store
from tests.support import Placement

START = "2026-03-02"


def _pair_ids(out: str) -> list[str]:
    return re.findall(r"^(p\d\d)  course vfu-1", out, re.MULTILINE)


def test_seeds_a_fresh_record_shows_the_dashboard_and_what_to_try(
    peerlog: Cli, store: Store
) -> None:
    out = peerlog.ok("demo", "--start", START)
    commands = len(list(placement(seed=7, start=date(2026, 3, 2))))
    where = "sqlite:///" if store.kind == "sqlite" else "postgresql://postgres@"
    assert re.match(
        rf"Seeded a placement into {where}\S+: 1 course, 6 pairs, {commands:,} commands recorded\.",
        out,
    )
    assert "Supervisor overview at " in out
    assert "6 pairs, 3 need attention." in out
    assert sorted(_pair_ids(out)) == ["p01", "p02", "p03", "p04", "p05", "p06"]
    assert _pair_ids(out)[:3] == ["p02", "p04", "p05"]  # flagged first
    for flag in ("performer_imbalance", "no_reflection", "one_way_feedback"):
        assert f"! {flag}: " in out
    hints = out.split("Next, try:\n", 1)[1].splitlines()
    assert re.fullmatch(r"  peerlog replay p03 --session p03-s\d{3}", hints[0])
    assert re.fullmatch(r"  peerlog replay p03 --session p03-s\d{3} --state", hints[1])
    assert "  peerlog audit p02-a --course vfu-1" in hints
    assert "  peerlog balance p02" in hints

    # The hints work: the first shows a correction made days later, the second a late entry.
    corrected = peerlog.ok(*hints[0].split()[1:])
    assert re.search(r"corrected at pair/p\d+@\d+ \(3 days \d+ h later\)", corrected)
    late = peerlog.ok(*hints[1].split()[1:])
    assert "LATE: recorded 1 day 23 h later than the events before it" in late
    assert "state: " in late
    assert peerlog.ok("balance", "p02", "--format", "json")


def test_the_same_seed_and_start_give_the_same_record(peerlog: Cli, tmp_path: Path) -> None:
    peerlog.ok("demo", "--start", START, "--pairs", "2", "--weeks", "2")
    other = Cli({"PEERLOG_DATABASE_URL": f"sqlite:///{tmp_path}/other.sqlite3"})
    other.ok("demo", "--start", START, "--pairs", "2", "--weeks", "2")

    def events(cli: Cli) -> list[dict[str, object]]:
        rows = [json.loads(line) for line in cli.ok("export", "events").splitlines()]
        for row in rows:
            del row["recorded_at"]
        return rows

    assert events(peerlog) == events(other)


def test_a_record_that_holds_a_demo_is_shown_not_seeded_again(peerlog: Cli, app: PeerLog) -> None:
    peerlog.ok("demo", "--start", START, "--pairs", "2", "--weeks", "2")
    head = app.store.max_notification_id()
    for seed in ("7", "8"):
        again = peerlog.ok("demo", "--start", START, "--pairs", "2", "--weeks", "2", "--seed", seed)
        assert again.splitlines()[0].endswith(
            "already holds a demo placement; showing it (to seed another one, give a fresh --db)."
        )
        assert "Supervisor overview at " in again
    assert app.store.max_notification_id() == head


def test_a_record_with_other_data_is_not_seeded(peerlog: Cli, app: PeerLog) -> None:
    Placement(app).seed()
    result = peerlog("demo", "--start", START)
    assert result.exit_code == 1
    assert "is not empty and holds no demo placement" in result.stderr


def test_a_start_that_would_run_into_the_future(peerlog: Cli) -> None:
    result = peerlog("demo", "--start", "2999-01-04")
    assert result.exit_code == 1
    assert "which is in the future" in result.stderr
