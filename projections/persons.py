"""What the record holds about one person: every event by or about them.

A subject-access request ("what do you hold about me?") and an erasure ("forget me")
both start here. An event is **by** a person when they are its actor, and **about**
them when it names them: as a student, supervisor or coordinator of a course, a
member or supervisor of a pair, a performer or observer of a step, the giver or
receiver of feedback, an author of a reflection, the student assessed, one of the
people a correction or retraction concerns, or the person forgotten.

Events are read as stored (texts sealed) to find the person's; only theirs are opened.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from peerlog.domain.erasure import is_erased
from peerlog.domain.events import (
    CoordinatorAssigned,
    DomainEvent,
    EntryCorrected,
    PersonForgotten,
    StudentEnrolled,
    SupervisorAssigned,
)
from peerlog.domain.vocabulary import COURSE_STREAM_PREFIX, PAIR_STREAM_PREFIX
from peerlog.folding import folding
from peerlog.persistence.sealing import ENVELOPE_PREFIX, personal_texts
from peerlog.projections.source import EventSource

PEOPLE_FIELDS: Final = (
    "student_id",
    "supervisor_id",
    "coordinator_id",
    "person_id",
    "students",
    "supervisors",
    "roles",
    "performers",
    "observers",
    "giver",
    "receiver",
    "authors",
    "subjects",
)
"""The fields of an event that name people (an id, a list of ids, or ids as keys)."""
CHANGED_PEOPLE_FIELDS: Final = ("performers", "observers", "giver", "receiver", "authors")
NAME_EVENTS: Final = (StudentEnrolled, SupervisorAssigned, CoordinatorAssigned)
CHUNK: Final = 1000


def named_people(event: DomainEvent) -> set[str]:
    """Everyone the event names (its actor aside)."""
    people: set[str] = set()
    sources: list[tuple[Any, tuple[str, ...]]] = [(event, PEOPLE_FIELDS)]
    if isinstance(event, EntryCorrected):
        sources.append((event.changes, CHANGED_PEOPLE_FIELDS))
    for holder, names in sources:
        for name in names:
            value = getattr(holder, name, None)
            if isinstance(value, str):
                people.add(value)
            elif isinstance(value, tuple | list | dict):
                people.update(value)
    return people


def _sealed_about(event: DomainEvent, person_id: str) -> int:
    """How many readable sealed texts of the event are by or about the person."""
    count = 0
    for text in personal_texts(event):
        if not text.startswith(ENVELOPE_PREFIX):
            continue
        _, subjects, nonce, _ = text.split(";", 3)
        if nonce and person_id in subjects.split(","):
            count += 1
    return count


@dataclass(frozen=True)
class Entry:
    """One stored event by or about the person, as stored (texts sealed)."""

    position: int
    recorded_at: datetime
    topic: str
    event: DomainEvent
    by: bool
    """Whether the person recorded it (else it only names them)."""


@dataclass
class PersonRecord:
    """Every event of the record by or about one person."""

    person_id: str
    entries: list[Entry] = field(default_factory=list)
    sealed_texts: int = 0
    """Texts by or about the person that their key still opens (their names included)."""

    @property
    def known(self) -> bool:
        return bool(self.entries)

    @property
    def courses(self) -> list[str]:
        """The courses whose stream holds an event by or about the person."""
        return _streams(self.entries, COURSE_STREAM_PREFIX)

    @property
    def pairs(self) -> list[str]:
        """The pairs whose stream holds an event by or about the person."""
        return _streams(self.entries, PAIR_STREAM_PREFIX)

    @property
    def forgotten_in(self) -> list[str]:
        return [
            e.event.course_id
            for e in self.entries
            if isinstance(e.event, PersonForgotten) and e.event.person_id == self.person_id
        ]

    @property
    def names(self) -> int:
        """How many times the record holds a display name of the person."""
        return sum(
            1
            for e in self.entries
            if isinstance(e.event, NAME_EVENTS)
            and e.event.display_name is not None
            and self.person_id in named_people(e.event)
        )

    def counts(self) -> dict[str, int]:
        """How many entries of each type, in the order first met."""
        return dict(Counter(e.topic for e in self.entries))

    @property
    def by_them(self) -> int:
        return sum(1 for e in self.entries if e.by)


def _streams(entries: list[Entry], prefix: str) -> list[str]:
    seen: dict[str, None] = {}
    for e in entries:
        if e.event.originator_id.startswith(prefix):
            seen[e.event.originator_id.removeprefix(prefix)] = None
    return list(seen)


def person_record(source: EventSource, person_id: str) -> PersonRecord:
    """Every event by or about ``person_id``, in the order recorded (texts sealed)."""
    record = PersonRecord(person_id)
    with folding():
        for position, topic, state, recorded_at in source.iter_raw(0):
            event = source.decode(topic, state)
            by = event.actor == person_id
            if not by and person_id not in named_people(event):
                continue
            record.entries.append(Entry(position, recorded_at, topic, event, by))
            record.sealed_texts += _sealed_about(event, person_id)
    return record


def opened(source: EventSource, record: PersonRecord) -> Iterator[tuple[Entry, DomainEvent]]:
    """The record's entries with their texts opened (or marked erased)."""
    for start in range(0, len(record.entries), CHUNK):
        chunk = record.entries[start : start + CHUNK]
        yield from zip(chunk, source.open_many(e.event for e in chunk), strict=True)


def texts_about(entry: Entry, event: DomainEvent, person_id: str) -> tuple[int, int]:
    """(readable, erased): the entry's texts by or about the person, as opened in
    ``event`` (texts about other people only, such as the names a coordinator
    enrolled, are not counted)."""
    readable = erased = 0
    for sealed, text in zip(personal_texts(entry.event), personal_texts(event), strict=True):
        if not sealed.startswith(ENVELOPE_PREFIX):
            continue
        if person_id not in sealed.split(";", 2)[1].split(","):
            continue
        if is_erased(text):
            erased += 1
        else:
            readable += 1
    return readable, erased
