"""The read models: incremental processing, a rebuild and the in-memory answer agree, for
random command sequences on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peerlog import CommandRejected, PeerLog
from peerlog.domain.vocabulary import course_stream, pair_stream
from peerlog.projections import PROJECTIONS, AsOf, Runner, StoreEvents, fold_all
from peerlog.projections.asof import fold, merged
from peerlog.projections.participation import MEMBER_COUNTS, PARTICIPATION, Participation
from peerlog.projections.progression import PROGRESSION, Progression
from peerlog.projections.runner import RebuildFailed
from peerlog.projections.tables import Rows
from peerlog.projections.trends import GOAL_KEYS, GOAL_WEEKS, WEEK_MEMBERS, Trends
from tests.conftest import POSTGRES_URL, Store, _postgres_or_skip, drop_schemas
from tests.support import COURSE, Placement

MEMBERS = ["s1", "s2"]
GOAL_IDS = ["hygiene", "medication", "communication"]

operation = st.one_of(
    st.tuples(
        st.just("step"),
        st.sampled_from(MEMBERS),
        st.sampled_from(MEMBERS),
        st.sets(st.sampled_from(GOAL_IDS), max_size=2),
    ),
    st.tuples(
        st.just("feedback"),
        st.sampled_from(MEMBERS),
        st.sampled_from(["peer", "peer", "supervisor"]),
        st.sets(st.sampled_from(GOAL_IDS), max_size=2),
    ),
    st.tuples(
        st.just("reflection"),
        st.sampled_from(MEMBERS),
        st.integers(1, 6),
        st.sets(st.sampled_from(GOAL_IDS), max_size=2),
    ),
    st.tuples(
        st.just("assess"),
        st.sampled_from(MEMBERS),
        st.sampled_from(["not_yet", "pass", "good"]),
        st.sampled_from(GOAL_IDS),
    ),
    st.tuples(
        st.just("correct"),
        st.integers(0, 30),
        st.sampled_from(MEMBERS),
        st.sets(st.sampled_from(GOAL_IDS), max_size=2),
    ),
    st.tuples(st.just("retract"), st.integers(0, 30), st.none(), st.none()),
    st.tuples(st.just("session"), st.none(), st.none(), st.none()),
    st.tuples(st.just("retire"), st.sampled_from(GOAL_IDS), st.none(), st.none()),
    st.tuples(st.just("run"), st.integers(1, 20), st.none(), st.none()),
)

STAGES = ["description", "feelings", "evaluation", "analysis", "conclusion", "action_plan"]


class Driver:
    """Turns drawn operations into commands against the standard placement."""

    def __init__(self, app: PeerLog) -> None:
        self.p = Placement(app).seed()
        self.app = app
        self.entries: list[tuple[str, str]] = []
        self.session = "d1"
        self.sessions = 1
        self.runners: list[Runner] = []
        self.seen: list[tuple[datetime, dict[str, Any]]] = []
        """What the read models held when a runner had run: (the last event's
        recorded_at, the tables)."""

    def _try(self, command: dict[str, Any]) -> None:
        with contextlib.suppress(CommandRejected):
            self.app.execute(command)

    def do(self, op: tuple[Any, Any, Any, Any]) -> None:
        kind, a, b, c = op
        p = self.p
        n = len(self.entries)
        if kind == "step":
            other = [m for m in MEMBERS if m != a]
            observers = other if b != a else []
            self._try(
                p.step(
                    f"e{n}",
                    actor=a,
                    session_id=self.session,
                    performers=[a],
                    observers=observers,
                    goals=sorted(c),
                )
            )
            self.entries.append((f"e{n}", "step"))
        elif kind == "feedback":
            giver = a if b == "peer" else "sup1"
            receiver = next(m for m in MEMBERS if m != a)
            self._try(
                p.feedback(
                    f"e{n}", actor=giver, giver=giver, receiver=receiver, source=b, goals=sorted(c)
                )
            )
            self.entries.append((f"e{n}", "feedback"))
        elif kind == "reflection":
            stages = dict.fromkeys(STAGES[:b], "Some thoughts")
            self._try(
                p.reflection(
                    f"e{n}", actor=a, authors=[a], stages=stages, goals=sorted(c), session_id=None
                )
            )
            self.entries.append((f"e{n}", "reflection"))
        elif kind == "assess":
            self._try(
                p.cmd(
                    "assess_goal",
                    "sup1",
                    pair_id="p1",
                    student_id=a,
                    goal_id=c,
                    level=b,
                    kind="formative",
                )
            )
        elif kind == "correct" and self.entries:
            entry_id, entry_kind = self.entries[a % len(self.entries)]
            changes: dict[str, Any] = {"goals": sorted(c)}
            if entry_kind == "step":
                changes |= {"performers": [b], "observers": [m for m in MEMBERS if m != b]}
            elif entry_kind == "reflection":
                changes["stages"] = {"description": "Rewritten"}
            self._try(
                p.cmd(
                    "correct_entry",
                    "sup1",
                    pair_id="p1",
                    entry_id=entry_id,
                    changes=changes,
                    reason="Fix",
                )
            )
        elif kind == "retract" and self.entries:
            entry_id, _ = self.entries[a % len(self.entries)]
            self._try(
                p.cmd("retract_entry", "sup1", pair_id="p1", entry_id=entry_id, reason="Wrong")
            )
        elif kind == "session":
            self._try(p.cmd("close_session", "s1", pair_id="p1", session_id=self.session))
            self.session = f"d{self.sessions + 1}"
            self.sessions += 1
            roles = (
                {"s1": "performer", "s2": "observer"}
                if self.sessions % 2
                else {"s2": "performer", "s1": "observer"}
            )
            self._try(
                p.cmd("open_session", "s2", pair_id="p1", session_id=self.session, roles=roles)
            )
        elif kind == "retire":
            self._try(p.cmd("retire_goal", "coord", course_id=COURSE, goal_id=a, reason="Merged"))
        elif kind == "run":
            runner = Runner(StoreEvents(self.app), batch_size=a)
            self.runners.append(runner)
            runner.run()
            last = self.app.store.max_notification_id()
            if last:
                *_, recorded_at = next(self.app.store.iter_raw(last - 1, stop=last))
                tables = {p.name: runner.store.load(p).snapshot() for p in PROJECTIONS}
                self.seen.append((recorded_at, tables))


@contextlib.contextmanager
def _fresh_app(kind: str) -> Iterator[PeerLog]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            app = PeerLog({"PEERLOG_DATABASE_URL": f"sqlite:///{Path(folder) / 'r.sqlite3'}"})
            try:
                yield app
            finally:
                app.close()
        return
    _postgres_or_skip()
    schema = f"test_{uuid.uuid4().hex[:12]}"
    app = PeerLog({"PEERLOG_DATABASE_URL": POSTGRES_URL, "PEERLOG_SCHEMA": schema})
    try:
        yield app
    finally:
        app.close()
        drop_schemas(schema)


def _check_agreement(kind: str, operations: list[tuple[Any, Any, Any, Any]]) -> None:
    with _fresh_app(kind) as app:
        driver = Driver(app)
        for op in operations:
            driver.do(op)
        incremental = Runner(StoreEvents(app), batch_size=3)
        incremental.run()
        stored = {p.name: incremental.store.load(p).snapshot() for p in PROJECTIONS}
        in_memory = {p.name: fold_all(StoreEvents(app), p).rows.snapshot() for p in PROJECTIONS}
        rebuilt_runner = Runner(StoreEvents(app))
        rebuilt_runner.rebuild()
        rebuilt = {p.name: rebuilt_runner.store.load(p).snapshot() for p in PROJECTIONS}
        for runner in (*driver.runners, incremental, rebuilt_runner):
            runner.close()
        assert stored == in_memory
        assert rebuilt == in_memory
        # As of each time a runner had run, the read models held what the same
        # projections folded in memory answer as of that time.
        streams = [course_stream(COURSE), pair_stream("p1"), pair_stream("p2")]
        for recorded, tables in driver.seen:
            as_of = AsOf(recorded=recorded)
            folded = {
                p.name: fold(StoreEvents(app), p, merged(StoreEvents(app), streams), as_of)[0]
                for p in PROJECTIONS
            }
            assert {name: s.rows.snapshot() for name, s in folded.items()} == tables
            _trends_add_up(folded)


def _trends_add_up(folded: dict[str, Any]) -> None:
    """The weeks add up to the totals: each member's counts in participation, each
    student's evidence and assessments in progression."""
    trends: Rows = folded[Trends.name].rows
    totals: dict[tuple[str, str], list[int]] = {}
    for week in trends.all(WEEK_MEMBERS):
        total = totals.setdefault((week.pair_id, week.student_id), [0] * 5)
        for i, count in enumerate(getattr(week, k) for k in MEMBER_COUNTS):
            total[i] += count
    participation: Rows = folded[Participation.name].rows
    for member in participation.all(PARTICIPATION):
        counts = [getattr(member, k) for k in MEMBER_COUNTS]
        assert totals.get((member.pair_id, member.student_id), [0] * 5) == counts
    evidence: dict[tuple[str, str, str], list[int]] = {}
    for goal_week in trends.all(GOAL_WEEKS):
        key = (goal_week.course_id, goal_week.student_id, goal_week.goal_id)
        total = evidence.setdefault(key, [0] * 6)
        for i, count in enumerate(getattr(goal_week, k) for k in GOAL_KEYS):
            total[i] += count
    progression: Rows = folded[Progression.name].rows
    for row in progression.all(PROGRESSION):
        counts = [getattr(row, k) for k in GOAL_KEYS]
        assert evidence.get((row.course_id, row.student_id, row.goal_id), [0] * 6) == counts


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, min_size=5, max_size=40))
def test_incremental_rebuilt_and_in_memory_agree_on_sqlite(
    operations: list[tuple[Any, Any, Any, Any]],
) -> None:
    _check_agreement("sqlite", operations)


