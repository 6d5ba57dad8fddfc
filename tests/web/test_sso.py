"""Single sign-on through a real OpenID Connect provider (npm's oidc-provider, started
on loopback by the tests), on SQLite and PostgreSQL: people the record knows get a
session in the role the record gives them; a person it does not know, an answer
replayed, an id token forged, expired, for another audience or issuer, or with the
nonce of another sign-in are refused with a page that says why."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from httpx2 import Response
from joserfc.jwk import RSAKey

from peerlog import PeerLog
from peerlog.persistence.config import ConfigurationError
from peerlog.web.auth import SESSION_COOKIE
from peerlog.web.pages import ATTEMPT_COOKIE
from peerlog.web.sso import SignInRefused, SingleSignOn, SsoSettings
from peerlog.web.tokens import Attempt
from tests.web.conftest import Web
from tests.web.oidc import Provider, query_of, running_provider, sign_in_at_provider
from tests.web.server import free_port, serve
from tests.web.test_browser import ARGS, chromium  # noqa: F401 - a fixture
from tests.web.test_browser import _ward as ward

CALLBACK = "https://testserver/login/sso/callback"


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    with running_provider(tmp_path_factory.mktemp("oidc"), [CALLBACK]) as found:
        yield found


def _set_up(web: Web, provider: Provider, **more: str) -> SingleSignOn:
    settings = SsoSettings.of(provider.settings(**more))
    assert settings is not None
    web.services.sso = SingleSignOn(settings)
    return web.services.sso


def _start(web: Web) -> str:
    response = web.client.get("/login/sso", follow_redirects=False)
    assert response.status_code == 303, response.text
    cookie = response.headers["set-cookie"]
    assert ATTEMPT_COOKIE in cookie
    assert "HttpOnly" in cookie
    assert "Secure" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/login/sso" in cookie
    return str(response.headers["location"])


def _back(web: Web, url: str) -> Response:
    parts = urlsplit(url)
    return web.client.get(f"{parts.path}?{parts.query}", follow_redirects=False)


def _sign_in(web: Web, login: str) -> tuple[Response, str]:
    """Through the provider and back: peerlog's answer, and the URL it was reached by."""
    authorize = _start(web)
    query = query_of(authorize)
    assert query["code_challenge_method"] == "S256"
    assert query["code_challenge"]
    assert query["nonce"]
    assert query["state"]
    back = sign_in_at_provider(authorize, login, CALLBACK)
    return _back(web, back), back


def _refusal(response: Response) -> str:
    assert 'id="refusal"' in response.text, response.text
    assert "Traceback" not in response.text
    return response.text


def test_a_supervisor_signs_in_and_reads_their_pairs(web: Web, provider: Provider) -> None:
    _set_up(web, provider)
    login = web.client.get("/login")
    assert "Sign in with Region Example" in login.text

    answer, _ = _sign_in(web, "sup1")
    assert answer.status_code == 200, answer.text
    cookie = answer.headers.get_list("set-cookie")
    session = next(c for c in cookie if c.startswith(SESSION_COOKIE + "="))
    assert "HttpOnly" in session
    assert "Secure" in session
    assert "SameSite=strict" in session
    assert session.split(";")[0].split("=", 1)[1].startswith("plo_")
    # The attempt's cookie is cleared: the attempt is spent.
    assert any(c.startswith(ATTEMPT_COOKIE + '=""') for c in cookie)

    page = web.client.get("/dashboard")
    assert page.status_code == 200
    assert '<span class="role">supervisor</span>' in page.text
    shown = {part.split('"')[0] for part in page.text.split('data-pair="')[1:]}
    wanted = {p.pair_id for p in web.services.roster.refresh().pairs_where(supervisor="sup1")}
    assert shown == wanted == {"p1"}
    # The session reads as the token of a supervisor would: not pair p2.
    assert web.client.get("/dashboard/pairs/p2").status_code == 403
    assert web.client.get("/dashboard/pairs/p1").status_code == 200


def test_the_role_is_the_records_and_the_claim_is_configured(web: Web, provider: Provider) -> None:
    # Mapped by e-mail address (which the provider gives in its userinfo, not in the
    # id token), its domain taken off.
    _set_up(web, provider, PEERLOG_OIDC_CLAIM="email", PEERLOG_OIDC_DOMAIN="region.example")
    answer, _ = _sign_in(web, "coord")
    assert answer.status_code == 200, answer.text
    page = web.client.get("/dashboard")
    assert '<span class="who">coord <span class="role">coordinator</span>' in page.text
    assert 'data-pair="p2"' in page.text  # a coordinator reads every pair of the course


