"""Who is what, where: the record's roster, for deciding what a token may read.

Commands are checked by the record itself (``peerlog.domain``); reads are scoped here.
The roster is folded in memory from the record's roster events (courses opened,
coordinators, supervisors and students assigned, pairs formed and dissolved, people
forgotten), read straight from the event store rather than from a read model, so that
access never depends on how far the projections have got. It catches up before each
question with one query for the roster events after the last position it has seen
(positions are committed in order, without gaps).

Roles in the record are never taken away (a pair's people are fixed when it is formed;
a dissolved pair stays its people's pair), so a roster that is a moment behind can only
show less, never more.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from peerlog.domain.events import (
    CoordinatorAssigned,
    CourseOpened,
    DomainEvent,
    PairDissolved,
    PairFormed,
    PersonForgotten,
    StudentEnrolled,
    SupervisorAssigned,
)
from peerlog.projections.source import EventSource

TOPICS: Final = frozenset(
    t.__name__
    for t in (
        CourseOpened,
        CoordinatorAssigned,
        SupervisorAssigned,
        StudentEnrolled,
        PairFormed,
        PairDissolved,
        PersonForgotten,
    )
)


@dataclass
class PairRoster:
    pair_id: str
    course_id: str
    students: tuple[str, ...]
    supervisors: tuple[str, ...]
    active: bool = True

    def as_dict(self) -> dict[str, object]:
        return {
            "pair_id": self.pair_id,
            "course_id": self.course_id,
            "students": list(self.students),
            "supervisors": list(self.supervisors),
            "active": self.active,
        }


@dataclass
class CourseRoster:
    course_id: str
    title: str
    coordinators: list[str] = field(default_factory=list)
    supervisors: list[str] = field(default_factory=list)
    students: list[str] = field(default_factory=list)
    pairs: list[str] = field(default_factory=list)


class Roster:
    """The record's courses, pairs and people, kept up to date on demand."""

    def __init__(self, source: EventSource) -> None:
        self.source = source
        self.position = 0
        self.courses: dict[str, CourseRoster] = {}
        self.pairs: dict[str, PairRoster] = {}
        self.forgotten: set[str] = set()
        self._lock = threading.RLock()

    def refresh(self) -> Roster:
        """Fold the roster events recorded since the last refresh."""
        with self._lock:
            # Up to the head as it is now: the next refresh starts there, and does not
            # scan again the other events recorded since the last roster event.
            head = self.source.head()
            if head <= self.position:
                return self
            decode = self.source.decode
            for _, topic, state, _ in self.source.iter_raw(self.position, stop=head, topics=TOPICS):
                self._apply(decode(topic, state))
            self.position = head
        return self

    def _apply(self, event: DomainEvent) -> None:
        if isinstance(event, CourseOpened):
            self.courses[event.course_id] = CourseRoster(
                event.course_id, event.title, coordinators=[event.actor]
            )
            return
        if isinstance(event, PersonForgotten):
            self.forgotten.add(event.person_id)
            return
        if isinstance(event, PairDissolved):
            pair = self.pairs.get(event.pair_id)
            if pair is not None:
                pair.active = False
            return
        course_id = getattr(event, "course_id", "")
        course = self.courses.get(course_id)
        if course is None:  # pragma: no cover - the record opens a course first
            return
        if isinstance(event, CoordinatorAssigned):
            course.coordinators.append(event.coordinator_id)
        elif isinstance(event, SupervisorAssigned):
            course.supervisors.append(event.supervisor_id)
        elif isinstance(event, StudentEnrolled):
            course.students.append(event.student_id)
        elif isinstance(event, PairFormed):
            course.pairs.append(event.pair_id)
            self.pairs[event.pair_id] = PairRoster(
                event.pair_id, course_id, tuple(event.students), tuple(event.supervisors)
            )

    # --- questions (each answered under the lock, on the state the last refresh left) ---

    def course(self, course_id: str) -> CourseRoster | None:
        with self._lock:
            return self.courses.get(course_id)

    def pair(self, pair_id: str) -> PairRoster | None:
        with self._lock:
            return self.pairs.get(pair_id)

    def course_ids(self) -> list[str]:
        with self._lock:
            return list(self.courses)

    def pairs_where(
        self,
        *,
        student: str | None = None,
        supervisor: str | None = None,
        courses: Iterable[str] | None = None,
    ) -> list[PairRoster]:
        """Pairs with this student, or this supervisor, or in these courses; in the
        order they were formed."""
        wanted = set(courses) if courses is not None else None
        with self._lock:
            return [
                pair
                for pair in self.pairs.values()
                if (student is None or student in pair.students)
                and (supervisor is None or supervisor in pair.supervisors)
                and (wanted is None or pair.course_id in wanted)
            ]

    def courses_where(
        self,
        *,
        coordinator: str | None = None,
        supervisor: str | None = None,
        student: str | None = None,
    ) -> list[str]:
        with self._lock:
            return [
                c.course_id
                for c in self.courses.values()
                if (coordinator is None or coordinator in c.coordinators)
                and (supervisor is None or supervisor in c.supervisors)
                and (student is None or student in c.students)
            ]

    def is_forgotten(self, person: str) -> bool:
        with self._lock:
            return person in self.forgotten
