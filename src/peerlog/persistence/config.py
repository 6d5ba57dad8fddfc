"""Which store peerlog uses, from ``PEERLOG_DATABASE_URL`` (or the CLI's ``--db``).

* ``sqlite:///absolute/path/to/file.sqlite3`` - an SQLite file (created if missing);
* ``postgresql://user[:password]@host[:port]/dbname`` - a PostgreSQL database;
* nothing - the SQLite file at :func:`default_sqlite_path`.

The result is the environment for the eventsourcing library's infrastructure
factory: persistence is chosen by configuration, not by code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final
from urllib.parse import unquote, urlsplit

DATABASE_URL: Final = "PEERLOG_DATABASE_URL"
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


def describe_url(url: str) -> str:
    """The store's URL without any password, for messages and logs."""
    if url.startswith(SQLITE_PREFIX):
        return url
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    user = f"{unquote(parts.username)}@" if parts.username else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


def store_env(url: str | None, *, schema: str | None = None) -> dict[str, str]:
    """The library environment that selects and configures the store named by ``url``."""
    if not url:
        url = SQLITE_PREFIX + str(default_sqlite_path()).lstrip("/")
    if url.startswith(SQLITE_PREFIX):
        path = Path("/" + url[len(SQLITE_PREFIX) :].lstrip("/"))
        if path.is_dir():
            msg = f"{path} is a folder; PEERLOG_DATABASE_URL names an SQLite file"
            raise ConfigurationError(msg)
        path.parent.mkdir(parents=True, exist_ok=True)
        return {
            "PEERLOG_PERSISTENCE_MODULE": "peerlog.persistence.sqlite:SQLiteFactory",
            "PEERLOG_SQLITE_PATH": str(path),
        }
    scheme = urlsplit(url).scheme
    if scheme in POSTGRES_SCHEMES:
        env = {
            "PEERLOG_PERSISTENCE_MODULE": "peerlog.persistence.postgres:PostgresFactory",
            "PEERLOG_POSTGRES_CONNINFO": url,
            "PEERLOG_POSTGRES_DESCRIPTION": describe_url(url),
        }
        if schema:
            env["PEERLOG_POSTGRES_SCHEMA"] = schema
        return env
    msg = (
        f"cannot use the store {describe_url(url)!r}: PEERLOG_DATABASE_URL starts with "
        "sqlite:/// (an absolute path follows) or postgresql://"
    )
    raise ConfigurationError(msg)
