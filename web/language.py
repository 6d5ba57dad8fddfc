"""The language of a request: the one chosen on a page (remembered in a cookie), else
the browser's (``Accept-Language``), else English. Pages, and the ``message`` of JSON
errors, are in it; JSON keys and rule codes are the same in every language.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Annotated, Any, Final

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse

from peerlog import i18n

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

YEAR: Final = 365 * 24 * 3600

router = APIRouter(include_in_schema=False)


def of_headers(headers: list[tuple[bytes, bytes]]) -> str:
    """The language a request asks for, by its cookie, else its ``Accept-Language``."""
    found = {name.lower(): value.decode("latin-1") for name, value in headers}
    cookie = SimpleCookie()
    try:
        cookie.load(found.get(b"cookie", ""))
    except Exception:  # noqa: BLE001 - a malformed cookie header names no language
        cookie = SimpleCookie()
    chosen = cookie.get(i18n.COOKIE)
    if chosen is not None and chosen.value in i18n.LANGUAGES:
        return chosen.value
    return i18n.negotiate(found.get(b"accept-language"))


class Language:
    """Sets the language of each HTTP request for the handlers it reaches, and names it
    in the response (``Content-Language``; ``Vary`` on what chose it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chosen = of_headers(scope.get("headers") or [])

        async def named(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                headers.append((b"content-language", chosen.encode()))
                headers.append((b"vary", b"Accept-Language, Cookie"))
                message["headers"] = headers
            await send(message)

        with i18n.speaking(chosen):
            await self.app(scope, receive, named)


def _local(path: str) -> str:
    """Where to go back to: a path of this server, never another site."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/dashboard"
    return path


@router.post("/language")
def choose(
    lang: Annotated[str, Form(max_length=8)],
    back: Annotated[str, Form(max_length=2000)] = "/dashboard",
) -> RedirectResponse:
    """The language chosen on a page, remembered for a year in this browser."""
    response = RedirectResponse(_local(back), status_code=303)
    if lang in i18n.LANGUAGES:
        response.set_cookie(
            i18n.COOKIE, lang, max_age=YEAR, httponly=True, secure=True, samesite="lax"
        )
    return response
