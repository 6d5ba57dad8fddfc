"""Errors a user can cause become a clear message and a non-zero exit code, never a
traceback: a rejected command, something not in the record, a store that cannot be
reached or read, a bad configuration, a file that cannot be read or written."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable
from typing import Any, Final

import click

from peerlog.i18n import _, os_reason, shown, shown_error
from peerlog.persistence.config import ConfigurationError

FAILED: Final = 1
"""The exit code when a command could not do what was asked (click uses 2 for usage)."""


class Failed(click.ClickException):
    """A command could not do what was asked: say why, exit non-zero."""

    exit_code = FAILED


def reason(exc: Exception) -> str:
    """Why a file could not be read or written, in the reader's language."""
    if isinstance(exc, OSError):
        return shown(os_reason(exc))
    if isinstance(exc, UnicodeDecodeError):
        return _("it is not UTF-8 text")
    return type(exc).__name__


def cannot_write(path: object, exc: OSError) -> Failed:
    """The failure of writing the file ``path``."""
    return Failed(_("cannot write %(file)s: %(reason)s") % {"file": path, "reason": reason(exc)})


def translate(exc: Exception, where: str) -> click.ClickException | None:  # noqa: PLR0911
    """The message for an error a user can cause, or None for a bug."""
    # Imported here: a command that fails has loaded them already, and one that only
    # prints its help or version never needs them.
    from eventsourcing.persistence import (  # noqa: PLC0415
        MapperDeserialisationError,
        PersistenceError,
    )

    from peerlog.domain.errors import CommandRejected  # noqa: PLC0415
    from peerlog.projections.asof import NotInRecord  # noqa: PLC0415
    from peerlog.projections.runner import RebuildFailed  # noqa: PLC0415

    psycopg = sys.modules.get("psycopg")  # no PostgreSQL error without PostgreSQL loaded
    database_errors = (PersistenceError, sqlite3.Error, *((psycopg.Error,) if psycopg else ()))
    if isinstance(exc, CommandRejected):
        return Failed(exc.describe())
    if isinstance(exc, NotInRecord):
        return Failed(shown(exc.args[0]) if exc.args else str(exc))
    if isinstance(exc, RebuildFailed):
        return Failed(
            _("the rebuild failed (%(error)s); the live tables are as they were")
            % {"error": shown_error(exc)}
        )
    if isinstance(exc, ConfigurationError):
        return Failed(_("configuration: %(error)s") % {"error": shown_error(exc)})
    if isinstance(exc, MapperDeserialisationError):
        return Failed(
            _("the record at %(where)s cannot be read: %(error)s; run 'peerlog verify'")
            % {"where": where, "error": shown_error(exc)}
        )
    if isinstance(exc, database_errors):
        return Failed(
            _("cannot use the record at %(where)s: %(error)s")
            % {"where": where, "error": _first_line(exc)}
        )
    if isinstance(exc, OSError):
        name = f": {exc.filename}" if exc.filename else ""
        return Failed(f"{shown(os_reason(exc))}{name}")
    return None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def guarded(where: Callable[[], str], call: Callable[[], Any]) -> Any:
    """Run ``call``, turning errors a user can cause into messages."""
    try:
        return call()
    except (click.ClickException, BrokenPipeError):
        raise
    except Exception as exc:
        translated = translate(exc, where())
        if translated is None:
            raise
        raise translated from None
