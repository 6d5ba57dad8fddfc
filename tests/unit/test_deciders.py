"""Every decider and fold, without a store: commands are handled on states kept in
memory (the handlers' table, the deciders, ``evolve``), as the unit of work would
serve them, and the events they cause are folded back in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from peerlog.commands import (
    COMMAND_NAMES,
    COMMAND_TYPES,
    PERSONAL_FIELDS,
    AnyCommand,
    AssessGoal,
    ForgetPerson,
    RecordStep,
    Streams,
    parse_command,
)
from peerlog.domain import course as course_rules
from peerlog.domain import events as ev
from peerlog.domain import pair as pair_rules
from peerlog.domain.course import Course
from peerlog.domain.deciders import Deciders
from peerlog.domain.errors import CommandRejected, RuleViolation
from peerlog.domain.events import DomainEvent
from peerlog.domain.pair import Pair, StepEntry
from peerlog.domain.stamp import Stamp
from peerlog.domain.vocabulary import COURSE_STREAM_PREFIX, course_stream, pair_stream
from peerlog.handlers import HANDLERS, Decision, handle, streams_of
from peerlog.web.access import COMMANDS_BY_ROLE
from peerlog.web.tokens import Role

T0 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


class Memory:
    """The aggregates as a unit of work would serve them, kept in a dict."""

    def __init__(self) -> None:
        self.states: dict[str, Course | Pair] = {}
        self.forgotten_people: set[str] = set()
        self.ids = 0
        self.clock = T0

    def course(self, course_id: str) -> Course | None:
        state = self.states.get(course_stream(course_id))
        assert state is None or isinstance(state, Course)
        return state

    def pair(self, pair_id: str) -> Pair | None:
        state = self.states.get(pair_stream(pair_id))
        assert state is None or isinstance(state, Pair)
        return state

    def courses(self) -> list[Course]:
        return [s for s in self.states.values() if isinstance(s, Course)]

    def forgotten(self, people: list[str]) -> set[str]:
        return self.forgotten_people & set(people)

    def decide(self, command: str, actor: str, **fields: Any) -> Decision:
        self.ids += 1
        self.clock += timedelta(minutes=1)
        data = {"command": command, "command_id": f"c{self.ids}", "actor": actor, **fields}
        cmd: AnyCommand = (
            ForgetPerson.model_validate(data) if command == "forget_person" else parse_command(data)
        )
        return handle(self, cmd, Stamp(cmd.command_id, cmd.actor, cmd.occurred_at or self.clock))

    def run(self, command: str, actor: str, **fields: Any) -> list[ev.DomainEvent]:
        decision = self.decide(command, actor, **fields)
        for event in decision.events:
            stream = event.originator_id
            before = self.states.get(stream)
            assert (before.version if before else 0) == event.originator_version - 1
            evolve = (
                course_rules.evolve
                if stream.startswith(COURSE_STREAM_PREFIX)
                else pair_rules.evolve
            )
            self.states[stream] = evolve(before, event)  # type: ignore[arg-type]
        return decision.events

    def rule(self, command: str, actor: str, **fields: Any) -> str:
        try:
            self.decide(command, actor, **fields)
        except (RuleViolation, CommandRejected) as exc:
            return exc.rule
        pytest.fail(f"{command} was accepted")


GOALS = [
    {"goal_id": "hygiene", "title": "Basic hygiene", "area": "safety"},
    {"goal_id": "medication", "title": "Safe medication handling"},
]


@pytest.fixture
def memory() -> Memory:
    """Course vfu-1 (coord), students s1-s3, supervisor sup1, pair p1 (s1, s2) with
    session d1 open."""
    m = Memory()
    m.run(
        "open_course",
        "coord",
        course_id="vfu-1",
        title="Placement",
        starts_on="2026-03-02",
        ends_on="2026-04-24",
        scale=["not_yet", "pass", "good"],
        pass_level="pass",
        goals=GOALS,
    )
    for student in ("s1", "s2", "s3"):
        m.run("enroll_student", "coord", course_id="vfu-1", student_id=student)
    m.run("assign_supervisor", "coord", course_id="vfu-1", supervisor_id="sup1")
    m.run(
        "form_pair",
        "coord",
        course_id="vfu-1",
        pair_id="p1",
        students=["s1", "s2"],
        supervisors=["sup1"],
    )
    m.run(
        "open_session",
        "s1",
        pair_id="p1",
        session_id="d1",
        roles={"s1": "performer", "s2": "observer"},
    )
    return m


def _step(m: Memory, step_id: str = "st1", **fields: Any) -> list[ev.DomainEvent]:
    values: dict[str, Any] = {
        "pair_id": "p1",
        "session_id": "d1",
        "step_id": step_id,
        "kind": "performance",
        "performers": ["s1"],
        "observers": ["s2"],
        "goals": ["hygiene"],
    }
    values.update(fields)
    return m.run("record_step", "s1", **values)


# --- the command model's declarations --------------------------------------------------


def test_every_command_has_one_handler() -> None:
    assert set(HANDLERS) == {*COMMAND_TYPES, ForgetPerson}
    assert len(COMMAND_NAMES) == len(set(COMMAND_NAMES)) == len(COMMAND_TYPES)


def test_a_command_has_one_registered_decider() -> None:
    deciders: Deciders[Callable[..., list[DomainEvent]]] = Deciders()

    @deciders(RecordStep)
    def first(*_: object) -> list[DomainEvent]:
        return []

    assert dict(deciders.items()) == {RecordStep: first}
    with pytest.raises(ValueError, match="RecordStep already has a decider"):
        deciders(RecordStep)(first)
    assert dict(pair_rules.DECIDERS.items())[AssessGoal] is pair_rules.assess_goal


def test_the_access_lists_and_personal_fields_follow_from_the_commands() -> None:
    assert COMMANDS_BY_ROLE[Role.EXAMINER] == frozenset()
    assert "assess_goal" in COMMANDS_BY_ROLE[Role.SUPERVISOR]
    assert "assess_goal" not in COMMANDS_BY_ROLE[Role.STUDENT]
    assert "acknowledge_assessment" in COMMANDS_BY_ROLE[Role.STUDENT]
    assert "acknowledge_assessment" not in COMMANDS_BY_ROLE[Role.SUPERVISOR]
    assert "enroll_student" in COMMANDS_BY_ROLE[Role.COORDINATOR]
    assert "record_step" not in COMMANDS_BY_ROLE[Role.COORDINATOR]
    assert {"note", "strengths", "changes", "display_name"} <= PERSONAL_FIELDS
    step = parse_command(
        {
            "command": "record_step",
            "command_id": "c1",
            "actor": "s1",
            "pair_id": "p1",
            "session_id": "d1",
            "step_id": "st1",
            "kind": "other",
            "performers": ["s1"],
            "observers": [],
            "goals": [],
            "note": "A private remark",
        }
    )
    assert "A private remark" not in repr(step)
    assert "st1" in repr(step)


def test_each_handler_reads_the_streams_its_command_declares(memory: Memory) -> None:
    """What a command declares it reads is what its handler's decision expects."""
    decision = memory.decide("add_goal", "coord", course_id="vfu-1", goal_id="g3", title="G")
    cmd = parse_command(
        {"command": "add_goal", "command_id": "x", "actor": "coord", "course_id": "vfu-1"}
        | {"goal_id": "g3", "title": "G"}
    )
    assert cmd.streams is Streams.COURSE
    assert set(decision.expected) == set(streams_of(cmd)) == {"course/vfu-1"}
    decision = memory.decide(
        "close_session", "s1", pair_id="p1", session_id="d1", summary="Went well"
    )
    assert decision.expected == {"pair/p1": 2, "course/vfu-1": 6}


