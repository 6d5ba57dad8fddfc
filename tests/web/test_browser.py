"""The dashboard in a real browser (Debian's chromium, driven by Playwright): a
supervisor logs in, sees the pair that needs attention first, watches a new step arrive
without reloading, opens a student's progression and the printable audit.

Skipped, with the reason, only when chromium is not installed and
PEERLOG_REQUIRE_BROWSER is unset; CI installs chromium and sets it.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest

from peerlog import PeerLog
from peerlog.web import Tokens
from tests.web.server import Server, serve

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
REQUIRED = os.environ.get("PEERLOG_REQUIRE_BROWSER", "") not in ("", "0")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_or_skip() -> str:
    """Debian's chromium, or the test skipped (failed with PEERLOG_REQUIRE_BROWSER)."""
    if not Path(CHROMIUM).exists():
        reason = (
            "Debian's chromium is not installed (apt-get install chromium); "
            "set PEERLOG_REQUIRE_BROWSER=1 to make its absence a failure"
        )
        if REQUIRED:
            pytest.fail(f"PEERLOG_REQUIRE_BROWSER is set, but {reason}")
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture
def chromium() -> str:
    return chromium_or_skip()


def _ward(app: PeerLog) -> None:
    """A placement running now: pair pa shares the work, pair pb does not."""
    today = datetime.now(UTC).date()
    ids = iter(range(1, 1000))

    def run(command: str, actor: str, **fields: Any) -> None:
        app.execute({"command": command, "command_id": f"w-{next(ids)}", "actor": actor, **fields})

    run(
        "open_course", "coord", course_id="ward-1", title="Medical ward placement",
        starts_on=(today - timedelta(days=7)).isoformat(),
        ends_on=(today + timedelta(days=56)).isoformat(),
        scale=["not_yet", "pass", "good"], pass_level="pass",
        goals=[
            {"goal_id": "hygiene", "title": "Hygiene and infection control"},
            {"goal_id": "medication", "title": "Safe medication handling"},
        ],
    )  # fmt: skip
    for student in ("a1", "a2", "b1", "b2"):
        run("enroll_student", "coord", course_id="ward-1", student_id=student)
    run("assign_supervisor", "coord", course_id="ward-1", supervisor_id="sup")
    for pair, students in (("pa", ["a1", "a2"]), ("pb", ["b1", "b2"])):
        run(
            "form_pair",
            "coord",
            course_id="ward-1",
            pair_id=pair,
            students=students,
            supervisors=["sup"],
        )
        run("open_session", students[0], pair_id=pair, session_id=f"{pair}-1",
            roles={students[0]: "performer", students[1]: "observer"})  # fmt: skip
    for i, who in enumerate(["a1", "a2"]):
        other = "a2" if who == "a1" else "a1"
        run("record_step", who, pair_id="pa", session_id="pa-1", step_id=f"pa-st{i}", kind="performance",
            performers=[who], observers=[other], goals=["hygiene"], note="Hand hygiene at each bed")  # fmt: skip
    for i in range(3):
        run("record_step", "b1", pair_id="pb", session_id="pb-1", step_id=f"pb-st{i}", kind="performance",
            performers=["b1"], observers=["b2"], goals=["medication"], note="Checked the drug chart")  # fmt: skip
    run(
        "assess_goal",
        "sup",
        pair_id="pb",
        student_id="b1",
        goal_id="medication",
        level="good",
        kind="formative",
    )


@pytest.fixture
def ward(tmp_path: Path) -> Iterator[tuple[Server, dict[str, str]]]:
    env = {"PEERLOG_DATABASE_URL": f"sqlite:///{tmp_path / 'ward.sqlite3'}"}
    app = PeerLog(env)
    _ward(app)
    tokens = Tokens.of(app)
    secrets = {
        who: tokens.create(who, role)[1] for who, role in [("sup", "supervisor"), ("a1", "student")]
    }
    app.close()
    with serve(env, tmp_path / "serve.log", "--no-access-log") as server:
        yield server, secrets


def test_a_supervisor_on_the_dashboard(
    chromium: str, ward: tuple[Server, dict[str, str]], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    server, secrets = ward
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1024, "height": 1366})  # a tablet, upright
            page.goto(server.url + "/dashboard")
            expect(page).to_have_url(server.url + "/login")
            page.fill("#token", secrets["sup"])
            page.click("button[type=submit]")
            expect(page).to_have_url(server.url + "/dashboard")
            assert page.context.cookies()[0]["httpOnly"] is True

            # The pair that needs attention comes first, though "pa" sorts before "pb".
            pairs = page.locator("li.pair")
            expect(pairs).to_have_count(2)
            expect(pairs.first).to_have_attribute("data-pair", "pb")
            expect(pairs.first).to_have_class("pair flagged")
            expect(pairs.first.locator(".flag")).to_contain_text("performer imbalance")
            expect(pairs.nth(1)).to_contain_text("Nothing needs attention.")
            page.screenshot(path=tmp_path / "overview.png", full_page=True)

            # A step recorded on the ward shows on the open page without reloading.
            a1 = pairs.nth(1).locator("tr", has_text="a1").locator("td.n").first
            expect(a1).to_have_text("1")
            step = {
                "command": "record_step", "command_id": "live-1", "pair_id": "pa", "session_id": "pa-1",
                "step_id": "pa-live", "kind": "checkpoint", "performers": ["a1"], "observers": ["a2"],
                "goals": ["hygiene"],
            }  # fmt: skip
            response = httpx2.post(
                server.url + "/api/commands",
                json=step,
                headers={"Authorization": f"Bearer {secrets['a1']}"},
            )
            assert response.status_code == 201
            sent = time.monotonic()
            expect(
                page.locator("li.pair[data-pair=pa] tr", has_text="a1").locator("td.n").first
            ).to_have_text("2", timeout=5000)
            shown_after = time.monotonic() - sent
            print(f"\nthe open dashboard showed the new step after {shown_after * 1000:.0f} ms")
            assert (
                shown_after < 1.5
            )  # 0.2 s follower poll + 0.5 s page poll + a fetch, measured loosely

            # A student's progression, then the audit to print.
            page.click("li.pair[data-pair=pb] a.student:text('b1')")
            expect(page).to_have_url(server.url + "/dashboard/students/b1?course=ward-1")
            row = page.locator("table.progression tr[data-goal=medication]")
            expect(row.locator("td.st")).to_contain_text("met")
            expect(row).to_contain_text("good")
            page.screenshot(path=tmp_path / "progression.png", full_page=True)
            page.click("#audit-link")
            expect(page).to_have_url(server.url + "/dashboard/students/b1/audit?course=ward-1")
            expect(page.locator(".integrity")).to_contain_text("Verified")
            expect(page.locator("section.goal[data-goal=medication]")).to_contain_text(
                "latest level good"
            )
            page.emulate_media(media="print")
            expect(page.locator("header.bar")).to_be_hidden()
            page.screenshot(path=tmp_path / "audit.png", full_page=True)
        finally:
            browser.close()
    for name in ("overview.png", "progression.png", "audit.png"):
        assert (tmp_path / name).stat().st_size > 10_000


