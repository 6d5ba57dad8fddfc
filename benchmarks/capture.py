"""From the tap to accepted on a capture page, on loopback: a student's phone (Debian's
chromium at 390x844, driven by Playwright) taps "Time out" on the page of today, the
page keeps the entry in IndexedDB and sends it through ``/capture/batch`` to
``peerlog serve``, and shows it accepted. The page marks both moments with the User
Timing API (``peerlog-tap-<command_id>`` and ``peerlog-accepted-<command_id>``); the
figure is the time between them, rendering of the list excluded.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from playwright.sync_api import expect, sync_playwright

from benchmarks import data
from benchmarks.suite import Context, Result, _percentiles
from peerlog.web import Tokens
from tests.web.server import serve
from tests.web.test_browser import ARGS
from tests.web.test_capture_browser import _ward

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


ACCEPTED = """n => performance.getEntriesByType('mark')
    .filter(m => m.name.startsWith('peerlog-accepted-')).length >= n"""


def _taps(ctx: Context) -> int:
    """10 taps at the tiny size, 100 at the default and larger ones."""
    return min(100, max(10, ctx.size.writes // 30))


def tap_to_accepted(ctx: Context, store: str) -> None:
    if not Path(CHROMIUM).exists():
        ctx.report("  skipped: Debian's chromium is not installed")
        return
    taps = _taps(ctx)
    fresh = data.fresh_store(store, ctx.postgres_url, ctx.folder, "capture")
    try:
        setup = fresh.open()
        try:
            _ward(setup)
            secret = Tokens.of(setup).create("b1", "student")[1]
        finally:
            setup.close()
        with (
            serve(fresh.env, ctx.folder / f"capture-{store}.log", "--no-access-log") as server,
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = browser.new_page(viewport={"width": 390, "height": 844})
                page.goto(server.url + "/login")
                page.fill("#token", secret)
                page.click("button[type=submit]")
                page.goto(server.url + "/capture/pb")
                accepted = page.locator("#queue-list li[data-status=accepted]")
                for n in range(taps):
                    page.click("#time-out button")
                    page.wait_for_function(ACCEPTED, arg=n + 1)
                expect(accepted).to_have_count(min(taps, 10))
                spans = _spans(page)
            finally:
                browser.close()
    finally:
        fresh.drop()
    assert len(spans) == taps, (len(spans), taps)
    ordered = sorted(spans)
    ctx.add(
        Result(
            "capture: tap to accepted (phone, loopback)",
            store,
            "median",
            ordered[len(ordered) // 2] * 1000,
            "ms",
            {**_percentiles(spans), "taps": taps},
        )
    )


def _spans(page: Any) -> list[float]:
    """Seconds from each tap to its acceptance, from the page's User Timing marks."""
    marks = page.evaluate(
        "() => performance.getEntriesByType('mark').map(m => [m.name, m.startTime])"
    )
    taps = {name.removeprefix("peerlog-tap-"): at for name, at in marks if "-tap-" in name}
    done = {
        name.removeprefix("peerlog-accepted-"): at for name, at in marks if "-accepted-" in name
    }
    return [(done[c] - taps[c]) / 1000 for c in taps if c in done]