# --- course deciders and fold ----------------------------------------------------------


def test_open_course_folds_into_the_course(memory: Memory) -> None:
    course = memory.course("vfu-1")
    assert course is not None
    assert (course.title, course.starts_on, course.pass_level) == (
        "Placement",
        date(2026, 3, 2),
        "pass",
    )
    assert list(course.goals) == ["hygiene", "medication"]
    assert course.coordinators == ["coord"]
    assert course.students == ["s1", "s2", "s3"]
    assert course.paired == {"s1": "p1", "s2": "p1"}


def test_open_course_rules() -> None:
    m = Memory()
    base: dict[str, Any] = {
        "course_id": "c",
        "title": "T",
        "starts_on": "2026-03-02",
        "ends_on": "2026-04-24",
        "scale": ["a", "b"],
        "pass_level": "b",
        "goals": [],
    }
    assert m.rule("open_course", "co", **(base | {"ends_on": "2026-03-01"})) == "dates_in_order"
    assert m.rule("open_course", "co", **(base | {"pass_level": "z"})) == "level_in_scale"
    twice = [{"goal_id": "g", "title": "G"}] * 2
    assert m.rule("open_course", "co", **(base | {"goals": twice})) == "duplicate_goal"
    m.run("open_course", "co", **base)
    assert m.rule("open_course", "co", **base) == "duplicate_course"


