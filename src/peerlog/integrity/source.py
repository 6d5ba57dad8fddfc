"""The one place the integrity code reads the event store: through its read interface."""

from __future__ import annotations

from peerlog.persistence.base import EventRecorder
from peerlog.persistence.records import RecordedEvent


class RecordSource:
    """The stored events as the tree and its checks need them."""

    def __init__(self, recorder: EventRecorder) -> None:
        self.recorder = recorder

    def head(self) -> int:
        """The highest committed position (positions are committed in order, without gaps)."""
        return self.recorder.max_notification_id() or 0

    def between(self, start: int, stop: int) -> list[RecordedEvent]:
        """The events at positions ``start`` to ``stop`` (inclusive), in position order."""
        return self.recorder.select_records(start=start, stop=stop)

    def stream(self, stream: str) -> list[RecordedEvent]:
        """One stream's events, in version order."""
        return self.recorder.select_records(stream)
