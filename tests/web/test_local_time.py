"""The dashboard of a course in Europe/Stockholm shows Swedish time, winter and summer
(across the clock change), with the zone named; the API keeps UTC offsets."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.web.conftest import Web

WINTER = datetime(2026, 3, 27, 7, 0, tzinfo=UTC)  # 08:00 CET
SUMMER = datetime(2026, 3, 30, 6, 0, tzinfo=UTC)  # 08:00 CEST


@pytest.fixture
def time_zone() -> str:
    return "Europe/Stockholm"


def test_the_pages_show_the_ward_time_across_the_clock_change(web: Web) -> None:
    p = web.placement
    for step_id, moment in (("winter", WINTER), ("summer", SUMMER)):
        step = p.step(step_id, occurred_at=moment.isoformat())
        assert web.command("s1", step).status_code == 201
    web.catch_up()
    web.login("sup1")
    timeline = web.client.get("/dashboard/pairs/p1").text
    assert "times in Europe/Stockholm." in timeline
    assert "<time>2026-03-27 08:00 CET</time>" in timeline
    assert "<time>2026-03-30 08:00 CEST</time>" in timeline
    overview = web.client.get("/dashboard").text
    assert "last activity 2026-03-30 08:00 CEST" in overview
    student = web.client.get("/dashboard/students/s1?course=vfu-1").text
    assert "2026-03-30 08:00 CEST" in student
    audit = web.client.get("/dashboard/students/s1/audit?course=vfu-1").text
    assert "Happened (Europe/Stockholm)" in audit
    assert "2026-03-27 08:00 CET" in audit
    assert "2026-03-30 08:00 CEST" in audit
    data = web.get("sup1", "/api/pairs/p1/timeline").json()
    moments = {e["occurred_at"] for e in data["items"]}
    assert {WINTER.isoformat(), SUMMER.isoformat()} <= moments


def test_my_entries_show_the_ward_time_with_the_zone_named(web: Web) -> None:
    p = web.placement
    for step_id, moment in (("winter", WINTER), ("summer", SUMMER)):
        step = p.step(step_id, occurred_at=moment.isoformat())
        assert web.command("s1", step).status_code == 201
    web.login("s1")
    entries = web.client.get("/capture/p1/entries").text
    assert "Times in Europe/Stockholm." in entries
    winter = entries.split('data-entry="winter"', 1)[1].split("</h2>", 1)[0]
    summer = entries.split('data-entry="summer"', 1)[1].split("</h2>", 1)[0]
    assert ">2026-03-27 08:00 CET</time>" in winter
    assert ">2026-03-30 08:00 CEST</time>" in summer
    assert "UTC" not in winter + summer
    web.client.cookies.set("peerlog_lang", "sv")
    swedish = web.client.get("/capture/p1/entries").text
    assert "Tider i Europe/Stockholm." in swedish
    assert "08:00 CEST</time>" in swedish


def test_the_weeks_are_the_wards_monday_to_sunday_across_the_clock_change(web: Web) -> None:
    # Stockholm: winter, Sunday 22 March; summer (after the change on the 29th), Sunday 29.
    moments = {
        "sun-winter": "2026-03-22T23:30:00+01:00",  # 22:30 UTC: week 12, locally and in UTC
        "mon-winter": "2026-03-23T00:30:00+01:00",  # Sunday 23:30 UTC, Monday on the ward
        "sun-summer": "2026-03-29T23:30:00+02:00",  # 21:30 UTC, the evening of the change
        "mon-summer": "2026-03-30T00:30:00+02:00",  # Sunday 22:30 UTC, Monday on the ward
    }
    p = web.placement
    for step_id, moment in moments.items():
        assert web.command("s1", p.step(step_id, occurred_at=moment)).status_code == 201
    p.run("assess_goal", "sup1", pair_id="p1", student_id="s1", goal_id="hygiene",
          level="pass", kind="formative", occurred_at=moments["mon-summer"])  # fmt: skip
    web.catch_up()
    trend = web.get("sup1", "/api/pairs/p1/trends").json()
    steps = {w["week"]: w["steps"] for w in trend["weeks"] if w["steps"]}
    assert steps == {"2026-W12": 1, "2026-W13": 2, "2026-W14": 1}
    mondays = {w["week"]: w["starts_on"] for w in trend["weeks"]}
    assert mondays["2026-W14"] == "2026-03-30"
    grid = web.get("s1", "/api/students/s1/trends", params={"course": "vfu-1"}).json()
    hygiene = next(g for g in grid["goals"] if g["goal_id"] == "hygiene")
    performed = {w: c["evidence"]["performed"] for w, c in hygiene["weeks"].items()}
    assert {w: n for w, n in performed.items() if n} == {
        "2026-W12": 1, "2026-W13": 2, "2026-W14": 1
    }  # fmt: skip
    assert len(hygiene["weeks"]["2026-W14"]["assessments"]) == 1
    assert not hygiene["weeks"]["2026-W13"]["assessments"]


def test_a_week_s_flags_are_taken_at_sunday_midnight_on_the_ward_s_clock(web: Web) -> None:
    p = web.placement
    # Week 12: one step each in d1, balanced.
    for step_id, performer, observer in (("a1", "s1", "s2"), ("a2", "s2", "s1")):
        step = p.step(step_id, performer, performers=[performer], observers=[observer],
                      occurred_at="2026-03-18T09:00:00+01:00")  # fmt: skip
        assert web.command(performer, step).status_code == 201
    p.run("close_session", "s1", pair_id="p1", session_id="d1",
          occurred_at="2026-03-18T15:00:00+01:00")  # fmt: skip
    # d2 opens at 00:30 on Monday 23 March in Stockholm: Sunday 23:30 in UTC, so a week
    # ended at midnight UTC would count it in week 12.
    p.run("open_session", "s1", pair_id="p1", session_id="d2", shift="day",
          roles={"s1": "performer", "s2": "observer"},
          occurred_at="2026-03-23T00:30:00+01:00")  # fmt: skip
    for step_id in ("b1", "b2", "b3"):
        step = p.step(step_id, session_id="d2", occurred_at="2026-03-23T08:00:00+01:00")
        assert web.command("s1", step).status_code == 201
    web.catch_up()
    trend = web.get("sup1", "/api/pairs/p1/trends").json()
    flags = {w["week"]: w["flags"] for w in trend["weeks"]}
    assert flags["2026-W12"] == []
    assert flags["2026-W13"] == ["performer_imbalance"]