@pytest.mark.postgres
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, min_size=5, max_size=40))
def test_incremental_rebuilt_and_in_memory_agree_on_postgres(
    operations: list[tuple[Any, Any, Any, Any]],
) -> None:
    _check_agreement("postgres", operations)


def test_status_shows_position_and_lag(store: Store) -> None:
    app = Placement(store.open()).seed().app
    try:
        runner = Runner(StoreEvents(app), batch_size=5)
        head = app.store.max_notification_id()
        assert head is not None
        before = {s.name: s for s in runner.status()}
        assert before["progression"].position == 0
        assert before["progression"].lag == head
        runner.run()
        after = {s.name: s for s in runner.status()}
        assert after["progression"].position == head
        assert after["participation"].lag == 0
        assert after["progression"].updated_at is not None
        runner.close()
    finally:
        app.close()


def test_a_rebuild_process_that_fails_is_reported_and_the_live_tables_stay(
    store: Store,
) -> None:
    placement = Placement(store.open()).seed()
    app = placement.app
    app.execute(placement.step("st1"))
    runner = Runner(StoreEvents(app))
    try:
        runner.run()
        before = {p.name: runner.store.load(p).snapshot() for p in PROJECTIONS}

        class Unknown(Progression):
            name = "unknown"  # no process can find a projection by this name

        with pytest.raises(
            RebuildFailed, match="unknown: ValueError: no projection called unknown"
        ):
            runner._rebuild_in_processes([Unknown], 2)
        assert {p.name: runner.store.load(p).snapshot() for p in PROJECTIONS} == before
    finally:
        runner.close()
        app.close()


