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
from typing import Any, ClassVar, Final

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
from peerlog.domain.vocabulary import GIBBS_STAGES
from peerlog.projections.base import Handler, Projection
from peerlog.projections.ledger import ENTRY_EVENTS, Ledger, ledger_table
from peerlog.projections.tables import Column, Table

PARTICIPATION: Final = "participation"
BALANCE: Final = "pair_balance"
SUPERVISORS: Final = "supervisor_pairs"
SESSIONS: Final = "pair_sessions"
SESSION_PARTICIPATION: Final = "session_participation"
ENTRIES: Final = "participation_entries"

MEMBER_COUNTS: Final = (
    "performer",
    "observer",
    "feedback_given",
    "feedback_received",
    "reflections",
)

TABLES: Final = (
    Table(
        PARTICIPATION,
        (
            Column("pair_id", "text"),
            Column("student_id", "text"),
            Column("course_id", "text"),
            Column("performer", "integer", "steps naming the member as performer"),
            Column("observer", "integer", "steps naming the member as observer"),
            Column("feedback_given", "integer", "feedback with the member as giver"),
            Column("feedback_received", "integer", "feedback with the member as receiver"),
            Column("reflections", "integer", "reflections the member authored"),
        ),
        key=2,
        doc="One row per pair and member.",
    ),
    Table(
        BALANCE,
        (
            Column("pair_id", "text"),
            Column("course_id", "text"),
            Column("members", "json", "the pair's students"),
            Column("active", "boolean", "false once the pair is dissolved"),
            Column("steps", "integer", "steps that count"),
            Column("performer_balance", "real", "1 - G* of performer counts", nullable=True),
            Column("peer_feedback", "integer", "peer feedback between members"),
            Column("feedback_balance", "real", "1 - G* of peer feedback given", nullable=True),
            Column("reflections", "integer", "reflections that count"),
            Column("incomplete_reflections", "integer", "of those, missing Gibbs stages"),
            Column("sessions", "integer", "sessions opened"),
            Column("role_switches", "integer", "role switches within sessions"),
            Column("rotated_sessions", "integer", "sessions opened with other roles than the last"),
            Column("role_rotation", "real", "rotated_sessions / (sessions - 1)", nullable=True),
            Column(
                "latest_activity_at", "timestamp", "latest pair event (occurred)", nullable=True
            ),
            Column(
                "latest_recorded_at", "timestamp", "latest pair event (recorded)", nullable=True
            ),
        ),
        key=1,
        doc="One row per pair: balance, rotation, reflections and activity.",
    ),
    Table(
        SUPERVISORS,
        (
            Column("supervisor_id", "text"),
            Column("pair_id", "text"),
            Column("course_id", "text"),
            Column("active", "boolean", "false once the pair is dissolved"),
        ),
        key=2,
        doc="Each supervisor's pairs.",
    ),
    Table(
        SESSIONS,
        (
            Column("pair_id", "text"),
            Column("session_id", "text"),
            Column("ordinal", "integer", "the pair's sessions in the order opened, from 0"),
            Column("opened_at", "timestamp"),
            Column("closed_at", "timestamp", nullable=True),
            Column("shift", "text", nullable=True),
            Column("roles", "json", "roles at check-in"),
            Column("steps", "integer", "steps that count"),
            Column("reflections", "integer", "reflections that count, by session"),
        ),
        key=2,
        doc="One row per session.",
    ),
    Table(
        SESSION_PARTICIPATION,
        (
            Column("pair_id", "text"),
            Column("session_id", "text"),
            Column("student_id", "text"),
            Column("performer", "integer"),
            Column("observer", "integer"),
        ),
        key=3,
        doc="One row per session and member.",
    ),
    ledger_table(ENTRIES),
)

