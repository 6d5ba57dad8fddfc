"""Trends on the dashboard, over HTTP and in the audit, on SQLite and PostgreSQL: the
weeks entries belong to (late corrections and retractions included), the read model
against the in-memory answer as of a time, who reads them, and every chart's values
read back from its SVG and compared with the read model's."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from typing import Any

import pytest

from peerlog.projections import AsOf, InMemory, Thresholds, audit, fold_all
from peerlog.projections.asof import audit_weeks, fold, merged
from peerlog.projections.source import StoreEvents
from peerlog.projections.trends import Trends, goal_weeks, pair_trend, weekly_balances
from peerlog.web import audit_report
from tests.support import COURSE, GOALS, T0
from tests.web.conftest import Web

SVG = "{http://www.w3.org/2000/svg}"
W10 = T0 + timedelta(days=1, hours=2)  # Tuesday of the course's first week, 2026-W10
W11 = W10 + timedelta(weeks=1)
W12 = W10 + timedelta(weeks=2)


def _history(web: Web) -> dict[str, datetime]:
    """Two weeks of pair p1, then, recorded later and dated in the third week, a
    correction of a step of the first week and the retraction of its feedback."""
    p = web.placement
    run = web.placement.app.execute
    at: dict[str, datetime] = {}
    run(p.step("st1", occurred_at=W10.isoformat()))
    run(p.step("st2", occurred_at=(W10 + timedelta(hours=1)).isoformat()))
    run(p.feedback("fb1", occurred_at=(W10 + timedelta(hours=2)).isoformat()))
    three = {"description": "We changed a dressing", "feelings": "Calm", "evaluation": "Fine"}
    run(p.reflection("rf1", stages=three, occurred_at=(W10 + timedelta(hours=3)).isoformat()))
    p.run("close_session", "s1", pair_id="p1", session_id="d1",
          occurred_at=(W10 + timedelta(hours=4)).isoformat())  # fmt: skip
    p.run("open_session", "s2", pair_id="p1", session_id="d2",
          roles={"s2": "performer", "s1": "observer"},
          occurred_at=W11.isoformat())  # fmt: skip
    run(p.step("st3", actor="s2", session_id="d2", performers=["s2"], observers=["s1"],
               occurred_at=(W11 + timedelta(hours=1)).isoformat()))  # fmt: skip
    run(p.step("st4", session_id="d2", goals=["medication"],
               occurred_at=(W11 + timedelta(hours=2)).isoformat()))  # fmt: skip
    run(p.feedback("fb2", actor="s1", session_id="d2", giver="s1", receiver="s2",
                   occurred_at=(W11 + timedelta(hours=3)).isoformat()))  # fmt: skip
    stages = dict.fromkeys(
        ("description", "feelings", "evaluation", "analysis", "conclusion", "action_plan"), "Yes"
    )
    run(p.reflection("rf2", session_id="d2", stages=stages,
                     occurred_at=(W11 + timedelta(hours=4)).isoformat()))  # fmt: skip
    at["before"] = p.run(
        "assess_goal", "sup1", pair_id="p1", student_id="s1", goal_id="hygiene",
        level="pass", kind="midpoint", occurred_at=(W11 + timedelta(hours=5)).isoformat(),
    ).recorded_at  # fmt: skip
    p.run("correct_entry", "sup1", pair_id="p1", entry_id="st2",
          changes={"performers": ["s2"], "observers": ["s1"]},
          reason="The partner performed", occurred_at=W12.isoformat())  # fmt: skip
    at["after"] = p.run(
        "retract_entry", "s2", pair_id="p1", entry_id="fb1", reason="Meant for another day",
        occurred_at=(W12 + timedelta(hours=1)).isoformat(),
    ).recorded_at  # fmt: skip
    web.catch_up()
    return at


@pytest.fixture
def history(web: Web) -> dict[str, datetime]:
    return _history(web)


def _week(trend: dict[str, Any], week: str) -> dict[str, Any]:
    (found,) = [w for w in trend["weeks"] if w["week"] == week]
    week_row: dict[str, Any] = found
    return week_row


def test_late_corrections_and_retractions_change_the_weeks_they_belong_to(
    web: Web, history: dict[str, datetime]
) -> None:
    trend = web.get("sup1", "/api/pairs/p1/trends").json()
    w10, w11, w12 = (_week(trend, w) for w in ("2026-W10", "2026-W11", "2026-W12"))
    # st2 moved to s2 in its own week; fb1 left the first week.
    assert {m: c["performer"] for m, c in w10["members"].items()} == {"s1": 1, "s2": 1}
    assert w10["performer_balance"] == 1.0
    assert (w10["feedback"], w10["peer_feedback"], w10["feedback_balance"]) == (0, 0, None)
    assert (w10["reflections"], w10["incomplete_reflections"]) == (1, 1)
    assert w10["reflection_completeness"] == 0.5
    assert (w11["sessions"], w11["steps"], w11["reflection_completeness"]) == (1, 2, 1.0)
    assert w11["members"]["s1"]["peer_feedback_given"] == 1
    # The week the correction and retraction were made in holds nothing of them.
    assert (w12["steps"], w12["feedback"], w12["sessions"]) == (0, 0, 0)
    sessions = {s["session_id"]: s for s in trend["sessions"]}
    assert sessions["d1"]["performed"] == {"s1": 1, "s2": 1}
    assert sessions["d2"]["performed"] == {"s1": 1, "s2": 1}

    # As of a time before them, the in-memory answer has the first week as it was then.
    streams = ["course/vfu-1", "pair/p1", "pair/p2"]
    then, _ = fold(
        StoreEvents(web.app),
        Trends,
        merged(StoreEvents(web.app), streams),
        AsOf(recorded=history["before"]),
    )
    earlier = pair_trend(InMemory([then.rows]), "p1", until=W12.date())
    assert earlier is not None
    old = _week(earlier, "2026-W10")
    assert {m: c["performer"] for m, c in old["members"].items()} == {"s1": 2, "s2": 0}
    assert (old["performer_balance"], old["peer_feedback"]) == (0.0, 1)

    # The goals by weeks moved the same way; the assessment is in its week.
    grid = web.get("s1", "/api/students/s1/trends", params={"course": COURSE}).json()
    hygiene = next(g for g in grid["goals"] if g["goal_id"] == "hygiene")
    first = hygiene["weeks"]["2026-W10"]["evidence"]
    assert (first["performed"], first["observed"], first["feedback_received"]) == (1, 1, 0)
    assert first["reflections"] == 1
    assert hygiene["weeks"]["2026-W11"]["assessments"] == [
        {"occurred_at": (W11 + timedelta(hours=5)).isoformat(), "level": "pass", "kind": "midpoint"}
    ]
    medication = next(g for g in grid["goals"] if g["goal_id"] == "medication")
    assert list(medication["weeks"]) == ["2026-W11"]


def test_the_read_model_answers_as_the_same_projection_in_memory(
    web: Web, history: dict[str, datetime]
) -> None:
    del history
    now = web.services.now()
    in_memory = InMemory([fold_all(StoreEvents(web.app), Trends).rows])
    answered = web.get("sup1", "/api/pairs/p1/trends").json()
    expected = pair_trend(in_memory, "p1", until=now.date(), thresholds=web.services.thresholds)
    assert {k: v for k, v in answered.items() if k != "position"} == expected
    grid = web.get("s1", "/api/students/s1/trends", params={"course": COURSE}).json()
    goals = [{"goal_id": g["goal_id"], "title": g["title"], "retired": False} for g in GOALS]
    assert {k: v for k, v in grid.items() if k != "position"} == goal_weeks(
        in_memory, COURSE, "s1", goals, until=now.date()
    )


def test_trends_are_read_by_whoever_reads_the_pair_or_the_student(web: Web) -> None:
    web.catch_up()
    for who, status in (("s1", 200), ("s2", 200), ("sup1", 200), ("coord", 200),
                        ("s3", 403), ("sup2", 403), ("examiner", 403)):  # fmt: skip
        assert web.get(who, "/api/pairs/p1/trends").status_code == status, who
    for who, status in (("s1", 200), ("sup1", 200), ("coord", 200), ("s2", 403), ("sup2", 403)):
        answer = web.get(who, "/api/students/s1/trends", params={"course": COURSE})
        assert answer.status_code == status, who
    assert web.get(None, "/api/pairs/p1/trends").status_code == 401


# --- the charts drawn are the read model's figures ---------------------------------------


def _svgs(html: str, figure: str) -> list[ET.Element]:
    """The SVG charts inside the element with id ``figure`` (or of that class)."""
    start = html.index(f'id="{figure}"') if f'id="{figure}"' in html else 0
    chunk = html[start:] if start else html
    end = chunk.index("</figure>") if start else len(chunk)
    # The dashboard's own page, just rendered from the tests' own record.
    found = re.findall(r"<svg.*?</svg>", chunk[:end], re.DOTALL)
    return [ET.fromstring(svg) for svg in found]  # noqa: S314


def _series(svg: ET.Element) -> list[list[tuple[str | None, float]]]:
    """Each series' (x label, value) as pygal wrote them, in the order drawn."""
    found: dict[int, list[tuple[str | None, float]]] = {}
    for group in svg.iter(f"{SVG}g"):
        match = re.search(r"\bserie-(\d+)\b", group.get("class", ""))
        if not match:
            continue
        points = found.setdefault(int(match.group(1)), [])
        for point in group.iter(f"{SVG}g"):
            descs = {d.get("class", "").split()[0]: d.text for d in point.findall(f"{SVG}desc")}
            if "value" in descs:
                value = str(descs["value"]).rstrip("%")
                number = float(value) / 100 if str(descs["value"]).endswith("%") else float(value)
                points.append((descs.get("x_label"), number))
    return [found[i] for i in sorted(found)]


