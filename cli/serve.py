"""``peerlog serve``: the HTTP API and the supervisor dashboard, on the record.

With ``--workers N`` (PostgreSQL), uvicorn runs N worker processes on one socket, each
with the application made by :func:`worker_app` from the settings this command puts in
the environment (``PEERLOG_SERVE_*``, beside ``PEERLOG_DATABASE_URL``). Of them, one
follows the record (:meth:`peerlog.web.services.Services.start`).
"""

from __future__ import annotations

import logging
import os
from typing import Final

import click
import uvicorn
from fastapi import FastAPI

from peerlog import PeerLog
from peerlog.cli.session import Session, pass_session
from peerlog.folding import pause_while_folding
from peerlog.i18n import _, ngettext, ngettext_noop
from peerlog.persistence.config import DATABASE_URL
from peerlog.persistence.postgres import PostgresDatastore
from peerlog.web import create_app
from peerlog.web.logs import JsonFormatter, log_config

FOLLOW_SETTING: Final = "PEERLOG_SERVE_FOLLOW"
REQUEST_LOG_SETTING: Final = "PEERLOG_SERVE_REQUEST_LOG"


def worker_app() -> FastAPI:
    """The application of one worker process (uvicorn calls it in each)."""
    follow = os.environ.get(FOLLOW_SETTING, "1") == "1"
    request_log = os.environ.get(REQUEST_LOG_SETTING, "0") == "1"
    return create_app(PeerLog(), follow=follow, request_log=request_log, owns_services=True)


def _on_postgres(app: PeerLog) -> bool:
    return isinstance(getattr(app.store, "datastore", None), PostgresDatastore)


@click.command("serve", short_help="Serve the HTTP API and the supervisor dashboard.")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="The port."
)
@click.option(
    "--follow/--no-follow",
    default=True,
    show_default=True,
    help="Keep the read models up to date in this server (--no-follow: another process "
    "runs 'peerlog projections run --follow').",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Worker processes answering requests (PostgreSQL only); one of them follows the record.",
)
@click.option(
    "--access-log/--no-access-log",
    default=True,
    show_default=True,
    help="Log each request's method, path and status (only the parts of a path that "
    "read like ids, the names of query parameters but not their values; never a token, "
    "a cookie or a text).",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one JSON object a line (time, level, message, process id; for a "
    "request its method, path without the query, status and duration in ms).",
)
@pass_session
def serve_command(
    session: Session,
    /,
    *,
    host: str,
    port: int,
    follow: bool,
    workers: int,
    access_log: bool,
    log_format: str,
) -> None:
    """Serve the HTTP API and the supervisor dashboard until Ctrl-C (or SIGTERM).

    The API is under /api (its OpenAPI description at /openapi.json); the dashboard
    at /dashboard, where one logs in with an API token, or signs in through the
    institution's identity provider when single sign-on is set up (PEERLOG_OIDC_*,
    see docs/operations.md). Every request but /health needs a token or a session:
    make a token with 'peerlog tokens create'. With --follow (the default) new events
    reach the dashboard within a second. See docs/http.md.

    With --workers N, N processes answer requests on the same port (on PostgreSQL;
    SQLite takes one writer at a time and is served by one process). One of them
    keeps the read models and the Merkle tree up to date; if it ends, another takes
    over.

    The login cookie is sent over HTTPS only (and to localhost): serve on 127.0.0.1
    behind an HTTPS proxy, or open the dashboard on the same computer.

    \b
    Example:
      peerlog serve
      peerlog serve --host 127.0.0.1 --port 8080 --no-follow
      peerlog serve --workers 4 --log-format json
    """
    json_lines = log_format == "json"
    config = log_config(json_lines=json_lines, access_log=access_log)
    options = {
        "host": host,
        "port": port,
        "log_level": "info" if access_log or json_lines else "warning",
        "log_config": config,
        # JSON request lines come from peerlog's own middleware (with the duration).
        "access_log": access_log and not json_lines,
        "server_header": False,
    }
    session.must_exist()
    app = session.app()
    if workers > 1 and not _on_postgres(app):
        raise click.UsageError(
            _(
                "--workers %(workers)s needs PostgreSQL: %(where)s is SQLite, which takes "
                "one writer at a time; serve it with one process (--workers 1)"
            )
            % {"workers": workers, "where": session.where}
        )
    serving = ngettext_noop(
        "serving %(where)s on %(url)s with %(workers)s process "
        "(dashboard /dashboard, API /api, OpenAPI /openapi.json); Ctrl-C stops",
        "serving %(where)s on %(url)s with %(workers)s processes "
        "(dashboard /dashboard, API /api, OpenAPI /openapi.json); Ctrl-C stops",
    )
    values = {"where": session.where, "url": f"http://{host}:{port}/", "workers": workers}
    if json_lines:
        # A log line: in English, as every log line is.
        english = serving[0] if workers == 1 else serving[1]
        record = logging.LogRecord(
            __name__, logging.INFO, __file__, 0, english % values, None, None
        )
        told = JsonFormatter().format(record)
    else:
        told = ngettext(*serving, workers) % values
    click.echo(told, err=True)
    if workers > 1:
        if session.db:
            os.environ[DATABASE_URL] = session.db
        os.environ[FOLLOW_SETTING] = "1" if follow else "0"
        os.environ[REQUEST_LOG_SETTING] = "1" if json_lines and access_log else "0"
        uvicorn.run(
            "peerlog.cli.serve:worker_app",
            factory=True,
            workers=workers,
            **options,  # type: ignore[arg-type]
        )
        return
    pause_while_folding(enabled=False)  # the server's threads fold beside each other
    web = create_app(app, follow=follow, request_log=json_lines and access_log)
    try:
        uvicorn.run(web, **options)  # type: ignore[arg-type]
    finally:
        web.state.services.close()
