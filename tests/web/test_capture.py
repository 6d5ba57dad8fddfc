"""The capture pages in-process, on SQLite and PostgreSQL: who sees which page, what a
page offers (goals that are not retired, the course's scale, the current roles), and
the batch a page's script sends with the dashboard's session."""

from __future__ import annotations

import re

from peerlog.domain.events import StepRecorded
from tests.web.conftest import Web

PAGES = ("", "/checkin", "/step", "/feedback", "/reflection", "/assess", "/checkout", "/entries")
SENT = {"x-peerlog-capture": "1", "content-type": "application/json"}


def test_a_student_opens_every_capture_page_of_their_pair(web: Web) -> None:
    web.login("s1")
    assert web.client.get("/capture", follow_redirects=False).headers["location"] == "/capture/p1"
    for page in PAGES:
        response = web.client.get("/capture/p1" + page)
        assert response.status_code == 200, (page, response.text)
        policy = response.headers["content-security-policy"]
        assert "manifest-src 'self'" in policy
        assert "script-src 'self'" in policy
        assert '<script src="/static/capture.js" defer></script>' in response.text
    today = web.client.get("/capture/p1").text
    # Session d1 is open with s1 performing, s2 observing.
    assert re.search(r"Session <span data-session-id>d1</span> is open", today)
    step = web.client.get("/capture/p1/step").text
    assert re.search(
        r'name="performers" value="s1" data-list data-preset="performer" checked', step
    )
    assert re.search(r'name="observers" value="s2" data-list data-preset="observer" checked', step)
    assert 'name="performers" value="s2" data-list data-preset="performer">' in step


def test_capture_offers_only_goals_that_are_not_retired(web: Web) -> None:
    goals = web.client.get("/capture/p1/step")
    assert goals.status_code in {200, 303}
    web.placement.run(
        "retire_goal", "coord", course_id="vfu-1", goal_id=_first_goal(web), reason="Merged"
    )
    web.login("s1")
    step = web.client.get("/capture/p1/step").text
    assert f'value="{_first_goal(web)}"' not in step
    assert 'name="goals"' in step


def _first_goal(web: Web) -> str:
    from tests.support import GOALS

    return str(GOALS[0]["goal_id"])


def test_a_supervisor_assesses_on_the_course_scale(web: Web) -> None:
    web.login("sup1")
    page = web.client.get("/capture/p1/assess").text
    levels = re.findall(r'name="level" value="([^"]+)"', page)
    assert levels == ["not_yet", "pass", "good", "excellent"]
    assert re.findall(r'name="student_id" value="([^"]+)"', page) == ["s1", "s2"]


def test_capture_pages_are_refused_to_others(web: Web) -> None:
    assert web.client.get("/capture/p1", follow_redirects=False).headers["location"] == "/login"
    web.login("s3")
    assert web.client.get("/capture/p1").status_code == 403
    web.login("coord")
    assert web.client.get("/capture").status_code == 403
    assert web.client.get("/capture/p1").status_code == 403


def test_the_batch_records_for_the_session_person_only(web: Web) -> None:
    step = {
        "command": "record_step", "command_id": "cap-1", "pair_id": "p1", "session_id": "d1",
        "step_id": "cap-step-1", "kind": "checkpoint", "performers": ["s1"], "observers": ["s2"],
        "goals": [], "note": "Checked the drip",
    }  # fmt: skip
    body = {"commands": [step, {**step, "command_id": "cap-2", "actor": "s2"}]}
    assert web.client.post("/capture/batch", json=body, headers=SENT).status_code == 401
    web.login("s1")
    # Without the page's own header, or from another site, nothing is recorded.
    assert web.client.post("/capture/batch", json=body).status_code == 403
    evil = {**SENT, "origin": "https://evil.example"}
    assert web.client.post("/capture/batch", json=body, headers=evil).status_code == 403
    answer = web.client.post("/capture/batch", json=body, headers=SENT).json()
    assert [r["status"] for r in answer["results"]] == ["accepted", "rejected"]
    assert answer["results"][1]["errors"][0]["rule"] == "actor_mismatch"
    again = web.client.post("/capture/batch", json=body, headers=SENT).json()
    assert again["results"][0]["status"] == "repeated"
    events = [
        e for e in web.app.history("pair/p1")
        if isinstance(e, StepRecorded) and e.step_id == "cap-step-1"
    ]  # fmt: skip
    assert len(events) == 1
    assert events[0].actor == "s1"
    assert events[0].note == "Checked the drip"
    entries = web.client.get("/capture/p1/entries").text
    assert 'data-entry="cap-step-1"' in entries
    assert "Checked the drip" in entries


def test_the_worker_and_the_manifest_are_served_for_the_capture_scope(web: Web) -> None:
    worker = web.client.get("/capture/sw.js")
    assert worker.status_code == 200
    assert worker.headers["content-type"].startswith("text/javascript")
    assert "caches.open" in worker.text
    manifest = web.client.get("/capture/manifest.webmanifest").json()
    assert manifest["start_url"] == "/capture"
    assert manifest["display"] == "standalone"