def test_add_and_revise_goal(memory: Memory) -> None:
    memory.run("add_goal", "coord", course_id="vfu-1", goal_id="g3", title="Third", area="care")
    assert memory.rule("add_goal", "coord", course_id="vfu-1", goal_id="g3", title="X") == (
        "duplicate_goal"
    )
    assert memory.rule("add_goal", "s1", course_id="vfu-1", goal_id="g4", title="X") == (
        "not_allowed"
    )
    (revised,) = memory.run(
        "revise_goal", "coord", course_id="vfu-1", goal_id="g3", title="Third, revised"
    )
    assert isinstance(revised, ev.GoalRevised)
    assert (revised.title, revised.area) == ("Third, revised", None)
    course = memory.course("vfu-1")
    assert course is not None
    assert (course.goals["g3"].title, course.goals["g3"].area) == ("Third, revised", "care")
    assert memory.rule("revise_goal", "coord", course_id="vfu-1", goal_id="g3") == (
        "nothing_to_revise"
    )
    assert memory.rule("revise_goal", "coord", course_id="vfu-1", goal_id="zz", title="X") == (
        "unknown_goal"
    )


def test_retire_goal_and_evidence_after_it(memory: Memory) -> None:
    memory.run("retire_goal", "coord", course_id="vfu-1", goal_id="medication", reason="Moved")
    course = memory.course("vfu-1")
    assert course is not None
    assert course.goals["medication"].retired_at == memory.clock
    again = memory.rule(
        "retire_goal", "coord", course_id="vfu-1", goal_id="medication", reason="Again"
    )
    assert again == "goal_retired"
    with pytest.raises(RuleViolation) as caught:
        _step(memory, goals=["medication"])
    assert caught.value.field == "goals"


def test_enroll_assign_and_one_role(memory: Memory) -> None:
    assert memory.rule("enroll_student", "coord", course_id="vfu-1", student_id="s1") == (
        "already_enrolled"
    )
    assert memory.rule("enroll_student", "coord", course_id="vfu-1", student_id="sup1") == (
        "one_role"
    )
    assert memory.rule("assign_supervisor", "coord", course_id="vfu-1", supervisor_id="s3") == (
        "one_role"
    )
    memory.run(
        "assign_coordinator", "coord", course_id="vfu-1", coordinator_id="co2", display_name="Ann"
    )
    course = memory.course("vfu-1")
    assert course is not None
    assert course.coordinators == ["coord", "co2"]
    assert memory.rule("assign_coordinator", "coord", course_id="vfu-1", coordinator_id="co2") == (
        "already_assigned"
    )
    assert memory.rule("enroll_student", "coord", course_id="nope", student_id="s9") == (
        "unknown_course"
    )


