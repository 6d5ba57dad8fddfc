"""What the recorders store and return besides the library's stored events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from eventsourcing.persistence import IntegrityError, Notification

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MICROSECOND: Final = timedelta(microseconds=1)


def to_micros(moment: datetime) -> int:
    """Microseconds since the epoch, exactly (no floating point)."""
    return (moment - EPOCH) // ONE_MICROSECOND


def from_micros(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


@dataclass(frozen=True)
class RecordedEvent(Notification):
    """A stored event as the record keeps it: its position in the whole record (``id``),
    when the record learned of it, and its link in its stream's hash chain."""

    recorded_at: datetime
    chain: bytes

    @property
    def position(self) -> int:
        return self.id

    @classmethod
    def of(  # noqa: PLR0917 - the stored row's columns, in order
        cls,
        position: int,
        originator_id: str,
        originator_version: int,
        topic: str,
        state: bytes,
        recorded_at: datetime,
        chain: bytes,
    ) -> RecordedEvent:
        """Made from a stored row without the frozen dataclass's checks and one
        ``object.__setattr__`` per field (replays read thousands of these)."""
        record = object.__new__(cls)
        object.__setattr__(
            record,
            "__dict__",
            {
                "originator_id": originator_id,
                "originator_version": originator_version,
                "topic": topic,
                "state": state,
                "id": position,
                "recorded_at": recorded_at,
                "chain": chain,
            },
        )
        return record


@dataclass(frozen=True)
class CommandRecord:
    """The command that caused a batch of events, kept to recognise a re-sent command."""

    command_id: str
    command: str
    digest: bytes


@dataclass(frozen=True)
class StoredCommand:
    """A command the record has accepted, with the positions of its events.

    A command's events have consecutive positions; the first of them carries the
    command's id, name, digest and number of events."""

    command_id: str
    command: str
    digest: bytes
    recorded_at: datetime
    first_position: int
    event_count: int

    @property
    def last_position(self) -> int:
        return self.first_position + self.event_count - 1


@dataclass(frozen=True)
class Appended:
    """Where an appended event landed."""

    position: int
    recorded_at: datetime
    chain: bytes


class StreamConflict(IntegrityError):
    """Another writer appended to a stream this command read; reload and decide again."""


class CommandIdConflict(IntegrityError):
    """The command id was recorded before."""
