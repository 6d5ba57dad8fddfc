"""The forwarder: follows the record and keeps a learning record store in step with it.

Every event's statements reach the store exactly once, across crashes and restarts:

1. On start, the forwarder takes the store's lock (one forwarder per store at a time)
   and folds the events up to its stored position without sending them: the fold's
   state is then what it was when those statements were sent.
2. It folds the events after the position, and sends their statements in batches. A
   batch ends at an event's last statement; once the store has answered for it, the
   position moves to that event, in one transaction.
3. A crash between sending and moving the position makes the next start send the same
   statements again: same ids (UUIDv5 of the event) and the same content, which a store
   answers with 204 (xAPI: a statement it holds already), so nothing is stored twice.

A batch the store refuses whole (400, 409, 413) is split in halves until the statements
it refuses are found: each is noted with the store's reason (``xapi_refused``) and
reported, and the others are sent. A store that cannot be reached, or answers 429 or
5xx, is tried again with growing pauses; after the last try the forwarder stops with the
position where the store's last answer left it.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from peerlog.i18n import Text, lazy, os_reason
from peerlog.projections.source import EventSource
from peerlog.projections.store import ReadStore
from peerlog.projections.xapi.lrs import Answer, LrsClient, LrsError
from peerlog.projections.xapi.settings import XapiSettings
from peerlog.projections.xapi.source import RecordSource
from peerlog.projections.xapi.statements import Produced, StatementFold
from peerlog.projections.xapi.tracking import ForwardingStore, Refusal

logger = logging.getLogger(__name__)

BATCH_SIZE: Final = 200
"""Statements per request."""
RETRIES: Final = 8
FIRST_PAUSE: Final = 0.5
LONGEST_PAUSE: Final = 30.0
REFUSING: Final = frozenset({400, 409, 413})
"""Answers about the statements sent (split the batch and find the ones refused)."""
PASSING: Final = frozenset({429, 500, 502, 503, 504})
"""Answers that may pass (try again later)."""

Progress = Callable[[int, int, int], None]
"""Called with (statements sent so far, position reached, head of the record)."""


class ForwarderBusy(RuntimeError):
    """Another forwarder to the same store is running (the message, a
    :class:`peerlog.i18n.Text`, is shown in the reader's language)."""


class ForwardingFailed(RuntimeError):
    """The store could not be reached or would not take statements; the position stays
    where the store's last answer left it (the message, a :class:`peerlog.i18n.Text`, is
    shown in the reader's language)."""


@dataclass
class ForwardReport:
    target: str
    start: int
    position: int
    head: int
    sent: int = 0
    refused: list[Refusal] = field(default_factory=list)


def statements_of(
    source: RecordSource, fold: StatementFold, after: int, stop: int | None
) -> Iterator[tuple[int, list[Produced]]]:
    """Each event's position and statements, folded in order."""
    for position, event in source.events(after, stop):
        yield position, fold.apply(position, event)


def fold_up_to(
    events: EventSource, settings: XapiSettings, position: int
) -> tuple[StatementFold, RecordSource]:
    """A fold brought up to ``position`` (its statements made, not sent)."""
    fold = StatementFold(settings)
    source = RecordSource(events, topics=fold.topics(), open_texts=settings.personal)
    if position:
        for _ in statements_of(source, fold, 0, position):
            pass
    return fold, source


class Forwarder:
    """Sends the record's statements to one store."""

    def __init__(
        self,
        events: EventSource,
        client: LrsClient,
        settings: XapiSettings,
        *,
        batch_size: int = BATCH_SIZE,
        retries: int = RETRIES,
        progress: Progress | None = None,
        on_refused: Callable[[Refusal], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if batch_size < 1:
            msg = f"a batch holds at least one statement, not {batch_size}"
            raise ValueError(msg)
        self.events = events
        self.client = client
        self.settings = settings
        self.batch_size = batch_size
        self.retries = retries
        self.progress = progress
        self.on_refused = on_refused
        self.sleep = sleep
        self.target = client.where
        self.read_store: ReadStore = events.read_store()
        self.tracking = ForwardingStore(self.read_store)

    def close(self) -> None:
        self.client.close()
        self.read_store.close()

    @property
    def lock_name(self) -> str:
        return "xapi-" + hashlib.sha256(self.target.encode()).hexdigest()[:16]

    def run(self, *, follow: bool = False, stop: threading.Event | None = None) -> ForwardReport:
        """Send every statement the store has not had; with ``follow``, keep sending new
        ones as events are recorded, until ``stop`` is set."""
        stop = stop or threading.Event()
        with self.read_store.lock(self.lock_name, wait=False) as acquired:
            if not acquired:
                msg = lazy(
                    "another forwarder to %(lrs)s is running; stop it first", lrs=self.target
                )
                raise ForwarderBusy(msg)
            start = self.tracking.forwarded(self.target).position
            fold, source = fold_up_to(self.events, self.settings, start)
            report = ForwardReport(self.target, start, start, source.head())
            while not stop.is_set():
                head = source.head()
                report.head = head
                if report.position < head:
                    self._forward(fold, source, report, head)
                    continue
                if not follow:
                    break
                self.read_store.wait_for_events(1.0, stop)
            return report

    def _forward(
        self, fold: StatementFold, source: RecordSource, report: ForwardReport, head: int
    ) -> None:
        pending: list[Produced] = []
        last = report.position
        for position, produced in statements_of(source, fold, report.position, head):
            pending.extend(produced)
            last = position
            if len(pending) >= self.batch_size:
                self._send_and_advance(pending, last, report)
                pending = []
        if pending or last > report.position:
            self._send_and_advance(pending, last, report)
        # Events the fold skips undecoded may lie between the last one read and the head.
        if report.position < head:
            self._send_and_advance([], head, report)

    def _send_and_advance(
        self, batch: list[Produced], position: int, report: ForwardReport
    ) -> None:
        refused: list[Refusal] = []
        sent = self._send(batch, refused) if batch else 0
        self.tracking.advance(self.target, report.position, position, sent, refused)
        report.position = position
        report.sent += sent
        report.refused.extend(refused)
        for refusal in refused:
            # Reported to the caller (on_refused, the report); the log has it at info.
            logger.info(
                "%s refused statement %s (event %s): %s %s",
                self.target, refusal.statement_id, refusal.event, refusal.status, refusal.reason,
            )  # fmt: skip
            if self.on_refused is not None:
                self.on_refused(refusal)
        if self.progress is not None:
            self.progress(report.sent, position, report.head)

    def _send(self, batch: list[Produced], refused: list[Refusal]) -> int:
        """Send ``batch``; the statements the store took (refused ones are added to
        ``refused``)."""
        answer = self._post([p.statement for p in batch])
        if answer.ok:
            return len(batch)
        if len(batch) == 1:
            only = batch[0]
            refused.append(
                Refusal(only.id, only.position, only.event, answer.status, answer.reason(), _now())
            )
            return 0
        middle = len(batch) // 2
        return self._send(batch[:middle], refused) + self._send(batch[middle:], refused)

    def _post(self, statements: list[dict[str, object]]) -> Answer:
        pause = FIRST_PAUSE
        problem: Text | str = ""
        for attempt in range(1, self.retries + 2):
            try:
                answer = self.client.post(statements)
            except OSError as exc:
                problem = lazy("cannot reach it (%(error)s)", error=os_reason(exc))
            except Exception as exc:  # noqa: BLE001 - http.client's errors have no common base
                problem = lazy("the connection failed (%(error)s)", error=type(exc).__name__)
            else:
                if answer.ok or answer.status in REFUSING:
                    return answer
                if answer.status in (401, 403):
                    msg = lazy(
                        "the LRS at %(lrs)s refused the credentials (%(status)s); set "
                        "PEERLOG_XAPI_LRS_USERNAME and PEERLOG_XAPI_LRS_PASSWORD",
                        lrs=self.target,
                        status=answer.status,
                    )
                    raise ForwardingFailed(msg)
                if answer.status not in PASSING:
                    msg = lazy(
                        "the LRS at %(lrs)s answered %(status)s: %(reason)s",
                        lrs=self.target,
                        status=answer.status,
                        reason=answer.reason(),
                    )
                    raise ForwardingFailed(msg)
                problem = lazy("it answered %(status)s", status=answer.status)
            if attempt > self.retries:
                break
            logger.info("LRS at %s: %s; trying again in %.1f s", self.target, problem, pause)
            self.sleep(pause * (0.5 + random.random()))  # noqa: S311 - jitter, not secrets
            pause = min(pause * 2, LONGEST_PAUSE)
        msg = lazy(
            "the LRS at %(lrs)s: %(problem)s, %(tries)s times; the position stays where its "
            "last answer left it",
            lrs=self.target,
            problem=problem,
            tries=self.retries + 1,
        )
        raise ForwardingFailed(msg)


def _now() -> datetime:
    return datetime.now(UTC)


__all__ = ["ForwardReport", "Forwarder", "ForwarderBusy", "ForwardingFailed", "LrsError"]