def test_forget_person_everywhere(memory: Memory) -> None:
    memory.run("assign_coordinator", "coord", course_id="vfu-1", coordinator_id="co2")
    (forgotten,) = memory.run("forget_person", "co2", person_id="s3")
    assert isinstance(forgotten, ev.PersonForgotten)
    course = memory.course("vfu-1")
    assert course is not None
    assert course.is_forgotten("s3")
    assert memory.rule("forget_person", "co2", person_id="s3") == "already_forgotten"
    assert memory.rule("forget_person", "co2", person_id="co2") == "not_self"
    assert memory.rule("forget_person", "co2", person_id="nobody") == "unknown_person"


def test_a_forgotten_id_is_not_brought_in_again(memory: Memory) -> None:
    memory.forgotten_people.add("s9")
    assert memory.rule("enroll_student", "coord", course_id="vfu-1", student_id="s9") == (
        "person_forgotten"
    )


# --- pair deciders and fold ------------------------------------------------------------


def test_form_and_dissolve_pair(memory: Memory) -> None:
    pair = memory.pair("p1")
    assert pair is not None
    assert (pair.students, pair.supervisors, pair.open_session) == (["s1", "s2"], ["sup1"], "d1")
    form: dict[str, Any] = {"course_id": "vfu-1", "students": ["s1", "s3"], "supervisors": ["sup1"]}
    assert memory.rule("form_pair", "coord", pair_id="p2", **form) == "already_paired"
    assert memory.rule("form_pair", "coord", pair_id="p1", **form) == "duplicate_pair"
    assert memory.rule("dissolve_pair", "sup1", pair_id="p1", reason="Done") == "session_open"
    memory.run("close_session", "s1", pair_id="p1", session_id="d1")
    assert memory.rule("dissolve_pair", "s1", pair_id="p1", reason="Done") == "not_allowed"
    events = memory.run("dissolve_pair", "sup1", pair_id="p1", reason="Done")
    assert [type(e) for e in events] == [ev.PairDissolved, ev.StudentsUnpaired]
    pair = memory.pair("p1")
    course = memory.course("vfu-1")
    assert pair is not None
    assert course is not None
    assert pair.dissolved
    assert "s1" not in course.paired
    assert _rule_of(lambda: _step(memory, "st9")) == "pair_dissolved"


def _rule_of(fn: Any) -> str:
    with pytest.raises(RuleViolation) as caught:
        fn()
    return caught.value.rule


def test_sessions_open_switch_and_close(memory: Memory) -> None:
    roles = {"s1": "observer", "s2": "performer"}
    open_again = memory.rule("open_session", "s1", pair_id="p1", session_id="d2", roles=roles)
    assert open_again == "session_open"
    memory.run("switch_roles", "s2", pair_id="p1", session_id="d1", roles=roles)
    pair = memory.pair("p1")
    assert pair is not None
    assert pair.sessions["d1"].roles == roles
    assert memory.rule(
        "switch_roles", "s1", pair_id="p1", session_id="d1", roles={"s3": "performer"}
    ) == ("not_member")
    memory.run("close_session", "sup1", pair_id="p1", session_id="d1", summary="Good day")
    pair = memory.pair("p1")
    assert pair is not None
    assert (pair.open_session, pair.sessions["d1"].is_open) == (None, False)
    assert memory.rule("close_session", "s1", pair_id="p1", session_id="d1") == "session_closed"
    assert memory.rule("close_session", "s3", pair_id="p1", session_id="d1") == "not_allowed"


