"""The web application: the HTTP API and the supervisor dashboard on one record.

``create_app(peerlog)`` makes the ASGI application (FastAPI); ``peerlog serve`` runs it
with uvicorn, with a follower thread that keeps the read models up to date. Errors a
client can cause are JSON in one shape (:mod:`peerlog.web.errors`) on the API and a
page on the dashboard, never a traceback; nothing personal and no token is logged.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Final

from eventsourcing.persistence import PersistenceError
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from peerlog import CommandRejected, PeerLog, __version__
from peerlog.i18n import lazy
from peerlog.persistence.base import failure_summary
from peerlog.projections import NotInRecord, Thresholds
from peerlog.web import api, capture, language, pages, schemas
from peerlog.web.api import MAX_BODY_BYTES
from peerlog.web.auth import api_token
from peerlog.web.errors import ApiError, status_of
from peerlog.web.headers import with_security_headers
from peerlog.web.logs import loggable_path, request_line
from peerlog.web.schemas import command_schemas
from peerlog.web.services import Services
from peerlog.web.tokens import Token

logger = logging.getLogger(__name__)

DESCRIPTION: Final = """\
The learning record of peer learning in clinical placements, over HTTP.

Send a token with every request (`Authorization: Bearer plg_...`), made with
`peerlog tokens create ACTOR --role ROLE`. Commands are the contract's
(docs/CONTRACT); errors name the command, the field and the rule.
See docs/http.md for the roles and what each may do.
"""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _too_large() -> JSONResponse:
    return JSONResponse(
        ApiError(
            413,
            "",
            "too_large",
            lazy(
                "a request body is at most %(MAX_BODY_BYTES)s bytes",
                MAX_BODY_BYTES=f"{MAX_BODY_BYTES:,}",
            ),
        ).as_dict(),
        status_code=413,
    )


class Guard:
    """Security headers on every response; no request body over the limit, however it
    is sent (the bytes are counted as they arrive, so a chunked body is refused as
    soon as it passes the limit, never read whole); and no error that escapes a handler
    reaches a log with more than its type and where it happened."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = self._with_headers(send, scope)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            await _too_large()(scope, receive, send)
            return
        body = await self._read_body(receive)
        if body is None:
            await _too_large()(scope, receive, send)
            return
        started = False

        async def replay() -> Message:
            nonlocal body
            if body is not None:
                message: Message = {"type": "http.request", "body": body, "more_body": False}
                body = None
                return message
            return await receive()

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, replay, tracked)
        except Exception as exc:  # noqa: BLE001 - every error a handler lets escape
            # The message of an unexpected error may hold what the client sent: the log
            # gets its type and where it was raised, the client a plain 500.
            logger.error(  # noqa: TRY400 - a traceback would carry the values
                "internal error answering %s %s: %s",
                scope.get("method"),
                loggable_path(str(scope.get("path", ""))),
                _where(exc),
            )
            if not started:
                error = ApiError(500, "", "internal_error", lazy("something went wrong; try again"))
                await JSONResponse(error.as_dict(), status_code=500)(scope, receive, send)

    @staticmethod
    async def _read_body(receive: Receive) -> bytes | None:
        """The request body, counted while it arrives: None once it passes the limit
        (the rest is not read; the server discards it)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    @staticmethod
    def _with_headers(send: Send, scope: Scope) -> Send:
        private = not str(scope.get("path", "")).startswith("/static/")

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = with_security_headers(message.get("headers") or [])
                if private:
                    # Pages and answers hold personal data: no cache keeps them.
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        return wrapped


class RequestLog:
    """A log line for each request (:func:`peerlog.web.logs.request_line`): method,
    path without its query, status and how long the answer took."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def tracked(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        finally:
            request_line(
                str(scope.get("method", "")),
                str(scope.get("path", "")),
                status,
                time.perf_counter() - started,
            )


