"""The record's events as xAPI statements: a fold, like a projection.

:class:`StatementFold` takes the events in the order recorded and returns, for each, the
statements it becomes (``docs/xapi.md`` lists them). What it keeps between events is what
later statements need: each pair's course and members, each course's scale, each entry as
it now stands and the statements that state it, the statements that name each person.
The same events always give the same statements, with the same ids (UUIDv5 of the
event's stream and version, and the statement's place among the event's statements), so
a statement sent again is the same statement.

* A correction voids the statements of the entry as it stood and re-states it as
  corrected (same activity, timestamp of the original entry).
* A retraction voids them.
* When a person is forgotten, every statement naming them is voided, and no later
  statement names them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import msgspec

from peerlog.domain import events as ev
from peerlog.domain.erasure import is_erased
from peerlog.domain.vocabulary import GIBBS_STAGES
from peerlog.projections.base import ref
from peerlog.projections.xapi import vocabulary as v
from peerlog.projections.xapi.settings import XapiSettings

Statement = dict[str, Any]
SYSTEM_ACCOUNT: Final = "peerlog/system"
"""The account name of the agent that voids statements: peerlog itself (a "/" is in no
person's id, so no person has this name)."""


@dataclass(frozen=True)
class Produced:
    """One statement, and where it came from."""

    position: int
    event: str
    """The event it states, as reports name it (``pair/p01@7``)."""
    template: str
    statement: Statement
    subjects: tuple[str, ...]
    """The people it names."""

    @property
    def id(self) -> str:
        return str(self.statement["id"])


@dataclass
class _Pair:
    course_id: str
    students: tuple[str, ...]


@dataclass
class _Entry:
    kind: str
    fields: dict[str, Any]
    occurred_at: datetime
    statements: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    """The live statements stating it: (id, the people each names)."""


def timestamp(moment: datetime) -> str:
    """A time as statements give it: UTC, milliseconds, ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _texts(event: Any, names: Iterable[str]) -> dict[str, Any]:
    """The readable free texts among ``names`` (erased and empty ones left out)."""
    out: dict[str, Any] = {}
    for name in names:
        value = getattr(event, name, None) if not isinstance(event, dict) else event.get(name)
        if isinstance(value, dict):
            kept = {k: str(t) for k, t in value.items() if t and not is_erased(t)}
            if kept:
                out[name] = kept
        elif value and not is_erased(value):
            out[name] = str(value)
    return out


class StatementFold:
    """Events in, statements out; see the module's description."""

    def __init__(self, settings: XapiSettings) -> None:
        self.settings = settings
        self.namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"{settings.home_page}/xapi/statements")
        self.pairs: dict[str, _Pair] = {}
        self.scales: dict[str, tuple[tuple[str, ...], str]] = {}
        self.names: dict[str, str] = {}
        self.entries: dict[tuple[str, str], _Entry] = {}
        self.naming: dict[str, list[str]] = {}
        """Every live statement naming a person, by person."""
        self.voided: set[str] = set()
        self.forgotten: set[str] = set()
        self._handlers: dict[type[ev.DomainEvent], Callable[[Any, _Out], None]] = {
            ev.StudentEnrolled: self._enrolled,
            ev.SupervisorAssigned: self._enrolled,
            ev.CoordinatorAssigned: self._enrolled,
            ev.CourseOpened: self._course_opened,
            ev.PersonForgotten: self._person_forgotten,
            ev.PairFormed: self._pair_formed,
            ev.SessionOpened: self._session_opened,
            ev.RolesSwitched: self._roles_switched,
            ev.StepRecorded: self._entry_recorded,
            ev.FeedbackGiven: self._entry_recorded,
            ev.ReflectionRecorded: self._entry_recorded,
            ev.GoalAssessed: self._goal_assessed,
            ev.SessionClosed: self._session_closed,
            ev.EntryCorrected: self._entry_corrected,
            ev.EntryRetracted: self._entry_retracted,
            ev.PairDissolved: self._pair_dissolved,
        }

    @classmethod
    def topics(cls) -> frozenset[str]:
        """The event types the fold reads (others are skipped undecoded)."""
        read: tuple[type[ev.DomainEvent], ...] = (
            ev.StudentEnrolled,
            ev.SupervisorAssigned,
            ev.CoordinatorAssigned,
            ev.CourseOpened,
            ev.PersonForgotten,
            *ev.PAIR_EVENTS,
        )
        return frozenset(t.__name__ for t in read)

    def apply(self, position: int, event: ev.DomainEvent) -> list[Produced]:
        """The statements ``event`` becomes (none for most course events)."""
        handler = self._handlers.get(type(event))
        if handler is None:
            return []
        out = _Out(self, position, event)
        handler(event, out)
        return out.produced

    # --- building blocks -------------------------------------------------------------

    def agent(self, person: str) -> dict[str, Any]:
        agent: dict[str, Any] = {
            "objectType": "Agent",
            "account": {
                "homePage": self.settings.home_page,
                "name": self.settings.account_name(person),
            },
        }
        name = self.names.get(person) if self.settings.names else None
        if name:
            agent["name"] = name
        return agent

    def system(self) -> dict[str, Any]:
        return {
            "objectType": "Agent",
            "account": {"homePage": self.settings.home_page, "name": SYSTEM_ACCOUNT},
        }

    def activity(self, path: str, kind: str) -> dict[str, Any]:
        return {
            "objectType": "Activity",
            "id": f"{self.settings.activity_base}/{path}",
            "definition": {"type": kind},
        }

    def course(self, course_id: str) -> dict[str, Any]:
        return self.activity(f"courses/{course_id}", v.COURSE)

    def goal(self, course_id: str, goal_id: str) -> dict[str, Any]:
        return self.activity(f"courses/{course_id}/goals/{goal_id}", v.OBJECTIVE)

    def pair_activity(self, pair_id: str) -> dict[str, Any]:
        return self.activity(f"pairs/{pair_id}", v.PAIR)

    def session(self, pair_id: str, session_id: str) -> dict[str, Any]:
        return self.activity(f"pairs/{pair_id}/sessions/{session_id}", v.SESSION)

    def team(self, pair_id: str) -> dict[str, Any]:
        """The pair as a group: identified by the pair's id, its members not listed (a
        statement names only the people it is about)."""
        return {
            "objectType": "Group",
            "account": {"homePage": self.settings.home_page, "name": f"pairs/{pair_id}"},
        }

    def context(
        self,
        pair_id: str,
        *,
        parent: list[dict[str, Any]] | None = None,
        goals: Iterable[str] = (),
        extensions: dict[str, Any] | None = None,
        of_pair: bool = False,
    ) -> dict[str, Any]:
        """A statement's context: the pair as its team, the session as parent, the
        goals, the course and the pair as grouping (not the pair when it is the
        object), the profile as category."""
        pair = self.pairs.get(pair_id)
        grouping = []
        if pair is not None:
            grouping = [self.goal(pair.course_id, g) for g in goals]
            grouping.append(self.course(pair.course_id))
        if not of_pair:
            grouping.append(self.pair_activity(pair_id))
        activities: dict[str, Any] = {
            "category": [{"objectType": "Activity", "id": v.PROFILE_VERSION}]
        }
        if parent:
            activities["parent"] = parent
        activities["grouping"] = grouping
        context: dict[str, Any] = {"contextActivities": activities, "platform": "peerlog"}
        if self.settings.version == "2.0.0":
            context["contextGroups"] = [
                {
                    "objectType": "contextGroup",
                    "group": self.team(pair_id),
                    "relevantTypes": [v.PAIR],
                }
            ]
        else:
            context["team"] = self.team(pair_id)
        context["extensions"] = dict(extensions or {})
        return context

    # --- handlers --------------------------------------------------------------------

    def _enrolled(self, event: Any, out: _Out) -> None:
        del out
        if isinstance(event, ev.StudentEnrolled):
            person = event.student_id
        elif isinstance(event, ev.SupervisorAssigned):
            person = event.supervisor_id
        else:
            person = event.coordinator_id
        name = event.display_name
        if self.settings.names and name and not is_erased(name):
            self.names[person] = str(name)

    def _course_opened(self, event: ev.CourseOpened, out: _Out) -> None:
        del out
        self.scales[event.course_id] = (tuple(event.scale), event.pass_level)

    def _person_forgotten(self, event: ev.PersonForgotten, out: _Out) -> None:
        person = event.person_id
        if person in self.forgotten:
            return  # forgotten in another course already, in the same command
        self.forgotten.add(person)
        self.names.pop(person, None)
        for statement_id in self.naming.pop(person, []):
            if statement_id not in self.voided:
                out.void(statement_id, "forgotten", v.T_ERASURE)

    def _pair_formed(self, event: ev.PairFormed, out: _Out) -> None:
        self.pairs[event.pair_id] = _Pair(event.course_id, tuple(event.students))
        for student in event.students:
            out.state(
                v.T_PAIR_FORMED,
                student,
                v.JOINED,
                self.pair_activity(event.pair_id),
                self.context(event.pair_id, of_pair=True),
            )

    def _pair_dissolved(self, event: ev.PairDissolved, out: _Out) -> None:
        for student in event.students:
            out.state(
                v.T_PAIR_DISSOLVED,
                student,
                v.LEFT,
                self.pair_activity(event.pair_id),
                self.context(event.pair_id, of_pair=True),
            )

    def _session_opened(self, event: ev.SessionOpened, out: _Out) -> None:
        texts = _texts(event, ["plan"]) if self.settings.texts else {}
        for student, role in event.roles.items():
            extensions: dict[str, Any] = {v.ROLE: role}
            if event.shift is not None:
                extensions[v.SHIFT] = event.shift
            out.state(
                v.T_SESSION_OPENED,
                student,
                v.CHECKED_IN,
                self.session(event.pair_id, event.session_id),
                self.context(event.pair_id, extensions=extensions),
                texts=texts,
            )

    def _roles_switched(self, event: ev.RolesSwitched, out: _Out) -> None:
        texts = _texts(event, ["reason"]) if self.settings.texts else {}
        for student, role in event.roles.items():
            out.state(
                v.T_ROLE_SWITCHED,
                student,
                v.SWITCHED_ROLE,
                self.session(event.pair_id, event.session_id),
                self.context(event.pair_id, extensions={v.ROLE: role}),
                texts=texts,
            )

    def _session_closed(self, event: ev.SessionClosed, out: _Out) -> None:
        texts = _texts(event, ["summary"]) if self.settings.texts else {}
        for student in event.students:
            out.state(
                v.T_SESSION_CLOSED,
                student,
                v.EXITED,
                self.session(event.pair_id, event.session_id),
                self.context(event.pair_id),
                texts=texts,
            )

    def _goal_assessed(self, event: ev.GoalAssessed, out: _Out) -> None:
        pair = self.pairs.get(event.pair_id)
        scale, pass_level = self.scales.get(pair.course_id if pair else "", ((event.level,), ""))
        raw = scale.index(event.level) if event.level in scale else 0
        top = max(len(scale) - 1, 1)
        result: dict[str, Any] = {
            "score": {"raw": raw, "min": 0, "max": top, "scaled": round(raw / top, 4)},
            "extensions": {v.LEVEL: event.level},
        }
        if pass_level in scale:
            result["success"] = raw >= scale.index(pass_level)
        out.state(
            v.T_ASSESSMENT,
            event.student_id,
            v.ASSESSED,
            self.activity(
                f"pairs/{event.pair_id}/assessments/{event.originator_version}", v.ASSESSMENT
            ),
            self.context(
                event.pair_id,
                goals=[event.goal_id],
                extensions={v.ASSESSMENT_KIND: event.kind},
            ),
            result=result,
            texts=_texts(event, ["comment"]) if self.settings.texts else {},
        )

    # --- entries: steps, feedback, reflections ---------------------------------------

    def _entry_recorded(self, event: Any, out: _Out) -> None:
        if isinstance(event, ev.StepRecorded):
            kind, entry_id = "step", event.step_id
        elif isinstance(event, ev.FeedbackGiven):
            kind, entry_id = "feedback", event.feedback_id
        else:
            kind, entry_id = "reflection", event.reflection_id
        fields = msgspec.structs.asdict(event)
        entry = _Entry(kind, fields, event.occurred_at)
        self.entries[(event.pair_id, entry_id)] = entry
        self._state_entry(event.pair_id, entry_id, entry, out)

    def _entry_corrected(self, event: ev.EntryCorrected, out: _Out) -> None:
        entry = self.entries.get((event.pair_id, event.entry_id))
        if entry is None:
            return
        self._void_entry(entry, "corrected", v.T_CORRECTION, out)
        changes = {
            k: val for k, val in msgspec.structs.asdict(event.changes).items() if val is not None
        }
        entry.fields = {**entry.fields, **changes}
        self._state_entry(event.pair_id, event.entry_id, entry, out)

    def _entry_retracted(self, event: ev.EntryRetracted, out: _Out) -> None:
        entry = self.entries.pop((event.pair_id, event.entry_id), None)
        if entry is not None:
            self._void_entry(entry, "retracted", v.T_RETRACTION, out)

    def _void_entry(self, entry: _Entry, reason: str, template: str, out: _Out) -> None:
        for statement_id, subjects in entry.statements:
            if statement_id in self.voided:
                continue
            out.void(statement_id, reason, template)
            for person in subjects:
                naming = self.naming.get(person)
                if naming is not None and statement_id in naming:
                    naming.remove(statement_id)
        entry.statements = []

    def _state_entry(self, pair_id: str, entry_id: str, entry: _Entry, out: _Out) -> None:
        f = entry.fields
        goals = f.get("goals", ())
        texts_on = self.settings.texts
        out.occurred_at = entry.occurred_at
        if entry.kind == "step":
            obj = self.activity(f"pairs/{pair_id}/steps/{entry_id}", v.STEP)
            parent: list[dict[str, Any]] | None = [self.session(pair_id, f["session_id"])]
            extensions = {v.STEP_KIND: f["kind"]}
            texts = _texts(f, ["note"]) if texts_on else {}
            for verb, template, people in (
                (v.PERFORMED, v.T_STEP_PERFORMED, f["performers"]),
                (v.OBSERVED, v.T_STEP_OBSERVED, f["observers"]),
            ):
                for person in people:
                    entry.statements.append(
                        out.state(
                            template,
                            person,
                            verb,
                            obj,
                            self.context(
                                pair_id, parent=parent, goals=goals, extensions=extensions
                            ),
                            texts=texts,
                        )
                    )
        elif entry.kind == "feedback":
            obj = self.activity(f"pairs/{pair_id}/feedback/{entry_id}", v.FEEDBACK)
            session_id = f.get("session_id")
            parent = [self.session(pair_id, session_id)] if session_id else None
            texts = _texts(f, ["strengths", "improvements"]) if texts_on else {}
            giver, receiver = f["giver"], f["receiver"]
            for verb, template, actor, other in (
                (v.GAVE_FEEDBACK, v.T_FEEDBACK_GIVEN, giver, receiver),
                (v.RECEIVED_FEEDBACK, v.T_FEEDBACK_RECEIVED, receiver, giver),
            ):
                extensions = {v.FEEDBACK_SOURCE: f["source"], v.COUNTERPART: self.agent(other)}
                entry.statements.append(
                    out.state(
                        template,
                        actor,
                        verb,
                        obj,
                        self.context(pair_id, parent=parent, goals=goals, extensions=extensions),
                        texts=texts,
                        others=(other,),
                    )
                )
        else:
            obj = self.activity(f"pairs/{pair_id}/reflections/{entry_id}", v.REFLECTION)
            session_id = f.get("session_id")
            parent = [self.session(pair_id, session_id)] if session_id else None
            stages = [s for s in GIBBS_STAGES if s in f["stages"]]
            result = {
                "completion": len(stages) == len(GIBBS_STAGES),
                "extensions": {v.GIBBS_STAGES: stages},
            }
            texts = _texts(f, ["stages"]) if texts_on else {}
            for author in f["authors"]:
                entry.statements.append(
                    out.state(
                        v.T_REFLECTION,
                        author,
                        v.REFLECTED,
                        obj,
                        self.context(
                            pair_id,
                            parent=parent,
                            goals=goals,
                            extensions={v.REFLECTION_MODE: f["mode"]},
                        ),
                        result=result,
                        texts=texts,
                    )
                )
        entry.statements = [s for s in entry.statements if s[0]]