def test_a_person_the_record_does_not_know_is_refused(web: Web, provider: Provider) -> None:
    _set_up(web, provider)
    answer, _ = _sign_in(web, "stranger")
    assert answer.status_code == 403
    assert "the record does not know you" in _refusal(answer)
    assert SESSION_COOKIE not in answer.headers.get("set-cookie", "").split("=")[0]
    assert web.client.get("/dashboard", follow_redirects=False).headers["location"] == "/login"


def test_an_answer_is_taken_once(web: Web, provider: Provider) -> None:
    _set_up(web, provider)
    answer, back = _sign_in(web, "sup1")
    assert answer.status_code == 200
    web.client.post("/logout")
    # The same answer again (its state, its code) is refused: the attempt is spent.
    again = _back(web, back)
    assert again.status_code == 400
    assert "already used" in _refusal(again)
    # And so it is under a new attempt of the same browser: its state is another.
    _start(web)
    replayed = _back(web, back)
    assert replayed.status_code == 400
    assert "does not belong to this sign-in" in _refusal(replayed)
    assert web.client.get("/dashboard", follow_redirects=False).status_code == 303


def test_signing_out_ends_the_session(web: Web, provider: Provider) -> None:
    _set_up(web, provider)
    answer, _ = _sign_in(web, "sup1")
    assert answer.status_code == 200
    secret = web.client.cookies[SESSION_COOKIE]
    assert web.services.tokens.person_of(secret) == "sup1"
    out = web.client.post("/logout", follow_redirects=False)
    assert out.status_code == 303
    cleared = out.headers["set-cookie"]
    assert cleared.startswith(SESSION_COOKIE + '=""')
    assert "Max-Age=0" in cleared
    # The session is gone from the server, not only from the browser.
    assert web.services.tokens.person_of(secret) is None
    again = web.client.get(
        "/dashboard", follow_redirects=False, headers={"cookie": f"{SESSION_COOKIE}={secret}"}
    )
    assert again.status_code == 303
    assert again.headers["location"] == "/login"


def _unsigned(claims: dict[str, Any]) -> str:
    """A token with "alg": "none" (no signature at all)."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("forged", "its signature was not made with the provider's keys"),
        ("expired", "it has expired"),
        ("audience", "it was issued to another client than this server"),
        ("issuer", "it was issued by another provider than the one configured"),
        ("nonce", "its nonce differs: an answer replayed from another sign-in"),
        ("no nonce", "it has no 'nonce' claim"),
        ("authorized party", "it was issued to another client than this server"),
        ("unsigned", "it is not a valid signed token"),
    ],
)
def test_id_tokens_are_checked(provider: Provider, case: str, expected: str) -> None:
    """Against the provider's own discovery document and published keys."""
    settings = SsoSettings.of(provider.settings())
    assert settings is not None
    sso = SingleSignOn(settings)
    sound = provider.claims("n-1")
    assert sso.check_id_token(provider.sign(sound), "n-1")["sub"] == "sup"
    past = sound["iat"] - 3600
    tokens: dict[str, Any] = {
        "forged": lambda: provider.sign(
            sound, RSAKey.generate_key(2048, parameters={"kid": str(provider.key.kid)})
        ),
        "expired": lambda: provider.sign({**sound, "iat": past, "exp": past + 300}),
        "audience": lambda: provider.sign({**sound, "aud": "another-client"}),
        "issuer": lambda: provider.sign({**sound, "iss": "http://127.0.0.1:1"}),
        "nonce": lambda: provider.sign({**sound, "nonce": "n-0"}),
        "no nonce": lambda: provider.sign({k: v for k, v in sound.items() if k != "nonce"}),
        "authorized party": lambda: provider.sign({**sound, "azp": "another-client"}),
        "unsigned": lambda: _unsigned(sound),
    }
    with pytest.raises(SignInRefused) as refused:
        sso.check_id_token(tokens[case](), "n-1")
    assert refused.value.status == 401
    assert expected in refused.value.message


