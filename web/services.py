"""What the web interface works with: the record, its read models, tokens, the roster;
and the follower that keeps the read models up to date while the server runs."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from fastapi import Request

from peerlog import CommandResult, PeerLog
from peerlog.i18n import lazy
from peerlog.integrity.service import Integrity
from peerlog.persistence.base import failure_summary
from peerlog.persistence.config import ConfigurationError
from peerlog.projections import Runner, StoreEvents, Thresholds
from peerlog.projections.reads import Reads, Source
from peerlog.projections.source import EventSource
from peerlog.web.roster import Roster
from peerlog.web.sso import SingleSignOn, SsoSettings
from peerlog.web.tokens import Tokens

logger = logging.getLogger(__name__)

RETRY_SECONDS: Final = 1.0
TREE_SECONDS: Final = 1.0
"""How often the server extends the Merkle tree with what was recorded since."""
CHECKPOINT_INTERVAL: Final = "PEERLOG_CHECKPOINT_INTERVAL"
DEFAULT_CHECKPOINT_SECONDS: Final = 3600
FOLLOWER_LOCK: Final = "server-follower"
"""The lock the one server process that follows the record holds (as a projection's
lock is held: an advisory lock on PostgreSQL, a file lock on SQLite)."""
FOLLOWER_RETRY_SECONDS: Final = 2.0
"""How often a server process that does not follow asks whether the one that did went
away (its lock goes with its process, or with its database session)."""


@dataclass
class Services:
    app: PeerLog
    events: EventSource
    """The record as the read side reads it: one per application, so that what it
    remembers (the chain heads audits verified, the courses' zones) is shared."""
    runner: Runner
    tokens: Tokens
    roster: Roster
    reads: Reads
    """Where what only reads is read: a standby (PEERLOG_READ_DATABASE_URL) or the primary."""
    thresholds: Thresholds = field(default_factory=Thresholds)
    follow: bool = False
    """Whether the server keeps the read models up to date itself (a follower thread)."""
    checkpoint_seconds: float = DEFAULT_CHECKPOINT_SECONDS
    """How often the server signs a checkpoint while it follows (0: never)."""
    sso: SingleSignOn | None = None
    """Single sign-on through the institution's provider, when it is set up."""
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _follower: threading.Thread | None = field(default=None, repr=False)
    _signer: threading.Thread | None = field(default=None, repr=False)

    @classmethod
    def of(cls, app: PeerLog, *, follow: bool = False) -> Services:
        sso_settings = SsoSettings.of(app.settings)
        source = StoreEvents(app)
        runner = Runner(source)
        return cls(
            app,
            source,
            runner,
            Tokens.of(app),
            Roster(source),
            Reads.open(source, runner.store),
            follow=follow,
            checkpoint_seconds=checkpoint_interval(app.settings),
            sso=SingleSignOn(sso_settings) if sso_settings else None,
        )

    def wrote(self, actor: str, results: Iterable[CommandResult]) -> None:
        """An actor's commands were recorded: their reads wait for these positions."""
        positions = [e.position for r in results for e in r.events]
        if positions:
            self.reads.wrote(actor, max(positions))

    def record_for(self, actor: str) -> Source:
        """The copy of the record to answer ``actor`` from (holding their own writes)."""
        return self.reads.record(after=self.reads.last_write(actor))

    def read_models_for(self, actor: str) -> Source:
        """The read models to answer ``actor`` from (with their own writes in them)."""
        return self.reads.read_models(after=self.reads.last_write(actor))

    @property
    def integrity(self) -> Integrity:
        return Integrity.of(self.app)

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)

    def start(self) -> None:
        """Start following the record (if asked to): new events reach the read models
        within the store's wake-up time (PostgreSQL: at once; SQLite: 0.2 s).

        Of the server processes on one store (``peerlog serve --workers N``, or several
        servers), one follows: the one holding :data:`FOLLOWER_LOCK`. The others wait
        and take over when it goes away, so the read models and the Merkle tree are
        kept by one process at a time (the projections' own locks would keep two
        from counting an event twice, but they would only contend)."""
        if not self.follow or self._follower is not None:
            return
        self._stop.clear()
        self._follower = threading.Thread(target=self._lead, name="peerlog-follower", daemon=True)
        self._follower.start()

    def _lead(self) -> None:
        """Follow the record while holding the follower's lock; wait for it otherwise."""
        waiting_told = False
        while not self._stop.is_set():
            try:
                with self.runner.store.lock(FOLLOWER_LOCK, wait=False) as leading:
                    if leading:
                        logger.info(
                            "process %d follows the record: it keeps the read models and "
                            "the Merkle tree up to date",
                            os.getpid(),
                        )
                        self._signer = threading.Thread(
                            target=self._keep_tree, name="peerlog-tree", daemon=True
                        )
                        self._signer.start()
                        self._follow()
                        self._signer.join(timeout=10)
                        return
                if not waiting_told:
                    logger.info(
                        "process %d serves; another process follows the record", os.getpid()
                    )
                    waiting_told = True
            except Exception as exc:  # noqa: BLE001 - the follower must outlive a bad moment
                logger.warning("the follower's lock was not taken (%s)", failure_summary(exc))
            self._stop.wait(FOLLOWER_RETRY_SECONDS)

    def _keep_tree(self) -> None:
        """Extend the Merkle tree as the record grows, and sign a checkpoint every
        ``checkpoint_seconds`` (when the record grew since the last one)."""
        due = time.monotonic() + self.checkpoint_seconds
        while not self._stop.is_set():
            try:
                self.integrity.catch_up()
                if self.checkpoint_seconds and time.monotonic() >= due:
                    self.integrity.make_checkpoint()
                    due = time.monotonic() + self.checkpoint_seconds
            except Exception as exc:  # noqa: BLE001 - the follower must outlive a bad moment
                # Names the store and the problem (a gap in the record, a missing key).
                logger.warning("the Merkle tree was not extended (%s)", failure_summary(exc))
                self._stop.wait(RETRY_SECONDS)
            wait = TREE_SECONDS
            if self.checkpoint_seconds:
                wait = min(wait, max(0.0, due - time.monotonic()))
            self._stop.wait(wait)

    def _follow(self) -> None:
        while not self._stop.is_set():
            try:
                self.runner.run(follow=True, stop=self._stop)
            except Exception as exc:  # noqa: BLE001 - the follower must outlive a bad moment
                # The message names the store and the problem, never personal texts
                # (the read models hold none).
                logger.warning(
                    "the projection follower stopped (%s); restarting", failure_summary(exc)
                )
                self._stop.wait(RETRY_SECONDS)

    def stop(self) -> None:
        self._stop.set()
        if self._follower is not None:
            self._follower.join(timeout=10)
            self._follower = None
        if self._signer is not None:
            self._signer.join(timeout=10)
            self._signer = None

    def close(self) -> None:
        self.stop()
        self.reads.close()
        self.runner.close()


def checkpoint_interval(settings: Mapping[str, str]) -> float:
    """PEERLOG_CHECKPOINT_INTERVAL: seconds between the server's checkpoints (0: none)."""
    value = settings.get(CHECKPOINT_INTERVAL)
    if not value:
        return DEFAULT_CHECKPOINT_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if seconds < 0 or seconds != seconds:  # noqa: PLR0124 - NaN
        raise ConfigurationError(
            lazy(
                "%(name)s is a number of seconds (0 for none), not %(value)s",
                name=CHECKPOINT_INTERVAL,
                value=repr(value),
            )
        )
    return seconds


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found