def _where(exc: BaseException) -> str:
    """An exception's type and the file and line it was raised at (never its message)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__name__
    last = frames[-1]
    return f"{type(exc).__name__} at {Path(last.filename).name}:{last.lineno}"


def _wants_html(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith("/api/") or path in {"/health", "/openapi.json"})


def _error(request: Request, status: int, body: dict[str, Any], headers: Any = None) -> Response:
    if _wants_html(request):
        return pages.error_page(request, status, body, headers)
    return JSONResponse(body, status_code=status, headers=headers)


def _install_handlers(app: FastAPI) -> None:
    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return _error(request, exc.status, exc.as_dict(), exc.headers)

    async def rejected(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, CommandRejected)
        return _error(request, status_of(exc), exc.as_dict())

    async def not_in_record(request: Request, exc: Exception) -> Response:
        return _error(
            request,
            404,
            ApiError(404, "", "not_in_record", exc.args[0] if exc.args else str(exc)).as_dict(),
        )

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = []
        for detail in exc.errors():
            loc = [str(part) for part in detail.get("loc", ())]
            errors.append(
                {
                    "field": ".".join(loc),
                    "rule": str(detail.get("type", "invalid")),
                    "message": str(detail.get("msg", "is not valid")),
                }
            )
        return _error(request, 422, {"command": None, "errors": errors})

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        rule = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        body = ApiError(exc.status_code, "", rule, str(exc.detail)).as_dict()
        return _error(request, exc.status_code, body, exc.headers)

    async def unavailable(request: Request, exc: Exception) -> Response:
        # The first line of the store's message names the store and the problem.
        logger.warning("the store is unavailable: %s", failure_summary(exc))
        body = ApiError(
            503, "", "store_unavailable", lazy("the record cannot be reached just now; try again")
        ).as_dict()
        return _error(request, 503, body, {"Retry-After": "5"})

    async def login_required(request: Request, exc: Exception) -> Response:
        del request, exc
        return RedirectResponse("/login", status_code=303)

    app.add_exception_handler(pages.LoginRequired, login_required)
    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(CommandRejected, rejected)
    app.add_exception_handler(NotInRecord, not_in_record)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(PersistenceError, unavailable)


def _openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            command, definitions = command_schemas()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(definitions)
            components["Command"] = command
            # The batch body is read by the handler (so that each item is judged on
            # its own, however it is broken): its shape is described here.
            batch = schemas.BatchIn.model_json_schema()
            batch["properties"]["commands"]["items"] = {
                "type": "object",
                "description": "A command (see Command); judged on its own.",
            }
            components["BatchIn"] = batch
            app.openapi_schema = schema
        return app.openapi_schema

    return build


def create_app(
    peerlog: PeerLog,
    *,
    follow: bool = False,
    thresholds: Thresholds | None = None,
    services: Services | None = None,
    request_log: bool = False,
    owns_services: bool = False,
) -> FastAPI:
    """The web application on a record. With ``follow``, it keeps the read models up to
    date while it runs (a thread, started and stopped with the application); with
    ``request_log``, it logs each request (:class:`RequestLog`); with
    ``owns_services``, it closes the record when it shuts down (a worker process's
    application does)."""
    found = services or Services.of(peerlog, follow=follow)
    if thresholds is not None:
        found.thresholds = thresholds

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        found.start()
        try:
            yield
        finally:
            if owns_services:
                found.close()
            else:
                found.stop()

    app = FastAPI(
        title="peerlog",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served below, to token holders only
    )
    app.state.services = found
    _install_handlers(app)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(capture.router)
    app.include_router(language.router)
    static = resources.files("peerlog.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static), follow_symlink=True), name="static")
    app.openapi = _openapi(app)  # type: ignore[method-assign]

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(token: Annotated[Token, Depends(api_token)]) -> JSONResponse:
        """The API's description, for those who hold a token (like every endpoint but
        /health)."""
        del token
        return JSONResponse(app.openapi())

    app.add_middleware(language.Language)
    app.add_middleware(Guard)
    if request_log:
        app.add_middleware(RequestLog)
    return app
