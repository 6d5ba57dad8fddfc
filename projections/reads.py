"""Where what only reads is read: a PostgreSQL standby, or the primary.

``PEERLOG_READ_DATABASE_URL`` may name a standby (or several, in libpq's multi-host
form, which then prefers a standby: ``target_session_attrs=prefer-standby``) that
streams the primary's record and read models by PostgreSQL's own replication. Audits,
replays, balance reports, the dashboard's pages and exports are read there; commands,
projections, checkpoints and tokens stay on the primary. The CLI and the web server
both choose through :class:`Reads`.

Every answer comes with its :class:`Source`: which copy it was read from and how far
that copy had come (the record's last position in it, or its read models' position),
beside the primary's head, so that a reader sees "record as of position X of Y".

**Reading one's own writes.** A reader that has just recorded something (the web
server remembers each actor's last write; the CLI, one process per command, takes the
primary's head) is answered from the standby only once it has replayed that position:
the standby is waited for up to ``PEERLOG_READ_WAIT`` seconds (default 1), then the
primary answers (its read models waited for as long again). A standby that cannot be
reached is passed over for the primary.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from eventsourcing.persistence import PersistenceError

from peerlog import i18n
from peerlog.i18n import _, lazy
from peerlog.persistence.config import (
    DATABASE_URL,
    READ_DATABASE_URL,
    ConfigurationError,
    describe_url,
    with_session_attrs,
)
from peerlog.projections.runner import PROJECTIONS
from peerlog.projections.source import EventSource, StoreEvents
from peerlog.projections.store import ReadStore

logger = logging.getLogger(__name__)

READ_WAIT: Final = "PEERLOG_READ_WAIT"
DEFAULT_WAIT_SECONDS: Final = 1.0
POLL_SECONDS: Final = 0.01
PASS_OVER_SECONDS: Final = 30.0
"""How long a standby that could not be reached is passed over before it is tried again
(so that not every read waits for its connection to fail)."""
ACTORS_KEPT: Final = 10_000
"""How many actors' last writes a server remembers (the least recently writing go first)."""


@dataclass(frozen=True)
class Source:
    """The copy of the record an answer was read from, and how far it had come."""

    events: EventSource
    """The copy's record (:mod:`peerlog.projections.source`)."""
    store: ReadStore
    replica: bool
    position: int
    """The record's last position in this copy (for answers from the record), or the
    position its read models had reached (for answers from them)."""
    head: int
    """The primary's last position (this copy's own when the primary cannot be asked)."""

    @property
    def lag(self) -> int:
        return max(0, self.head - self.position)

    def as_dict(self) -> dict[str, Any]:
        return {
            "replica": self.replica,
            "position": self.position,
            "head": self.head,
            "lag": self.lag,
        }

    def headers(self) -> dict[str, str]:
        """The same, as an HTTP answer's headers."""
        return {
            "Peerlog-Read-From": "standby" if self.replica else "primary",
            "Peerlog-Position": str(self.position),
            "Peerlog-Head": str(self.head),
        }

    def describe(self, what: str) -> str:
        """``record as of position 1,790 of 1,792 (a standby, 2 events behind)``."""
        values = {
            "what": _(what),
            "position": i18n.number(self.position),
            "head": i18n.number(self.head),
            "lag": i18n.number(self.lag),
        }
        if self.replica:
            if self.lag:
                return (
                    _(
                        "%(what)s as of position %(position)s of %(head)s (a standby, %(lag)s "
                        "events behind)"
                    )
                    % values
                )
            return (
                _("%(what)s as of position %(position)s of %(head)s (a standby, up to date)")
                % values
            )
        if self.lag:
            return (
                _(
                    "%(what)s as of position %(position)s of %(head)s (the primary, %(lag)s "
                    "events behind)"
                )
                % values
            )
        return (
            _("%(what)s as of position %(position)s of %(head)s (the primary, up to date)") % values
        )


def wait_seconds(settings: Mapping[str, str]) -> float:
    value = settings.get(READ_WAIT)
    if not value:
        return DEFAULT_WAIT_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 600:
        raise ConfigurationError(
            lazy(
                "%(name)s is a number of seconds (0 to 600), not %(value)s",
                name=READ_WAIT,
                value=repr(value),
            )
        )
    return seconds


def read_models_position(store: ReadStore) -> int:
    """How far the read models of a copy have come: the slowest projection's position."""
    tracked = store.tracking()
    return min((tracked[p.name].position if p.name in tracked else 0) for p in PROJECTIONS)


