"""What a token may do: the commands its role may send, and what it may read.

Two checks stand before the record's own rules:

* **Who.** The token's actor is the command's actor: a command naming another actor is
  rejected (``actor_mismatch``); one that names none is recorded with the token's.
* **Which commands.** A token's role allows a set of commands (:data:`COMMANDS_BY_ROLE`,
  from each command model's ``senders``).
  Then the record decides, as it does for every command (docs/access.md): a supervisor
  token records steps only in the pairs its actor supervises. ``open_course``, which the
  record allows anyone (run locally, without authentication), takes a coordinator
  token over HTTP: the API is where authentication is.

What a token reads follows from the record (:class:`~peerlog.web.roster.Roster`):

* a **student** reads their own pairs and their own progression and audit;
* a **supervisor** reads the pairs they supervise, and those pairs' students
  (progression, audits) in those pairs' courses;
* a **coordinator** reads everything in the courses they coordinate;
* an **examiner** reads the audits of the students of the courses named on the token.

Anything else is refused (403), whether it exists or not, so a refusal tells nothing
about what is in the record. A person who was forgotten reads nothing any more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from peerlog.commands import COMMAND_TYPES, command_name
from peerlog.web.roster import PairRoster, Roster
from peerlog.web.tokens import Role, Token

COMMANDS_BY_ROLE: Final[dict[Role, frozenset[str]]] = {
    role: frozenset(command_name(t) for t in COMMAND_TYPES if role.value in t.senders)
    for role in Role
}
"""Each role's commands, as each command declares who may send it (``senders``)."""


@dataclass(frozen=True)
class Scope:
    """What one token may read, as the roster stands."""

    token: Token
    roster: Roster

    @property
    def actor(self) -> str:
        return self.token.actor

    @property
    def role(self) -> Role:
        return self.token.role

    @property
    def forgotten(self) -> bool:
        return self.roster.is_forgotten(self.actor)

    def may_send(self, command: str) -> bool:
        return command in COMMANDS_BY_ROLE[self.role]

    def courses(self) -> list[str]:
        """The courses the token reads anything of."""
        if self.forgotten:
            return []
        role, actor = self.role, self.actor
        if role is Role.COORDINATOR:
            return self.roster.courses_where(coordinator=actor)
        if role is Role.EXAMINER:
            known = set(self.roster.course_ids())
            return [c for c in self.token.courses if c in known]
        if role is Role.STUDENT:
            return self.roster.courses_where(student=actor)
        return list(dict.fromkeys(p.course_id for p in self.pairs()))

    def pairs(self) -> list[PairRoster]:
        """The pairs the token reads (their balance, timeline, overview)."""
        if self.forgotten:
            return []
        role, actor = self.role, self.actor
        if role is Role.STUDENT:
            return self.roster.pairs_where(student=actor)
        if role is Role.SUPERVISOR:
            return self.roster.pairs_where(supervisor=actor)
        if role is Role.COORDINATOR:
            return self.roster.pairs_where(courses=self.roster.courses_where(coordinator=actor))
        return []

    def may_read_pair(self, pair_id: str) -> bool:
        return any(p.pair_id == pair_id for p in self.pairs())

    def students(self, course_id: str) -> list[str]:
        """The students of a course whose progression the token reads, in the order
        they were enrolled."""
        course = self.roster.course(course_id)
        if course is None or self.forgotten:
            return []
        role, actor = self.role, self.actor
        if role is Role.STUDENT:
            return [actor] if actor in course.students else []
        if role is Role.SUPERVISOR:
            theirs = {s for p in self.pairs() if p.course_id == course_id for s in p.students}
            return [s for s in course.students if s in theirs]
        if role is Role.COORDINATOR:
            return list(course.students) if actor in course.coordinators else []
        return []

    def may_read_progression(self, student_id: str, course_id: str) -> bool:
        return student_id in self.students(course_id)

    def may_audit(self, student_id: str, course_id: str) -> bool:
        """Audits: what the token reads of progression, and an examiner's courses."""
        if self.role is Role.EXAMINER:
            course = self.roster.course(course_id)
            return (
                not self.forgotten
                and course_id in self.token.courses
                and course is not None
                and student_id in course.students
            )
        return self.may_read_progression(student_id, course_id)

    def auditable(self, course_id: str) -> list[str]:
        """The students of a course whose audits the token reads."""
        if self.role is Role.EXAMINER:
            course = self.roster.course(course_id)
            if course is None or self.forgotten or course_id not in self.token.courses:
                return []
            return list(course.students)
        return self.students(course_id)

    def sees_all_texts_of(self, people: frozenset[str]) -> bool:
        """Whether the token reads the personal texts of an event about these people:
        supervisors and coordinators read their pairs' texts; a student reads the texts
        they are named in, not what a partner wrote alone or was told alone."""
        return self.role is not Role.STUDENT or self.actor in people