def test_record_step(memory: Memory) -> None:
    (step,) = _step(memory, note="Dressing change")
    assert isinstance(step, ev.StepRecorded)
    assert (step.performers, step.observers, step.note) == (("s1",), ("s2",), "Dressing change")
    pair = memory.pair("p1")
    assert pair is not None
    entry = pair.entries["st1"]
    assert isinstance(entry, StepEntry)
    assert (entry.performers, entry.goals) == (("s1",), ("hygiene",))
    assert _rule_of(lambda: _step(memory)) == "duplicate_entry"
    both = _rule_of(lambda: _step(memory, "st2", observers=["s1"]))
    assert both == "performer_and_observer"
    assert _rule_of(lambda: _step(memory, "st3", performers=[], observers=[])) == (
        "no_participants"
    )
    assert _rule_of(lambda: _step(memory, "st4", performers=["s3"])) == "not_member"


def test_give_feedback(memory: Memory) -> None:
    feedback: dict[str, Any] = {
        "pair_id": "p1",
        "feedback_id": "fb1",
        "giver": "s2",
        "receiver": "s1",
        "source": "peer",
        "goals": ["hygiene"],
        "strengths": "Calm",
        "improvements": "",
    }
    assert memory.rule("give_feedback", "s1", **feedback) == "not_allowed"
    (given,) = memory.run("give_feedback", "s2", **feedback)
    assert isinstance(given, ev.FeedbackGiven)
    assert (given.giver, given.receiver, given.strengths) == ("s2", "s1", "Calm")
    self_feedback = feedback | {"feedback_id": "fb2", "receiver": "s2"}
    assert memory.rule("give_feedback", "s2", **self_feedback) == "peer_is_other_member"
    empty = feedback | {"feedback_id": "fb3", "strengths": " "}
    assert memory.rule("give_feedback", "s2", **empty) == "empty_feedback"
    by_supervisor = feedback | {"feedback_id": "fb4", "giver": "s2", "source": "supervisor"}
    assert memory.rule("give_feedback", "s2", **by_supervisor) == "supervisor_of_pair"


def test_record_reflection(memory: Memory) -> None:
    reflection: dict[str, Any] = {
        "pair_id": "p1",
        "reflection_id": "r1",
        "authors": ["s1"],
        "mode": "individual",
        "stages": {"description": "What happened", "feelings": "Nervous"},
        "goals": ["hygiene"],
    }
    (recorded,) = memory.run("record_reflection", "s1", **reflection)
    assert isinstance(recorded, ev.ReflectionRecorded)
    assert recorded.stages == {"description": "What happened", "feelings": "Nervous"}
    two = reflection | {"reflection_id": "r2", "authors": ["s1", "s2"]}
    assert memory.rule("record_reflection", "s1", **two) == "individual_has_one_author"
    alone = reflection | {"reflection_id": "r3", "mode": "pair"}
    assert memory.rule("record_reflection", "s1", **alone) == "pair_has_two_authors"
    assert memory.rule("record_reflection", "s3", **(reflection | {"reflection_id": "r4"})) == (
        "not_allowed"
    )


def test_assess_goal(memory: Memory) -> None:
    assess: dict[str, Any] = {
        "pair_id": "p1",
        "student_id": "s1",
        "goal_id": "hygiene",
        "level": "pass",
        "kind": "formative",
    }
    (assessed,) = memory.run("assess_goal", "sup1", **assess, comment="Good")
    assert isinstance(assessed, ev.GoalAssessed)
    assert (assessed.student_id, assessed.level, assessed.comment) == ("s1", "pass", "Good")
    assert memory.rule("assess_goal", "s2", **assess) == "not_allowed"
    assert memory.rule("assess_goal", "sup1", **(assess | {"level": "top"})) == "level_in_scale"
    assert memory.rule("assess_goal", "sup1", **(assess | {"student_id": "s3"})) == "not_member"


_ASSESS: dict[str, Any] = {
    "pair_id": "p1",
    "student_id": "s1",
    "goal_id": "hygiene",
    "level": "pass",
    "kind": "midpoint",
}