class Reads:
    """Chooses the copy each answer is read from (see the module's description)."""

    def __init__(
        self,
        primary: EventSource,
        primary_store: ReadStore | None = None,
        *,
        replica: StoreEvents | None = None,
        replica_url: str | None = None,
        wait: float = DEFAULT_WAIT_SECONDS,
    ) -> None:
        """Reads of ``primary``; from ``replica`` (opened), or from the standby at
        ``replica_url`` (opened when first needed, and again after it failed)."""
        self.primary = primary
        self._given_store = primary_store
        self._own_store: ReadStore | None = None
        self.replica: StoreEvents | None = None
        self.replica_store: ReadStore | None = None
        self.replica_url = replica_url
        self.wait = wait
        self._writes: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()
        self._passed_over_until = 0.0
        if replica is not None:
            self._use(replica)

    def _use(self, replica: StoreEvents) -> None:
        self.replica = replica
        self.replica_store = replica.read_store()
        # A standby cannot sign the checkpoint an audit needs: the primary does, and
        # the standby waits for it to arrive.
        replica.integrity().maker = self.primary.integrity()

    @property
    def configured(self) -> bool:
        """Whether a standby is named (reachable or not)."""
        return self.replica is not None or self.replica_url is not None

    @property
    def primary_store(self) -> ReadStore:
        """The primary's read models (the runner's, where one was given)."""
        if self._given_store is not None:
            return self._given_store
        if self._own_store is None:
            self._own_store = self.primary.read_store()
        return self._own_store

    @classmethod
    def open(cls, primary: EventSource, primary_store: ReadStore | None = None) -> Reads:
        """The reads of a record: on the standby its settings name, if any (a
        standby that is down does not keep the record from being opened)."""
        settings = primary.settings
        wait = wait_seconds(settings)
        url = settings.get(READ_DATABASE_URL)
        if not url:
            return cls(primary, primary_store, wait=wait)
        if not url.startswith(("postgresql://", "postgres://")):
            raise ConfigurationError(
                lazy(
                    "%(name)s names a PostgreSQL standby, not %(value)s",
                    name=READ_DATABASE_URL,
                    value=repr(describe_url(url)),
                )
            )
        return cls(primary, primary_store, replica_url=url, wait=wait)

    @property
    def where(self) -> str:
        """The standby's URL, without any password (for messages)."""
        url = self.replica_url or self.primary.settings.get(READ_DATABASE_URL)
        return describe_url(url) if url else "the standby"

    # --- one's own writes ------------------------------------------------------------

    def wrote(self, actor: str, position: int) -> None:
        """Remember that ``actor`` wrote up to ``position`` (their reads wait for it)."""
        with self._lock:
            if position > self._writes.get(actor, 0):
                self._writes[actor] = position
            self._writes.move_to_end(actor)
            while len(self._writes) > ACTORS_KEPT:
                self._writes.popitem(last=False)

    def last_write(self, actor: str) -> int:
        with self._lock:
            return self._writes.get(actor, 0)

    def head(self) -> int:
        """The primary's last position."""
        return self.primary.head()

    # --- choosing a copy -------------------------------------------------------------

    def _standby(self) -> tuple[StoreEvents, ReadStore] | None:
        """The standby to try, unless there is none or it is being passed over."""
        if not self.configured or time.monotonic() < self._passed_over_until:
            return None
        if self.replica is None and self.replica_url is not None:
            with self._lock:
                if self.replica is None:
                    try:
                        self._use(
                            StoreEvents.open(
                                {
                                    **self.primary.settings,
                                    DATABASE_URL: with_session_attrs(
                                        self.replica_url, "prefer-standby"
                                    ),
                                }
                            )
                        )
                    except PersistenceError as exc:
                        self._pass_over(exc)
                        return None
        if self.replica is None or self.replica_store is None:
            return None
        return self.replica, self.replica_store

    def _pass_over(self, exc: Exception) -> None:
        self._passed_over_until = time.monotonic() + PASS_OVER_SECONDS
        logger.warning(
            "reading from the primary for %g s: the standby failed (%s)", PASS_OVER_SECONDS, exc
        )

    def record(self, *, after: int = 0) -> Source:
        """The copy to read the record from: one that holds position ``after``."""
        standby = self._standby()
        if standby is not None:
            replica, store = standby
            reached = self._reached(replica.head, after)
            if reached is not None:
                return Source(
                    replica,
                    store,
                    replica=True,
                    position=reached,
                    head=self._head_or(reached),
                )
        head = self.head()
        return Source(self.primary, self.primary_store, replica=False, position=head, head=head)

    def read_models(self, *, after: int = 0) -> Source:
        """The copy to read the read models from: one whose read models have
        processed position ``after``."""
        standby = self._standby()
        if standby is not None:
            replica, store = standby
            reached = self._reached(lambda: read_models_position(store), after)
            if reached is not None:
                return Source(
                    replica,
                    store,
                    replica=True,
                    position=reached,
                    head=self._head_or(reached),
                )
        primary = self.primary_store
        position = self._reached(lambda: read_models_position(primary), after)
        if position is None:
            position = read_models_position(primary)
        return Source(self.primary, primary, replica=False, position=position, head=self.head())

    def _reached(self, position: Callable[[], int], after: int) -> int | None:
        """The position a copy has reached, once it is at least ``after`` (waited for up
        to the bound); None if it did not get there, or cannot be reached."""
        deadline = time.monotonic() + self.wait
        while True:
            try:
                now = position()
            except PersistenceError as exc:
                self._pass_over(exc)
                return None
            if now >= after:
                return now
            if time.monotonic() >= deadline:
                return None
            time.sleep(POLL_SECONDS)

    def _head_or(self, reached: int) -> int:
        try:
            return max(self.head(), reached)
        except PersistenceError:
            return reached  # the primary is away (a failover): the standby's own head

    def close(self) -> None:
        if self._own_store is not None:
            self._own_store.close()
        if self.replica_store is not None:
            self.replica_store.close()
        if self.replica is not None:
            self.replica.close()
