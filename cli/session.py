"""What every command shares: the store named by ``--db``, opened once, when first needed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

import click

from peerlog.cli.errors import Failed
from peerlog.cli.help import made_with
from peerlog.i18n import N_, _, lazy
from peerlog.persistence.config import (
    DATABASE_URL,
    SQLITE_PREFIX,
    default_sqlite_path,
    describe_url,
)

if TYPE_CHECKING:
    from peerlog import PeerLog
    from peerlog.projections import Runner
    from peerlog.projections.reads import Reads, Source
    from peerlog.projections.source import StoreEvents

DEFAULT_DB_HELP: Final = (
    N_(
        "The record to use: sqlite:////absolute/path.sqlite3 or "
        "postgresql://user[:password]@host[:port]/dbname."
    )
    # Two spaces: the help and the default, each shown in the reader's language.
    + "  "
    + made_with(lazy("[default: the SQLite file %(path)s]", path=str(default_sqlite_path())))
)


@dataclass
class Session:
    """The store a command works on; the application and projection runner are made
    when a command first asks for them and closed when the command ends."""

    db: str | None
    db_from_option: bool = False
    """Whether --db named the store (rather than the environment or the default)."""
    _app: PeerLog | None = field(default=None, repr=False)
    _events: StoreEvents | None = field(default=None, repr=False)
    _runner: Runner | None = field(default=None, repr=False)
    _reads: Reads | None = field(default=None, repr=False)

    @property
    def where(self) -> str:
        """The store's URL, without any password, for messages."""
        if self.db:
            return describe_url(self.db)
        return f"sqlite:///{str(default_sqlite_path()).lstrip('/')}"

    def _sqlite_file(self) -> Path | None:
        """The SQLite file the store is (None for PostgreSQL)."""
        url = self.db or f"{SQLITE_PREFIX}{str(default_sqlite_path()).lstrip('/')}"
        if not url.startswith(SQLITE_PREFIX):
            return None
        return Path("/" + url[len(SQLITE_PREFIX) :].lstrip("/"))

    def _check_url(self) -> None:
        """A plain path where a URL belongs is answered with the URL to give."""
        if self.db and "://" not in self.db:
            named = "--db" if self.db_from_option else DATABASE_URL
            path = Path(self.db).expanduser().absolute()
            raise Failed(
                _(
                    "%(option)s takes a URL, not a path: for the SQLite file %(path)s, give "
                    "%(url)s (a PostgreSQL database is postgresql://user@host/dbname)"
                )
                % {"option": named, "path": path, "url": f"{SQLITE_PREFIX}{path}"}
            )

    def must_exist(self) -> None:
        """A command that only reads refuses a record that is not there, creating nothing."""
        self._check_url()
        path = self._sqlite_file()
        if path is not None and not path.exists():  # a folder: the configuration says so
            raise Failed(
                _(
                    "there is no record at %(where)s: the file %(path)s does not exist. "
                    "Give the record with --db (or PEERLOG_DATABASE_URL); 'peerlog import' "
                    "or 'peerlog demo' makes a new one"
                )
                % {"where": self.where, "path": path}
            )

    def app(self, *, announce: bool = True) -> PeerLog:
        """The application on the store; a new SQLite file is made (and, with
        ``announce``, said on standard error) when there is none yet."""
        if self._app is None:
            self._check_url()
            path = self._sqlite_file()
            new = path is not None and not path.exists()
            from peerlog.application import PeerLog  # noqa: PLC0415 - not for --help

            env = {DATABASE_URL: self.db} if self.db else {}
            self._app = PeerLog(env)
            click.get_current_context().call_on_close(self._close)
            if new and announce:
                click.echo(
                    _("made a new, empty record at %(where)s") % {"where": self.where}, err=True
                )
        return self._app

    def events(self) -> StoreEvents:
        """The application's record as the read side reads it (one per command, so
        that what it remembers, like the chain heads an audit verified, is shared)."""
        if self._events is None:
            from peerlog.projections.source import StoreEvents  # noqa: PLC0415

            self._events = StoreEvents(self.app())
        return self._events

    def runner(self) -> Runner:
        if self._runner is None:
            from peerlog.projections.runner import Runner  # noqa: PLC0415

            self._runner = Runner(self.events())
        return self._runner

    def reads(self) -> Reads:
        """Where what only reads is read (a standby, with PEERLOG_READ_DATABASE_URL)."""
        if self._reads is None:
            from peerlog.projections.reads import Reads  # noqa: PLC0415

            # The runner's read store, where a command has one (it made the tables).
            store = self._runner.store if self._runner is not None else None
            self._reads = Reads.open(self.events(), store)
        return self._reads

    def record(self) -> Source:
        """The copy of the record to read: a standby once it holds everything the
        primary holds now (a command run a moment ago included), else the primary."""
        reads = self.reads()
        return self._told(reads.record(after=reads.head() if reads.configured else 0), "record")

    def read_models(self, *, after: int = 0) -> Source:
        """The read models to read: a standby's once they have reached ``after``."""
        return self._told(self.reads().read_models(after=after), "read models")

    def _told(self, source: Source, what: str) -> Source:
        if self.reads().configured:
            # Said on standard error, so that data on standard output stays the same.
            where = self.reads().where if source.replica else _("the primary")
            click.echo(
                _("read from %(where)s: %(what)s")
                % {"where": where, "what": source.describe(what)},
                err=True,
            )
        return source

    def _close(self) -> None:
        if self._reads is not None:
            self._reads.close()
            self._reads = None
        if self._runner is not None:
            self._runner.close()
            self._runner = None
        self._events = None
        if self._app is not None:
            self._app.close()
            self._app = None


pass_session = click.make_pass_decorator(Session)
