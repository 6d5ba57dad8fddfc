"""The hash chain that makes each stream's stored events tamper-evident.

Each stored event's link is

    sha256(previous link
           || u32 length || originator_id (UTF-8)
           || i64 version || i64 position || i64 recorded_at (µs since the epoch)
           || u32 length || topic (UTF-8)
           || stored state bytes)

with 32 zero bytes before a stream's first event. The state is hashed as stored, so
texts can be encrypted and their keys destroyed without breaking the chain. The
PostgreSQL recorder computes the same link in SQL inside the append function; this
module is the reference used by ``verify`` on both stores.
"""

from __future__ import annotations

import hashlib
import struct
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from eventsourcing.persistence import StoredEvent

from peerlog.i18n import Text, lazy
from peerlog.persistence.records import (
    Appended,
    CommandRecord,
    RecordedEvent,
    StoredCommand,
    to_micros,
)

GENESIS: Final = bytes(32)
_LENGTH: Final = struct.Struct(">I")
_NUMBERS: Final = struct.Struct(">qqq")


def link(  # noqa: PLR0917 - the formula's inputs, in the order they are hashed
    previous: bytes,
    originator_id: str,
    version: int,
    position: int,
    recorded_at_micros: int,
    topic: str,
    state: bytes,
) -> bytes:
    """The chain link of one stored event."""
    oid = originator_id.encode()
    top = topic.encode()
    digest = hashlib.sha256(previous)
    digest.update(_LENGTH.pack(len(oid)))
    digest.update(oid)
    digest.update(_NUMBERS.pack(version, position, recorded_at_micros))
    digest.update(_LENGTH.pack(len(top)))
    digest.update(top)
    digest.update(state)
    return digest.digest()


def link_of(event: RecordedEvent, previous: bytes) -> bytes:
    return link(
        previous,
        str(event.originator_id),
        event.originator_version,
        event.id,
        to_micros(event.recorded_at),
        event.topic,
        event.state,
    )


@dataclass(frozen=True)
class Problem:
    """The first thing wrong with a stream (or with the command log). Its description
    is in English as ``str`` (JSON has it so), shown in the reader's language with
    :func:`peerlog.i18n.shown`."""

    stream: str
    version: int | None
    position: int | None
    reason: Text

    def describe(self) -> Text:
        where = self.stream if self.version is None else f"{self.stream}@{self.version}"
        if self.position is None:
            return lazy("%(where)s: %(reason)s", where=where, reason=self.reason)
        return lazy(
            "%(where)s (position %(position)s): %(reason)s",
            where=where,
            position=self.position,
            reason=self.reason,
        )


def check_stream(
    events: Iterable[RecordedEvent], *, after: RecordedEvent | None = None
) -> tuple[int, bytes, Problem | None]:
    """Check one stream's events (in version order): how many, the head link, and the
    first problem found, if any. With ``after``, ``events`` are those that follow it
    (whose own link is taken as checked)."""
    previous = GENESIS if after is None else after.chain
    expected_version = 1 if after is None else after.originator_version + 1
    last_position = 0 if after is None else after.id
    count = 0
    stream = ""
    for event in events:
        stream = str(event.originator_id)
        count += 1
        if event.originator_version != expected_version:
            reason = (
                lazy(
                    "version %(version)s is missing (deleted); the chain is broken from here",
                    version=expected_version,
                )
                if event.originator_version > expected_version
                else lazy(
                    "version %(version)s appears twice; the chain is broken from here",
                    version=expected_version,
                )
            )
            return count, previous, Problem(stream, expected_version, None, reason)
        if event.id <= last_position:
            return (
                count,
                previous,
                Problem(
                    stream,
                    event.originator_version,
                    event.id,
                    lazy("its position is not after the previous event's: events were reordered"),
                ),
            )
        computed = link_of(event, previous)
        if computed != event.chain:
            return (
                count,
                previous,
                Problem(
                    stream,
                    event.originator_version,
                    event.id,
                    lazy(
                        "does not match its hash link: its stored bytes, version, position or "
                        "time were changed, or an earlier event was replaced, reordered or removed"
                    ),
                ),
            )
        previous = event.chain
        expected_version += 1
        last_position = event.id
    return count, previous, None


def check_positions(
    commands: Iterable[StoredCommand], positions: Iterable[int]
) -> Iterator[Problem]:
    """Check the record as a whole: positions run 1, 2, 3, ... without gaps (appends
    are serialised and take the next position, so a gap is a deleted event), and every
    stored event belongs to the command whose first event stands before it.

    ``positions`` must be in ascending order."""
    starts = {c.first_position: c for c in commands}
    expected = 1
    remaining = 0
    for position in positions:
        if position != expected:
            yield Problem(
                "record",
                None,
                expected,
                lazy(
                    "positions %(first)s to %(last)s are missing: events were deleted",
                    first=expected,
                    last=position - 1,
                )
                if position > expected + 1
                else lazy(
                    "position %(position)s is missing: an event was deleted", position=expected
                ),
            )
        command = starts.get(position)
        if command is not None:
            if remaining:
                yield Problem(
                    "record",
                    None,
                    position,
                    lazy(
                        "the command before this one is missing %(count)s of its events",
                        count=remaining,
                    ),
                )
            remaining = command.event_count - 1
        elif remaining:
            remaining -= 1
        else:
            yield Problem(
                "record",
                None,
                position,
                lazy("this event was not recorded by any command: it was inserted"),
            )
        expected = position + 1
    if remaining:
        yield Problem(
            "record",
            None,
            expected,
            lazy(
                "the last command is missing %(count)s of its events: they were deleted",
                count=remaining,
            ),
        )


