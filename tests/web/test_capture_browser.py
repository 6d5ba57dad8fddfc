"""The capture pages in a real browser (Debian's chromium, driven by Playwright) at phone
size, against ``peerlog serve`` on loopback: a student checks in, records, swaps roles,
gives feedback and reflects; the supervisor gives feedback and assesses; entries made
offline wait on the device and are sent once, in order; two devices of a pair sync; every
page is scanned with axe-core, weighed, and pictured at phone and tablet size.

What the pages sent is checked in the record through the application, not on the page.
Skipped, with the reason, only when chromium is not installed and PEERLOG_REQUIRE_BROWSER
is unset; CI installs chromium and sets it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest

from peerlog import PeerLog
from peerlog.domain.events import (
    EntryCorrected,
    EntryRetracted,
    FeedbackGiven,
    GoalAssessed,
    ReflectionRecorded,
    RolesSwitched,
    SessionClosed,
    SessionOpened,
    StepChanges,
    StepRecorded,
)
from peerlog.domain.identity_numbers import find_identity_numbers
from peerlog.web import Tokens
from tests.web.server import Server, serve
from tests.web.test_browser import ARGS, chromium_or_skip

PHONE = {"width": 390, "height": 844}
TABLET = {"width": 820, "height": 1180}
SERIOUS = ("serious", "critical")
SHOTS = os.environ.get("PEERLOG_SCREENSHOTS", "")
"""A folder to write the screenshots to (else the module's own temporary folder)."""
PAGES = ("", "/checkin", "/step", "/feedback", "/reflection", "/assess", "/checkout", "/entries")
PEOPLE = {
    "a1": "Alva Berg", "a2": "Ali Demir", "b1": "Bea Falk", "b2": "Bo Gran",
    "c1": "Cleo Hed", "c2": "Cem Ilić", "d1": "Dan Juhl", "d2": "Dina Krus", "sup": "Sara Lind",
}  # fmt: skip
IDENTITY_NUMBER = "19121212-1212"
HINTED = [
    "Patient 19121212-1212 in bed 3", "121212-1212", "201212121212", "19121212-1213",
    "240131-4123", "240131-1030", "Bed 12 at 10:30", "Drip 250 ml at 14:00", "Room 4, 3 patients",
]  # fmt: skip
"""Texts on which the page's hint and the record's guard agree (the guard knows more:
phone numbers, words before a number; it stays the judge)."""


@pytest.fixture(scope="module")
def chromium_path() -> str:
    return chromium_or_skip()


def _ward(app: PeerLog) -> None:
    """A placement running now: pair pa (a1, a2) has no session open; pairs pb and pc
    have one, and so has pd; sup supervises all four. One goal is retired."""
    today = datetime.now(UTC).date()
    ids = iter(range(1, 1000))
    at = (datetime.now(UTC) - timedelta(hours=1)).isoformat()

    def run(command: str, actor: str, **fields: Any) -> None:
        app.execute(
            {"command": command, "command_id": f"w-{next(ids)}", "actor": actor,
             "occurred_at": at, **fields}
        )  # fmt: skip

    run(
        "open_course", "coord", course_id="ward-1", title="Medical ward placement",
        starts_on=(today - timedelta(days=7)).isoformat(),
        ends_on=(today + timedelta(days=56)).isoformat(),
        scale=["not_yet", "pass", "good"], pass_level="pass",
        goals=[
            {"goal_id": "hygiene", "title": "Hygiene and infection control"},
            {"goal_id": "medication", "title": "Safe medication handling"},
            {"goal_id": "comm", "title": "Communication with patients"},
            {"goal_id": "old", "title": "Old wound care goal"},
        ],
    )  # fmt: skip
    run("retire_goal", "coord", course_id="ward-1", goal_id="old", reason="Merged into hygiene")
    for person, name in PEOPLE.items():
        if person == "sup":
            run("assign_supervisor", "coord", course_id="ward-1", supervisor_id=person,
                display_name=name)  # fmt: skip
        else:
            run("enroll_student", "coord", course_id="ward-1", student_id=person,
                display_name=name)  # fmt: skip
    for pair in ("a", "b", "c", "d"):
        run("form_pair", "coord", course_id="ward-1", pair_id=f"p{pair}",
            students=[f"{pair}1", f"{pair}2"], supervisors=["sup"])  # fmt: skip
    for pair in ("b", "c", "d"):
        run("open_session", f"{pair}1", pair_id=f"p{pair}", session_id=f"p{pair}-1",
            roles={f"{pair}1": "performer", f"{pair}2": "observer"})  # fmt: skip


class Ward:
    def __init__(self, server: Server, env: dict[str, str], secrets: dict[str, str]) -> None:
        self.server, self.env, self.secrets = server, env, secrets

    def events(self, pair_id: str) -> list[Any]:
        app = PeerLog(self.env)
        try:
            return app.history(f"pair/{pair_id}")
        finally:
            app.close()


@pytest.fixture(scope="module")
def ward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ward]:
    folder = tmp_path_factory.mktemp("capture")
    env = {"PEERLOG_DATABASE_URL": f"sqlite:///{folder / 'ward.sqlite3'}"}
    app = PeerLog(env)
    _ward(app)
    tokens = Tokens.of(app)
    secrets = {
        who: tokens.create(who, "supervisor" if who == "sup" else "student")[1] for who in PEOPLE
    }
    app.close()
    with serve(env, folder / "serve.log", "--no-access-log") as server:
        yield Ward(server, env, secrets)


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=10_000)  # a busy two-core machine runs the suite beside it
    with sync_playwright() as playwright:
        found = playwright.chromium.launch(executable_path=chromium_path, args=ARGS, headless=True)
        try:
            yield found
        finally:
            found.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(SHOTS) if SHOTS else tmp_path_factory.mktemp("capture-shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _device(
    browser: Any, ward: Ward, who: str, viewport: dict[str, int] = PHONE, locale: str = "en-GB"
) -> Any:
    """A browser context (a phone set to ``locale``) logged in as ``who``."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport=viewport, service_workers="allow", locale=locale)
    page = context.new_page()
    page.goto(ward.server.url + "/login")
    page.fill("#token", ward.secrets[who])
    page.click("button[type=submit]")
    expect(page).to_have_url(ward.server.url + "/dashboard")
    return context, page


def _ready_offline(page: Any) -> None:
    """Wait until the service worker controls the page and has kept every capture page."""
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.wait_for_function(
        """async () => {
            const cache = await caches.open('peerlog-capture-v1');
            const kept = (await cache.keys()).map(r => new URL(r.url).pathname);
            const wanted = Array.from(document.querySelectorAll('nav.pages a'))
                .map(a => a.getAttribute('href')).concat(['/static/capture.js']);
            return wanted.every(u => kept.includes(u));
        }"""
    )


def _statuses(page: Any) -> list[str]:
    return list(
        page.locator("#queue-list li").evaluate_all("els => els.map(e => e.dataset.status)")
    )


def _when(value: datetime) -> datetime:
    return value.astimezone(UTC)


def test_a_student_and_the_supervisor_record_a_shift(browser: Any, ward: Ward) -> None:
    from playwright.sync_api import expect

    url = ward.server.url
    started = datetime.now(UTC)
    context, page = _device(browser, ward, "a1")
    try:
        page.goto(url + "/capture")
        expect(page).to_have_url(url + "/capture/pa")
        expect(page.locator("h1")).to_have_text("My pair today")
        # Check in: Ali (a2) performs first, Alva (a1) observes - chosen by tapping names.
        page.click("#go-checkin")
        page.get_by_label("Evening").check()
        page.fill("#plan", "Morning medication round, then wound care")
        page.get_by_label("Ali Demir as performer").check()
        page.get_by_label("Alva Berg as observer").check()
        page.click("button:text('Check in')")
        expect(page).to_have_url(url + "/capture/pa")
        expect(page.locator("#queue-list li[data-status=accepted]")).to_have_count(1)
        expect(page.locator("[data-when=open]")).to_be_visible()

        # A step with at most three taps from the session screen, besides typing the note.
        taps = 0

        def tap(selector: str) -> None:
            nonlocal taps
            taps += 1
            page.click(selector)

        tap("#go-step")
        expect(page.locator("#note")).to_be_focused()
        page.keyboard.type("Drew up insulin with Ali checking")
        tap("label:has(input[name=kind][value=performance])")
        tap("#step-form button[type=submit]")
        expect(page).to_have_url(url + "/capture/pa")
        assert taps <= 3, taps
        expect(page.locator("#queue-list li[data-status=accepted]")).to_have_count(2)

        # Two more steps: one with goals chosen by their titles (filtered as typed).
        page.click("#go-step")
        expect(page.locator("input[name=goals][value=old]")).to_have_count(0)
        page.fill("#goal-filter", "medic")
        expect(page.locator("li[data-goal-title*=hygiene]")).to_be_hidden()
        page.get_by_label("Safe medication handling").check()
        page.fill("#goal-filter", "")
        page.get_by_label("Hygiene and infection control").check()
        page.fill("#note", "Checked the drug chart")
        page.click("label:has(input[name=kind][value=checkpoint])")
        page.click("#step-form button[type=submit]")
        expect(page.locator("#queue-list li[data-status=accepted]")).to_have_count(3)
        page.click("#time-out button")  # records at once
        expect(page.locator("#queue-list li[data-status=accepted]")).to_have_count(4)

        # One tap swaps performer and observer; the next step is preset from the new roles.
        page.click("#swap button")
        expect(page.locator("#queue-list li[data-status=accepted]")).to_have_count(5)
        expect(page.locator("[data-roles] [data-person=a1] strong")).to_have_text("Performer")
        page.click("#go-step")
        expect(page.locator("input[name=performers][value=a1]")).to_be_checked()
        expect(page.locator("input[name=observers][value=a2]")).to_be_checked()
        page.goto(url + "/capture/pa")

        # Feedback to the partner, who is preselected.
        page.click("a.button:text('Feedback')")
        expect(page.get_by_label("Ali Demir")).to_be_checked()
        page.fill("#strengths", "Calm with the patient when drawing up")
        page.fill("#improvements", "Say the dose out loud")
        page.get_by_label("Safe medication handling").check()
        page.click("button:text('Give feedback')")
        expect(page.locator("#queue-list li[data-status=accepted]")).to_have_count(6)

        # A reflection: the draft survives a reload; stages left empty show as not written.
        page.click("a.button:text('Reflection')")
        page.fill("#stage-description", "We gave insulin before lunch")
        page.fill("#stage-feelings", "Nervous at first")
        expect(page.locator("#stages-done")).to_have_text("2 of 6 stages written (incomplete)")
        page.reload()
        expect(page.locator("#stage-description")).to_have_value("We gave insulin before lunch")
        expect(page.locator("label[for=stage-analysis] [data-empty-mark]")).to_be_visible()
        page.get_by_label("As a pair").check()  # both of the pair write it
        expect(page.locator("input[name=authors][value=a2]")).to_be_checked()
        page.get_by_label("Safe medication handling").check()
        page.click("button:text('Send reflection')")
        expect(page).to_have_url(url + "/capture/pa")
        expect(page.locator("#queue-list li[data-status=accepted]")).to_have_count(7)

        # My entries: the first step's note corrected, the time-out retracted, with reasons.
        page.click("nav.pages a:text('My entries')")
        entries = page.locator("li.entry")
        expect(entries).to_have_count(5)  # three steps, the feedback, the reflection
        first = page.locator("li.entry", has_text="Drew up insulin")
        first.locator("summary").click()
        first.locator("textarea[name='changes.note']").fill("Drew up insulin, Ali checked the dose")
        first.get_by_label("Reason for the correction").fill("Said who checked")
        first.locator("button:text('Correct')").click()
        expect(page.locator("#queue-list li[data-status=accepted]")).to_have_count(8)
        timeout = page.locator("li.entry", has_text="Time out")
        timeout.locator("summary").click()
        timeout.get_by_label("Reason for retracting").fill("Tapped by mistake")
        timeout.locator("button:text('Retract')").click()
        expect(page.locator("#queue-list li[data-status=accepted]")).to_have_count(9)
        page.reload()
        expect(page.locator("li.entry.retracted")).to_contain_text("Time out")
        expect(first).to_contain_text("Ali checked the dose")
    finally:
        context.close()

    context, page = _device(browser, ward, "sup")
    try:
        page.goto(url + "/capture/pa/feedback")
        page.get_by_label("Alva Berg").check()
        page.fill("#strengths", "Good double check of the dose")
        page.fill("#improvements", "Hand hygiene before the next patient")
        page.get_by_label("Hygiene and infection control").check()
        page.click("button:text('Give feedback')")
        expect(page.locator("#queue-list li[data-status=accepted]")).to_have_count(1)
        page.goto(url + "/capture/pa/assess")
        page.get_by_label("Ali Demir").check()
        page.select_option("#goal", label="Safe medication handling")
        page.get_by_label("good").check()
        page.get_by_label("Midpoint").check()
        page.fill("#comment", "Safe and careful")
        page.click("button:text('Record assessment')")
        expect(page.locator("#queue-list li[data-status=accepted]")).to_have_count(2)
    finally:
        context.close()
    ended = datetime.now(UTC)

    events = ward.events("pa")
    opened = [e for e in events if isinstance(e, SessionOpened)]
    assert [(e.actor, e.shift, e.plan, e.roles) for e in opened] == [
        ("a1", "evening", "Morning medication round, then wound care",
         {"a1": "observer", "a2": "performer"})
    ]  # fmt: skip
    session = opened[0].session_id
    steps = [e for e in events if isinstance(e, StepRecorded)]
    assert [(e.actor, e.session_id, e.kind, e.performers, e.observers, e.goals, e.note) for e in steps] == [
        ("a1", session, "performance", ("a2",), ("a1",), (), "Drew up insulin with Ali checking"),
        ("a1", session, "checkpoint", ("a2",), ("a1",), ("hygiene", "medication"), "Checked the drug chart"),
        ("a1", session, "time_out", ("a2",), ("a1",), (), None),
    ]  # fmt: skip
    switched = [e for e in events if isinstance(e, RolesSwitched)]
    assert [(e.actor, e.roles) for e in switched] == [("a1", {"a1": "performer", "a2": "observer"})]
    feedback = [e for e in events if isinstance(e, FeedbackGiven)]
    assert [
        (e.actor, e.giver, e.receiver, e.source, e.goals, e.strengths, e.improvements, e.session_id)
        for e in feedback
    ] == [
        ("a1", "a1", "a2", "peer", ("medication",), "Calm with the patient when drawing up",
         "Say the dose out loud", session),
        ("sup", "sup", "a1", "supervisor", ("hygiene",), "Good double check of the dose",
         "Hand hygiene before the next patient", session),
    ]  # fmt: skip
    reflections = [e for e in events if isinstance(e, ReflectionRecorded)]
    assert [(e.actor, e.authors, e.mode, e.goals, e.stages) for e in reflections] == [
        ("a1", ("a1", "a2"), "pair", ("medication",),
         {"description": "We gave insulin before lunch", "feelings": "Nervous at first"}),
    ]  # fmt: skip
    assessed = [e for e in events if isinstance(e, GoalAssessed)]
    assert [(e.actor, e.student_id, e.goal_id, e.level, e.kind, e.comment) for e in assessed] == [
        ("sup", "a2", "medication", "good", "midpoint", "Safe and careful")
    ]
    corrected = [e for e in events if isinstance(e, EntryCorrected)]
    assert [(e.actor, e.entry_id, e.changes, e.reason) for e in corrected] == [
        ("a1", steps[0].step_id, StepChanges(note="Drew up insulin, Ali checked the dose"),
         "Said who checked")
    ]  # fmt: skip
    retracted = [e for e in events if isinstance(e, EntryRetracted)]
    assert [(e.actor, e.entry_id, e.reason) for e in retracted] == [
        ("a1", steps[2].step_id, "Tapped by mistake")
    ]
    made = opened + steps + switched + feedback + reflections + assessed
    # Each time is the tap's, on the device: in the test's span and in the order made.
    times = [_when(e.occurred_at) for e in sorted(made, key=lambda e: e.originator_version)]
    assert all(started <= t <= ended for t in times)
    assert times == sorted(times)


def _record_steps_offline(page: Any, notes: list[str]) -> None:
    from playwright.sync_api import expect

    for note in notes:
        page.click("#go-step")
        page.fill("#note", note)
        page.click("label:has(input[name=kind][value=performance])")
        page.click("#step-form button[type=submit]")
        expect(page.locator("#go-step")).to_be_visible()


def test_entries_made_offline_wait_and_are_sent_once_in_order(browser: Any, ward: Ward) -> None:
    from playwright.sync_api import expect

    url = ward.server.url
    context, page = _device(browser, ward, "b1")
    try:
        page.goto(url + "/capture/pb")
        _ready_offline(page)
        context.set_offline(True)
        expect(page.locator("#net")).to_have_text("offline")
        notes = ["Vital signs bed 1", "Vital signs bed 2", f"Patient {IDENTITY_NUMBER} in bed 3",
                 "Vital signs bed 4", "Vital signs bed 5"]  # fmt: skip
        page.click("#go-step")
        page.fill("#note", notes[0])
        page.fill("#note", notes[2])
        expect(page.locator(".flagged")).to_contain_text("personal identity number")
        # The page's hint agrees with the record's guard on the texts of a ward.
        verdicts = page.evaluate(
            "texts => texts.map(t => window.peerlogCapture.looksLikeIdentityNumber(t))", HINTED
        )
        assert verdicts == [bool(find_identity_numbers(t)) for t in HINTED]
        page.goto(url + "/capture/pb")
        _record_steps_offline(page, notes)
        waiting = page.locator("#queue-list li[data-status=waiting]")
        expect(waiting).to_have_count(5)
        page.reload()
        expect(waiting).to_have_count(5)
        second = context.new_page()
        second.goto(url + "/capture/pb")
        expect(second.locator("#queue-list li[data-status=waiting]")).to_have_count(5)
        assert [e for e in ward.events("pb") if isinstance(e, StepRecorded)] == []

        context.set_offline(False)
        for shown in (page, second):
            expect(shown.locator("#queue-list li[data-status=accepted]")).to_have_count(4)
            rejected = shown.locator("#queue-list li[data-status=rejected]")
            expect(rejected).to_have_count(1)
            expect(rejected.locator(".error")).to_have_attribute("data-rule", "patient_identifier")
        steps = [e for e in ward.events("pb") if isinstance(e, StepRecorded)]
        assert [e.note for e in steps] == [n for n in notes if IDENTITY_NUMBER not in n]
        assert len({e.command_id for e in steps}) == 4
        second.close()

        # Fixed on the device and sent again: the same step, at the time of the first tap.
        page.reload()
        page.click("#queue-list li[data-status=rejected] a:text('Fix and send again')")
        expect(page.locator("#note")).to_have_value(notes[2])
        expect(page.locator("#error-note")).to_contain_text("patient_identifier")
        page.fill("#note", "Patient in bed 3")
        page.click("#step-form button[type=submit]")
        expect(page.locator("#queue-list li[data-status=accepted]")).to_have_count(5)
        expect(page.locator("#queue-list li[data-status=rejected]")).to_have_count(0)
    finally:
        context.close()
    steps = [e for e in ward.events("pb") if isinstance(e, StepRecorded)]
    assert [e.note for e in steps] == [*notes[:2], *notes[3:], "Patient in bed 3"]
    assert steps[-1].occurred_at < steps[2].occurred_at  # the fix keeps the tap's time


def test_two_devices_of_a_pair_record_offline_and_sync(browser: Any, ward: Ward) -> None:
    from playwright.sync_api import expect

    url = ward.server.url
    one, first = _device(browser, ward, "c1")
    two, second = _device(browser, ward, "c2")
    try:
        for page in (first, second):
            page.goto(url + "/capture/pc")
            _ready_offline(page)
        one.set_offline(True)
        two.set_offline(True)
        _record_steps_offline(first, ["Bed bath", "Mobilised the patient"])
        second.goto(url + "/capture/pc/feedback")
        second.fill("#strengths", "Good lifting technique")
        second.fill("#improvements", "Explain each move to the patient")
        second.click("button:text('Give feedback')")
        expect(second).to_have_url(url + "/capture/pc")
        first.click("a.button:text('Check out')")
        first.fill("#summary", "Two patients, all went well")
        first.click("button:text('Check out')")
        expect(first.locator("[data-when=closed]")).to_be_visible()
        # The other device, still offline, does not know the session was closed.
        _record_steps_offline(second, ["Took the blood pressure"])
        expect(first.locator("#queue-list li[data-status=waiting]")).to_have_count(3)
        expect(second.locator("#queue-list li[data-status=waiting]")).to_have_count(2)

        one.set_offline(False)
        expect(first.locator("#queue-list li[data-status=accepted]")).to_have_count(3)
        two.set_offline(False)
        expect(second.locator("#queue-list li[data-status=accepted]")).to_have_count(1)
        rejected = second.locator("#queue-list li[data-status=rejected]")
        expect(rejected).to_have_count(1)
        expect(rejected).to_contain_text("Step: performance")
        expect(rejected.locator(".error")).to_have_attribute("data-rule", "session_closed")
        expect(rejected.locator(".error")).to_contain_text("is closed")

        # Offline again, the first phone checks in anew and records a step in that session.
        one.set_offline(True)
        first.click("#go-checkin")
        first.click("button:text('Check in')")
        expect(first.locator("[data-when=open]")).to_be_visible()
        _record_steps_offline(first, ["Evening round"])
        expect(first.locator("#queue-list li[data-status=waiting]")).to_have_count(2)
        one.set_offline(False)
        expect(first.locator("#queue-list li[data-status=accepted]")).to_have_count(5)

        # Logging out leaves no kept page or accepted entry behind; a rejected one stays.
        second.click("button:text('Log out')")
        expect(second).to_have_url(url + "/login")
        kept = second.evaluate(
            """async () => [(await caches.keys()).length, await new Promise(done => {
                const open = indexedDB.open('peerlog-capture');
                open.onsuccess = () => {
                    const all = open.result.transaction('queue').objectStore('queue').getAll();
                    all.onsuccess = () => done(all.result.map(i => i.status));
                };
            })]"""
        )
        assert kept == [0, ["rejected"]]
    finally:
        one.close()
        two.close()
    events = ward.events("pc")
    assert [e.note for e in events if isinstance(e, StepRecorded)] == [
        "Bed bath",
        "Mobilised the patient",
        "Evening round",
    ]
    sessions = [e.session_id for e in events if isinstance(e, SessionOpened)]
    assert len(sessions) == 2
    assert [e.session_id for e in events if isinstance(e, StepRecorded)][-1] == sessions[1]
    assert [(e.actor, e.summary) for e in events if isinstance(e, SessionClosed)] == [
        ("c1", "Two patients, all went well")
    ]
    assert [(e.giver, e.receiver) for e in events if isinstance(e, FeedbackGiven)] == [("c2", "c1")]


def test_a_step_is_recorded_with_the_keyboard_alone(browser: Any, ward: Ward) -> None:
    from playwright.sync_api import expect

    context, page = _device(browser, ward, "d1")
    try:
        page.goto(ward.server.url + "/capture/pd")
        page.locator("#go-step").focus()
        page.keyboard.press("Enter")
        expect(page.locator("#note")).to_be_focused()
        page.keyboard.type("Helped the patient to the chair")
        page.keyboard.press("Tab")  # into the kinds: the first one, performance
        page.keyboard.press("ArrowDown")  # the next kind: preparation
        expect(page.locator("input[name=kind][value=preparation]")).to_be_checked()
        page.keyboard.press("Enter")  # sends the form
        expect(page.locator("#queue-list li[data-status=accepted]")).to_have_count(1)
    finally:
        context.close()
    steps = [e for e in ward.events("pd") if isinstance(e, StepRecorded)]
    assert [(e.actor, e.kind, e.performers, e.observers, e.note) for e in steps] == [
        ("d1", "preparation", ("d1",), ("d2",), "Helped the patient to the chair")
    ]


def test_a_phone_in_swedish_and_the_language_changed_to_danish(
    browser: Any, ward: Ward, shots: Path
) -> None:
    """The phone's language (Swedish) gives the pages and what their script writes in
    Swedish; Danish chosen on the page stays chosen."""
    from playwright.sync_api import expect

    context, page = _device(browser, ward, "b2", locale="sv-SE")
    try:
        page.goto(ward.server.url + "/capture/pb/reflection")
        expect(page.locator("html")).to_have_attribute("lang", "sv")
        expect(page.locator("h1")).to_have_text("Reflektion")
        expect(page.locator("#net")).to_have_text("ansluten")
        expect(page.locator("#stages-done")).to_have_text("0 av 6 steg skrivna (ofullständig)")
        expect(page.locator("label[for=stage-evaluation]")).to_contain_text(
            "3. Värdering: Vad var bra och vad kunde ha varit bättre?"
        )
        expect(page.locator("#queue-summary")).to_have_text("0 väntar, 0 godtagna, 0 avvisade.")
        page.screenshot(path=shots / "capture-reflection-sv.png", full_page=True)
        page.select_option("#language-choice", "da")
        page.click("form.language button[type=submit]")
        expect(page).to_have_url(ward.server.url + "/capture/pb/reflection")
        expect(page.locator("h1")).to_have_text("Refleksion")
        expect(page.locator("#stages-done")).to_have_text("0 af 6 trin skrevet (ufuldstændig)")
        page.goto(ward.server.url + "/capture/pb")
        expect(page.locator("html")).to_have_attribute("lang", "da")
        expect(page.locator("h1")).to_have_text("Mit par i dag")
        page.screenshot(path=shots / "capture-today-da.png", full_page=True)
        _scan(page, "capture-today-da")
    finally:
        context.close()


def _scan(page: Any, name: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    found = [
        (v["id"], v["impact"], v["help"])
        for v in results.response["violations"]
        if v.get("impact") in SERIOUS
    ]
    assert found == [], f"{name}: {found}"


def test_every_page_is_accessible_and_pictured(browser: Any, ward: Ward, shots: Path) -> None:
    url = ward.server.url
    for who in ("b2", "sup"):
        for size, viewport in (("phone", PHONE), ("tablet", TABLET)):
            context, page = _device(browser, ward, who, viewport)
            try:
                for path in PAGES:
                    if who == "b2" and path == "/assess":
                        continue
                    page.goto(url + "/capture/pb" + path)
                    name = f"capture-{who}-{(path or '/today')[1:]}-{size}.png"
                    if size == "phone":
                        _scan(page, name)
                    page.screenshot(path=shots / name, full_page=True)
                    assert (shots / name).stat().st_size > 5_000
            finally:
                context.close()


def _login_cookie(ward: Ward, who: str) -> str:
    response = httpx2.post(ward.server.url + "/login", data={"token": ward.secrets[who]})
    cookie = response.headers["set-cookie"]
    return cookie.split(";", 1)[0]


def test_every_page_with_its_scripts_and_styles_weighs_at_most_150_kb(ward: Ward) -> None:
    cookie = _login_cookie(ward, "sup")
    weights = {}
    for path in PAGES:
        page = httpx2.get(ward.server.url + "/capture/pb" + path, headers={"cookie": cookie})
        assert page.status_code == 200, path
        linked = re.findall(
            r'<(?:script src|link rel="(?:stylesheet|manifest)" href)="([^"]+)"', page.text
        )
        assert "/static/capture.js" in linked
        assert "/static/capture.css" in linked
        total = len(page.content) + sum(
            len(httpx2.get(ward.server.url + link, headers={"cookie": cookie}).content)
            for link in [*linked, "/capture/sw.js"]
        )
        weights[path or "/"] = total
    print("\ncapture page weights (bytes, with scripts, styles, manifest, worker):", weights)
    assert all(total <= 150_000 for total in weights.values()), weights
