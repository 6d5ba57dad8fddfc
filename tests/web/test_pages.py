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


def test_a_pairs_timeline_pages_fifty_events_newest_first_with_its_filters(web: Web) -> None:
    p = web.placement
    for n in range(60):
        assert web.command("s1", p.step(f"x{n}", goals=["hygiene"])).status_code == 201
    web.login("sup1")
    first = web.client.get("/dashboard/pairs/p1")
    positions = [int(n) for n in re.findall(r'<span class="pos">#(\d+)</span>', first.text)]
    assert len(positions) == 50
    assert positions == sorted(positions, reverse=True)
    assert "Page 1 of 2" in first.text
    assert 'rel="next" href="?page=2"' in first.text
    second = web.client.get("/dashboard/pairs/p1", params={"page": 2}).text
    older = [int(n) for n in re.findall(r'<span class="pos">#(\d+)</span>', second)]
    assert max(older) < min(positions)
    assert 'rel="prev" href="?page=1"' in second
    assert 'rel="next"' not in second
    steps = web.client.get("/dashboard/pairs/p1", params={"kind": "step", "goal": "hygiene"})
    assert steps.text.count('data-type="StepRecorded"') == 50
    assert 'rel="next" href="?goal=hygiene&amp;kind=step&amp;page=2"' in steps.text
    assert '<option value="step" selected>steps</option>' in steps.text
    beyond = web.client.get("/dashboard/pairs/p1", params={"page": 3})
    assert beyond.status_code == 422
    assert "there is no page 3; the last page is 2" in beyond.text
    danish = web.client.get(
        "/dashboard/pairs/p1", params={"kind": "nope"}, headers={"accept-language": "da"}
    )
    assert danish.status_code == 422
    assert "&#39;nope&#39; er ikke en slags hændelse" in danish.text


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
