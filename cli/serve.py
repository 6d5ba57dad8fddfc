"""``peerlog serve``: the HTTP API and the supervisor dashboard, on the record."""

from __future__ import annotations

import click
import uvicorn

from peerlog.cli.session import Session, pass_session
from peerlog.web import create_app
from peerlog.web.logs import log_config


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="The port."
)
@click.option(
    "--follow/--no-follow",
    default=True,
    show_default=True,
    help="Keep the read models up to date in this process (--no-follow: another process "
    "runs 'peerlog projections run --follow').",
)
@click.option(
    "--access-log/--no-access-log",
    default=True,
    show_default=True,
    help="Log each request's method, path and status (only the parts of a path that "
    "read like ids, the names of query parameters but not their values; never a token, "
    "a cookie or a text).",
)
@pass_session
def serve_command(
    session: Session, /, *, host: str, port: int, follow: bool, access_log: bool
) -> None:
    """Serve the HTTP API and the supervisor dashboard until Ctrl-C (or SIGTERM).

    The API is under /api (its OpenAPI description at /openapi.json); the dashboard
    at /dashboard, where one logs in with an API token. Every request but /health needs
    a token: make one with 'peerlog tokens create'. With --follow (the default) new
    events reach the dashboard within a second. See docs/http.md.

    The login cookie is sent over HTTPS only (and to localhost): serve on 127.0.0.1
    behind an HTTPS proxy, or open the dashboard on the same computer.

    \b
    Example:
      peerlog serve
      peerlog serve --host 127.0.0.1 --port 8080 --no-follow
    """
    app = create_app(session.app(), follow=follow)
    click.echo(
        f"serving {session.where} on http://{host}:{port}/ "
        f"(dashboard /dashboard, API /api, OpenAPI /openapi.json); Ctrl-C stops",
        err=True,
    )
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level="info" if access_log else "warning",
            log_config=log_config(),
            access_log=access_log,
            server_header=False,
        )
    finally:
        app.state.services.close()
