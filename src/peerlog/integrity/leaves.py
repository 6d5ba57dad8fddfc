"""A leaf of the record's Merkle tree: one stored event, as its hash chain covers it.

The leaf is the event's stored bytes with what places it in the record, in the order
and encoding of the chain link (:mod:`peerlog.persistence.chain`) without the
previous link::

    u32 length || originator_id (UTF-8) || i64 version || i64 position
    || i64 recorded_at (µs since the epoch) || u32 length || topic (UTF-8) || state

Personal texts are sealed in the stored state, so a leaf never holds a readable text,
and destroying a person's key (an erasure) changes no leaf. Position p is leaf p - 1.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from peerlog.integrity.merkle import leaf_hash
from peerlog.persistence.records import RecordedEvent, to_micros

_LENGTH: Final = struct.Struct(">I")
_NUMBERS: Final = struct.Struct(">qqq")


@dataclass(frozen=True)
class Entry:
    """The fields of a stored event that its leaf covers."""

    stream: str
    version: int
    position: int
    recorded_at_micros: int
    topic: str
    state: bytes

    @classmethod
    def of(cls, record: RecordedEvent) -> Entry:
        return cls(
            str(record.originator_id),
            record.originator_version,
            record.id,
            to_micros(record.recorded_at),
            record.topic,
            bytes(record.state),
        )

    def leaf(self) -> bytes:
        stream = self.stream.encode()
        topic = self.topic.encode()
        return b"".join(
            (
                _LENGTH.pack(len(stream)),
                stream,
                _NUMBERS.pack(self.version, self.position, self.recorded_at_micros),
                _LENGTH.pack(len(topic)),
                topic,
                self.state,
            )
        )

    def leaf_hash(self) -> bytes:
        return leaf_hash(self.leaf())

    def moved_to(self, position: int) -> Entry:
        """The same event as if it stood at another position (to recognise a moved one)."""
        return Entry(
            self.stream, self.version, position, self.recorded_at_micros, self.topic, self.state
        )

    def __str__(self) -> str:
        return f"{self.stream}@{self.version}"


def record_leaf_hash(record: RecordedEvent) -> bytes:
    return Entry.of(record).leaf_hash()
