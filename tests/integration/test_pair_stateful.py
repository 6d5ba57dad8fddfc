"""Random sequences of valid and invalid commands against a pair, with the record's
invariants checked after every step (hypothesis stateful testing)."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from peerlog import CommandRejected, CommandResult, PeerLog
from peerlog.domain.pair import Pair, StepEntry
from tests.conftest import POSTGRES_URL, _postgres_or_skip, drop_schemas
from tests.support import COURSE, Placement

ACTORS = st.sampled_from(["s1", "s2", "sup1", "sup2", "s3", "coord", "stranger"])
MEMBERS = st.sampled_from(["s1", "s2", "s1", "s2", "s3"])
SESSIONS = st.sampled_from(["d1", "d2", "d3", "d4", "d5", "d6"])
ENTRIES = st.sampled_from(["e1", "e2", "e3", "e4", "e5"])
GOALS = st.lists(
    st.sampled_from(["hygiene", "medication", "communication", "surgery"]), max_size=2, unique=True
)
ROLES = st.dictionaries(
    MEMBERS,
    st.sampled_from(["performer", "observer", "performer", "observer", "team_leader", "captain"]),
    min_size=1,
    max_size=2,
)
TEXT = st.sampled_from(["Calm and thorough", "Ok", "Took time", "Patient 19121212-1212 upset"])


class PairRecord(RuleBasedStateMachine):
    store_kind = "sqlite"

    def __init__(self) -> None:
        super().__init__()
        self._cleanup: list[Any] = []
        if self.store_kind == "sqlite":
            folder = tempfile.TemporaryDirectory()
            self._cleanup.append(folder.cleanup)
            env = {"PEERLOG_DATABASE_URL": f"sqlite:///{Path(folder.name) / 'r.sqlite3'}"}
        else:
            schema = f"test_{uuid.uuid4().hex[:12]}"
            env = {"PEERLOG_DATABASE_URL": POSTGRES_URL, "PEERLOG_SCHEMA": schema}
            self._cleanup.append(lambda: _drop_schema(schema))
        env["PEERLOG_SNAPSHOT_INTERVAL"] = "7"
        self.app = PeerLog(env)
        self.placement = Placement(self.app).seed()
        self.accepted: list[tuple[dict[str, Any], CommandResult]] = []
        self.retired = False
        self.steps_in_session = 0

    def teardown(self) -> None:
        self.app.close()
        for cleanup in self._cleanup:
            cleanup()

    def _try(self, command: dict[str, Any]) -> None:
        before = self.app.store.max_notification_id() or 0
        try:
            result = self.app.execute(command)
        except CommandRejected as rejected:
            violations = rejected.violations
        else:
            assert not result.repeated
            positions = [e.position for e in result.events]
            assert positions == list(range(before + 1, before + 1 + len(positions)))
            self._accepted(command, result)
            return
        assert violations
        assert self.app.store.max_notification_id() == before

    def _accepted(self, command: dict[str, Any], result: CommandResult) -> None:
        self.accepted.append((command, result))
        self.steps_in_session += 1
        if command["command"] in {"open_session", "close_session"}:
            self.steps_in_session = 0
        event(f"accepted {command['command']}")

    def cmd(self, command: str, actor: str, **fields: Any) -> dict[str, Any]:
        return self.placement.cmd(command, actor, pair_id="p1", **fields)

    def _actor(self, data: st.DataObject, usual: str | list[str]) -> str:
        """Mostly the one who would record it; sometimes anyone (to break the rule)."""
        candidates = [usual] if isinstance(usual, str) else usual
        usually = data.draw(st.integers(0, 4)) > 0
        if candidates and usually:
            return data.draw(st.sampled_from(candidates))
        return data.draw(ACTORS)

    def _session(self, data: st.DataObject) -> str:
        pair = self.app._load("pair/p1", Pair)
        usually = data.draw(st.integers(0, 3)) > 0
        if pair is not None and pair.open_session and usually:
            return pair.open_session
        return data.draw(SESSIONS)

    @rule(data=st.data(), session=SESSIONS, roles=ROLES, plan=TEXT)
    def open_session(
        self, data: st.DataObject, session: str, roles: dict[str, str], plan: str
    ) -> None:
        actor = self._actor(data, ["s1", "s2", "sup1"])
        self._try(self.cmd("open_session", actor, session_id=session, roles=roles, plan=plan))

    @precondition(lambda self: self.steps_in_session >= 3)
    @rule(data=st.data())
    def close_session(self, data: st.DataObject) -> None:
        actor = self._actor(data, ["s1", "s2", "sup1"])
        self._try(self.cmd("close_session", actor, session_id=self._session(data)))

    @rule(data=st.data(), roles=ROLES)
    def switch_roles(self, data: st.DataObject, roles: dict[str, str]) -> None:
        actor = self._actor(data, ["s1", "s2"])
        self._try(self.cmd("switch_roles", actor, session_id=self._session(data), roles=roles))

    @rule(
        data=st.data(),
        entry=ENTRIES,
        performers=st.lists(MEMBERS, max_size=2, unique=True),
        observers=st.lists(MEMBERS, max_size=1, unique=True),
        goals=GOALS,
        note=TEXT,
    )
    def record_step(
        self,
        data: st.DataObject,
        entry: str,
        performers: list[str],
        observers: list[str],
        goals: list[str],
        note: str,
    ) -> None:
        self._try(
            self.cmd(
                "record_step",
                self._actor(data, ["s1", "s2", "sup1"]),
                session_id=self._session(data),
                step_id=entry,
                kind="performance",
                performers=performers,
                observers=observers,
                goals=goals,
                note=note,
            )
        )

    @rule(
        data=st.data(),
        entry=ENTRIES,
        giver=st.sampled_from(["s1", "s2", "s1", "s2", "sup1", "s3"]),
        receiver=MEMBERS,
        source=st.sampled_from(["peer", "peer", "supervisor"]),
        goals=GOALS,
        strengths=TEXT,
    )
    def give_feedback(
        self,
        data: st.DataObject,
        entry: str,
        giver: str,
        receiver: str,
        source: str,
        goals: list[str],
        strengths: str,
    ) -> None:
        self._try(
            self.cmd(
                "give_feedback",
                self._actor(data, giver),
                feedback_id=entry,
                giver=giver,
                receiver=receiver,
                source=source,
                goals=goals,
                strengths=strengths,
                improvements="Say what you will do next",
            )
        )

    @rule(
        data=st.data(),
        entry=ENTRIES,
        authors=st.lists(MEMBERS, min_size=1, max_size=2, unique=True),
        mode=st.sampled_from(["individual", "pair", "with_supervisor"]),
        goals=GOALS,
        feelings=TEXT,
    )
    def record_reflection(
        self,
        data: st.DataObject,
        entry: str,
        authors: list[str],
        mode: str,
        goals: list[str],
        feelings: str,
    ) -> None:
        self._try(
            self.cmd(
                "record_reflection",
                self._actor(data, [*authors, "sup1"]),
                reflection_id=entry,
                authors=authors,
                mode=mode,
                stages={"description": "What happened", "feelings": feelings},
                goals=goals,
            )
        )

    @rule(
        data=st.data(),
        student=MEMBERS,
        goal=st.sampled_from(["hygiene", "medication", "communication", "surgery"]),
        level=st.sampled_from(["not_yet", "pass", "good", "superb"]),
    )
    def assess_goal(self, data: st.DataObject, student: str, goal: str, level: str) -> None:
        self._try(
            self.cmd(
                "assess_goal",
                self._actor(data, "sup1"),
                student_id=student,
                goal_id=goal,
                level=level,
                kind="formative",
            )
        )

    @rule(
        data=st.data(),
        entry=ENTRIES,
        changes=st.sampled_from(
            [
                {"performers": ["s2"], "observers": ["s1"]},
                {"performers": ["s3"]},
                {"goals": ["medication"]},
                {"note": "Corrected note"},
                {"receiver": "s1"},
                {"stages": {"conclusion": "Next time I will ask"}},
                {"mode": "pair"},
            ]
        ),
    )
    def correct_entry(self, data: st.DataObject, entry: str, changes: dict[str, Any]) -> None:
        actor = self._actor(data, ["sup1", "coord", "s1", "s2"])
        self._try(
            self.cmd("correct_entry", actor, entry_id=entry, changes=changes, reason="A mistake")
        )

    @rule(data=st.data(), entry=ENTRIES)
    def retract_entry(self, data: st.DataObject, entry: str) -> None:
        actor = self._actor(data, ["sup1", "coord", "s1", "s2"])
        self._try(self.cmd("retract_entry", actor, entry_id=entry, reason="Recorded twice"))

    @precondition(lambda self: not self.retired)
    @rule(goal=st.sampled_from(["hygiene", "medication"]))
    def retire_goal(self, goal: str) -> None:
        self.retired = True
        self._try(
            self.placement.cmd(
                "retire_goal", "coord", course_id=COURSE, goal_id=goal, reason="Merged"
            )
        )

    @precondition(lambda self: bool(self.accepted))
    @rule(data=st.data())
    def resend(self, data: st.DataObject) -> None:
        command, first = data.draw(st.sampled_from(self.accepted))
        again = self.app.execute(command)
        assert again.repeated
        assert again.events == first.events

    @invariant()
    def the_record_holds_together(self) -> None:
        replayed = self.app.state_at("pair/p1", 1_000_000)
        cached = self.app._load("pair/p1", Pair)
        assert isinstance(replayed, Pair)
        assert cached == replayed
        open_sessions = [s for s in replayed.sessions.values() if s.is_open]
        assert len(open_sessions) <= 1
        assert replayed.open_session == (open_sessions[0].session_id if open_sessions else None)
        for entry in replayed.entries.values():
            assert set(entry.people()) <= set(replayed.students) | set(replayed.supervisors)
            if isinstance(entry, StepEntry):
                assert not set(entry.performers) & set(entry.observers)
                assert entry.performers or entry.observers

    @invariant()
    def every_accepted_command_is_stored_once_and_the_chain_verifies(self) -> None:
        records = self.app.records("pair/p1")
        assert [r.originator_version for r in records] == list(range(1, len(records) + 1))
        stored = {r.id: r for r in records}
        for command, result in self.accepted:
            for ref in result.events:
                if ref.stream == "pair/p1":
                    event = self.app.event_mapper.decode(
                        stored[ref.position].topic, stored[ref.position].state
                    )
                    assert event.command_id == command["command_id"]
        assert self.app.verify("p1").verified


def _drop_schema(schema: str) -> None:
    drop_schemas(schema)


PairRecord.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestPairRecordOnSQLite = PairRecord.TestCase


class PairRecordOnPostgres(PairRecord):
    store_kind = "postgres"


PairRecordOnPostgres.TestCase.settings = settings(
    max_examples=20,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.mark.postgres
class TestPairRecordOnPostgres(PairRecordOnPostgres.TestCase):  # type: ignore[misc,valid-type]
    def setUp(self) -> None:
        _postgres_or_skip()
        super().setUp()
