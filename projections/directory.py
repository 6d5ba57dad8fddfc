"""What is in the record, for people who have to name it: its courses with their goals
and people, and its pairs with their members and supervisors; and, for an id that is
not there, the ones that are (or the closest).

Read from the record itself (the course streams folded as the write side folds them,
and the pairs' forming and dissolving), never from a read model, so that a listing
never lags behind a command just recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from peerlog.domain.course import Course, evolve
from peerlog.domain.events import PairDissolved, PairFormed
from peerlog.domain.vocabulary import COURSE_STREAM_PREFIX, course_stream
from peerlog.projections.source import history

if TYPE_CHECKING:
    from peerlog.projections.source import EventSource


@dataclass(frozen=True)
class PairEntry:
    pair_id: str
    course_id: str
    students: tuple[str, ...]
    supervisors: tuple[str, ...]
    unit: str | None
    active: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "pair_id": self.pair_id,
            "course_id": self.course_id,
            "students": list(self.students),
            "supervisors": list(self.supervisors),
            "unit": self.unit,
            "active": self.active,
        }


def course_ids(source: EventSource) -> list[str]:
    """Every course of the record, in the order their streams sort."""
    return sorted(
        s.removeprefix(COURSE_STREAM_PREFIX)
        for s in source.streams()
        if s.startswith(COURSE_STREAM_PREFIX)
    )


def course(source: EventSource, course_id: str) -> Course | None:
    """The course as the record holds it now (None if it was never opened)."""
    state: Course | None = None
    for event in history(source, course_stream(course_id)):
        state = evolve(state, event)
    return state


def courses(source: EventSource) -> list[Course]:
    found = (course(source, c) for c in course_ids(source))
    return [c for c in found if c is not None]


def pairs(source: EventSource, course_id: str | None = None) -> list[PairEntry]:
    """The record's pairs (a course's only, with ``course_id``), in the order formed."""
    formed: dict[str, PairEntry] = {}
    dissolved: set[str] = set()
    topics = {PairFormed.__name__, PairDissolved.__name__}
    decode = source.decode
    for _, topic, state, _ in source.iter_raw(0, topics=topics):
        event = decode(topic, state)
        if isinstance(event, PairFormed):
            formed[event.pair_id] = PairEntry(
                event.pair_id,
                event.course_id,
                tuple(event.students),
                tuple(event.supervisors),
                event.unit,
                active=True,
            )
        elif isinstance(event, PairDissolved):
            dissolved.add(event.pair_id)
    return [
        PairEntry(
            p.pair_id, p.course_id, p.students, p.supervisors, p.unit, p.pair_id not in dissolved
        )
        for p in formed.values()
        if course_id is None or p.course_id == course_id
    ]
