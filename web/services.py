"""What the web interface works with: the record, its read models, tokens, the roster;
and the follower that keeps the read models up to date while the server runs."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from fastapi import Request

from peerlog import PeerLog
from peerlog.persistence.base import failure_summary
from peerlog.projections import Runner, Thresholds
from peerlog.web.roster import Roster
from peerlog.web.tokens import Tokens

logger = logging.getLogger(__name__)

RETRY_SECONDS: Final = 1.0


@dataclass
class Services:
    app: PeerLog
    runner: Runner
    tokens: Tokens
    roster: Roster
    thresholds: Thresholds = field(default_factory=Thresholds)
    follow: bool = False
    """Whether the server keeps the read models up to date itself (a follower thread)."""
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _follower: threading.Thread | None = field(default=None, repr=False)

    @classmethod
    def of(cls, app: PeerLog, *, follow: bool = False) -> Services:
        return cls(app, Runner(app), Tokens.of(app), Roster(app), follow=follow)

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)

    def start(self) -> None:
        """Start following the record (if asked to): new events reach the read models
        within the store's wake-up time (PostgreSQL: at once; SQLite: 0.2 s)."""
        if not self.follow or self._follower is not None:
            return
        self._stop.clear()
        self._follower = threading.Thread(target=self._follow, name="peerlog-follower", daemon=True)
        self._follower.start()

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

    def close(self) -> None:
        self.stop()
        self.runner.close()


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found