# Column positions.
M_COUNT: Final = {name: 3 + i for i, name in enumerate(MEMBER_COUNTS)}
B_MEMBERS, B_ACTIVE, B_STEPS, B_PERFORMER_BALANCE = 2, 3, 4, 5
B_PEER, B_FEEDBACK_BALANCE, B_REFLECTIONS, B_INCOMPLETE = 6, 7, 8, 9
B_SESSIONS, B_SWITCHES, B_ROTATED, B_ROTATION, B_ACTIVITY, B_RECORDED = 10, 11, 12, 13, 14, 15
S_ORDINAL, S_OPENED, S_CLOSED, S_ROLES, S_STEPS, S_REFLECTIONS = 2, 3, 4, 6, 7, 8
M_PERFORMED, M_OBSERVED = M_COUNT["performer"], M_COUNT["observer"]
M_GIVEN = M_COUNT["feedback_given"]
M_RECEIVED, M_REFLECTED = M_COUNT["feedback_received"], M_COUNT["reflections"]


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
            p, ordinal = session[0], session[S_ORDINAL]
            self.sessions_of.setdefault(p, []).append((session[S_OPENED], ordinal, session[1]))
            if ordinal >= self.last_session.get(p, (-1, ""))[0]:
                self.last_session[p] = (ordinal, session[1])
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
            if row[B_ACTIVITY] is None or event.occurred_at > row[B_ACTIVITY]:
                row[B_ACTIVITY] = event.occurred_at
            if row[B_RECORDED] is None or recorded_at > row[B_RECORDED]:
                row[B_RECORDED] = recorded_at
            self.rows.touch(BALANCE, (pair_id,))

    # --- pairs -----------------------------------------------------------------------

    def on_pair_formed(self, position: int, recorded_at: datetime, event: PairFormed) -> None:
        del position, recorded_at
        p, c = event.pair_id, event.course_id
        self.rows.put(
            BALANCE,
            (p,),
            [p, c, event.students, True, 0, None, 0, None, 0, 0, 0, 0, 0, None, None, None],
        )
        for student in event.students:
            self.rows.put(PARTICIPATION, (p, student), [p, student, c, 0, 0, 0, 0, 0])
        for supervisor in event.supervisors:
            self.rows.put(SUPERVISORS, (supervisor, p), [supervisor, p, c, True])
        self.sessions_of[p] = []

    def on_pair_dissolved(self, position: int, recorded_at: datetime, event: PairDissolved) -> None:
        del position, recorded_at
        row = self.rows.get(BALANCE, (event.pair_id,))
        if row is None:
            return
        row[B_ACTIVE] = False
        self.rows.touch(BALANCE, (event.pair_id,))
        for key, supervised in self.rows.data[SUPERVISORS].items():
            if key[1] == event.pair_id:
                supervised[3] = False
                self.rows.touch(SUPERVISORS, key)

    # --- sessions --------------------------------------------------------------------

    def on_session_opened(self, position: int, recorded_at: datetime, event: SessionOpened) -> None:
        del position, recorded_at
        p = event.pair_id
        pair = self.rows.get(BALANCE, (p,))
        if pair is None:
            return
        sessions = self.sessions_of.setdefault(p, [])
        ordinal = pair[B_SESSIONS]
        roles = dict(event.roles)
        last = self.last_session.get(p)
        if last is not None:
            previous = self.rows.data[SESSIONS][(p, last[1])]
            if previous[S_ROLES] != roles:
                pair[B_ROTATED] += 1
        self.last_session[p] = (ordinal, event.session_id)
        pair[B_SESSIONS] += 1
        if pair[B_SESSIONS] > 1:
            pair[B_ROTATION] = pair[B_ROTATED] / (pair[B_SESSIONS] - 1)
        self.rows.touch(BALANCE, (p,))
        self.rows.put(
            SESSIONS,
            (p, event.session_id),
            [p, event.session_id, ordinal, event.occurred_at, None, event.shift, roles, 0, 0],
        )
        bisect.insort(sessions, (event.occurred_at, ordinal, event.session_id))
        for student in pair[B_MEMBERS]:
            self.rows.put(
                SESSION_PARTICIPATION,
                (p, event.session_id, student),
                [p, event.session_id, student, 0, 0],
            )

    def on_roles_switched(self, position: int, recorded_at: datetime, event: RolesSwitched) -> None:
        del position, recorded_at
        pair = self.rows.get(BALANCE, (event.pair_id,))
        if pair is not None:
            pair[B_SWITCHES] += 1
            self.rows.touch(BALANCE, (event.pair_id,))

    def on_session_closed(self, position: int, recorded_at: datetime, event: SessionClosed) -> None:
        del position, recorded_at
        session = self.rows.get(SESSIONS, (event.pair_id, event.session_id))
        if session is not None:
            session[S_CLOSED] = event.occurred_at
            self.rows.touch(SESSIONS, (event.pair_id, event.session_id))

    def _session_for(self, pair_id: str, session_id: str | None, when: datetime) -> str | None:
        """The session an entry counts in: its own, or the last opened by then."""
        if session_id is not None:
            return session_id if (pair_id, session_id) in self.rows.data[SESSIONS] else None
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
        if (p,) not in self.rows.data[BALANCE]:
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
        data = self.rows.data
        pair = data[BALANCE][(p,)]
        session = data[SESSIONS].get((p, session_id)) if session_id is not None else None
        if isinstance(entry, StepEntry):
            self._count_step(p, entry, session_id, pair, session, delta)
        elif isinstance(entry, FeedbackEntry):
            self._member(p, entry.giver, M_GIVEN, delta)
            self._member(p, entry.receiver, M_RECEIVED, delta)
            if entry.source == "peer":
                pair[B_PEER] += delta
            pair[B_FEEDBACK_BALANCE] = balance(self._counts(pair, M_GIVEN))
        else:
            for author in entry.authors:
                self._member(p, author, M_REFLECTED, delta)
            pair[B_REFLECTIONS] += delta
            if len(entry.stages) < len(GIBBS_STAGES):
                pair[B_INCOMPLETE] += delta
            if session is not None:
                session[S_REFLECTIONS] += delta
                self.rows.touch(SESSIONS, (p, session_id))
        self.rows.touch(BALANCE, (p,))

    def _count_step(  # noqa: PLR0917 - the parts of one count, named
        self,
        p: str,
        entry: StepEntry,
        session_id: str | None,
        pair: list[Any],
        session: list[Any] | None,
        delta: int,
    ) -> None:
        rows = self.rows
        members = rows.data[PARTICIPATION]
        in_session = rows.data[SESSION_PARTICIPATION]
        # (member count column, session count column, people)
        for column, index, people in (
            (M_PERFORMED, 3, entry.performers),
            (M_OBSERVED, 4, entry.observers),
        ):
            for person in people:
                key = (p, person)
                row = members.get(key)
                if row is not None:
                    row[column] += delta
                    rows.touch(PARTICIPATION, key)
                if session is not None:
                    session_person = (p, session_id, person)
                    row = in_session.get(session_person)
                    if row is not None:
                        row[index] += delta
                        rows.touch(SESSION_PARTICIPATION, session_person)
        pair[B_STEPS] += delta
        if session is not None:
            session[S_STEPS] += delta
            rows.touch(SESSIONS, (p, session_id))
        pair[B_PERFORMER_BALANCE] = balance(self._counts(pair, M_PERFORMED))

    def _member(self, p: str, person: str | None, column: int, delta: int) -> None:
        row = self.rows.data[PARTICIPATION].get((p, person)) if person is not None else None
        if row is not None:
            row[column] += delta
            self.rows.touch(PARTICIPATION, (p, person))

    def _counts(self, pair: list[Any], column: int) -> list[int]:
        data = self.rows.data[PARTICIPATION]
        p = pair[0]
        return [data[(p, member)][column] for member in pair[B_MEMBERS]]

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
