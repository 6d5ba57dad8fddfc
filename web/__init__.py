"""The web interface (importable as peerlog.web): the HTTP API and the supervisor
dashboard, served by ``peerlog serve``.

* :mod:`~peerlog.web.app`: the ASGI application (FastAPI) on a record;
* :mod:`~peerlog.web.api`: the JSON endpoints; :mod:`~peerlog.web.pages`: the dashboard;
* :mod:`~peerlog.web.tokens`: API tokens and dashboard sessions, stored hashed;
* :mod:`~peerlog.web.access` and :mod:`~peerlog.web.roster`: what a token may read.

Imports point inward: ``peerlog.web`` uses ``peerlog.projections`` and ``peerlog``,
never ``peerlog.cli``.
"""

from peerlog.web.app import create_app
from peerlog.web.tokens import Role, Token, Tokens

__all__ = ["Role", "Token", "Tokens", "create_app"]
