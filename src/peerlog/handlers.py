"""One small handler per command, in one table: get the aggregates, let the domain
decide, say which versions were read.

A handler loads what its command declares it reads (:attr:`CommandBase.streams`)
through :class:`Aggregates`, calls the command's decider with the command model
itself, and returns a :class:`Decision`: the events, and the version of every stream
it consulted (the append checks that none has moved on). Handlers write nothing and
read no clock; retries, idempotency and the append are the executor's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, TypeVar

from peerlog.commands import (
    AnyCommand,
    CommandBase,
    ForgetPerson,
    FormPair,
    OpenCourse,
    Streams,
)
from peerlog.domain import course as course_rules
from peerlog.domain import pair as pair_rules
from peerlog.domain.course import Course
from peerlog.domain.errors import RuleViolation
from peerlog.domain.events import DomainEvent
from peerlog.domain.pair import Pair
from peerlog.domain.stamp import Stamp
from peerlog.domain.vocabulary import course_stream, pair_stream
from peerlog.i18n import lazy


@dataclass(frozen=True)
class Decision:
    """The events a command causes, and the versions of the aggregates it read."""

    events: list[DomainEvent]
    expected: dict[str, int] = field(default_factory=dict)


class Aggregates(Protocol):
    """What a handler reads: the latest known state of courses and pairs."""

    def course(self, course_id: str) -> Course | None: ...

    def pair(self, pair_id: str) -> Pair | None: ...

    def courses(self) -> list[Course]: ...

    def forgotten(self, people: list[str]) -> set[str]: ...


class _InCourse(Protocol):
    @property
    def course_id(self) -> str: ...


class _InPair(Protocol):
    @property
    def pair_id(self) -> str: ...


_C = TypeVar("_C", bound=_InCourse)
_P = TypeVar("_P", bound=_InPair)
Handler = Callable[[Aggregates, Any, Stamp], Decision]


def _course(aggregates: Aggregates, course_id: str) -> Course:
    return course_rules.require_course(aggregates.course(course_id), course_id)


def _open_course(aggregates: Aggregates, cmd: OpenCourse, stamp: Stamp) -> Decision:
    existing = aggregates.course(cmd.course_id)
    return Decision(
        course_rules.open_course(existing, stamp, cmd), {course_stream(cmd.course_id): 0}
    )


def _form_pair(aggregates: Aggregates, cmd: FormPair, stamp: Stamp) -> Decision:
    course = _course(aggregates, cmd.course_id)
    existing = aggregates.pair(cmd.pair_id)
    events = pair_rules.form_pair(course, existing, stamp, cmd)
    return Decision(events, {course.id: course.version, pair_stream(cmd.pair_id): 0})


def _forget_person(aggregates: Aggregates, cmd: ForgetPerson, stamp: Stamp) -> Decision:
    courses = aggregates.courses()
    events = course_rules.forget_person_everywhere(courses, stamp, cmd)
    # Every course was read to find where the person is known: none may move on.
    return Decision(events, {course.id: course.version for course in courses})


def on_course(decide: Callable[[Course, Stamp, _C], list[DomainEvent]]) -> Handler:
    """The handler of a command that changes one existing course."""

    def handle(aggregates: Aggregates, cmd: _C, stamp: Stamp) -> Decision:
        course = _course(aggregates, cmd.course_id)
        return Decision(decide(course, stamp, cmd), {course.id: course.version})

    return handle


def on_pair(decide: Callable[[Pair, Course, Stamp, _P], list[DomainEvent]]) -> Handler:
    """The handler of a command in an existing pair (its course is read too)."""

    def handle(aggregates: Aggregates, cmd: _P, stamp: Stamp) -> Decision:
        pair = pair_rules.require_pair(aggregates.pair(cmd.pair_id), cmd.pair_id)
        course = _course(aggregates, pair.course_id)
        expected = {pair.id: pair.version, course.id: course.version}
        return Decision(decide(pair, course, stamp, cmd), expected)

    return handle


HANDLERS: Final[dict[type[CommandBase], Handler]] = {
    OpenCourse: _open_course,
    FormPair: _form_pair,
    ForgetPerson: _forget_person,
    **{command: on_course(decide) for command, decide in course_rules.DECIDERS.items()},
    **{command: on_pair(decide) for command, decide in pair_rules.DECIDERS.items()},
}
"""Every command's handler: the three that read more than one existing aggregate, and
one for each decider registered with ``@DECIDERS(Command)`` in the course and pair
modules (adding such a command adds nothing here)."""


def handle(aggregates: Aggregates, cmd: AnyCommand, stamp: Stamp) -> Decision:
    """Decide a command on the aggregates as they stand; raise :class:`RuleViolation`
    (or :class:`~peerlog.domain.errors.CommandRejected`) if it breaks a rule."""
    _require_no_forgotten_newcomer(aggregates, cmd)
    return HANDLERS[type(cmd)](aggregates, cmd, stamp)


def _require_no_forgotten_newcomer(aggregates: Aggregates, cmd: CommandBase) -> None:
    """The id of someone forgotten (in any course) is not brought into a course again."""
    named = [(name, str(getattr(cmd, name))) for name in cmd.newcomers]
    if not named:
        return
    forgotten = aggregates.forgotten([person for _, person in named])
    for field_name, person in named:
        if person in forgotten:
            raise RuleViolation(
                field_name,
                "person_forgotten",
                lazy(
                    "'%(person)s' was forgotten: their personal data was erased, and the id of "
                    "someone forgotten is not used again; give the person a new id",
                    person=person,
                ),
            )


def streams_of(cmd: CommandBase) -> list[str]:
    """The streams a command names by id (what to reload when its state may be stale);
    for :attr:`Streams.EVERY_COURSE`, none: the caller knows the courses."""
    kind = cmd.streams
    streams = []
    if kind in (Streams.NEW_COURSE, Streams.COURSE, Streams.NEW_PAIR):
        streams.append(course_stream(getattr(cmd, "course_id")))  # noqa: B009
    if kind in (Streams.NEW_PAIR, Streams.PAIR):
        streams.append(pair_stream(getattr(cmd, "pair_id")))  # noqa: B009
    return streams
