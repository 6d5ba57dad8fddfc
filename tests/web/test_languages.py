"""The pages in Swedish, Danish and English: the browser's language (Accept-Language),
or the one chosen on a page and remembered in a cookie; no English message left on a
Swedish or Danish page; the script's messages in the page's language."""

from __future__ import annotations

import json
import re

import pytest

from tests.i18n import english_left, record_texts, shown_text
from tests.web.conftest import Web
from tests.web.test_capture import PAGES

BROWSERS = {"sv": "sv-SE,sv;q=0.9,en;q=0.5", "da": "da-DK,da;q=0.9,en;q=0.5"}
TODAY = {"en": "My pair today", "sv": "Mitt par i dag", "da": "Mit par i dag"}


def _data(web: Web) -> set[str]:
    return record_texts(web.app, ["course/vfu-1", "pair/p1"])


@pytest.mark.parametrize("language", ["sv", "da"])
def test_every_capture_page_in_the_browsers_language(web: Web, language: str) -> None:
    data = _data(web)
    web.client.headers["accept-language"] = BROWSERS[language]
    for who in ("s1", "sup1"):
        web.login(who)
        for page in PAGES:
            response = web.client.get("/capture/p1" + page)
            assert response.status_code == 200, (who, page)
            assert response.headers["content-language"] == language
            html = response.text
            assert f'<html lang="{language}">' in html
            left = english_left(shown_text(html), language, data)
            assert not left, (who, page, left)
            # What the page's script writes is in the page's language too.
            found = re.search(r"data-messages='([^']*)'", html)
            assert found, page
            words = json.loads(found.group(1).replace("&#34;", '"').replace("&#39;", "'"))
            written = re.sub(r"%\(\w+\)s", " ", "\n".join(words.values()))
            assert not english_left(written, language), (page, words)
    web.client.get("/capture/p1")
    assert TODAY[language] in web.client.get("/capture/p1").text


def test_the_capture_pages_in_english_read_as_before(web: Web) -> None:
    web.client.headers["accept-language"] = "fr-FR,fr;q=0.9"
    web.login("s1")
    response = web.client.get("/capture/p1")
    assert response.headers["content-language"] == "en"
    assert '<html lang="en">' in response.text
    assert "My pair today" in response.text
    assert re.search(r"Session <span data-session-id>d1</span> is open", response.text)


def test_the_language_chosen_on_a_page_is_remembered(web: Web) -> None:
    web.client.headers["accept-language"] = BROWSERS["sv"]
    web.login("s1")
    assert TODAY["sv"] in web.client.get("/capture/p1").text
    page = web.client.get("/capture/p1/step").text
    assert 'action="/language"' in page
    assert '<option value="da" lang="da">Dansk</option>' in page
    assert '<option value="sv" lang="sv" selected>Svenska</option>' in page
    chosen = web.client.post(
        "/language", data={"lang": "da", "back": "/capture/p1/step"}, follow_redirects=False
    )
    assert chosen.status_code == 303
    assert chosen.headers["location"] == "/capture/p1/step"
    cookie = chosen.headers["set-cookie"]
    assert cookie.startswith("peerlog_lang=da;")
    assert "Max-Age=31536000" in cookie
    assert "HttpOnly" in cookie
    # The choice wins over the browser's language, on every page after.
    assert TODAY["da"] in web.client.get("/capture/p1").text
    assert (
        '<option value="da" lang="da" selected>Dansk</option>'
        in web.client.get("/capture/p1/step").text
    )
    # A language peerlog does not speak changes nothing; nor is anyone sent to another site.
    refused = web.client.post(
        "/language", data={"lang": "de", "back": "//elsewhere.example/x"}, follow_redirects=False
    )
    assert refused.headers["location"] == "/dashboard"
    assert "set-cookie" not in refused.headers
    assert TODAY["da"] in web.client.get("/capture/p1").text


@pytest.mark.parametrize("language", ["sv", "da"])
def test_the_audit_page_body_in_the_browsers_language(web: Web, language: str) -> None:
    web.client.headers["accept-language"] = BROWSERS[language]
    web.login("examiner")
    response = web.client.get("/dashboard/students/s1/audit", params={"course": "vfu-1"})
    assert response.status_code == 200
    body = response.text.split('<main id="main"', 1)[1].split("</main>", 1)[0]
    body = body.split(">", 1)[1]
    # The dashboard's own headings are translated with the dashboard; the audit's body here.
    section = body[body.index('<p class="lead">') : body.index('<p class="source"')]
    assert "<h2>Integritet</h2>" in section
    left = english_left(shown_text(section), language, _data(web))
    assert not left, left


