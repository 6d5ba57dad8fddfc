"""A client of a learning record store's Statements API (xAPI), over one kept-alive
HTTP connection, with basic authentication.

Credentials never reach a message: :attr:`LrsClient.where` is the endpoint without them.
"""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode, urljoin, urlsplit

from peerlog.i18n import lazy

USERNAME: Final = "PEERLOG_XAPI_LRS_USERNAME"
PASSWORD: Final = "PEERLOG_XAPI_LRS_PASSWORD"
TIMEOUT_SECONDS: Final = 30.0
REASON_CHARS: Final = 300


class LrsError(Exception):
    """The store could not be reached, or answered in a way that is not about one
    statement (wrong credentials, a server error)."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return self.status in (200, 204)

    def reason(self) -> str:
        """What the store said was wrong, without echoing what was sent (a validation
        error's input may hold a statement's content)."""
        detail = self.body.get("detail") if isinstance(self.body, dict) else self.body
        if isinstance(detail, list):
            parts = []
            for item in detail:
                if isinstance(item, dict):
                    where = ".".join(str(p) for p in item.get("loc", ()))
                    parts.append(f"{where}: {item.get('msg', '')}".strip(": "))
            detail = "; ".join(parts)
        text = " ".join(str(detail or "").split())
        return text[:REASON_CHARS] or f"HTTP {self.status}"


def statements_url(url: str) -> str:
    """The Statements resource of an LRS endpoint (``https://lrs/xAPI/`` or its
    ``.../statements``)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        msg = lazy(
            "the LRS must be an http(s) URL such as https://lrs.example.edu/xAPI/, not %(url)s",
            url=repr(describe(url)),
        )
        raise ValueError(msg)
    path = parts.path.rstrip("/")
    if not path.endswith("/statements"):
        path += "/statements"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{path}"


def describe(url: str) -> str:
    """The URL without user name or password, for messages and the tracking table."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class LrsClient:
    """POSTs statements and GETs them back, following ``more`` links."""

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        version: str = "1.0.3",
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        parts = urlsplit(url)
        username = username if username is not None else parts.username
        password = password if password is not None else parts.password
        self.url = statements_url(url)
        self.where = describe(self.url)
        split = urlsplit(self.url)
        self._scheme = split.scheme
        self._host = split.hostname or ""
        self._port = split.port
        self._path = split.path
        self._timeout = timeout
        self._headers = {
            "Content-Type": "application/json",
            "X-Experience-API-Version": version,
        }
        if username:
            token = base64.b64encode(f"{username}:{password or ''}".encode()).decode()
            self._headers["Authorization"] = f"Basic {token}"
        self._conn: http.client.HTTPConnection | None = None

    @classmethod
    def from_settings(cls, url: str, settings: Mapping[str, str], version: str) -> LrsClient:
        return cls(
            url,
            username=settings.get(USERNAME) or None,
            password=settings.get(PASSWORD) or None,
            version=version,
        )

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            kind = (
                http.client.HTTPSConnection
                if self._scheme == "https"
                else http.client.HTTPConnection
            )
            self._conn = kind(self._host, self._port, timeout=self._timeout)
        return self._conn

    def request(self, method: str, target: str, body: bytes | None = None) -> Answer:
        """One request; a connection that the server closed is opened again once."""
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, target, body=body, headers=self._headers)
                response = conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt == 2:
                    raise
                continue
            except (OSError, http.client.HTTPException):
                self.close()
                raise
            if response.getheader("connection", "").lower() == "close":
                self.close()
            try:
                parsed = json.loads(data) if data else None
            except ValueError:
                parsed = data.decode("utf-8", "replace")
            return Answer(response.status, parsed)
        msg = "unreachable"  # pragma: no cover - the loop returns or raises
        raise AssertionError(msg)

    def post(self, statements: list[dict[str, Any]]) -> Answer:
        """POST statements (one request, which the store takes or refuses whole)."""
        body = json.dumps(statements, ensure_ascii=False, separators=(",", ":")).encode()
        return self.request("POST", self._path, body)

    def query(self, **params: str) -> Iterator[dict[str, Any]]:
        """Every statement a GET with these parameters returns, page after page."""
        target = self._path + (f"?{urlencode(params)}" if params else "")
        while True:
            answer = self.request("GET", target)
            if answer.status != 200 or not isinstance(answer.body, dict):
                msg = lazy(
                    "the LRS at %(lrs)s answered a query with %(status)s: %(reason)s",
                    lrs=self.where,
                    status=answer.status,
                    reason=answer.reason(),
                )
                raise LrsError(msg)
            yield from answer.body.get("statements", [])
            more = answer.body.get("more")
            if not more:
                return
            target = urlsplit(urljoin(self.url, more))._replace(scheme="", netloc="").geturl()
