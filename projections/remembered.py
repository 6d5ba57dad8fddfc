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
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from peerlog.domain.events import PersonForgotten
from peerlog.persistence.records import RecordedEvent
from peerlog.projections.progression import Progression

FOLDS_KEPT: Final = 8
"""How many audits' folds a process remembers (the least recently asked go first).
Each holds its streams' stored events and the progression over them: a few MB for an
audit of 4,000 events."""

REFOLD_TOPICS: Final = frozenset({PersonForgotten.__name__})
"""Events after which a remembered fold is not continued but made again."""

FoldKey = tuple[str, str, tuple[str, ...], datetime | None, datetime | None]
"""(student, course, streams, as-of recorded or ``None`` for now, as-of occurred)."""


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
            before = self.records[stream]
            count = len(before)
            if len(now) < count or not all(map(_same, before, now[:count])):
                return None
            rest = list(now[count:])
            if rest and rest[0].id <= self.last:
                return None
            if any(record.topic in REFOLD_TOPICS for record in rest):
                return None
            out.append(rest)
        return out


def _same(before: RecordedEvent, now: RecordedEvent) -> bool:
    """The same stored event: every field equal (its bytes, time, position, link)."""
    return before is now or vars(before) == vars(now)


class RememberedFolds:
    """A small LRU of :class:`RememberedFold` by :data:`FoldKey` (thread-safe). A fold
    is taken out while it is continued and read, and put back after: two audits never
    share one."""

    def __init__(self, size: int = FOLDS_KEPT) -> None:
        self._size = size
        self._folds: OrderedDict[FoldKey, RememberedFold] = OrderedDict()
        self._lock = threading.Lock()
        self.enabled = True
        """Off: every audit folds from scratch (and nothing is remembered)."""

    def take(self, key: FoldKey) -> RememberedFold | None:
        with self._lock:
            return self._folds.pop(key, None) if self.enabled else None

    def keep(self, key: FoldKey, fold: RememberedFold) -> None:
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