def test_an_error_names_the_same_rule_in_every_language_with_its_message_translated(
    web: Web,
) -> None:
    step = web.placement.step("st1", session_id="nope")
    del step["actor"]
    bodies = {}
    for language, header in (("en", "en"), *BROWSERS.items()):
        response = web.post("s1", "/api/commands", json=step, headers={"accept-language": header})
        assert response.status_code == 422
        assert response.headers["content-language"] == language
        bodies[language] = response.json()
    # Keys, command, field and rule are the same in every language; the message is not.
    shape = {k: v for k, v in bodies["en"].items() if k != "errors"}
    for language, body in bodies.items():
        assert {k: v for k, v in body.items() if k != "errors"} == shape
        assert [(e["field"], e["rule"]) for e in body["errors"]] == [
            ("session_id", "unknown_session")
        ], language
    messages = {language: body["errors"][0]["message"] for language, body in bodies.items()}
    assert messages == {
        "en": "pair p1 has no session 'nope'; open it with open_session",
        "sv": "paret p1 har inget pass 'nope'; öppna det med open_session",
        "da": "parret p1 har ingen vagt 'nope'; åbn den med open_session",
    }


DASHBOARD = {
    "sup1": ["/dashboard", "/dashboard/pairs/p1", "/dashboard/students/s1?course=vfu-1"],
    "coord": ["/dashboard", "/dashboard/courses/vfu-1", "/dashboard/students/s2?course=vfu-1"],
    "examiner": ["/dashboard", "/dashboard/students/s1/audit?course=vfu-1"],
    "s1": ["/dashboard", "/dashboard/pairs/p1", "/dashboard/pairs/nope"],
}
"""Every kind of dashboard page, for the readers who see it (and one they may not see)."""


@pytest.mark.parametrize("language", ["sv", "da"])
def test_every_dashboard_page_in_the_browsers_language(web: Web, language: str) -> None:
    data = _data(web) | record_texts(web.app, ["course/vfu-2", "pair/p2"])
    web.client.headers["accept-language"] = BROWSERS[language]
    login = web.client.get("/login")
    assert not english_left(shown_text(login.text), language, data)
    for who, pages in DASHBOARD.items():
        web.login(who)
        for page in pages:
            response = web.client.get(page)
            assert response.status_code in {200, 403}, (who, page)
            assert f'<html lang="{language}">' in response.text
            left = english_left(shown_text(response.text), language, data)
            assert not left, (who, page, left)
        web.client.post("/logout")


def test_the_overview_counts_pairs_in_the_plural_forms_of_the_language(web: Web) -> None:
    from peerlog import i18n
    from peerlog.web.pages import render_page

    def lead(language: str, pairs: int, flagged: int) -> str:
        del pairs  # no pairs on the page: the count of those that need attention varies
        with i18n.speaking(language):
            html = render_page(
                "overview.html",
                {"scope": None, "pairs": [], "flagged": flagged, "lag": 0, "courses": []},
            )
        found = re.search(r'<p class="lead">(.*?)</p>', html, re.DOTALL)
        assert found
        return re.sub(r"<[^>]+>", "", found.group(1))

    assert [lead("en", 0, n) for n in (0, 1, 2)] == [
        "0 pairs, 0 need attention.",
        "0 pairs, 1 needs attention.",
        "0 pairs, 2 need attention.",
    ]
    assert [lead("sv", 0, n) for n in (0, 1, 2)] == [
        "0 par, 0 behöver uppmärksamhet.",
        "0 par, 1 behöver uppmärksamhet.",
        "0 par, 2 behöver uppmärksamhet.",
    ]
    assert [lead("da", 0, n) for n in (0, 1, 2)] == [
        "0 par, 0 kræver opmærksomhed.",
        "0 par, 1 kræver opmærksomhed.",
        "0 par, 2 kræver opmærksomhed.",
    ]


def test_pairs_are_counted_in_the_plural_forms_of_the_language() -> None:
    from peerlog import i18n

    words = {}
    for language in ("en", "sv", "da"):
        with i18n.speaking(language):
            words[language] = [
                re.sub(
                    r"<[^>]+>",
                    "",
                    i18n.ngettext(
                        '<span id="pair-count">%(count)s</span> pair',
                        '<span id="pair-count">%(count)s</span> pairs',
                        n,
                    )
                    % {"count": n},
                )
                for n in (0, 1, 2)
            ]
    assert words == {
        "en": ["0 pairs", "1 pair", "2 pairs"],
        "sv": ["0 par", "1 par", "2 par"],
        "da": ["0 par", "1 par", "2 par"],
    }