class _Out:
    """The statements one event becomes, numbered in order for their ids."""

    def __init__(self, fold: StatementFold, position: int, event: ev.DomainEvent) -> None:
        self.fold = fold
        self.position = position
        self.event = ref(event)
        self.occurred_at = event.occurred_at
        self.produced: list[Produced] = []
        self._count = 0

    def _id(self) -> str:
        self._count += 1
        return str(uuid.uuid5(self.fold.namespace, f"{self.event}#{self._count}"))

    def state(
        self,
        template: str,
        actor: str,
        verb: str,
        obj: dict[str, Any],
        context: dict[str, Any],
        *,
        result: dict[str, Any] | None = None,
        texts: dict[str, Any] | None = None,
        others: tuple[str, ...] = (),
    ) -> tuple[str, tuple[str, ...]]:
        """Add a statement of ``actor``; returns its id and the people it names ("" for
        the id when it names someone forgotten, and so is not made)."""
        subjects = (actor, *others)
        statement_id = self._id()
        if self.fold.forgotten.intersection(subjects):
            return "", subjects
        context["extensions"][v.EVENT] = self.event
        statement: Statement = {
            "id": statement_id,
            "actor": self.fold.agent(actor),
            "verb": {"id": verb, "display": {"en": v.VERB_LABELS[verb]}},
            "object": obj,
            "context": context,
            "timestamp": timestamp(self.occurred_at),
            "version": self.fold.settings.version,
        }
        if texts:
            result = {**(result or {})}
            result["extensions"] = {**result.get("extensions", {}), v.TEXTS: texts}
        if result:
            statement["result"] = result
        self.produced.append(Produced(self.position, self.event, template, statement, subjects))
        for person in subjects:
            self.fold.naming.setdefault(person, []).append(statement_id)
        return statement_id, subjects

    def void(self, statement_id: str, reason: str, template: str) -> None:
        self.fold.voided.add(statement_id)
        statement: Statement = {
            "id": self._id(),
            "actor": self.fold.system(),
            "verb": {"id": v.VOIDED, "display": {"en": v.VERB_LABELS[v.VOIDED]}},
            "object": {"objectType": "StatementRef", "id": statement_id},
            "context": {
                "contextActivities": {
                    "category": [{"objectType": "Activity", "id": v.PROFILE_VERSION}]
                },
                "extensions": {v.VOIDING_REASON: reason, v.EVENT: self.event},
            },
            "timestamp": timestamp(self.occurred_at),
            "version": self.fold.settings.version,
        }
        self.produced.append(Produced(self.position, self.event, template, statement, ()))