def test_the_providers_own_answers_are_bound_to_their_attempt(provider: Provider) -> None:
    """A real answer of the provider, taken with another sign-in's nonce or without the
    attempt's PKCE verifier, signs nobody in."""
    settings = SsoSettings.of(provider.settings())
    assert settings is not None
    sso = SingleSignOn(settings)

    def answer() -> tuple[Attempt, dict[str, str]]:
        attempt, url = sso.start(CALLBACK)
        return attempt, query_of(sign_in_at_provider(url, "sup1", CALLBACK))

    def known(person: str) -> bool:
        return person == "sup1"

    attempt, params = answer()
    other = Attempt(attempt.state, "a-nonce-of-another-sign-in", attempt.verifier)
    with pytest.raises(SignInRefused) as refused:
        sso.finish(other, params, CALLBACK, known=known)
    assert "replayed from another sign-in" in refused.value.message

    attempt, params = answer()
    wrong = Attempt(attempt.state, attempt.nonce, "x" * 64)
    with pytest.raises(SignInRefused) as refused:
        sso.finish(wrong, params, CALLBACK, known=known)
    assert refused.value.reason == "code_refused"

    attempt, params = answer()
    assert sso.finish(attempt, params, CALLBACK, known=known) == "sup1"
    # The provider itself takes a code once.
    with pytest.raises(SignInRefused) as refused:
        sso.finish(attempt, params, CALLBACK, known=known)
    assert refused.value.reason == "code_refused"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"PEERLOG_OIDC_ISSUER": "idp.example"}, "issuer URL"),
        ({"PEERLOG_OIDC_ISSUER": "https://idp.example"}, "PEERLOG_OIDC_CLIENT_ID"),
        (
            {
                "PEERLOG_OIDC_ISSUER": "https://idp.example",
                "PEERLOG_OIDC_CLIENT_ID": "peerlog",
                "PEERLOG_OIDC_SCOPES": "email",
            },
            "must include 'openid'",
        ),
    ],
)
def test_settings_that_cannot_work_are_told(settings: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        SsoSettings.of(settings)


def test_without_an_issuer_there_is_no_single_sign_on(web: Web, tmp_path: Path) -> None:
    assert SsoSettings.of({}) is None
    assert web.services.sso is None
    assert "Sign in with" not in web.client.get("/login").text
    assert web.client.get("/login/sso", follow_redirects=False).status_code == 404


def test_signing_in_through_the_provider_in_a_browser(
    chromium: str,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    """Debian's chromium: a supervisor signs in at the provider and sees their pairs;
    signing out ends the session; a person the record does not know is refused."""
    from playwright.sync_api import expect, sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running_provider(tmp_path, [url + "/login/sso/callback"]) as provider:
        env = {"PEERLOG_DATABASE_URL": f"sqlite:///{tmp_path / 'ward.sqlite3'}"}
        app = PeerLog(env)
        ward(app)
        app.close()
        with (
            serve({**env, **provider.settings()}, tmp_path / "serve.log", port=port),
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
            try:
                page = browser.new_page()
                # The provider's development pages ask for a web font: nothing leaves
                # the machine.
                page.route("https://**", lambda route: route.abort())
                page.goto(url + "/dashboard")
                expect(page).to_have_url(url + "/login")
                page.click("#sso")
                expect(page).to_have_url(re.compile(re.escape(provider.issuer) + "/interaction/"))
                page.fill("input[name=login]", "sup")
                page.fill("input[name=password]", "any password")
                page.click("button[type=submit]")
                page.click("button[type=submit]:text('Continue')")  # the provider's consent
                expect(page).to_have_url(url + "/dashboard")
                expect(page.locator(".who")).to_contain_text("sup")
                expect(page.locator(".who .role")).to_have_text("supervisor")
                pairs = page.locator("li.pair")
                expect(pairs).to_have_count(2)
                assert sorted(p.get_attribute("data-pair") or "" for p in pairs.all()) == [
                    "pa",
                    "pb",
                ]
                session = next(c for c in page.context.cookies() if c["name"] == SESSION_COOKIE)
                assert session["httpOnly"] is True
                assert session["sameSite"] == "Strict"

                page.click("form.logout button")
                expect(page).to_have_url(url + "/login")
                assert SESSION_COOKIE not in {c["name"] for c in page.context.cookies()}
                page.goto(url + "/dashboard")
                expect(page).to_have_url(url + "/login")
                # The old session cookie, put back, opens nothing: it ended on the server.
                page.context.add_cookies(
                    [{"name": SESSION_COOKIE, "value": session["value"], "url": url}]
                )
                page.goto(url + "/dashboard")
                expect(page).to_have_url(url + "/login")

                # Someone the provider knows and the record does not.
                stranger = browser.new_page()
                stranger.route("https://**", lambda route: route.abort())
                stranger.goto(url + "/login")
                stranger.click("#sso")
                stranger.fill("input[name=login]", "stranger")
                stranger.fill("input[name=password]", "any password")
                stranger.click("button[type=submit]")
                stranger.click("button[type=submit]:text('Continue')")
                expect(stranger.locator("h1")).to_have_text("Not signed in")
                expect(stranger.locator("#refusal")).to_contain_text("the record does not know you")
                stranger.goto(url + "/dashboard")
                expect(stranger).to_have_url(url + "/login")
            finally:
                browser.close()