def heads_digest(heads: dict[str, str]) -> str:
    """One digest for a set of stream heads: it identifies exactly the events behind them."""
    digest = hashlib.sha256()
    for stream in sorted(heads):
        digest.update(stream.encode())
        digest.update(b"\x00")
        digest.update(bytes.fromhex(heads[stream]))
    return digest.hexdigest()


def linked_rows(
    commands: Sequence[tuple[Sequence[StoredEvent], CommandRecord | None]],
    *,
    after: int,
    recorded_at: datetime,
    previous: Mapping[tuple[str, int], bytes],
) -> tuple[list[tuple[Any, ...]], list[list[Appended]]]:
    """The rows to insert for commands appended together, with their chain links.

    Positions follow ``after``; ``previous`` holds the stored link of the event before
    each stream's first one here ((stream, version) -> link). A row is (position,
    originator_id, version, topic, state, recorded_at, chain, command_id, command,
    command_digest, command_events)."""
    rows: list[tuple[Any, ...]] = []
    appended: list[list[Appended]] = []
    heads: dict[str, tuple[int, bytes]] = {}
    micros = to_micros(recorded_at)
    position = after
    for stored_events, command in commands:
        landed = []
        for index, stored in enumerate(stored_events):
            position += 1
            stream = str(stored.originator_id)
            version = stored.originator_version
            head = heads.get(stream)
            before = (
                head[1]
                if head is not None and head[0] == version - 1
                else previous.get((stream, version - 1), GENESIS)
            )
            chained = link(before, stream, version, position, micros, stored.topic, stored.state)
            heads[stream] = (version, chained)
            first = index == 0 and command is not None
            rows.append(
                (
                    position,
                    stream,
                    version,
                    stored.topic,
                    stored.state,
                    recorded_at,
                    chained,
                    command.command_id if first and command else None,
                    command.command if first and command else None,
                    command.digest if first and command else None,
                    len(stored_events) if first else None,
                )
            )
            landed.append(Appended(position, recorded_at, chained))
        appended.append(landed)
    return rows, appended


def first_links_needed(
    commands: Sequence[tuple[Sequence[StoredEvent], CommandRecord | None]],
) -> list[tuple[str, int]]:
    """(stream, version) of the stored event before each stream's first event here."""
    seen: set[str] = set()
    needed = []
    for stored_events, _ in commands:
        for stored in stored_events:
            stream = str(stored.originator_id)
            if stream not in seen:
                seen.add(stream)
                if stored.originator_version > 1:
                    needed.append((stream, stored.originator_version - 1))
    return needed


class Heads:
    """The last link this process appended to each stream (for a bounded number of
    streams), so that the next append to a stream need not read the link before it
    back: a stored link never changes, and where another writer appended since, the
    append is refused by the stream's unique version anyway."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._heads: dict[str, tuple[int, bytes]] = {}
        self._lock = threading.Lock()

    def before(self, stream: str, version: int) -> bytes | None:
        """The link of the event before ``version`` in ``stream``, where known."""
        if version == 1:
            return GENESIS
        head = self._heads.get(stream)
        return head[1] if head is not None and head[0] == version - 1 else None

    def known(
        self, needed: Sequence[tuple[str, int]]
    ) -> tuple[dict[tuple[str, int], bytes], list[tuple[str, int]]]:
        """Of the links ``needed`` ((stream, version)), those known and the rest."""
        found: dict[tuple[str, int], bytes] = {}
        rest = []
        for stream, version in needed:
            head = self._heads.get(stream)
            if head is not None and head[0] == version:
                found[(stream, version)] = head[1]
            else:
                rest.append((stream, version))
        return found, rest

    def remember(
        self,
        commands: Sequence[tuple[Sequence[StoredEvent], CommandRecord | None]],
        appended: Sequence[Sequence[Appended]],
    ) -> None:
        """The heads the appended commands left."""
        with self._lock:
            for (stored_events, _), landed in zip(commands, appended, strict=True):
                for stored, where in zip(stored_events, landed, strict=True):
                    if len(self._heads) >= self._size:
                        self._heads.pop(next(iter(self._heads)), None)
                    stream = str(stored.originator_id)
                    self._heads[stream] = (stored.originator_version, where.chain)
