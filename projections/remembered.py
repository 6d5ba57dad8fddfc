"""Audits folded once: the progression a process folded for an audit, remembered so
that the next audit of the same student (the web server's, a live page's) folds only
what has been recorded since.

A remembered fold is reused only where it is provably what a fold from scratch would
give. A fold is a left fold over the streams' stored events merged by position and
filtered by the as-of window, so it may be continued where:

* the streams are the same (a new pair of the student is a new key);
* each stream's stored events up to what was folded are, field for field, the ones
  folded (an event changed, deleted or inserted before the end refolds everything);
* every event since comes after the last one folded in the record's order;
* the window is the same: a fixed ``--as-of`` keeps exactly the same events however
  often it is asked, but "now" moves, so a fold of "now" that left out an event
  recorded after its moment (another process's clock ahead) is not remembered;
* no one has been forgotten since (the record's texts about them change meaning;
  nothing short of a fold from scratch is trusted then).

Anything else is folded from scratch. The fold itself reads no clock and no store.

The same memory keeps a pair's timeline as told (:class:`Tellings`, see
:mod:`peerlog.projections.timeline`): one stream, continued under the same rules.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from peerlog.domain.events import PersonForgotten
from peerlog.persistence.records import RecordedEvent
from peerlog.projections.progression import Progression

if TYPE_CHECKING:
    from peerlog.projections.timeline import Telling  # noqa: F401 - a base class names it

FOLDS_KEPT: Final = 8
"""How many audits' folds a process remembers (the least recently asked go first).
Each holds its streams' stored events and the progression over them: a few MB for an
audit of 4,000 events."""

REFOLD_TOPICS: Final = frozenset({PersonForgotten.__name__})
"""Events after which a remembered fold is not continued but made again."""

TELLINGS_KEPT: Final = 8
"""How many timelines as told a process remembers: each holds its pair's stored events
and items, a few MB for a pair of 10,000 events."""

FoldKey = tuple[str, str, tuple[str, ...], datetime | None, datetime | None]
"""(student, course, streams, as-of recorded or ``None`` for now, as-of occurred)."""

TellingKey = tuple[str, datetime | None, datetime | None, str, bool, timedelta]
"""(pair, as-of recorded, as-of occurred, language, with the pair's state, late after)."""

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass
class RememberedFold:
    """The progression folded over ``records`` (every stored event of each stream, up
    to the last one folded), and the events it kept."""

    records: dict[str, list[RecordedEvent]]
    last: int
    """The position of the last event folded (0 for none)."""
    state: Progression
    kept: list[RecordedEvent]
    goals: list[dict[str, Any]] | None = None
    """The audit's goals made from ``state``, if made since it last changed."""

    def news(
        self, records: Mapping[str, Sequence[RecordedEvent]]
    ) -> list[list[RecordedEvent]] | None:
        """The events of each stream recorded after those folded, where the fold can be
        continued with them; ``None`` where it must be made again."""
        if records.keys() != self.records.keys():
            return None
        out = []
        for stream, now in records.items():
            rest = continued(self.records[stream], now, self.last)
            if rest is None or any(record.topic in REFOLD_TOPICS for record in rest):
                return None
            out.append(rest)
        return out


def continued(
    before: Sequence[RecordedEvent], now: Sequence[RecordedEvent], last: int
) -> list[RecordedEvent] | None:
    """The events of a stream read ``now`` that follow those read ``before``, where
    ``before`` reads back unchanged (field for field) and everything since comes after
    position ``last``; ``None`` where what was made from ``before`` must be made again."""
    count = len(before)
    if len(now) < count or not all(map(_same, before, now[:count])):
        return None
    rest = list(now[count:])
    if rest and rest[0].id <= last:
        return None
    return rest


def _same(before: RecordedEvent, now: RecordedEvent) -> bool:
    """The same stored event: every field equal (its bytes, time, position, link)."""
    return before is now or vars(before) == vars(now)


class Remembered(Generic[K, V]):
    """A small LRU of what was made, by key (thread-safe). A value is taken out while
    it is continued and read, and put back after: two requests never share one."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._folds: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()
        self.enabled = True
        """Off: everything is made from scratch (and nothing is remembered)."""

    def take(self, key: K) -> V | None:
        with self._lock:
            return self._folds.pop(key, None) if self.enabled else None

    def keep(self, key: K, fold: V) -> None:
        with self._lock:
            if not self.enabled:
                return
            self._folds[key] = fold
            while len(self._folds) > self._size:
                self._folds.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._folds.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._folds)


class Tellings(Remembered[TellingKey, "Telling"]):
    """The timelines a process remembers as told. ``forgotten`` reads from the store
    (not a cache) which of some people were forgotten: a telling holding texts of
    anyone forgotten is not continued (their texts read as erased)."""

    def __init__(
        self,
        forgotten: Callable[[Collection[str]], set[str]],
        size: int = TELLINGS_KEPT,
    ) -> None:
        super().__init__(size)
        self.forgotten = forgotten


class RememberedFolds(Remembered[FoldKey, RememberedFold]):
    """The audits' folds a process remembers (:class:`RememberedFold` by
    :data:`FoldKey`), and, where the record can say who was forgotten, its timelines
    as told."""

    def __init__(
        self,
        size: int = FOLDS_KEPT,
        *,
        forgotten: Callable[[Collection[str]], set[str]] | None = None,
    ) -> None:
        super().__init__(size)
        self.tellings = Tellings(forgotten) if forgotten is not None else None