LANGUAGES = {
    "sv": {
        "locale": "sv-SE",
        "flag": "obalans i utförandet",
        "calm": "Inget behöver uppmärksamhet.",
        "met": "uppnått",
        "verified": "Verifierad",
        "level": "senaste nivå good",
        "head": "Dina par",
    },
    "da": {
        "locale": "da-DK",
        "flag": "ubalance i udførelsen",
        "calm": "Intet kræver opmærksomhed.",
        "met": "opfyldt",
        "verified": "Verificeret",
        "level": "seneste niveau good",
        "head": "Dine par",
    },
}
SHOTS = os.environ.get("PEERLOG_SCREENSHOTS", "")
"""A folder to write the screenshots to (else the test's own temporary folder)."""


@pytest.mark.parametrize("language", ["sv", "da"])
def test_the_dashboard_in_swedish_and_danish(
    chromium: str, ward: tuple[Server, dict[str, str]], tmp_path: Path, language: str
) -> None:
    """A browser set to Swedish (Danish) shows the overview, a student's progression and
    the audit in that language; they are pictured for the docs and the reviewers."""
    from playwright.sync_api import expect, sync_playwright

    words = LANGUAGES[language]
    shots = Path(SHOTS) if SHOTS else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    server, secrets = ward
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
        try:
            context = browser.new_context(
                viewport={"width": 1024, "height": 1366}, locale=words["locale"]
            )
            page = context.new_page()
            page.goto(server.url + "/login")
            expect(page.locator("html")).to_have_attribute("lang", language)
            page.fill("#token", secrets["sup"])
            page.click("form[action='/login'] button[type=submit]")
            expect(page).to_have_url(server.url + "/dashboard")
            expect(page.locator("h1")).to_have_text(words["head"])
            pairs = page.locator("li.pair")
            expect(pairs.first.locator(".flag")).to_contain_text(words["flag"])
            expect(pairs.nth(1)).to_contain_text(words["calm"])
            page.screenshot(path=shots / f"overview-{language}.png", full_page=True)

            page.click("li.pair[data-pair=pb] a.student:text('b1')")
            row = page.locator("table.progression tr[data-goal=medication]")
            expect(row.locator("td.st")).to_contain_text(words["met"])
            page.screenshot(path=shots / f"progression-{language}.png", full_page=True)

            page.click("#audit-link")
            expect(page.locator(".integrity")).to_contain_text(words["verified"])
            expect(page.locator("section.goal[data-goal=medication]")).to_contain_text(
                words["level"]
            )
            page.emulate_media(media="print")
            page.screenshot(path=shots / f"audit-{language}.png", full_page=True)
            context.close()
        finally:
            browser.close()
    for name in ("overview", "progression", "audit"):
        assert (shots / f"{name}-{language}.png").stat().st_size > 10_000


@pytest.mark.parametrize("language", ["en", "sv", "da"])
def test_a_students_progression_table_is_not_clipped_at_1280_px(
    chromium: str, ward: tuple[Server, dict[str, str]], language: str
) -> None:
    """On a 1280 by 800 screen the per-student table fits: its scrolling container needs no
    scrolling sideways, and its last column ends inside the window, in every language."""
    from playwright.sync_api import expect, sync_playwright

    server, secrets = ward
    locale = LANGUAGES[language]["locale"] if language in LANGUAGES else "en-GB"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800}, locale=locale)
            page = context.new_page()
            page.goto(server.url + "/login")
            expect(page.locator("html")).to_have_attribute("lang", language)
            page.fill("#token", secrets["sup"])
            page.click("form[action='/login'] button[type=submit]")
            expect(page).to_have_url(server.url + "/dashboard")
            page.click("li.pair[data-pair=pb] a.student:text('b1')")
            table = page.locator("table.progression")
            expect(table.locator("tr[data-goal=medication]")).to_be_visible()
            fits = table.evaluate(
                """t => {
                    const box = t.parentElement;
                    const last = t.querySelector('tr:first-child > :last-child');
                    return {
                        scroll: box.scrollWidth,
                        client: box.clientWidth,
                        right: last.getBoundingClientRect().right,
                        page: document.documentElement.scrollWidth,
                    };
                }"""
            )
            context.close()
        finally:
            browser.close()
    assert fits["scroll"] <= fits["client"], fits
    assert fits["right"] <= 1280, fits
    assert fits["page"] <= 1280, fits
