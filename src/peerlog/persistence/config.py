"""Which store peerlog uses, from ``PEERLOG_DATABASE_URL`` (or the CLI's ``--db``).

* ``sqlite:///absolute/path/to/file.sqlite3`` - an SQLite file (created if missing);
* ``postgresql://user[:password]@host[:port]/dbname`` - a PostgreSQL database; with
  several hosts (``host1:port1,host2:port2``, libpq's multi-host form) the writer
  connects to whichever is the primary (``target_session_attrs=read-write``, added when
  the URL does not say), and so finds the new primary after a failover;
* nothing - the SQLite file at :func:`default_sqlite_path`.

``PEERLOG_READ_DATABASE_URL`` may name a PostgreSQL standby (or several: with several
hosts, ``target_session_attrs=prefer-standby`` is added when the URL does not say)
that serves what only reads (:mod:`peerlog.projections.reads`).

The result is the environment for the eventsourcing library's infrastructure
factory: persistence is chosen by configuration, not by code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from peerlog.i18n import lazy

DATABASE_URL: Final = "PEERLOG_DATABASE_URL"
READ_DATABASE_URL: Final = "PEERLOG_READ_DATABASE_URL"
SCHEMA: Final = "PEERLOG_SCHEMA"
SQLITE_PREFIX: Final = "sqlite:///"
POSTGRES_SCHEMES: Final = ("postgresql", "postgres")


class ConfigurationError(ValueError):
    """The configuration names a store peerlog cannot use."""


def default_sqlite_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/peerlog/peerlog.sqlite3``, or ``~/.local/share/peerlog/...``."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "peerlog" / "peerlog.sqlite3"


def _hosts(url: str) -> tuple[str, str]:
    """The user (``user@`` or nothing) and the host list of a PostgreSQL URL, without
    any password (urllib reads one host only; libpq's form may list several)."""
    netloc = urlsplit(url).netloc
    userinfo, _, hosts = netloc.rpartition("@")
    user = unquote(userinfo.partition(":")[0])
    return (f"{user}@" if user else ""), hosts or "localhost"


def describe_url(url: str) -> str:
    """The store's URL without any password (or other parameters), for messages and logs."""
    if url.startswith(SQLITE_PREFIX):
        return url
    parts = urlsplit(url)
    user, hosts = _hosts(url)
    return f"{parts.scheme}://{user}{hosts}{parts.path}"


def several_hosts(url: str) -> bool:
    """Whether a PostgreSQL URL names more than one host (libpq's multi-host form)."""
    return "," in _hosts(url)[1]


def with_session_attrs(url: str, attrs: str) -> str:
    """The URL with ``target_session_attrs`` set to ``attrs`` where it names several
    hosts and does not say which kind of server it wants."""
    if not several_hosts(url):
        return url
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(key == "target_session_attrs" for key, _ in query):
        return url
    query.append(("target_session_attrs", attrs))
    return urlunsplit(parts._replace(query=urlencode(query)))


def store_env(
    url: str | None, *, schema: str | None = None, session_attrs: str = "read-write"
) -> dict[str, str]:
    """The library environment that selects and configures the store named by ``url``
    (``session_attrs``: the kind of server a multi-host URL connects to)."""
    if not url:
        url = SQLITE_PREFIX + str(default_sqlite_path()).lstrip("/")
    if url.startswith(SQLITE_PREFIX):
        path = Path("/" + url[len(SQLITE_PREFIX) :].lstrip("/"))
        if path.is_dir():
            raise ConfigurationError(
                lazy("%(path)s is a folder; PEERLOG_DATABASE_URL names an SQLite file", path=path)
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        return {
            "PEERLOG_PERSISTENCE_MODULE": "peerlog.persistence.sqlite:SQLiteFactory",
            "PEERLOG_SQLITE_PATH": str(path),
        }
    scheme = urlsplit(url).scheme
    if scheme in POSTGRES_SCHEMES:
        env = {
            "PEERLOG_PERSISTENCE_MODULE": "peerlog.persistence.postgres:PostgresFactory",
            "PEERLOG_POSTGRES_CONNINFO": with_session_attrs(url, session_attrs),
            "PEERLOG_POSTGRES_DESCRIPTION": describe_url(url),
        }
        if schema:
            env["PEERLOG_POSTGRES_SCHEMA"] = schema
        return env
    raise ConfigurationError(
        lazy(
            "cannot use the store %(url)s: PEERLOG_DATABASE_URL starts with "
            "sqlite:/// (an absolute path follows) or postgresql://",
            url=repr(describe_url(url)),
        )
    )
