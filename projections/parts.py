"""How a rebuild is cut into parts of whole courses, so that its memory stays bounded.

Every read-model row depends on the events of one course only (a course's stream and
its pairs' streams; a pair's course is named by its ``PairFormed`` event), which
``tests/integration/test_rebuild_by_course.py`` checks. So a rebuild may fold a few
courses at a time into fresh projection states, write their rows and drop them: the
rows of different parts never share a key, and together they are the tables a fold of
the whole record gives. A part holds about :data:`PART_EVENTS` events (a course larger
than that is a part of its own); streams of no course are folded in a last part.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Final

from peerlog.domain.events import PairFormed
from peerlog.domain.vocabulary import COURSE_STREAM_PREFIX, pair_stream
from peerlog.projections.source import EventSource

PART_EVENTS: Final = 200_000
"""About how many events a rebuild folds into memory at a time."""


@dataclass(frozen=True)
class Part:
    """Streams folded together (``None``: the whole record) and about how many events."""

    streams: frozenset[str] | None
    events: int


def plan(source: EventSource, head: int, part_events: int = PART_EVENTS) -> list[Part]:
    """The parts of a rebuild up to ``head``: one for the whole record if it fits in
    one, else whole courses grouped into parts of at most about ``part_events`` events
    (as counted by the streams' last versions), in the order of the courses' ids."""
    lengths = source.stream_lengths()
    total = sum(lengths.values())
    if total <= part_events:
        return [Part(None, total)]
    courses = _courses_of_pairs(source, head)
    by_course: defaultdict[str, list[str]] = defaultdict(list)
    others: list[str] = []
    for stream in sorted(lengths):
        if stream.startswith(COURSE_STREAM_PREFIX):
            by_course[stream.removeprefix(COURSE_STREAM_PREFIX)].append(stream)
        elif stream in courses:
            by_course[courses[stream]].append(stream)
        else:
            others.append(stream)
    parts: list[Part] = []
    streams: list[str] = []
    events = 0
    for course in sorted(by_course):
        its = by_course[course]
        size = sum(lengths[s] for s in its)
        if streams and events + size > part_events:
            parts.append(Part(frozenset(streams), events))
            streams, events = [], 0
        streams += its
        events += size
    if streams:
        parts.append(Part(frozenset(streams), events))
    if others:
        parts.append(Part(frozenset(others), sum(lengths[s] for s in others)))
    return parts


def _courses_of_pairs(source: EventSource, head: int) -> dict[str, str]:
    """Each pair's stream and the id of its course (from the pairs' PairFormed)."""
    courses: dict[str, str] = {}
    for _, topic, state, _ in source.iter_raw(0, stop=head, topics={PairFormed.__name__}):
        event = source.decode(topic, state)
        if isinstance(event, PairFormed):
            courses[pair_stream(event.pair_id)] = event.course_id
    return courses
