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
from typing import Final, NamedTuple

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
from peerlog.projections.tables import Column, Rows, Table

ENTRY_EVENTS: Final = (
    StepRecorded,
    FeedbackGiven,
    ReflectionRecorded,
    EntryCorrected,
    EntryRetracted,
)
"""The events a ledger reads."""

L_ENTRY, L_EVENTS, L_NOTE = 2, 3, 4

EntryKey = tuple[str, str]


def ledger_table(name: str) -> Table:
    """A projection's ledger of entries, as a table."""
    return Table(
        name,
        (
            Column("pair_id", "text"),
            Column("entry_id", "text"),
            Column("entry", "json", "the entry as corrections leave it (retracted or not)"),
            Column("events", "json", "[position, event] of the entry and its corrections"),
            Column("note", "text", "what the projection keeps about the entry", nullable=True),
        ),
        key=2,
        doc="Each step, feedback and reflection as corrections leave it.",
        public=False,
    )


class Change(NamedTuple):
    """An entry event's effect: the entry stood as ``before`` and stands as ``after``.

    ``None`` is "does not count": ``before`` for an entry just recorded, ``after`` for
    one just retracted."""

    key: EntryKey
    before: Entry | None
    after: Entry | None


class Ledger:
    """The entries of the record, in one table of a projection's rows."""

    def __init__(self, rows: Rows, table: str, *, keep_events: bool = False) -> None:
        self.rows = rows
        self.table = table
        self.keep_events = keep_events
        """Whether each entry keeps the events behind it (for the audit's references)."""
        self._data = rows.data[table]
        for row in self._data.values():  # loaded from storage: JSON back into entries
            if not isinstance(row[L_ENTRY], msgspec.Struct):
                row[L_ENTRY] = msgspec.convert(row[L_ENTRY], Entry)

    def apply(self, position: int, event: DomainEvent) -> Change | None:
        """Fold one event in; the change it makes to an entry, if it makes one."""
        if isinstance(event, StepRecorded | FeedbackGiven | ReflectionRecorded):
            entry = recorded_entry(event)
            key = (event.pair_id, entry.entry_id)
            events = ((position, ref(event)),) if self.keep_events else ()
            self.rows.put(self.table, key, [key[0], key[1], entry, events, None])
            return Change(key, None, entry)
        if isinstance(event, EntryCorrected | EntryRetracted):
            key = (event.pair_id, event.entry_id)
            row = self._data.get(key)
            if row is None or row[L_ENTRY].retracted:
                return None
            before: Entry = row[L_ENTRY]
            if isinstance(event, EntryCorrected):
                after: Entry | None = apply_changes(before, event.changes)
                row[L_ENTRY] = after
            else:
                row[L_ENTRY] = msgspec.structs.replace(before, retracted=True)
                after = None
            if self.keep_events:
                row[L_EVENTS] = (*row[L_EVENTS], (position, ref(event)))
            self.rows.touch(self.table, key)
            return Change(key, before, after)
        return None

    def get(self, key: EntryKey) -> Entry | None:
        """The entry as it stands (retracted entries too), or ``None``."""
        row = self._data.get(key)
        if row is None:
            return None
        entry: Entry = row[L_ENTRY]
        return entry

    def occurred_at(self, key: EntryKey) -> datetime:
        """When the entry happened (corrections leave it)."""
        entry: Entry = self._data[key][L_ENTRY]
        return entry.occurred_at

    def counting(self) -> Iterator[tuple[EntryKey, Entry]]:
        """Every entry that counts (not retracted), with its key."""
        for key, row in self._data.items():
            if not row[L_ENTRY].retracted:
                yield key, row[L_ENTRY]

    def events(self, key: EntryKey) -> tuple[tuple[int, str], ...]:
        """[position, event] of the entry and its corrections (with ``keep_events``)."""
        return self._data[key][L_EVENTS]  # type: ignore[no-any-return]

    def note(self, key: EntryKey) -> str | None:
        """What the projection noted about the entry (see :meth:`set_note`)."""
        note: str | None = self._data[key][L_NOTE]
        return note

    def set_note(self, key: EntryKey, value: str | None) -> None:
        """Keep beside the entry something the projection decided when it was recorded
        (participation: the session it counts in), stored with the ledger."""
        self._data[key][L_NOTE] = value
