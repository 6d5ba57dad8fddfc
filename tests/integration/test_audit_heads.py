"""An audit reads each of its streams once, and hashes again only the events recorded
after the chain heads an earlier audit verified; a tampered event is still reported."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

import pytest

from peerlog import PeerLog
from peerlog.domain.events import DomainEvent
from peerlog.integrity.leaves import Entry
from peerlog.integrity.service import Integrity
from peerlog.persistence import chain
from peerlog.persistence.base import RawEvent
from peerlog.persistence.records import RecordedEvent
from peerlog.projections import AsOf, audit
from peerlog.projections.remembered import RememberedFolds
from peerlog.projections.source import EventSource, StoreEvents
from peerlog.projections.store import ReadStore
from tests.conftest import Store
from tests.support import Placement

STREAMS = {"course/vfu-1", "pair/p1"}


class Counting:
    """A real record's event source, counting the stored events each stream gives."""

    def __init__(self, inner: EventSource) -> None:
        self.inner = inner
        self.reads: Counter[str] = Counter()
        self.events = 0

    @property
    def settings(self) -> Mapping[str, str]:
        return self.inner.settings

    def head(self) -> int:
        return self.inner.head()

    def iter_raw(
        self,
        after: int,
        *,
        stop: int | None = None,
        topics: Collection[str] | None = None,
        streams: Collection[str] | None = None,
    ) -> Iterator[RawEvent]:
        return self.inner.iter_raw(after, stop=stop, topics=topics, streams=streams)

    def records(self, stream: str, *, limit: int | None = None) -> list[RecordedEvent]:
        found = self.inner.records(stream, limit=limit)
        self.reads[stream] += 1
        self.events += len(found)
        return found

    def streams(self) -> list[str]:
        return self.inner.streams()

    def stream_lengths(self) -> dict[str, int]:
        return self.inner.stream_lengths()

    def decode(self, topic: str, state: bytes) -> DomainEvent:
        return self.inner.decode(topic, state)

    def open_many(self, events: Iterable[DomainEvent]) -> list[DomainEvent]:
        return self.inner.open_many(events)

    def read_store(self) -> ReadStore:
        return self.inner.read_store()

    def integrity(self) -> Integrity:
        return self.inner.integrity()

    def pseudonym_key(self) -> bytes:
        return self.inner.pseudonym_key()

    @property
    def folds(self) -> RememberedFolds:
        return self.inner.folds

    def forget(self) -> None:
        self.reads.clear()
        self.events = 0


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """The links computed (the real function, counted), by stream."""
    counted: Counter[str] = Counter()
    real = chain.link_of

    def link_of(event: RecordedEvent, previous: bytes) -> bytes:
        counted[str(event.originator_id)] += 1
        return real(event, previous)

    monkeypatch.setattr(chain, "link_of", link_of)
    return counted


