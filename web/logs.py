"""What ``peerlog serve`` writes to its log: never a token, a cookie or a personal text.

uvicorn logs each request as its client, method, path with query string, HTTP version
and status. A client may put anything in a path or a query string (a token sent as
``?token=...``, a student's name, a text), so the access log shows only the parts of a
path that read like ids - never one that looks like a token or a session - and the
names of the query's parameters, never their values. Headers (where tokens and cookies
travel) are never logged.
"""

from __future__ import annotations

import copy
import logging
from typing import Any, Final
from urllib.parse import parse_qsl

from uvicorn.config import LOGGING_CONFIG

from peerlog.domain.identity_numbers import find_identity_numbers
from peerlog.domain.vocabulary import ID_RE
from peerlog.web.tokens import SECRET_PREFIXES

HIDDEN: Final = "*"


def _shown(part: str) -> bool:
    return (
        bool(ID_RE.fullmatch(part))
        and not part.startswith(SECRET_PREFIXES)
        and not find_identity_numbers(part)
    )


def loggable_path(full_path: str) -> str:
    """A request's path and query as the log may show them."""
    path, has_query, query = full_path.partition("?")
    shown = "/".join(part if not part or _shown(part) else HIDDEN for part in path.split("/"))
    if not has_query:
        return shown
    names = [
        name if _shown(name) else HIDDEN for name, _ in parse_qsl(query, keep_blank_values=True)
    ]
    return f"{shown}?{'&'.join(f'{name}={HIDDEN}' for name in names) or HIDDEN}"


class AccessLogFilter(logging.Filter):
    """Rewrites uvicorn's access records (client, method, path, version, status) so
    that their path shows only what :func:`loggable_path` lets through."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], loggable_path(args[2]), args[3], args[4])
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration, with the access log's filter."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["peerlog_access"] = {"()": f"{__name__}.AccessLogFilter"}
    config["loggers"]["uvicorn.access"]["filters"] = ["peerlog_access"]
    return config
