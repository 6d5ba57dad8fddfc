"""``peerlog serve --log-format json``: every line one JSON object, request lines with
method, path (no query), status, duration and process id; and no token, cookie, code,
id token or personal text in any line, whether people log in with a token or through
the identity provider (a real one, on loopback), on one process or several."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest

from peerlog.web import Tokens
from tests.conftest import Store
from tests.support import Placement
from tests.web.oidc import running_provider, sign_in_at_provider
from tests.web.server import free_port, serve

TEXTS = ["Eva Svensson", "19121212-1212", "Hand hygiene before and after"]


def _cookie(response: httpx2.Response, name: str) -> str:
    """A cookie's value from Set-Cookie (the client keeps no Secure cookie over http)."""
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(name + "="):
            return header.split(";")[0].split("=", 1)[1]
    msg = f"no {name} cookie in {response.headers}"
    raise AssertionError(msg)


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_json_lines_hold_no_secret_and_no_personal_text(
    store: Store, tmp_path: Path, workers: int
) -> None:
    if workers > 1 and store.kind != "postgres":
        pytest.skip("several workers serve PostgreSQL only (SQLite is refused)")
    app = store.open()
    placement = Placement(app).seed()
    _, secret = Tokens.of(app).create("s1", "student")
    app.close()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    callback = url + "/login/sso/callback"
    log = tmp_path / "serve.log"
    seen: list[str] = []
    with (
        running_provider(tmp_path, [callback]) as provider,
        serve(
            {**store.env, **provider.settings()},
            log,
            "--log-format",
            "json",
            "--workers",
            str(workers),
            port=port,
        ) as server,
        httpx2.Client(base_url=server.url, timeout=20) as client,
    ):
        seen.append(provider.client_secret)
        bearer = {"Authorization": f"Bearer {secret}"}
        assert client.get("/api/me", params={"token": secret}).status_code == 401
        client.get("/api/pairs", params={"course": TEXTS[0], "note": TEXTS[1]}, headers=bearer)
        client.get(f"/api/students/{TEXTS[0]}/audit", headers=bearer)
        for n, text in enumerate(TEXTS):
            sent = client.post(
                "/api/commands", json=placement.step(f"st{n}", note=text), headers=bearer
            )
            # The identity number is refused (and its refusal names it to the client only).
            assert sent.status_code == (422 if text == TEXTS[1] else 201), sent.text
        # A token login and its session.
        login = client.post("/login", data={"token": secret}, headers={"Origin": server.url})
        assert login.status_code == 303, login.text
        session = _cookie(login, "peerlog_session")
        seen.append(session)
        page = client.get("/dashboard", headers={"Cookie": f"peerlog_session={session}"})
        assert page.status_code == 200
        # A sign-in through the provider: the attempt's cookie, the state, nonce and
        # code in URLs, the session it gives.
        started = client.get("/login/sso")
        assert started.status_code == 303
        attempt = _cookie(started, "peerlog_sso_attempt")
        back = sign_in_at_provider(started.headers["location"], "sup1", callback)
        query = httpx2.URL(back).params
        seen += [attempt, query["code"], query["state"]]
        answer = client.get(back, headers={"Cookie": f"peerlog_sso_attempt={attempt}"})
        assert answer.status_code == 200, answer.text
        sso_session = _cookie(answer, "peerlog_session")
        seen.append(sso_session)
        page = client.get("/dashboard", headers={"Cookie": f"peerlog_session={sso_session}"})
        assert page.status_code == 200
        assert "sup1" in page.text
        assert server.stop() in {0, -15}

    lines = log.read_text().splitlines()
    parsed = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all(isinstance(p, dict) for p in parsed)
    assert all({"time", "level", "message", "pid"} <= p.keys() for p in parsed)
    requests = [p for p in parsed if "status" in p]
    assert {(p["method"], p["path"], p["status"]) for p in requests} >= {
        ("GET", "/api/me", 401),
        ("POST", "/api/commands", 201),
        ("POST", "/api/commands", 422),
        ("GET", "/api/students/*/audit", 422),
        ("POST", "/login", 303),
        ("GET", "/login/sso", 303),
        ("GET", "/login/sso/callback", 200),
        ("GET", "/dashboard", 200),
    }
    assert all(isinstance(p["duration_ms"], float) for p in requests)
    assert all("?" not in p["path"] and "?" not in p["message"] for p in requests)
    pids = {p["pid"] for p in requests}
    assert len(pids) <= workers
    followers = [p for p in parsed if "follows the record: it keeps" in p["message"]]
    assert len(followers) == 1
    text = log.read_text()
    for needle in [secret, secret[4:20], *seen, *(s[4:20] for s in seen), *TEXTS, "Svensson"]:
        assert needle not in text, needle
    assert "Traceback" not in text


def test_several_workers_on_sqlite_are_refused(tmp_path: Path) -> None:
    import subprocess

    from peerlog import PeerLog
    from tests.web.server import PEERLOG

    url = f"sqlite:///{tmp_path / 'one.sqlite3'}"
    PeerLog({"PEERLOG_DATABASE_URL": url}).close()  # the record exists (serve only reads)
    done = subprocess.run(
        [PEERLOG, "--db", url, "serve", "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--workers 2 needs PostgreSQL" in done.stderr
    assert "Traceback" not in done.stderr