def test_acknowledge_assessment_by_id_with_an_answer(memory: Memory) -> None:
    (assessed,) = memory.run("assess_goal", "sup1", **_ASSESS, assessment_id="a1")
    assert isinstance(assessed, ev.GoalAssessed)
    assert assessed.assessment_id == "a1"
    (acknowledged,) = memory.run(
        "acknowledge_assessment", "s1", pair_id="p1", assessment="a1", comment="Agreed"
    )
    assert isinstance(acknowledged, ev.AssessmentAcknowledged)
    assert acknowledged.assessment == f"pair/p1@{assessed.originator_version}"
    assert (acknowledged.student_id, acknowledged.goal_id) == ("s1", "hygiene")
    assert (acknowledged.kind, acknowledged.level) == ("midpoint", "pass")
    assert (acknowledged.assessment_id, acknowledged.comment) == ("a1", "Agreed")
    assert acknowledged.tell() == (
        f"s1 acknowledged the midpoint assessment {acknowledged.assessment} on goal hygiene (pass)"
    )
    # Once: neither by its id nor by its event reference again.
    again = {"pair_id": "p1", "assessment": "a1"}
    assert memory.rule("acknowledge_assessment", "s1", **again) == "already_acknowledged"
    by_ref = {"pair_id": "p1", "assessment": acknowledged.assessment}
    assert memory.rule("acknowledge_assessment", "s1", **by_ref) == "already_acknowledged"


def test_acknowledge_assessment_by_reference_without_an_answer(memory: Memory) -> None:
    (assessed,) = memory.run("assess_goal", "sup1", **_ASSESS)
    reference = f"pair/p1@{assessed.originator_version}"
    (acknowledged,) = memory.run("acknowledge_assessment", "s1", pair_id="p1", assessment=reference)
    assert isinstance(acknowledged, ev.AssessmentAcknowledged)
    assert acknowledged.assessment == reference
    assert acknowledged.comment is None
    assert acknowledged.assessment_id is None


def test_only_the_assessed_student_acknowledges_an_assessment(memory: Memory) -> None:
    memory.run("assess_goal", "sup1", **_ASSESS, assessment_id="a1")
    ack = {"pair_id": "p1", "assessment": "a1"}
    assert memory.rule("acknowledge_assessment", "s2", **ack) == "not_allowed"
    assert memory.rule("acknowledge_assessment", "sup1", **ack) == "not_allowed"
    assert memory.rule("acknowledge_assessment", "s3", **ack) == "not_allowed"
    assert memory.rule("acknowledge_assessment", "nobody", **ack) == "unknown_actor"
    assert memory.run("acknowledge_assessment", "s1", **ack)


def test_acknowledging_an_unknown_assessment_is_rejected(memory: Memory) -> None:
    (assessed,) = memory.run("assess_goal", "sup1", **_ASSESS, assessment_id="a1")
    _step(memory, "st1")
    elsewhere = f"pair/p2@{assessed.originator_version}"
    for named in ("a2", "st1", "pair/p1@1", elsewhere, "pair/p1@99"):
        ack = {"pair_id": "p1", "assessment": named}
        assert memory.rule("acknowledge_assessment", "s1", **ack) == "unknown_assessment", named
    bad = {"pair_id": "p1", "assessment": "pair/p1"}
    assert memory.rule("acknowledge_assessment", "s1", **bad) == "invalid_assessment"
    early = {"pair_id": "p1", "assessment": "a1", "occurred_at": "2026-03-02T06:00:00+00:00"}
    assert memory.rule("acknowledge_assessment", "s1", **early) == "not_before_assessment"
    assert assessed.occurred_at > datetime(2026, 3, 2, 6, tzinfo=UTC)