def test_a_rebuild_in_parallel_processes_gives_the_same_tables(store: Store) -> None:
    placement = Placement(store.open()).seed()
    app = placement.app
    for n in range(12):
        app.execute(placement.step(f"st{n}", actor="s1" if n % 3 else "s2"))
    app.execute(placement.feedback("fb1"))
    placement.run("retract_entry", "sup1", pair_id="p1", entry_id="st4", reason="Duplicate")
    runner = Runner(StoreEvents(app))
    seen: list[str] = []
    runner.progress = lambda what, position, head: seen.append(what)
    try:
        done = runner.rebuild(processes=2)
        head = app.store.max_notification_id()
        assert done == dict.fromkeys((p.name for p in PROJECTIONS), head)
        stored = {p.name: runner.store.load(p).snapshot() for p in PROJECTIONS}
        in_memory = {p.name: fold_all(StoreEvents(app), p).rows.snapshot() for p in PROJECTIONS}
        assert stored == in_memory
        assert any("switched" in what for what in seen)
        assert set(runner.peak_memory) == {p.name for p in PROJECTIONS}
        assert all(held > 0 for held in runner.peak_memory.values())
    finally:
        runner.close()
        app.close()


def test_a_runner_keeps_only_the_projections_it_is_given(store: Store) -> None:
    placement = Placement(store.open()).seed()
    app = placement.app
    app.execute(placement.step("st1"))
    runner = Runner(StoreEvents(app), [Participation])
    try:
        assert runner.run() == {"participation": app.store.max_notification_id()}
        assert set(runner.store.tracking()) == {"participation"}
        assert [s.name for s in runner.status()] == ["participation"]
        stored = runner.store.load(Participation).snapshot()
        assert stored == fold_all(StoreEvents(app), Participation).rows.snapshot()
        assert ("p1", "s1", COURSE, 1, 0, 0, 0, 0) in stored[PARTICIPATION.name]
    finally:
        runner.close()
        app.close()
