"""What every command shares: the store named by ``--db``, opened once, when first needed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import click

from peerlog import PeerLog
from peerlog.persistence.config import DATABASE_URL, default_sqlite_path, describe_url
from peerlog.projections import Runner, StoreEvents
from peerlog.projections.reads import Reads, Source

DEFAULT_DB_HELP: Final = (
    "The record to use: sqlite:////absolute/path.sqlite3 or "
    "postgresql://user[:password]@host[:port]/dbname. "
    f"[default: the SQLite file {default_sqlite_path()}]"
)


@dataclass
class Session:
    """The store a command works on; the application and projection runner are made
    when a command first asks for them and closed when the command ends."""

    db: str | None
    db_from_option: bool = False
    """Whether --db named the store (rather than the environment or the default)."""
    _app: PeerLog | None = field(default=None, repr=False)
    _runner: Runner | None = field(default=None, repr=False)
    _reads: Reads | None = field(default=None, repr=False)

    @property
    def where(self) -> str:
        """The store's URL, without any password, for messages."""
        if self.db:
            return describe_url(self.db)
        return f"sqlite:///{str(default_sqlite_path()).lstrip('/')}"

    def app(self) -> PeerLog:
        if self._app is None:
            env = {DATABASE_URL: self.db} if self.db else {}
            self._app = PeerLog(env)
            click.get_current_context().call_on_close(self._close)
        return self._app

    def runner(self) -> Runner:
        if self._runner is None:
            self._runner = Runner(StoreEvents(self.app()))
        return self._runner

    def reads(self) -> Reads:
        """Where what only reads is read (a standby, with PEERLOG_READ_DATABASE_URL)."""
        if self._reads is None:
            # The runner's read store, where a command has one (it made the tables).
            store = self._runner.store if self._runner is not None else None
            self._reads = Reads.open(self.app(), store)
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
            where = self.reads().where if source.replica else "the primary"
            click.echo(f"read from {where}: {source.describe(what)}", err=True)
        return source

    def _close(self) -> None:
        if self._reads is not None:
            self._reads.close()
            self._reads = None
        if self._runner is not None:
            self._runner.close()
            self._runner = None
        if self._app is not None:
            self._app.close()
            self._app = None


pass_session = click.make_pass_decorator(Session)
