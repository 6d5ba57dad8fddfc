"""Participation: who performed, observed, gave and received feedback and reflected, in
each pair and in each session; balance, role rotation, incomplete reflections; and each
supervisor's pairs.

Counts follow the contract: entries not retracted, corrections applied. A member's
``performer`` and ``observer`` count steps of any kind naming them there; balance is
1 - G*, the Gini coefficient of the members' counts normalised by n/(n-1) (1.0 is
even, 0.0 one member doing everything, null without any).
"""

from __future__ import annotations

import bisect
from datetime import datetime
from itertools import combinations
from typing import Annotated, ClassVar, Final, Literal

from peerlog.domain.events import (
    DomainEvent,
    GoalAssessed,
    PairDissolved,
    PairFormed,
    RolesSwitched,
    SessionClosed,
    SessionOpened,
)
from peerlog.domain.pair import Entry, FeedbackEntry, StepEntry
from peerlog.domain.vocabulary import GIBBS_STAGES, Role
from peerlog.projections.base import Handler, Projection
from peerlog.projections.ledger import ENTRY_EVENTS, Ledger, ledger_table
from peerlog.projections.tables import Row, Table, doc

MEMBER_COUNTS: Final = (
    "performer",
    "observer",
    "feedback_given",
    "feedback_received",
    "reflections",
)


class ParticipationRow(Row):
    pair_id: str
    student_id: str
    course_id: str
    performer: Annotated[int, doc("steps naming the member as performer")]
    observer: Annotated[int, doc("steps naming the member as observer")]
    feedback_given: Annotated[int, doc("feedback with the member as giver")]
    feedback_received: Annotated[int, doc("feedback with the member as receiver")]
    reflections: Annotated[int, doc("reflections the member authored")]


class PairBalanceRow(Row):
    pair_id: str
    course_id: str
    members: Annotated[tuple[str, ...], doc("the pair's students")]
    active: Annotated[bool, doc("false once the pair is dissolved")]
    steps: Annotated[int, doc("steps that count")]
    performer_balance: Annotated[float | None, doc("1 - G* of performer counts")]
    peer_feedback: Annotated[int, doc("peer feedback between members")]
    feedback_balance: Annotated[float | None, doc("1 - G* of peer feedback given")]
    reflections: Annotated[int, doc("reflections that count")]
    incomplete_reflections: Annotated[int, doc("of those, missing Gibbs stages")]
    sessions: Annotated[int, doc("sessions opened")]
    role_switches: Annotated[int, doc("role switches within sessions")]
    rotated_sessions: Annotated[int, doc("sessions opened with other roles than the last")]
    role_rotation: Annotated[float | None, doc("rotated_sessions / (sessions - 1)")]
    latest_activity_at: Annotated[datetime | None, doc("latest pair event (occurred)")]
    latest_recorded_at: Annotated[datetime | None, doc("latest pair event (recorded)")]


class SupervisorPairRow(Row):
    supervisor_id: str
    pair_id: str
    course_id: str
    active: Annotated[bool, doc("false once the pair is dissolved")]


class PairSessionRow(Row):
    pair_id: str
    session_id: str
    ordinal: Annotated[int, doc("the pair's sessions in the order opened, from 0")]
    opened_at: datetime
    closed_at: datetime | None
    shift: str | None
    roles: Annotated[dict[str, Role], doc("roles at check-in")]
    steps: Annotated[int, doc("steps that count")]
    reflections: Annotated[int, doc("reflections that count, by session")]


class SessionParticipationRow(Row):
    pair_id: str
    session_id: str
    student_id: str
    performer: int
    observer: int


PARTICIPATION: Final = Table(
    "participation", ParticipationRow, key=2, doc="One row per pair and member."
)
BALANCE: Final = Table(
    "pair_balance",
    PairBalanceRow,
    key=1,
    doc="One row per pair: balance, rotation, reflections and activity.",
)
SUPERVISORS: Final = Table(
    "supervisor_pairs", SupervisorPairRow, key=2, doc="Each supervisor's pairs."
)
SESSIONS: Final = Table("pair_sessions", PairSessionRow, key=2, doc="One row per session.")
SESSION_PARTICIPATION: Final = Table(
    "session_participation", SessionParticipationRow, key=3, doc="One row per session and member."
)
ENTRIES: Final = ledger_table("participation_entries")

TABLES: Final = (PARTICIPATION, BALANCE, SUPERVISORS, SESSIONS, SESSION_PARTICIPATION, ENTRIES)

MemberCount = Literal["performer", "observer", "feedback_given", "feedback_received", "reflections"]


def balance(counts: list[int]) -> float | None:
    """1 - G*: the Gini coefficient of ``counts`` normalised by n/(n-1)."""
    n = len(counts)
    if n == 2:  # a pair: the same arithmetic without the general sums
        a, b = counts
        total = a + b
        if total == 0:
            return None
        differences = 2 * abs(a - b)
    else:
        total = sum(counts)
        if n < 2 or total == 0:
            return None
        differences = 2 * sum(abs(a - b) for a, b in combinations(counts, 2))
    gini = differences / (2 * n * total)
    return 1 - gini * n / (n - 1)


