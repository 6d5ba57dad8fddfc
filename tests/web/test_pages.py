"""The dashboard in the test client: logging in and out, what each page shows, and the
headers that keep pages of personal data out of caches and frames."""

from __future__ import annotations

import re

from tests.web.conftest import Web


def _flag_work(web: Web) -> None:
    """p1: s1 performs everything (a flag); p2 works evenly."""
    p = web.placement
    for i in range(3):
        assert web.command("s1", p.step(f"st{i}")).status_code == 201
    opened = p.cmd(
        "open_session",
        "s3",
        pair_id="p2",
        session_id="e1",
        roles={"s3": "performer", "s4": "observer"},
    )
    assert web.command("s3", opened).status_code == 201
    for i, (who, other) in enumerate([("s3", "s4"), ("s4", "s3")]):
        step = p.step(
            f"q{i}", actor=who, pair_id="p2", session_id="e1", performers=[who], observers=[other]
        )
        assert web.command(who, step).status_code == 201
    web.catch_up()


def test_logging_in_sets_a_secure_http_only_strict_cookie(web: Web) -> None:
    response = web.client.post(
        "/login", data={"token": web.secrets["sup1"]}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("peerlog_session=pls_")
    for attribute in ("HttpOnly", "Secure", "SameSite=strict", "Path=/", "Max-Age=43200"):
        assert attribute in cookie
    assert web.secrets["sup1"] not in cookie
    assert web.client.get("/dashboard").status_code == 200
    assert web.client.get("/login", follow_redirects=False).headers["location"] == "/dashboard"


def test_a_bad_token_or_a_form_from_another_site_logs_nobody_in(web: Web) -> None:
    response = web.client.post("/login", data={"token": "plg_nope"})
    assert response.status_code == 401
    assert "That token is not valid, or it was revoked." in response.text
    assert "set-cookie" not in response.headers
    response = web.client.post(
        "/login", data={"token": web.secrets["sup1"]}, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403
    assert "set-cookie" not in response.headers
    assert web.client.get("/dashboard", follow_redirects=False).headers["location"] == "/login"


def test_logging_out_or_revoking_the_token_ends_the_session(web: Web) -> None:
    web.login("sup1")
    cookie = web.client.cookies.get("peerlog_session")
    assert cookie
    response = web.client.post("/logout", follow_redirects=False)
    assert response.headers["location"] == "/login"
    web.client.cookies.set("peerlog_session", cookie, domain="testserver")
    assert web.client.get("/dashboard", follow_redirects=False).status_code == 303
    web.login("sup1")
    assert web.client.get("/dashboard").status_code == 200
    web.services.tokens.revoke(actor="sup1")
    assert web.client.get("/dashboard", follow_redirects=False).status_code == 303
    assert web.client.get("/dashboard/live").status_code == 401


def test_the_supervisor_sees_the_flagged_pair_first(web: Web) -> None:
    _flag_work(web)
    web.login("coord")
    page = web.client.get("/dashboard").text
    pairs = re.findall(r'<li class="pair( flagged)?" data-pair="(\w+)"', page)
    assert pairs[0] == (" flagged", "p1")
    assert pairs[1][1] == "p2"
    assert 'data-flag="performer_imbalance"' in page
    assert '<meter min="0" max="1" low="0.6" high="0.8" optimum="1" value="0.0">' in page
    assert 'data-live="position"' in page


def test_pages_for_each_reader(web: Web) -> None:
    _flag_work(web)
    web.login("sup1")
    grid = web.client.get("/dashboard/courses/vfu-1").text
    assert 'data-student="s1" data-goal="hygiene"' in grid
    assert "s3" not in re.findall(r'data-student="(\w+)"', grid)
    student = web.client.get("/dashboard/students/s1", params={"course": "vfu-1"})
    assert student.status_code == 200
    assert 'id="audit-link"' in student.text
    timeline = web.client.get("/dashboard/pairs/p1").text
    assert "Hand hygiene before and after the dressing change" in timeline
    audit = web.client.get("/dashboard/students/s1/audit", params={"course": "vfu-1"})
    assert audit.status_code == 200
    assert "Verified:" in audit.text
    assert web.client.get("/dashboard/pairs/p2").status_code == 403
    assert "Not yours to see" in web.client.get("/dashboard/pairs/p2").text
    web.login("s1")
    home = web.client.get("/dashboard").text
    assert 'href="/dashboard/students/s1?course=vfu-1"' in home
    assert 'href="/dashboard/pairs/p1"' in home
    assert web.client.get("/dashboard/students/s2", params={"course": "vfu-1"}).status_code == 403
    web.login("examiner")
    home = web.client.get("/dashboard").text
    assert 'href="/dashboard/students/s6/audit?course=vfu-1"' in home
    assert (
        web.client.get("/dashboard/students/s6/audit", params={"course": "vfu-1"}).status_code
        == 200
    )
    assert web.client.get("/dashboard/students/s6", params={"course": "vfu-1"}).status_code == 403


def test_an_erased_text_shows_as_erased(web: Web) -> None:
    assert web.command("s2", web.placement.feedback("fb1")).status_code == 201
    web.app.forget("s2", actor="coord", command_id="forget-s2")
    web.login("sup1")
    page = web.client.get("/dashboard/pairs/p1").text
    assert '<dd class="erased">erased: the person was forgotten</dd>' in page
    assert "Calm and thorough" not in page


def test_pages_are_not_cached_framed_or_sniffed(web: Web) -> None:
    web.login("sup1")
    for url in ("/dashboard", "/api/me", "/login"):
        response = web.client.get(url, headers=web.auth("sup1"))
        assert response.headers["cache-control"] == "no-store", url
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "script-src 'self'" in response.headers["content-security-policy"]
    css = web.client.get("/static/dashboard.css")
    assert css.status_code == 200
    assert "cache-control" not in css.headers
    assert web.client.get("/static/live.js").status_code == 200
    assert web.client.get("/static/../tokens.py").status_code == 404


def test_ids_in_page_addresses_are_checked(web: Web) -> None:
    web.login("sup1")
    response = web.client.get("/dashboard/pairs/p%201")
    assert response.status_code == 422
    assert "is not an id" in response.text


def _positions(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<span class="pos">#(\d+)</span>', html)]


def test_a_pairs_timeline_pages_fifty_events_newest_first_with_its_filters(web: Web) -> None:
    p = web.placement
    for n in range(60):
        goal = "hygiene" if n % 2 else "medication"
        assert web.command("s1", p.step(f"x{n}", goals=[goal])).status_code == 201
    everything = web.get("sup1", "/api/pairs/p1/timeline", params={"limit": 100}).json()
    newest_first = [i["position"] for i in reversed(everything["items"])]
    assert len(newest_first) == 62  # the pair formed, the session opened, 60 steps
    web.login("sup1")
    first = web.client.get("/dashboard/pairs/p1").text
    assert _positions(first) == newest_first[:50]
    assert "Page 1 of 2 (62 events shown in all)" in first
    assert 'rel="next" href="?page=2"' in first
    assert 'rel="prev"' not in first
    second = web.client.get("/dashboard/pairs/p1", params={"page": 2}).text
    assert _positions(second) == newest_first[50:]
    assert "Page 2 of 2" in second
    assert 'rel="prev" href="?page=1"' in second
    assert 'rel="next"' not in second
    # The filters: the goal chosen from the course's goals, the kind from the replay's.
    steps = web.client.get("/dashboard/pairs/p1", params={"kind": "step"}).text
    assert len(_positions(steps)) == 50
    assert 'rel="next" href="?kind=step&amp;page=2"' in steps
    assert '<option value="step" selected>steps</option>' in steps
    assert '<option value="medication">Safe medication handling</option>' in steps
    older_steps = web.client.get("/dashboard/pairs/p1", params={"kind": "step", "page": 2}).text
    assert _positions(older_steps) == newest_first[50:60]
    assert 'rel="prev" href="?kind=step&amp;page=1"' in older_steps
    medication = web.client.get(
        "/dashboard/pairs/p1", params={"goal": "medication", "kind": "step"}
    ).text
    step_ids = re.findall(r"step (x\d+) \(performance\)", medication)
    assert step_ids == [f"x{n}" for n in range(58, -1, -2)]
    assert '<option value="medication" selected>Safe medication handling</option>' in medication
    assert "Page 1 of 1 (30 events shown in all)" in medication
    assert 'rel="next"' not in medication
    assert 'rel="prev"' not in medication
    beyond = web.client.get("/dashboard/pairs/p1", params={"page": 3})
    assert beyond.status_code == 422
    assert "there is no page 3; the last page is 2" in beyond.text
    assert "Traceback" not in beyond.text
    danish = web.client.get(
        "/dashboard/pairs/p1", params={"kind": "nope"}, headers={"accept-language": "da"}
    )
    assert danish.status_code == 422
    assert "&#39;nope&#39; er ikke en slags hændelse" in danish.text
    swedish = web.client.get(
        "/dashboard/pairs/p1", params={"goal": "hygeine"}, headers={"accept-language": "sv"}
    )
    assert swedish.status_code == 422
    assert "&#39;hygeine&#39; är inte ett mål i kursen vfu-1" in swedish.text
    assert "hygiene" in swedish.text  # the goal meant is named


def test_the_audit_page_offers_both_clocks_in_the_readers_language(web: Web) -> None:
    assert web.command("s1", web.placement.step("st1")).status_code == 201
    web.login("sup1")
    params = {"course": "vfu-1", "as_of_occurred": "2026-03-02T08:00:00Z"}
    swedish = web.client.get(
        "/dashboard/students/s1/audit", params=params, headers={"accept-language": "sv"}
    ).text
    assert 'Registrerat t.o.m. <input name="as_of"' in swedish
    assert 'Inträffat t.o.m. <input name="as_of_occurred"' in swedish
    assert 'value="2026-03-02T08:00:00Z"' in swedish
    assert "inträffat t.o.m." in swedish
    assert "&amp;as_of_occurred=2026-03-02T08%3A00%3A00%2B00%3A00" in swedish
    danish = web.client.get(
        "/dashboard/students/s1/audit", params=params, headers={"accept-language": "da"}
    ).text
    assert 'Sket t.o.m. <input name="as_of_occurred"' in danish
    # Before the step happened, the audit holds no evidence of it.
    before = web.client.get("/dashboard/students/s1/audit", params=params).text
    now = web.client.get("/dashboard/students/s1/audit", params={"course": "vfu-1"}).text
    assert "st1" in now
    assert "st1" not in before


def _hygiene(html: str) -> str:
    found = re.search(r'<section class="goal" id="goal-hygiene".*?</section>', html, re.DOTALL)
    assert found is not None
    return found.group(0)


def test_each_clock_on_the_audit_page_gives_its_own_answer(web: Web) -> None:
    """A step typed in after the shift: as of a time before it was recorded it is not in
    the audit; as of a time after it happened it is, though recorded since."""
    before_it = web.get("sup1", "/api/pairs/p1/timeline").json()["items"][-1]["recorded_at"]
    step = web.placement.step("st1", occurred_at="2026-03-02T08:00:00+00:00")
    assert web.command("s1", step).status_code == 201
    web.login("sup1")
    page = "/dashboard/students/s1/audit"

    def hygiene(**clock: str) -> str:
        response = web.client.get(page, params={"course": "vfu-1", **clock})
        assert response.status_code == 200, response.text
        return _hygiene(response.text)

    assert "step st1" in hygiene()
    recorded = hygiene(as_of=before_it)
    assert "step st1" not in recorded
    assert "no evidence" in recorded
    assert "step st1" in hygiene(as_of_occurred="2026-03-02T09:00:00Z")
    assert "step st1" not in hygiene(as_of_occurred="2026-03-02T07:30:00Z")
    # Both clocks at once: recorded by then, and happened by then.
    assert "step st1" not in hygiene(as_of=before_it, as_of_occurred="2026-03-02T09:00:00Z")
    # The form keeps what was chosen, and the PDF and audit file follow it.
    form = web.client.get(page, params={"course": "vfu-1", "as_of": before_it}).text
    assert f'name="as_of" placeholder="2026-03-27" size="12" value="{before_it}"' in form
    assert 'name="as_of_occurred" placeholder="2026-03-27" size="12" value=""' in form


def test_a_correction_links_to_the_page_that_holds_the_entry_it_changes(web: Web) -> None:
    p = web.placement
    assert web.command("s1", p.step("x0")).status_code == 201
    for n in range(1, 60):
        assert web.command("s1", p.step(f"x{n}")).status_code == 201
    p.run("correct_entry", "sup1", pair_id="p1", entry_id="x0",
          changes={"goals": ["medication"]}, reason="wrong goal")  # fmt: skip
    everything = web.get("sup1", "/api/pairs/p1/timeline", params={"limit": 100}).json()
    by_type = {i["type"]: i["position"] for i in everything["items"]}
    correction = by_type["EntryCorrected"]
    (step,) = [
        i["position"]
        for i in everything["items"]
        if i["type"] == "StepRecorded" and re.search(r"\bx0\b", i["summary"])
    ]
    web.login("sup1")
    first = web.client.get("/dashboard/pairs/p1").text
    assert correction in _positions(first)
    assert step not in _positions(first)
    # From the correction on page 1 to the entry on page 2, and back.
    assert f'<a href="?at={step}#e{step}">#{step}</a>' in first
    held = web.client.get("/dashboard/pairs/p1", params={"at": step}).text
    assert step in _positions(held)
    assert "Page 2 of 2" in held
    assert f'<a href="?at={correction}#e{correction}">#{correction}</a>' in held
    # Filtered to steps, the correction is left out: its link opens the whole timeline.
    steps = web.client.get("/dashboard/pairs/p1", params={"kind": "step", "page": 2}).text
    assert step in _positions(steps)
    assert f'<a href="?at={correction}#e{correction}">#{correction}</a>' in steps
    # A link to an event on the same page stays on the page.
    assert f'href="#e{step}"' not in first
    close = web.client.get("/dashboard/pairs/p1", params={"at": correction}).text
    assert "Page 1 of 2" in close