def _short(week: str) -> str:
    return week.partition("-")[2]


def test_each_chart_draws_the_read_models_figures(web: Web, history: dict[str, datetime]) -> None:
    del history
    # A flag for the charts to mark: s1 performs everything in a week of its own.
    p = web.placement
    p.run("close_session", "s2", pair_id="p1", session_id="d2", occurred_at=W12.isoformat())
    p.run("open_session", "s1", pair_id="p1", session_id="d3",
          roles={"s1": "performer", "s2": "observer"}, occurred_at=(W12 + timedelta(days=7)).isoformat())  # fmt: skip
    for n in range(6):
        web.app.execute(p.step(f"late{n}", session_id="d3",
                               occurred_at=(W12 + timedelta(days=7, hours=n + 1)).isoformat()))  # fmt: skip
    web.catch_up()
    trend = web.get("sup1", "/api/pairs/p1/trends").json()
    weeks = trend["weeks"]
    assert any(w["flags"] for w in weeks)
    web.login("sup1")
    page = web.client.get("/dashboard/pairs/p1")
    assert page.status_code == 200
    html = page.text

    (by_week,) = _svgs(html, "chart-balance-week")
    balance, threshold, flagged = _series(by_week)
    assert balance == [
        (_short(w["week"]), w["performer_balance"])
        for w in weeks
        if w["performer_balance"] is not None
    ]
    assert [v for _, v in threshold] == [trend["thresholds"]["performer_balance"]] * len(weeks)
    assert [label for label, _ in flagged] == [_short(w["week"]) for w in weeks if w["flags"]]

    (by_session,) = _svgs(html, "chart-balance-session")
    session_balance, _ = _series(by_session)
    assert session_balance == [
        (str(s["ordinal"] + 1), s["performer_balance"])
        for s in trend["sessions"]
        if s["performer_balance"] is not None
    ]

    (feedback,) = _svgs(html, "chart-feedback")
    for member, drawn in zip(trend["members"], _series(feedback), strict=True):
        assert drawn == [
            (_short(w["week"]), w["members"][member]["peer_feedback_given"]) for w in weeks
        ]

    (reflections,) = _svgs(html, "chart-reflections")
    (completeness,) = _series(reflections)
    assert completeness == [
        (_short(w["week"]), round(w["reflection_completeness"], 2))
        for w in weeks
        if w["reflection_completeness"] is not None
    ]
    # The table beside the charts carries the same figures, for screen readers and print.
    for w in weeks:
        row = re.search(rf'<tr data-week="{w["week"]}".*?</tr>', html, re.DOTALL)
        assert row is not None
        cells = re.findall(r'<td class="n">([^<]*)</td>', row.group(0))
        shown = "-" if w["performer_balance"] is None else f"{w['performer_balance']:.2f}"
        assert cells[2] == shown
        assert ("⚑" in row.group(0)) == bool(w["flags"])


