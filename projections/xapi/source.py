"""Where the xAPI side reads the record: the one adapter between it and the event store.

It reads through the read side's :class:`~peerlog.projections.source.EventSource`
(``iter_raw``, ``decode`` and ``open_many``); a change of how the xAPI side gets its
events is a change here only.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Final

from peerlog.domain.events import DomainEvent
from peerlog.folding import folding
from peerlog.projections.source import EventSource

CHUNK: Final = 2_000


class RecordSource:
    """The record's events in the order recorded, decoded, their personal texts opened
    only when asked (``open_texts``)."""

    def __init__(
        self,
        source: EventSource,
        *,
        topics: Collection[str] | None = None,
        open_texts: bool = False,
    ) -> None:
        self.source = source
        self.topics = topics
        self.open_texts = open_texts

    def head(self) -> int:
        return self.source.head()

    def events(self, after: int = 0, stop: int | None = None) -> Iterator[tuple[int, DomainEvent]]:
        """(position, event) after ``after``, up to ``stop`` (inclusive)."""
        raw: list[tuple[int, str, bytes]] = []
        for position, topic, state, _ in self.source.iter_raw(after, stop=stop, topics=self.topics):
            raw.append((position, topic, state))
            if len(raw) >= CHUNK:
                yield from self._decoded(raw)
                raw = []
        yield from self._decoded(raw)

    def _decoded(self, raw: list[tuple[int, str, bytes]]) -> list[tuple[int, DomainEvent]]:
        # The collector is held off while a chunk is decoded, not while its events are
        # used (they may be sent over the network).
        source = self.source
        with folding():
            decoded = [(position, source.decode(topic, state)) for position, topic, state in raw]
        if not self.open_texts or not decoded:
            return decoded
        opened = source.open_many(event for _, event in decoded)
        return list(zip((p for p, _ in decoded), opened, strict=True))
