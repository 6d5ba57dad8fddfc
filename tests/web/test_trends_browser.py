"""The trends in a real browser (Debian's chromium, driven by Playwright) on the demo
placement: the overview with each pair's sparkline, a pair page with its charts and a
student's goals by week, each pictured and scanned with axe-core.

Skipped, with the reason, only when chromium is not installed and
PEERLOG_REQUIRE_BROWSER is unset; CI installs chromium and sets it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from peerlog import CommandRejected, PeerLog
from peerlog.cli.demo import placement
from peerlog.web import Tokens
from tests.web.server import Server, serve
from tests.web.test_browser import ARGS, chromium  # noqa: F401 - the fixture

SERIOUS = ("serious", "critical")
SHOTS = os.environ.get("PEERLOG_SCREENSHOTS", "")
"""A folder to write the screenshots to (else the test's own temporary folder)."""


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[Server, str, list[dict[str, Any]]]]:
    env = {"PEERLOG_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}"}
    app = PeerLog(env)
    commands = list(placement(pairs=6, weeks=8))
    rejected = [r for r in app.execute_many(commands) if isinstance(r, CommandRejected)]
    assert rejected == []
    secret = Tokens.of(app).create("sup-1-1", "supervisor")[1]
    app.close()
    with serve(env, tmp_path / "serve.log", "--no-access-log") as server:
        yield server, secret, commands


def _scan(page: Any, name: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    found = [
        (v["id"], v["impact"], v["help"])
        for v in results.response["violations"]
        if v.get("impact") in SERIOUS
    ]
    assert found == [], f"{name}: {found}"


def test_the_trends_on_the_demo_placement_are_pictured_and_accessible(
    chromium: str,  # noqa: F811 - the fixture
    demo: tuple[Server, str, list[dict[str, Any]]],
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect, sync_playwright

    server, secret, commands = demo
    shots = Path(SHOTS) if SHOTS else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    pairs = {c["pair_id"]: c for c in commands if c["command"] == "form_pair"}
    mine = sorted(p for p, c in pairs.items() if "sup-1-1" in c["supervisors"])
    assert mine, "the demo gives sup-1-1 pairs to supervise"
    pair = pairs[mine[0]]
    student = pair["students"][0]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1024, "height": 1366})
            page.goto(server.url + "/login")
            page.fill("#token", secret)
            page.click("button[type=submit]")
            expect(page).to_have_url(server.url + "/dashboard")

            # The overview: a sparkline of each of the supervisor's pairs, with its words.
            for pair_id in mine:
                trend = page.locator(f"p.trend[data-pair={pair_id}]")
                expect(trend.locator(".spark svg")).to_have_count(1, timeout=20_000)
                expect(trend.locator(".trend-words")).not_to_be_empty()
            page.screenshot(path=shots / "trends-overview.png", full_page=True)
            _scan(page, "overview")

            # A pair page: its four charts and the table they are drawn from.
            page.goto(server.url + f"/dashboard/pairs/{pair['pair_id']}")
            for chart in ("balance-week", "balance-session", "feedback", "reflections"):
                expect(page.locator(f"#chart-{chart} svg")).to_have_count(1, timeout=20_000)
            expect(page.locator("#trend-weeks tbody tr")).to_have_count(8)
            expect(page.locator("#trend-summary")).not_to_be_empty()
            page.screenshot(path=shots / "trends-pair.png", full_page=True)
            _scan(page, "pair page")

            # A student's goals by week, with the weeks that have no evidence.
            page.goto(server.url + f"/dashboard/students/{student}?course={pair['course_id']}")
            grid = page.locator("#goal-weeks")
            expect(grid).to_be_visible(timeout=20_000)
            expect(grid.locator("#quiet-goals")).not_to_be_empty()
            expect(grid.locator("tbody tr").first).to_be_visible()
            page.screenshot(path=shots / "trends-goal-grid.png", full_page=True)
            _scan(page, "student page")
        finally:
            browser.close()
    for name in ("trends-overview.png", "trends-pair.png", "trends-goal-grid.png"):
        assert (shots / name).stat().st_size > 10_000
