"""The ledger of entries: how each step, feedback and reflection stands after the
corrections and retractions recorded so far.

A projection that counts entries keeps one ledger in one of its tables (defined by
:func:`ledger_table`, so every such table has the same shape) and hands it every entry
event. The ledger answers each with a :class:`Change`, "this entry stood as ``before``
and now stands as ``after``" (``None``: it did not count, or no longer counts), and the
projection takes ``before`` out of its counts and puts ``after`` in. The entry is the
domain's own (:mod:`peerlog.domain.pair`): recorded by ``recorded_entry``, corrected by
``apply_changes``, the one correction rule of the write side and the read side alike.

The ledger reads no store and no clock: it is a fold of the events it is given, kept in
the projection's rows, so the runner flushes it with the rest and an as-of view folds
it in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Final

import msgspec

from peerlog.domain.events import (
    DomainEvent,
    EntryCorrected,
    EntryRetracted,
    FeedbackGiven,
    ReflectionRecorded,
    StepRecorded,
)
from peerlog.domain.pair import Entry, apply_changes, recorded_entry
from peerlog.projections.base import ref
from peerlog.projections.tables import Row, Rows, Table, doc

RECORDING: Final = (StepRecorded, FeedbackGiven, ReflectionRecorded)
"""The events that record an entry."""
CHANGING: Final = (EntryCorrected, EntryRetracted)
"""The events that change one."""
ENTRY_EVENTS: Final = RECORDING + CHANGING
"""The events a ledger reads."""

EntryKey = tuple[str, str]


class LedgerRow(Row):
    pair_id: str
    entry_id: str
    entry: Annotated[Entry, doc("the entry as corrections leave it (retracted or not)")]
    events: Annotated[
        tuple[tuple[int, str], ...], doc("[position, event] of the entry and its corrections")
    ]
    note: Annotated[str | None, doc("what the projection keeps about the entry")]


def ledger_table(name: str) -> Table[LedgerRow]:
    """A projection's ledger of entries, as a table."""
    return Table(
        name,
        LedgerRow,
        key=2,
        doc="Each step, feedback and reflection as corrections leave it.",
        public=False,
    )


class Change(msgspec.Struct, frozen=True, gc=False):
    """An entry event's effect: the entry stood as ``before`` and stands as ``after``.

    ``None`` is "does not count": ``before`` for an entry just recorded, ``after`` for
    one just retracted. (A struct, made for every entry event of a fold, is made in a
    third of the time a named tuple is; it refers to no other change, so the collector
    need not follow it.)"""

    key: EntryKey
    before: Entry | None
    after: Entry | None


class Ledger:
    """The entries of the record, in one table of a projection's rows."""

    def __init__(self, rows: Rows, table: Table[LedgerRow], *, keep_events: bool = False) -> None:
        self.rows = rows
        self.table = table
        self.keep_events = keep_events
        """Whether each entry keeps the events behind it (for the audit's references)."""
        self._data = rows.of(table)
        for row in self._data.values():  # loaded from storage: JSON back into entries
            stored: object = row.entry
            if not isinstance(stored, msgspec.Struct):
                row.entry = msgspec.convert(stored, Entry)

    def apply(self, position: int, event: DomainEvent) -> Change | None:
        """Fold one event in; the change it makes to an entry, if it makes one."""
        if isinstance(event, RECORDING):
            entry = recorded_entry(event)
            pair_id, entry_id = event.pair_id, entry.entry_id
            key = (pair_id, entry_id)
            events = ((position, ref(event)),) if self.keep_events else ()
            self.rows.put(self.table, key, LedgerRow(pair_id, entry_id, entry, events, None))
            return Change(key, None, entry)
        if isinstance(event, CHANGING):
            key = (event.pair_id, event.entry_id)
            row = self._data.get(key)
            if row is None or row.entry.retracted:
                return None
            before = row.entry
            after: Entry | None
            if isinstance(event, EntryCorrected):
                after = row.entry = apply_changes(before, event.changes)
            else:
                row.entry = msgspec.structs.replace(before, retracted=True)
                after = None
            if self.keep_events:
                row.events = (*row.events, (position, ref(event)))
            self.rows.touch(self.table, key)
            return Change(key, before, after)
        return None

    def get(self, key: EntryKey) -> Entry | None:
        """The entry as it stands (retracted entries too), or ``None``."""
        row = self._data.get(key)
        return None if row is None else row.entry

    def occurred_at(self, key: EntryKey) -> datetime:
        """When the entry happened (corrections leave it)."""
        return self._data[key].entry.occurred_at

    def counting(self) -> Iterator[tuple[EntryKey, Entry]]:
        """Every entry that counts (not retracted), with its key."""
        for key, row in self._data.items():
            if not row.entry.retracted:
                yield key, row.entry

    def events(self, key: EntryKey) -> tuple[tuple[int, str], ...]:
        """[position, event] of the entry and its corrections (with ``keep_events``)."""
        return self._data[key].events

    def note(self, key: EntryKey) -> str | None:
        """What the projection noted about the entry (see :meth:`set_note`)."""
        return self._data[key].note

    def set_note(self, key: EntryKey, value: str | None) -> None:
        """Keep beside the entry something the projection decided when it was recorded
        (participation: the session it counts in), stored with the ledger."""
        self._data[key].note = value
