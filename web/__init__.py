"""The web interface (importable as peerlog.web): the HTTP API and the supervisor
dashboard, served by ``peerlog serve``.

* :mod:`~peerlog.web.app`: the ASGI application (FastAPI) on a record;
* :mod:`~peerlog.web.api`: the JSON endpoints; :mod:`~peerlog.web.pages`: the dashboard;
* :mod:`~peerlog.web.tokens`: API tokens and dashboard sessions, stored hashed;
* :mod:`~peerlog.web.access` and :mod:`~peerlog.web.roster`: what a token may read.

Imports point inward: ``peerlog.web`` uses ``peerlog.projections`` and ``peerlog``,
never ``peerlog.cli``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from peerlog.web.app import create_app
    from peerlog.web.tokens import Role, Token, Tokens

__all__ = ["Role", "Token", "Tokens", "create_app"]

_WHERE = {
    "create_app": "peerlog.web.app",
    "Role": "peerlog.web.tokens",
    "Token": "peerlog.web.tokens",
    "Tokens": "peerlog.web.tokens",
}
"""Imported when first asked for: a command that reads one module of the package (the
audit's reports) does not load the web server with it."""


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
