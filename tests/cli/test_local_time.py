"""Times as the ward reads them: a course in Europe/Stockholm shows its times in Swedish
time, summer and winter, and a time typed without an offset is read there; JSON keeps
UTC offsets."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from peerlog import PeerLog
from peerlog.domain.events import GoalAdded, StepRecorded
from peerlog.domain.vocabulary import course_stream, pair_stream
from peerlog.projections.local_time import read_local
from tests.cli.conftest import Cli
from tests.support import COURSE, Placement

STOCKHOLM = ZoneInfo("Europe/Stockholm")
# Sweden moves its clocks forward on 29 March 2026: 08:00 is 07:00 UTC before, 06:00 after.
WINTER = datetime(2026, 3, 27, 7, 0, tzinfo=UTC)
SUMMER = datetime(2026, 3, 30, 6, 0, tzinfo=UTC)


@pytest.fixture
def ward(app: PeerLog) -> Placement:
    return Placement(app).seed(time_zone="Europe/Stockholm")


def _step(peerlog: Cli, step_id: str, occurred_at: str) -> None:
    peerlog.ok(
        "record",
        "record_step",
        "--actor",
        "s1",
        "pair_id=p1",
        "session_id=d1",
        f"step_id={step_id}",
        "kind=performance",
        "performers=s1",
        "observers=s2",
        "goals=hygiene",
        f"occurred_at={occurred_at}",
    )


def _steps(app: PeerLog) -> dict[str, datetime]:
    return {
        e.step_id: e.occurred_at
        for e in app.history(pair_stream("p1"))
        if isinstance(e, StepRecorded)
    }


def test_eight_in_the_morning_is_read_on_the_ward_across_the_clock_change(
    peerlog: Cli, ward: Placement
) -> None:
    _step(peerlog, "winter", "2026-03-27T08:00")
    _step(peerlog, "summer", "2026-03-30T08:00")
    _step(peerlog, "offset", "2026-03-30T08:00:00+00:00")  # an offset is kept as given
    stored = _steps(ward.app)
    assert stored["winter"] == WINTER
    assert stored["summer"] == SUMMER
    assert stored["offset"] == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)

    replay = peerlog.ok("replay", "p1")
    assert "Times in Europe/Stockholm;" in replay
    assert "2026-03-27 08:00:00 CET" in replay
    assert "2026-03-30 08:00:00 CEST" in replay
    assert "2026-03-30 10:00:00 CEST" in replay
    events = json.loads(peerlog.ok("replay", "p1", "--format", "json"))["events"]
    assert {e["occurred_at"] for e in events} >= {
        "2026-03-27T07:00:00+00:00",
        "2026-03-30T06:00:00+00:00",
    }

    dashboard = peerlog.ok("dashboard", "--now", "2026-03-30T09:00:00Z")
    assert "Supervisor overview at 2026-03-30 11:00 CEST" in dashboard
    assert "last activity 2026-03-30 10:00 CEST" in dashboard
    winter = peerlog.ok("dashboard", "--now", "2026-03-28T09:00:00Z")
    assert "Supervisor overview at 2026-03-28 10:00 CET" in winter
    data = json.loads(peerlog.ok("dashboard", "--now", "2026-03-30T09:00:00Z", "--format", "json"))
    assert data["now"] == "2026-03-30T09:00:00+00:00"

    # --now without an offset is on the ward's clock, winter and summer.
    winter_local = peerlog.ok("dashboard", "--now", "2026-03-28T08:00")
    assert "Supervisor overview at 2026-03-28 08:00 CET" in winter_local
    summer_local = json.loads(
        peerlog.ok("dashboard", "--now", "2026-03-30T08:00", "--format", "json")
    )
    assert summer_local["now"] == "2026-03-30T06:00:00+00:00"
    winter_json = json.loads(
        peerlog.ok("dashboard", "--now", "2026-03-28T08:00", "--format", "json")
    )
    assert winter_json["now"] == "2026-03-28T07:00:00+00:00"
    # --as-of-occurred without an offset is on the ward's clock too (08:00 CEST).
    before = json.loads(
        peerlog.ok("replay", "p1", "--as-of-occurred", "2026-03-30T08:00", "--format", "json")
    )["events"]
    assert "2026-03-30T06:00:00+00:00" in {e["occurred_at"] for e in before}
    earlier = json.loads(
        peerlog.ok("replay", "p1", "--as-of-occurred", "2026-03-30T07:59", "--format", "json")
    )["events"]
    assert "2026-03-30T06:00:00+00:00" not in {e["occurred_at"] for e in earlier}

    audit = peerlog.ok("audit", "s1", "--course", COURSE)
    assert "Times in Europe/Stockholm." in audit
    assert "2026-03-27 08:00 CET" in audit
    assert "2026-03-30 08:00 CEST" in audit
    md = peerlog.ok("audit", "s1", "--course", COURSE, "--format", "md")
    assert "| event | occurred (Europe/Stockholm) | what happened |" in md
    assert "2026-03-30 08:00 CEST" in md


def test_a_clock_time_alone_is_today_on_the_ward(peerlog: Cli, ward: Placement) -> None:
    # A course event can be recorded today (a goal added): 00:05 today has passed.
    peerlog.ok(
        "record",
        "add_goal",
        "--actor",
        "coord",
        f"course_id={COURSE}",
        "goal_id=night",
        "title=Night shift handover",
        "occurred_at=00:05",
    )
    added = next(e for e in ward.app.history(course_stream(COURSE)) if isinstance(e, GoalAdded))
    local = added.occurred_at.astimezone(STOCKHOLM)
    today = datetime.now(STOCKHOLM).date()
    assert local.date() in {today, today - timedelta(days=1)}  # run just after midnight
    assert (local.hour, local.minute) == (0, 5)


def test_read_local_reads_a_clock_time_on_the_day_of_now() -> None:
    assert read_local("08:00", STOCKHOLM, datetime(2026, 3, 27, 12, tzinfo=UTC)) == WINTER
    assert read_local("8:00", STOCKHOLM, datetime(2026, 3, 30, 12, tzinfo=UTC)) == SUMMER
    assert read_local("2026-03-30 08:00", STOCKHOLM, WINTER) == SUMMER
    assert read_local("2026-03-30T08:00:00+02:00", STOCKHOLM, WINTER) is None
    assert read_local("tomorrow", STOCKHOLM, WINTER) is None


def test_the_default_time_zone_and_a_zone_the_system_does_not_know(
    store_env_cli: Cli, app: PeerLog
) -> None:
    placement = Placement(app).seed()
    app.execute(
        placement.cmd(
            "record_step",
            "s1",
            pair_id="p1",
            session_id="d1",
            step_id="w1",
            kind="performance",
            performers=["s1"],
            observers=["s2"],
            goals=["hygiene"],
            occurred_at=SUMMER.isoformat(),
        )
    )
    replay = store_env_cli.ok("replay", "p1")
    assert "Times in Europe/Copenhagen;" in replay
    assert "2026-03-30 08:00:00 CEST" in replay
    result = store_env_cli(
        "record",
        "open_course",
        "--actor",
        "coord",
        "course_id=vfu-9",
        "title=Elsewhere",
        "starts_on=2026-03-02",
        "ends_on=2026-04-24",
        "scale=pass",
        "pass_level=pass",
        "goals:=[]",
        "time_zone=Mars/Olympus",
    )
    assert result.exit_code == 1
    assert "time_zone" in result.output
    assert "is not a time zone this system knows" in result.output
    store_env_cli.env["PEERLOG_TIME_ZONE"] = "Nowhere/Else"
    result = store_env_cli("replay", "p1")
    assert result.exit_code == 1
    assert "PEERLOG_TIME_ZONE" in result.output


@pytest.fixture
def store_env_cli(peerlog: Cli) -> Cli:
    return Cli({**peerlog.env, "PEERLOG_TIME_ZONE": "Europe/Copenhagen"})