def test_assessment_ids_share_the_pairs_entry_id_namespace(memory: Memory) -> None:
    _step(memory, "st1")
    taken = _ASSESS | {"assessment_id": "st1"}
    assert memory.rule("assess_goal", "sup1", **taken) == "duplicate_entry"
    memory.run("assess_goal", "sup1", **_ASSESS, assessment_id="a1")
    assert memory.rule("assess_goal", "sup1", **(_ASSESS | {"assessment_id": "a1"})) == (
        "duplicate_entry"
    )
    step = {
        "pair_id": "p1",
        "session_id": "d1",
        "step_id": "a1",
        "kind": "performance",
        "performers": ["s1"],
        "observers": [],
        "goals": [],
    }
    assert memory.rule("record_step", "s1", **step) == "duplicate_entry"


def test_correct_entry_applies_the_changes(memory: Memory) -> None:
    _step(memory)
    (corrected,) = memory.run(
        "correct_entry",
        "s1",
        pair_id="p1",
        entry_id="st1",
        changes={"performers": ["s2"], "observers": ["s1"]},
        reason="Swapped",
    )
    assert isinstance(corrected, ev.EntryCorrected)
    assert corrected.subjects == ("s1", "s2")
    pair = memory.pair("p1")
    assert pair is not None
    entry = pair.entries["st1"]
    assert isinstance(entry, StepEntry)
    assert (entry.performers, entry.observers, entry.goals) == (("s2",), ("s1",), ("hygiene",))
    broken = {"observers": ["s2"]}
    with pytest.raises(RuleViolation) as caught:
        memory.decide(
            "correct_entry", "s1", pair_id="p1", entry_id="st1", changes=broken, reason="R"
        )
    assert (caught.value.field, caught.value.rule) == (
        "changes.observers",
        "performer_and_observer",
    )
    with pytest.raises(CommandRejected) as rejected:
        memory.decide(
            "correct_entry", "s1", pair_id="p1", entry_id="st1", changes={"giver": "s1"}, reason="R"
        )
    assert rejected.value.rule == "not_changeable"
    assert memory.rule(
        "correct_entry", "s3", pair_id="p1", entry_id="st1", changes={"goals": []}, reason="R"
    ) == ("not_allowed")


def test_retract_entry(memory: Memory) -> None:
    _step(memory)
    (retracted,) = memory.run("retract_entry", "sup1", pair_id="p1", entry_id="st1", reason="Dup")
    assert isinstance(retracted, ev.EntryRetracted)
    pair = memory.pair("p1")
    assert pair is not None
    assert pair.entries["st1"].retracted
    assert memory.rule("retract_entry", "sup1", pair_id="p1", entry_id="st1", reason="Again") == (
        "entry_retracted"
    )
    assert memory.rule("retract_entry", "sup1", pair_id="p1", entry_id="zz", reason="R") == (
        "unknown_entry"
    )


def test_apply_changes_replaces_only_the_named_fields() -> None:
    entry = StepEntry(
        entry_id="st1",
        actor="s1",
        occurred_at=T0,
        step_kind="performance",
        performers=("s1",),
        observers=("s2",),
        goals=("hygiene",),
    )
    changed = pair_rules.apply_changes(entry, ev.StepChanges(goals=("medication",)))
    assert isinstance(changed, StepEntry)
    assert (changed.performers, changed.observers, changed.goals) == (
        ("s1",),
        ("s2",),
        ("medication",),
    )
    with pytest.raises(TypeError):
        pair_rules.apply_changes(entry, ev.FeedbackChanges(giver="s2"))


def test_a_pair_event_before_the_pair_is_formed_is_refused() -> None:
    opened = ev.SessionOpened(
        originator_id="pair/p9",
        originator_version=1,
        command_id="c",
        actor="s1",
        occurred_at=T0,
        pair_id="p9",
        session_id="d1",
        roles={},
        shift=None,
        plan=None,
    )
    with pytest.raises(ValueError, match="before PairFormed"):
        pair_rules.evolve(None, opened)