def test_the_charts_styles_are_allowed_by_their_hashes_and_nothing_else_inline(
    web: Web, history: dict[str, datetime]
) -> None:
    del history
    web.login("sup1")
    page = web.client.get("/dashboard/pairs/p1")
    policy = page.headers["content-security-policy"]
    hashes = re.findall(r"'sha256-[^']+'", policy)
    assert len(hashes) == 4  # one per chart
    assert "unsafe-inline" not in policy
    assert "script-src 'self';" in policy
    assert "<script" not in page.text.split("</head>")[1]  # pygal's scripts are not sent


def test_the_overview_sparklines_draw_each_pairs_weekly_balance(
    web: Web, history: dict[str, datetime]
) -> None:
    del history
    web.login("sup1")
    html = web.client.get("/dashboard").text
    weekly = weekly_balances(web.services.runner.store, ["p1"], until=web.services.now().date())
    spark = re.search(r'<p class="trend" data-pair="p1">.*?</p>', html, re.DOTALL)
    assert spark is not None
    (svg,) = _svgs(spark.group(0), "")
    (drawn,) = _series(svg)
    assert [v for _, v in drawn] == [v for _, v in weekly["p1"] if v is not None]
    words = re.search(r'<span class="trend-words">([^<]*)</span>', spark.group(0))
    assert words is not None
    assert words.group(1).startswith("W10 1.00, W11 1.00, W12 -")
    answered = web.get("sup1", "/api/overview").json()
    (p1,) = [p for p in answered["pairs"] if p["pair_id"] == "p1"]
    assert [(w["week"], w["performer_balance"]) for w in p1["weekly_balance"]] == weekly["p1"]


