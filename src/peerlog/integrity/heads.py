"""The chain heads an audit has verified, so that the next audit hashes only what is new.

Checking a stream's hash chain means hashing every one of its events again (and each
event's Merkle leaf, to compare it with the tree): a third of an audit's time. A
:class:`VerifiedHeads` (one per :class:`~peerlog.integrity.service.Integrity`, so one
per application, in memory) remembers, for each stream it checked and found whole, its
head (version, position and link), a **fingerprint** of the stored events up to that
head, and how far their leaves were found in the tree. The next check of the stream,
from the same one read of its events that the audit folds:

* finds the event at the remembered version and compares its stored link with the
  remembered one;
* compares the fingerprint of the stored events up to there with the remembered one:
  SHA-256 over their versions, positions, times, topics, states and links, taken in
  bulk (a few joins and one hash, not a hash per event), so that *any* change to an
  event before the head (its bytes, time, position, an event deleted, inserted or
  reordered) is seen although its link is not recomputed;
* hashes the links (and leaves) of the events after the head only.

Where either comparison fails, the whole stream is checked again from its first
event, as without a remembered head, and the problem is reported as such a check
reports it. A head is remembered only for a stream found whole.

The heads are kept in memory only, not in the database: a head kept beside the
events would be no evidence against whoever can rewrite them (they would rewrite the
head too), so a process that starts anew checks each stream in full once.
"""

from __future__ import annotations

import hashlib
import threading
from array import array
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

from peerlog.persistence import chain
from peerlog.persistence.records import RecordedEvent, to_micros

STREAMS_KEPT: Final = 10_000
"""How many streams' heads are remembered (the least recently checked go first)."""
FINGERPRINT_PREFIX: Final = b"peerlog verified events v1\n"


@dataclass(frozen=True)
class VerifiedHead:
    """A stream's events up to ``version`` were found whole."""

    version: int
    position: int
    link: bytes
    fingerprint: bytes
    """Of the stored events up to ``version`` (:class:`Fingerprint`)."""
    leaves: int = 0
    """The version up to which their Merkle leaves were found in the tree."""


class Fingerprint:
    """SHA-256 over stored events as they are (any change to one changes it), taken in
    bulk: their numbers, topics, states and links each go into a hash of their own, so
    that adding events in two goes gives what adding them at once gives."""

    def __init__(self) -> None:
        self._parts = [hashlib.sha256(FINGERPRINT_PREFIX + bytes([n])) for n in range(4)]

    def add(self, events: Sequence[RecordedEvent]) -> None:
        numbers = array("q")
        for event in events:
            numbers.extend(
                (
                    event.originator_version,
                    event.id,
                    to_micros(event.recorded_at),
                    len(event.topic),
                    len(event.state),
                    len(event.chain),
                )
            )
        counts, topics, states, links = self._parts
        counts.update(numbers.tobytes())
        topics.update("".join(e.topic for e in events).encode())
        states.update(b"".join(e.state for e in events))
        links.update(b"".join(e.chain for e in events))

    def digest(self) -> bytes:
        return hashlib.sha256(b"".join(part.digest() for part in self._parts)).digest()


class VerifiedHeads:
    """The chain heads found whole so far, by stream (thread-safe)."""

    def __init__(self, size: int = STREAMS_KEPT) -> None:
        self._size = size
        self._heads: OrderedDict[str, VerifiedHead] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, stream: str) -> VerifiedHead | None:
        with self._lock:
            return self._heads.get(stream)

    def _put(self, stream: str, head: VerifiedHead | None) -> None:
        with self._lock:
            if head is None:
                self._heads.pop(stream, None)
                return
            self._heads[stream] = head
            self._heads.move_to_end(stream)
            while len(self._heads) > self._size:
                self._heads.popitem(last=False)

    def check(self, stream: str, events: Sequence[RecordedEvent]) -> chain.Problem | None:
        """Check a stream's stored events (all of them, in version order), hashing the
        links of those after its remembered head only where that head still holds;
        remember the new head if the stream is whole, forget it if not."""
        known = self.get(stream)
        digest = Fingerprint()
        if known is not None and self._at_head(known, events):
            digest.add(events[: known.version])
            if digest.digest() != known.fingerprint:
                known, digest = None, Fingerprint()
        else:
            known = None
        start = known.version if known is not None else 0
        rest = events[start:]
        _, _, problem = chain.check_stream(rest, after=events[start - 1] if start else None)
        if problem is not None:
            self._put(stream, None)
            return problem
        if rest:
            digest.add(rest)
            last = events[-1]
            head = VerifiedHead(
                last.originator_version,
                last.id,
                last.chain,
                digest.digest(),
                known.leaves if known is not None else 0,
            )
            self._put(stream, head)
        elif known is None:
            self._put(stream, None)  # an empty stream: nothing to remember
        return None

    @staticmethod
    def _at_head(known: VerifiedHead, events: Sequence[RecordedEvent]) -> bool:
        """Whether the stored event at the remembered version is the remembered head:
        its position and its stored link are the ones remembered."""
        if len(events) < known.version:
            return False
        at = events[known.version - 1]
        return (
            at.originator_version == known.version
            and at.id == known.position
            and at.chain == known.link
        )

    def forget(self, stream: str) -> None:
        """Check the stream from its first event next time."""
        self._put(stream, None)

    def leaves_found(self, stream: str, checked: VerifiedHead, version: int) -> None:
        """The leaves of the stream's events up to ``version``, of those ``checked``
        stood for, were found in the tree (kept only while that head is the one
        remembered)."""
        with self._lock:
            head = self._heads.get(stream)
            if head is checked and head.leaves < version <= head.version:
                self._heads[stream] = replace(head, leaves=version)
