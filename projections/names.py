"""The names people go by: the display names the record gives its people.

A name is a personal text, sealed in the record (never copied into a read model), so it
is read from the courses' streams and opened when a page or report is made. A name whose
key was destroyed (the person was forgotten) reads as ``[erased]``; a person the record
gives no name is shown by their id alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Final

from peerlog.domain.erasure import ERASED_MARKER, is_erased
from peerlog.domain.events import (
    CoordinatorAssigned,
    DomainEvent,
    StudentEnrolled,
    SupervisorAssigned,
)
from peerlog.domain.vocabulary import COURSE_STREAM_PREFIX, course_stream
from peerlog.projections.source import history

if TYPE_CHECKING:
    from peerlog.projections.source import EventSource

Names = Mapping[str, str]
"""Person id -> display name (``[erased]`` when erased)."""

_PERSON_FIELD: Final[dict[type[DomainEvent], str]] = {
    StudentEnrolled: "student_id",
    SupervisorAssigned: "supervisor_id",
    CoordinatorAssigned: "coordinator_id",
}


def display_names(
    source: EventSource, courses: str | Iterable[str] | None = None
) -> dict[str, str]:
    """The display names the courses' record gives their people (every course's when
    ``courses`` is None); the latest name where a person has several, ``[erased]`` for
    a name that was erased."""
    if courses is None:
        streams = [s for s in source.streams() if s.startswith(COURSE_STREAM_PREFIX)]
    else:
        wanted = [courses] if isinstance(courses, str) else list(dict.fromkeys(courses))
        streams = [course_stream(c) for c in wanted]
    names: dict[str, str] = {}
    for stream in streams:
        for event in history(source, stream):
            field = _PERSON_FIELD.get(type(event))
            if field is None:
                continue
            name = getattr(event, "display_name", None)
            if is_erased(name):
                names[getattr(event, field)] = ERASED_MARKER
            elif name:
                names[getattr(event, field)] = str(name)
    return names


def named(person: str, names: Names) -> str:
    """``Hanna Svensson (p02-b)``, ``[erased] (p02-b)``, or the id alone without a name."""
    name = names.get(person)
    return f"{name} ({person})" if name else person


def all_named(people: Iterable[str], names: Names) -> str:
    """Several people, each named, separated by commas."""
    return ", ".join(named(person, names) for person in people)