def _grid(html: str) -> dict[tuple[str, str], tuple[int, list[tuple[str, str]]]]:
    """(goal, week) -> (evidence count, [(level, kind)]) as the goals-by-weeks table shows."""
    table = re.search(r'<table class="goal-weeks">.*?</table>', html, re.DOTALL)
    assert table is not None
    out = {}
    for goal, row in re.findall(
        r'<tr data-goal="([^"]+)"[^>]*>(.*?)</tr>', table.group(0), re.DOTALL
    ):
        for week, count, cell in re.findall(
            r'<td class="n[^"]*" data-week="([^"]+)" data-evidence="(\d+)">(.*?)</td>',
            row,
            re.DOTALL,
        ):
            marks = re.findall(r'data-level="([^"]+)" data-kind="([^"]+)"', cell)
            out[(goal, week)] = (int(count), marks)
    return out


def _expected(grid: dict[str, Any]) -> dict[tuple[str, str], tuple[int, list[tuple[str, str]]]]:
    out: dict[tuple[str, str], tuple[int, list[tuple[str, str]]]] = {}
    for goal in grid["goals"]:
        for week in grid["weeks"]:
            cell = goal["weeks"].get(week["week"])
            if cell is None:
                out[(goal["goal_id"], week["week"])] = (0, [])
                continue
            evidence = sum(v for k, v in cell["evidence"].items() if k != "assessments")
            marks = [(a["level"], a["kind"]) for a in cell["assessments"]]
            out[(goal["goal_id"], week["week"])] = (evidence, marks)
    return out


def test_a_students_goal_grid_shows_the_read_models_weeks(
    web: Web, history: dict[str, datetime]
) -> None:
    del history
    web.login("sup1")
    html = web.client.get("/dashboard/students/s1", params={"course": COURSE}).text
    grid = web.get("sup1", "/api/students/s1/trends", params={"course": COURSE}).json()
    shown = _grid(html)
    assert shown == _expected(grid)
    assert shown[("hygiene", "2026-W11")] == (3, [("pass", "midpoint")])  # st3, fb2, rf2
    assert shown[("hygiene", "2026-W12")] == (0, [])
    assert "No evidence in the last 3 weeks: Basic hygiene" in html


def test_the_audit_shows_the_goal_grid_as_of_its_time(
    web: Web, history: dict[str, datetime]
) -> None:
    web.login("sup1")
    page = web.client.get("/dashboard/students/s1/audit", params={"course": COURSE})
    report = audit(StoreEvents(web.app), "s1", COURSE)
    now = audit_weeks(StoreEvents(web.app), report)
    assert _grid(page.text) == _expected(now)
    # As of before the late correction and retraction: the first week as it was then.
    then = web.client.get(
        "/dashboard/students/s1/audit",
        params={"course": COURSE, "as_of": history["before"].isoformat()},
    )
    shown = _grid(then.text)
    # Then: st1 and st2 performed, fb1 received, rf1; now st2 observed, fb1 retracted.
    assert shown[("hygiene", "2026-W10")] == (4, [])
    assert _grid(page.text)[("hygiene", "2026-W10")] == (3, [])
    # The standalone file (and the PDF printed from it) carries the same grid.
    html = audit_report.render_html(report, {}, {}, now)
    assert _grid(html) == _expected(now)
    pdf = web.client.get("/dashboard/students/s1/audit.pdf", params={"course": COURSE})
    assert pdf.content.startswith(b"%PDF-")


def test_thresholds_come_from_the_settings(web: Web, history: dict[str, datetime]) -> None:
    del history
    trend = web.get("sup1", "/api/pairs/p1/trends").json()
    assert trend["thresholds"]["performer_balance"] == Thresholds().performer_balance
