"""What ``peerlog serve`` writes to its log: never a token, a cookie or a personal text.

uvicorn logs each request as its client, method, path with query string, HTTP version
and status. A client may put anything in a path or a query string (a token sent as
``?token=...``, a student's name, a text), so the access log shows only the parts of a
path that read like ids - never one that looks like a token or a session - and the
names of the query's parameters, never their values. Headers (where tokens and cookies
travel) are never logged.

``peerlog serve --log-format json`` writes every line as one JSON object
(:class:`JsonFormatter`); its request lines (:func:`request_line`) show the path
without its query at all.
"""

from __future__ import annotations

import copy
import json
import logging
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import parse_qsl

from uvicorn.config import LOGGING_CONFIG

from peerlog.domain.identity_numbers import find_identity_numbers
from peerlog.domain.vocabulary import ID_RE
from peerlog.web.tokens import SECRET_PREFIXES

HIDDEN: Final = "*"
QUIET_PATHS: Final = ("/dashboard/live",)
"""Paths asked for over and over by an open page (the dashboard's live updates, twice a
second): they write no access-log line, or a day's log would be little else."""


def quiet(path: str) -> bool:
    """Whether a request for ``path`` (with or without its query) goes unlogged."""
    return path.partition("?")[0] in QUIET_PATHS


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
    that their path shows only what :func:`loggable_path` lets through; drops those of
    the live-update polls (:data:`QUIET_PATHS`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            if quiet(args[2]):
                return False
            record.args = (args[0], args[1], loggable_path(args[2]), args[3], args[4])
        return True


# --- JSON lines (peerlog serve --log-format json) -----------------------------------------

ACCESS_LOGGER: Final = "peerlog.access"
_REQUEST_FIELDS: Final = ("method", "path", "status", "duration_ms")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, the process
    id and, for a request, its method, path (as :func:`loggable_path` shows it, without
    the query), status and duration. An exception is told by its type only: a traceback
    would carry the values it was raised with."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        for name in _REQUEST_FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info and record.exc_info[0] is not None:
            line["error"] = record.exc_info[0].__name__
        return json.dumps(line, ensure_ascii=False)


def request_line(method: str, path: str, status: int, seconds: float) -> None:
    """Log one request (the JSON log's access line); a live-update poll is not logged."""
    if quiet(path):
        return
    shown = loggable_path(path.partition("?")[0])
    logging.getLogger(ACCESS_LOGGER).info(
        "%s %s %d",
        method,
        shown,
        status,
        extra={
            "method": method,
            "path": shown,
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
        },
    )


def log_config(*, json_lines: bool = False, access_log: bool = True) -> dict[str, Any]:
    """The logging configuration of ``peerlog serve``: uvicorn's, with the access log's
    filter; and peerlog's own messages (which process follows the record) at INFO.
    With ``json_lines``, every line is a JSON object (:class:`JsonFormatter`), and the
    access lines come from peerlog (:func:`request_line`), not from uvicorn."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["peerlog_access"] = {"()": f"{__name__}.AccessLogFilter"}
    config["loggers"]["uvicorn.access"]["filters"] = ["peerlog_access"]
    config["loggers"]["peerlog"] = {"handlers": ["default"], "level": "WARNING", "propagate": False}
    config["loggers"]["peerlog.web.services"] = {
        "handlers": ["default"],
        "level": "INFO",
        "propagate": False,
    }
    if json_lines:
        for formatter in config["formatters"].values():
            formatter.clear()
            formatter["()"] = f"{__name__}.JsonFormatter"
        config["loggers"][ACCESS_LOGGER] = {
            "handlers": ["access"],
            "level": "INFO" if access_log else "WARNING",
            "propagate": False,
        }
    return config