class Participation(Projection):
    name: ClassVar[str] = "participation"
    version: ClassVar[int] = 2
    tables: ClassVar = TABLES

    def reindex(self) -> None:
        self.ledger = Ledger(self.rows, ENTRIES)
        # Each pair's sessions by when they opened, to place reflections given no session.
        self.sessions_of: dict[str, list[tuple[datetime, int, str]]] = {}
        # Each pair's most recently opened session (the highest ordinal): its roles
        # decide whether the next session rotated them.
        self.last_session: dict[str, tuple[int, str]] = {}
        for session in self.rows.all(SESSIONS):
            p, ordinal = session.pair_id, session.ordinal
            self.sessions_of.setdefault(p, []).append(
                (session.opened_at, ordinal, session.session_id)
            )
            if ordinal >= self.last_session.get(p, (-1, ""))[0]:
                self.last_session[p] = (ordinal, session.session_id)
        for sessions in self.sessions_of.values():
            sessions.sort()

    def apply(self, position: int, recorded_at: datetime, event: DomainEvent) -> None:
        handler = self.handlers.get(type(event))
        if handler is None:
            return
        handler(self, position, recorded_at, event)
        pair_id = getattr(event, "pair_id", None)
        row = self.rows.get(BALANCE, (pair_id,)) if pair_id is not None else None
        if row is not None:
            if row.latest_activity_at is None or event.occurred_at > row.latest_activity_at:
                row.latest_activity_at = event.occurred_at
            if row.latest_recorded_at is None or recorded_at > row.latest_recorded_at:
                row.latest_recorded_at = recorded_at
            self.rows.touch(BALANCE, (pair_id,))

    # --- pairs -----------------------------------------------------------------------

    def on_pair_formed(self, position: int, recorded_at: datetime, event: PairFormed) -> None:
        del position, recorded_at
        p, c = event.pair_id, event.course_id
        self.rows.put(
            BALANCE,
            (p,),
            PairBalanceRow(
                p,
                c,
                event.students,
                active=True,
                steps=0,
                performer_balance=None,
                peer_feedback=0,
                feedback_balance=None,
                reflections=0,
                incomplete_reflections=0,
                sessions=0,
                role_switches=0,
                rotated_sessions=0,
                role_rotation=None,
                latest_activity_at=None,
                latest_recorded_at=None,
            ),
        )
        for student in event.students:
            self.rows.put(
                PARTICIPATION, (p, student), ParticipationRow(p, student, c, 0, 0, 0, 0, 0)
            )
        for supervisor in event.supervisors:
            self.rows.put(
                SUPERVISORS, (supervisor, p), SupervisorPairRow(supervisor, p, c, active=True)
            )
        self.sessions_of[p] = []

    def on_pair_dissolved(self, position: int, recorded_at: datetime, event: PairDissolved) -> None:
        del position, recorded_at
        row = self.rows.get(BALANCE, (event.pair_id,))
        if row is None:
            return
        row.active = False
        self.rows.touch(BALANCE, (event.pair_id,))
        for key, supervised in self.rows.of(SUPERVISORS).items():
            if key[1] == event.pair_id:
                supervised.active = False
                self.rows.touch(SUPERVISORS, key)

    # --- sessions --------------------------------------------------------------------

    def on_session_opened(self, position: int, recorded_at: datetime, event: SessionOpened) -> None:
        del position, recorded_at
        p = event.pair_id
        pair = self.rows.get(BALANCE, (p,))
        if pair is None:
            return
        sessions = self.sessions_of.setdefault(p, [])
        ordinal = pair.sessions
        roles = dict(event.roles)
        last = self.last_session.get(p)
        if last is not None:
            previous = self.rows.of(SESSIONS)[(p, last[1])]
            if previous.roles != roles:
                pair.rotated_sessions += 1
        self.last_session[p] = (ordinal, event.session_id)
        pair.sessions += 1
        if pair.sessions > 1:
            pair.role_rotation = pair.rotated_sessions / (pair.sessions - 1)
        self.rows.touch(BALANCE, (p,))
        self.rows.put(
            SESSIONS,
            (p, event.session_id),
            PairSessionRow(
                p, event.session_id, ordinal, event.occurred_at, None, event.shift, roles, 0, 0
            ),
        )
        bisect.insort(sessions, (event.occurred_at, ordinal, event.session_id))
        for student in pair.members:
            self.rows.put(
                SESSION_PARTICIPATION,
                (p, event.session_id, student),
                SessionParticipationRow(p, event.session_id, student, 0, 0),
            )

    def on_roles_switched(self, position: int, recorded_at: datetime, event: RolesSwitched) -> None:
        del position, recorded_at
        pair = self.rows.get(BALANCE, (event.pair_id,))
        if pair is not None:
            pair.role_switches += 1
            self.rows.touch(BALANCE, (event.pair_id,))

    def on_session_closed(self, position: int, recorded_at: datetime, event: SessionClosed) -> None:
        del position, recorded_at
        session = self.rows.get(SESSIONS, (event.pair_id, event.session_id))
        if session is not None:
            session.closed_at = event.occurred_at
            self.rows.touch(SESSIONS, (event.pair_id, event.session_id))

    def _session_for(self, pair_id: str, session_id: str | None, when: datetime) -> str | None:
        """The session an entry counts in: its own, or the last opened by then."""
        if session_id is not None:
            return session_id if (pair_id, session_id) in self.rows.of(SESSIONS) else None
        sessions = self.sessions_of.get(pair_id, [])
        index = bisect.bisect_right(sessions, (when, 1 << 62, ""))
        return sessions[index - 1][2] if index else None

    # --- entries ---------------------------------------------------------------------

    def on_entry(self, position: int, recorded_at: datetime, event: DomainEvent) -> None:
        del recorded_at
        change = self.ledger.apply(position, event)
        if change is None:
            return
        p = change.key[0]
        if (p,) not in self.rows.of(BALANCE):
            return
        if change.before is None and not isinstance(change.after, FeedbackEntry | None):
            # The session a step or reflection counts in, decided once: a session
            # opened later may have opened earlier.
            entry = change.after
            self.ledger.set_note(
                change.key, self._session_for(p, entry.session_id, entry.occurred_at)
            )
        session_id = self.ledger.note(change.key)
        if change.before is not None:
            self._count(p, change.before, session_id, -1)
        if change.after is not None:
            self._count(p, change.after, session_id, +1)

    def _count(self, p: str, entry: Entry, session_id: str | None, delta: int) -> None:
        """Add (+1) or remove (-1) what an entry counts for."""
        pair = self.rows.of(BALANCE)[(p,)]
        session = self.rows.of(SESSIONS).get((p, session_id)) if session_id is not None else None
        if isinstance(entry, StepEntry):
            self._count_step(p, entry, session_id, pair, session, delta)
        elif isinstance(entry, FeedbackEntry):
            members = self.rows.of(PARTICIPATION)
            giver = members.get((p, entry.giver))
            if giver is not None:
                giver.feedback_given += delta
                self.rows.touch(PARTICIPATION, (p, entry.giver))
            receiver = members.get((p, entry.receiver))
            if receiver is not None:
                receiver.feedback_received += delta
                self.rows.touch(PARTICIPATION, (p, entry.receiver))
            if entry.source == "peer":
                pair.peer_feedback += delta
            pair.feedback_balance = balance(self._counts(pair, "feedback_given"))
        else:
            members = self.rows.of(PARTICIPATION)
            for author in entry.authors:
                member = members.get((p, author))
                if member is not None:
                    member.reflections += delta
                    self.rows.touch(PARTICIPATION, (p, author))
            pair.reflections += delta
            if len(entry.stages) < len(GIBBS_STAGES):
                pair.incomplete_reflections += delta
            if session is not None:
                session.reflections += delta
                self.rows.touch(SESSIONS, (p, session_id))
        self.rows.touch(BALANCE, (p,))

    def _count_step(  # noqa: PLR0917 - the parts of one count, named
        self,
        p: str,
        entry: StepEntry,
        session_id: str | None,
        pair: PairBalanceRow,
        session: PairSessionRow | None,
        delta: int,
    ) -> None:
        rows = self.rows
        members = rows.of(PARTICIPATION)
        in_session = rows.of(SESSION_PARTICIPATION)
        roles: tuple[tuple[Literal["performer", "observer"], tuple[str, ...]], ...] = (
            ("performer", entry.performers),
            ("observer", entry.observers),
        )
        for role, people in roles:
            for person in people:
                key = (p, person)
                row = members.get(key)
                if row is not None:
                    setattr(row, role, getattr(row, role) + delta)
                    rows.touch(PARTICIPATION, key)
                if session is not None:
                    session_person = (p, session_id, person)
                    counted = in_session.get(session_person)
                    if counted is not None:
                        setattr(counted, role, getattr(counted, role) + delta)
                        rows.touch(SESSION_PARTICIPATION, session_person)
        pair.steps += delta
        if session is not None:
            session.steps += delta
            rows.touch(SESSIONS, (p, session_id))
        pair.performer_balance = balance(self._counts(pair, "performer"))

    def _counts(self, pair: PairBalanceRow, column: MemberCount) -> list[int]:
        data = self.rows.of(PARTICIPATION)
        p = pair.pair_id
        counts: list[int] = [getattr(data[(p, member)], column) for member in pair.members]
        return counts

    def on_assessed(self, position: int, recorded_at: datetime, event: GoalAssessed) -> None:
        """Assessments count only as activity here (see ``apply``)."""
        del position, recorded_at, event

    handlers: ClassVar[dict[type[DomainEvent], Handler]] = {
        PairFormed: on_pair_formed,
        PairDissolved: on_pair_dissolved,
        SessionOpened: on_session_opened,
        RolesSwitched: on_roles_switched,
        SessionClosed: on_session_closed,
        **dict.fromkeys(ENTRY_EVENTS, on_entry),
        GoalAssessed: on_assessed,
    }