@pytest.fixture
def leaves(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """The Merkle leaves hashed to compare with the tree (the real method, counted)."""
    counted: Counter[str] = Counter()
    real = Entry.leaf_hash

    def leaf_hash(entry: Entry) -> bytes:
        counted[entry.stream] += 1
        return real(entry)

    monkeypatch.setattr(Entry, "leaf_hash", leaf_hash)
    return counted


def _recorded(placement: Placement, steps: Iterable[str]) -> None:
    for step in steps:
        placement.app.execute(placement.step(step))


@pytest.fixture
def placement(app: PeerLog) -> Placement:
    placed = Placement(app).seed()
    _recorded(placed, ("st1", "st2", "st3"))
    return placed


def _sizes(app: PeerLog) -> dict[str, int]:
    return {stream: len(app.records(stream)) for stream in STREAMS}


def test_a_second_audit_reads_each_stream_once_and_hashes_only_what_is_new(
    placement: Placement, hashed: Counter[str], leaves: Counter[str]
) -> None:
    source = Counting(StoreEvents(placement.app))
    # The tree and a checkpoint made first, as the server keeps them (so that what the
    # audit hashes is what it checks, not the tree it extends).
    source.integrity().make_checkpoint()
    leaves.clear()
    first = audit(source, "s1", "vfu-1")
    assert first["integrity"]["verified"] is True
    assert source.reads == dict.fromkeys(STREAMS, 1)
    sizes = _sizes(placement.app)
    assert source.events == sum(sizes.values())
    assert hashed == sizes  # every link, once
    assert leaves == sizes  # and every leaf, to compare it with the tree

    _recorded(placement, ("st4", "st5"))
    source.integrity().make_checkpoint()
    source.forget()
    hashed.clear()
    leaves.clear()
    second = audit(source, "s1", "vfu-1")
    assert second["integrity"]["verified"] is True
    assert source.reads == dict.fromkeys(STREAMS, 1)
    assert source.events == sum(_sizes(placement.app).values())
    assert hashed == {"pair/p1": 2}  # the two steps recorded since; the course is as it was
    assert leaves == {"pair/p1": 2}

    # The same audit as a process that remembers nothing makes it (every link hashed).
    fresh = PeerLog(placement.app.settings)
    try:
        again = audit(StoreEvents(fresh), "s1", "vfu-1", _as_of(second))
    finally:
        fresh.close()
    assert again == second
    assert hashed["pair/p1"] == 2 + sizes["pair/p1"] + 2

    source.forget()
    hashed.clear()
    leaves.clear()
    assert audit(source, "s1", "vfu-1")["integrity"]["verified"] is True
    assert source.reads == dict.fromkeys(STREAMS, 1)
    assert hashed == {}  # nothing new: nothing hashed
    assert leaves == {}


def _as_of(report: dict[str, Any]) -> AsOf:
    return AsOf(datetime.fromisoformat(report["as_of"]))


def _tamper(store: Store, stream: str, version: int) -> int:
    rows = store.execute_raw(
        "SELECT position, state FROM events WHERE originator_id = %s AND originator_version = %s",
        (stream, version),
    )
    position, state = rows[0]
    assert isinstance(position, int)
    assert isinstance(state, bytes | memoryview)
    forged = bytes(state).replace(b"performance", b"preparation")
    assert forged != bytes(state)
    store.execute_raw("UPDATE events SET state = %s WHERE position = %s", (forged, position))
    return position


def _problems(report: dict[str, Any]) -> list[str]:
    assert report["integrity"]["verified"] is False
    problems: list[str] = report["integrity"]["problems"]
    return problems


def test_an_event_tampered_with_after_the_remembered_head_is_reported(
    store: Store, placement: Placement
) -> None:
    source = StoreEvents(placement.app)
    assert audit(source, "s1", "vfu-1")["integrity"]["verified"] is True
    head = source.integrity().heads.get("pair/p1")
    assert head is not None
    _recorded(placement, ("st4", "st5"))
    position = _tamper(store, "pair/p1", head.version + 1)

    problems = _problems(audit(source, "s1", "vfu-1"))
    assert any(p.startswith(f"pair/p1@{head.version + 1} (position {position})") for p in problems)
    # Reported again: a stream that failed is checked from its first event next time.
    assert source.integrity().heads.get("pair/p1") is None
    assert any("does not match its hash link" in p for p in _problems(audit(source, "s1", "vfu-1")))


def test_an_event_tampered_with_before_the_remembered_head_is_reported(
    store: Store, placement: Placement
) -> None:
    """Its link is not hashed again, but the stored events up to the head are no longer
    those verified: the whole stream is checked again, and the event named."""
    source = StoreEvents(placement.app)
    assert audit(source, "s1", "vfu-1")["integrity"]["verified"] is True
    head = source.integrity().heads.get("pair/p1")
    assert head is not None
    steps = [
        r.originator_version for r in placement.app.records("pair/p1") if r.topic == "StepRecorded"
    ]
    version = steps[0]
    assert version < head.version
    position = _tamper(store, "pair/p1", version)

    problems = _problems(audit(source, "s1", "vfu-1"))
    assert any(p.startswith(f"pair/p1@{version} (position {position})") for p in problems)


def test_a_remembered_head_whose_stored_link_changed_is_not_trusted(
    store: Store, placement: Placement
) -> None:
    source = StoreEvents(placement.app)
    audit(source, "s1", "vfu-1")
    head = source.integrity().heads.get("pair/p1")
    assert head is not None
    store.execute_raw(
        "UPDATE events SET chain = %s WHERE position = %s", (bytes(32), head.position)
    )
    problems = _problems(audit(source, "s1", "vfu-1"))
    assert any(p.startswith(f"pair/p1@{head.version} (position {head.position})") for p in problems)
