"""A real OpenID Connect provider for the tests: npm's ``oidc-provider`` on a free
loopback port, run by ``tests/oidc/provider.mjs`` (``make oidc`` installs it).

The test makes the provider's signing key, so it can also sign tokens as the provider
would (expired ones, ones for another audience) and tell them from forgeries. Without
Node.js or the installed package the tests that need a provider are skipped, unless
``PEERLOG_REQUIRE_OIDC`` is set (as CI does): then they fail.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx2
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.web.server import free_port

OIDC_DIR = Path(__file__).resolve().parents[1] / "oidc"
SCRIPT = OIDC_DIR / "provider.mjs"
REQUIRE_OIDC = os.environ.get("PEERLOG_REQUIRE_OIDC", "") not in ("", "0")
CLIENT_ID = "peerlog"
START_SECONDS = 30.0
ACCOUNTS: dict[str, dict[str, Any]] = {
    "sup": {"email": "sup@region.example", "email_verified": True, "staff_id": "sup"},
    "sup1": {"email": "sup1@region.example", "email_verified": True, "staff_id": "sup1"},
    "coord": {"email": "coord@region.example", "email_verified": True, "staff_id": "coord"},
    "stranger": {"email": "stranger@region.example", "email_verified": True},
}
"""The provider's people (its login names are their ``sub``): the tests' records know
"sup", "sup1" and "coord"; none knows "stranger"."""


def node_or_skip() -> str:
    node = shutil.which("node")
    missing = None
    if node is None:
        missing = "Node.js is not installed"
    elif not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        missing = f"oidc-provider is not installed in {OIDC_DIR} (make oidc installs it)"
    if missing:
        if REQUIRE_OIDC:
            pytest.fail(f"PEERLOG_REQUIRE_OIDC is set, but {missing}")
        pytest.skip(f"{missing}; set PEERLOG_REQUIRE_OIDC=1 to make this a failure")
    assert node is not None
    return node


@dataclass
class Provider:
    issuer: str
    key: RSAKey
    client_secret: str
    process: subprocess.Popen[bytes]
    client_id: str = CLIENT_ID

    def settings(self, **more: str) -> dict[str, str]:
        return {
            "PEERLOG_OIDC_ISSUER": self.issuer,
            "PEERLOG_OIDC_CLIENT_ID": self.client_id,
            "PEERLOG_OIDC_CLIENT_SECRET": self.client_secret,
            "PEERLOG_OIDC_NAME": "Region Example",
            **more,
        }

    def sign(self, claims: dict[str, Any], key: RSAKey | None = None) -> str:
        """An id token signed with the provider's key (or another, naming the same kid)."""
        header = {"alg": "RS256", "kid": self.key.kid}
        return jwt.encode(header, claims, key or self.key)

    def claims(self, nonce: str, **changes: Any) -> dict[str, Any]:
        """The claims of a sound id token for ``sup``, with changes."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": "sup",
            "aud": self.client_id,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
        }
        claims.update(changes)
        return claims


@contextmanager
def running_provider(folder: Path, redirect_uris: Sequence[str]) -> Iterator[Provider]:
    """Start the provider with one client (peerlog, confidential, PKCE required) that
    may send people back to ``redirect_uris``; stop it afterwards."""
    node = node_or_skip()
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    key = RSAKey.generate_key(2048, parameters={"kid": "test-1", "alg": "RS256", "use": "sig"})
    client_secret = secrets.token_urlsafe(24)
    config = {
        "issuer": issuer,
        "port": port,
        "cookie_key": secrets.token_urlsafe(24),
        "jwks": {"keys": [key.as_dict(private=True)]},
        "accounts": ACCOUNTS,
        "clients": [
            {
                "client_id": CLIENT_ID,
                "client_secret": client_secret,
                "redirect_uris": list(redirect_uris),
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "client_secret_basic",
            }
        ],
    }
    config_file = folder / "oidc-provider.json"
    config_file.write_text(json.dumps(config))
    log = folder / "oidc-provider.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [node, str(SCRIPT), str(config_file)],
            cwd=OIDC_DIR,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"oidc-provider ended ({process.returncode}): {log.read_text()}")
            try:
                found = httpx2.get(issuer + "/.well-known/openid-configuration", timeout=2)
                if found.status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"oidc-provider did not answer in time: {log.read_text()}")
            time.sleep(0.1)
        yield Provider(issuer, key, client_secret, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def sign_in_at_provider(authorize_url: str, login: str, redirect_uri: str) -> str:
    """Go through the provider's sign-in as a person would (its development login form,
    any password, then its consent form): the URL it sends the browser back to."""
    with httpx2.Client(timeout=10) as browser:
        url = authorize_url
        for _ in range(20):
            if url.startswith(redirect_uri):
                return url
            response = browser.get(url)
            if response.is_redirect:
                url = urljoin(url, response.headers["location"])
                continue
            assert response.status_code == 200, response.text
            path = urlsplit(url).path
            form = (
                {"prompt": "login", "login": login, "password": "anything"}
                if 'name="login"' in response.text
                else {"prompt": "consent"}
            )
            posted = browser.post(urljoin(url, path), data=form)
            assert posted.is_redirect, posted.text
            url = urljoin(url, posted.headers["location"])
    msg = f"the provider did not send the browser back to {redirect_uri}"
    raise AssertionError(msg)


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
