"""Every rule of the contract: a command that breaks it is rejected with a message that
names the command, the field and the rule, and nothing is written; the valid form is
accepted. Each case runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from peerlog import CommandRejected, PeerLog
from peerlog.domain.pair import Pair, StepEntry
from tests.support import COURSE, Placement

Build = Callable[[Placement], dict[str, Any]]
Setup = Callable[[Placement], object]


@dataclass(frozen=True)
class Case:
    name: str
    build: Build
    field: str
    rule: str
    setup: Setup | None = None

    def __str__(self) -> str:
        return self.name


def _now() -> datetime:
    return datetime.now(UTC)


def _close_d1(p: Placement) -> None:
    p.run("close_session", "s1", pair_id="p1", session_id="d1")


def _retire_hygiene(p: Placement) -> None:
    p.run("retire_goal", "coord", course_id=COURSE, goal_id="hygiene", reason="Merged into safety")


def _record_and_retract(p: Placement) -> None:
    p.app.execute(p.step("st1"))
    p.run("retract_entry", "s1", pair_id="p1", entry_id="st1", reason="Recorded by mistake")


def _dissolve_p2(p: Placement) -> None:
    p.run("dissolve_pair", "coord", pair_id="p2", reason="s4 left the programme")


def _step(**fields: Any) -> Build:
    return lambda p: p.step(**fields)


def _feedback(**fields: Any) -> Build:
    return lambda p: p.feedback(**fields)


def _reflection(**fields: Any) -> Build:
    return lambda p: p.reflection(**fields)


def _cmd(command: str, actor: str, **fields: Any) -> Build:
    return lambda p: p.cmd(command, actor, **fields)


def _course_cmd(command: str, actor: str = "coord", **fields: Any) -> Build:
    return _cmd(command, actor, course_id=COURSE, **fields)


def _with(build: Build, **fields: Any) -> Build:
    return lambda p: {**build(p), **fields}


def _without(build: Build, *names: str) -> Build:
    return lambda p: {k: v for k, v in build(p).items() if k not in names}


_OPEN_COURSE = _cmd(
    "open_course",
    "coord2",
    course_id="vfu-2",
    title="Clinical placement, term 5",
    starts_on="2026-09-01",
    ends_on="2026-10-30",
    scale=["fail", "pass"],
    pass_level="pass",
    goals=[{"goal_id": "g1", "title": "Lead the team on a shift"}],
)
_FORM_P3 = _course_cmd("form_pair", pair_id="p3", students=["s5", "s6"], supervisors=["sup1"])
_ASSESS = _cmd(
    "assess_goal",
    "sup1",
    pair_id="p1",
    student_id="s1",
    goal_id="hygiene",
    level="pass",
    kind="midpoint",
)
_CORRECT = _cmd(
    "correct_entry",
    "s1",
    pair_id="p1",
    entry_id="st1",
    changes={"observers": ["s2"]},
    reason="Fix",
)

CASES = [
    # --- every command: its envelope -------------------------------------------------
    Case(
        "command_id format",
        _with(_step(), command_id="no spaces allowed"),
        "command_id",
        "invalid_id",
    ),
    Case("command_id too long", _with(_step(), command_id="x" * 65), "command_id", "invalid_id"),
    Case("actor format", _with(_step(), actor=""), "actor", "invalid_id"),
    Case("unknown actor", _step(actor="visitor"), "actor", "unknown_actor"),
    Case("unknown command", _cmd("teleport", "s1"), "command", "unknown_command"),
    Case("missing command", _without(_step(), "command"), "command", "missing_command"),
    Case(
        "occurred_at without offset",
        _with(_step(), occurred_at="2026-03-02T08:00:00"),
        "occurred_at",
        "timezone_aware",
    ),
    Case(
        "occurred_at not a time",
        _with(_step(), occurred_at="yesterday"),
        "occurred_at",
        "not_a_time",
    ),
    Case(
        "occurred_at more than 5 minutes ahead",
        lambda p: {**p.step(), "occurred_at": (_now() + timedelta(minutes=6)).isoformat()},
        "occurred_at",
        "not_in_future",
    ),
    Case(
        "a field that is not in the contract",
        _with(_step(), mood="good"),
        "mood",
        "extra_forbidden",
    ),
    Case("a required field missing", _without(_step(), "goals"), "goals", "missing"),
    Case(
        "a list where a string belongs",
        _with(_step(), kind=["performance"]),
        "kind",
        "literal_error",
    ),
    Case("id format in a list", _step(goals=["hand hygiene"]), "goals.0", "invalid_id"),
    Case("same id twice in a list", _step(goals=["hygiene", "hygiene"]), "goals", "duplicate"),
    # --- free text must not identify a patient ---------------------------------------
    Case(
        "personnummer in a note",
        _step(note="Pat. 19121212-1212 was calm"),
        "note",
        "patient_identifier",
    ),
    Case(
        "10-digit personnummer",
        _feedback(strengths="Good with 121212-1212"),
        "strengths",
        "patient_identifier",
    ),
    Case(
        "coordination number",
        _reflection(stages={"description": "Patient 701063-2391 fell"}),
        "stages.description",
        "patient_identifier",
    ),
    Case(
        "Danish CPR number",
        _step(note="CPR 010190-1234 on the chart"),
        "note",
        "patient_identifier",
    ),
    Case(
        "personnummer in a display name",
        _course_cmd("enroll_student", student_id="s9", display_name="19121212-1212"),
        "display_name",
        "patient_identifier",
    ),
    # --- open_course ------------------------------------------------------------------
    Case(
        "course opened twice",
        _with(_OPEN_COURSE, course_id=COURSE),
        "course_id",
        "duplicate_course",
    ),
    Case(
        "course ends before it starts",
        _with(_OPEN_COURSE, ends_on="2026-08-01"),
        "ends_on",
        "dates_in_order",
    ),
    Case(
        "pass level not on the scale",
        _with(_OPEN_COURSE, pass_level="good"),
        "pass_level",
        "level_in_scale",
    ),
    Case("empty scale", _with(_OPEN_COURSE, scale=[], pass_level="pass"), "scale", "too_short"),
    Case("scale level twice", _with(_OPEN_COURSE, scale=["pass", "pass"]), "scale", "duplicate"),
    Case(
        "goal listed twice",
        _with(
            _OPEN_COURSE, goals=[{"goal_id": "g1", "title": "A"}, {"goal_id": "g1", "title": "B"}]
        ),
        "goals.1.goal_id",
        "duplicate_goal",
    ),
    Case("blank course title", _with(_OPEN_COURSE, title="  "), "title", "blank"),
    Case(
        "dates that are not dates",
        _with(_OPEN_COURSE, starts_on="spring"),
        "starts_on",
        "not_a_date",
    ),
    # --- course administration --------------------------------------------------------
    Case(
        "add_goal to an unknown course",
        _cmd("add_goal", "coord", course_id="nope", goal_id="g9", title="X"),
        "course_id",
        "unknown_course",
    ),
    Case(
        "add_goal by a student",
        _course_cmd("add_goal", "s1", goal_id="g9", title="X"),
        "actor",
        "not_allowed",
    ),
    Case(
        "add_goal by a supervisor",
        _course_cmd("add_goal", "sup1", goal_id="g9", title="X"),
        "actor",
        "not_allowed",
    ),
    Case(
        "add_goal by an unknown actor",
        _course_cmd("add_goal", "stranger", goal_id="g9", title="X"),
        "actor",
        "unknown_actor",
    ),
    Case(
        "add_goal with a goal id in use",
        _course_cmd("add_goal", goal_id="hygiene", title="X"),
        "goal_id",
        "duplicate_goal",
    ),
    Case(
        "revise_goal of an unknown goal",
        _course_cmd("revise_goal", goal_id="g9", title="X"),
        "goal_id",
        "unknown_goal",
    ),
    Case(
        "revise_goal with nothing to revise",
        _course_cmd("revise_goal", goal_id="hygiene"),
        "title",
        "nothing_to_revise",
    ),
    Case(
        "revise_goal of a retired goal",
        _course_cmd("revise_goal", goal_id="hygiene", title="X"),
        "goal_id",
        "goal_retired",
        _retire_hygiene,
    ),
    Case(
        "revise_goal by a student",
        _course_cmd("revise_goal", "s2", goal_id="hygiene", title="X"),
        "actor",
        "not_allowed",
    ),
    Case(
        "retire_goal of an unknown goal",
        _course_cmd("retire_goal", goal_id="g9", reason="X"),
        "goal_id",
        "unknown_goal",
    ),
    Case(
        "retire_goal twice",
        _course_cmd("retire_goal", goal_id="hygiene", reason="X"),
        "goal_id",
        "goal_retired",
        _retire_hygiene,
    ),
    Case(
        "retire_goal without a reason",
        _course_cmd("retire_goal", goal_id="hygiene", reason=" "),
        "reason",
        "blank",
    ),
    Case(
        "retire_goal by a supervisor",
        _course_cmd("retire_goal", "sup1", goal_id="hygiene", reason="X"),
        "actor",
        "not_allowed",
    ),
    Case(
        "enroll a student twice",
        _course_cmd("enroll_student", student_id="s1"),
        "student_id",
        "already_enrolled",
    ),
    Case(
        "enroll a supervisor as a student",
        _course_cmd("enroll_student", student_id="sup1"),
        "student_id",
        "one_role",
    ),
    Case(
        "enroll_student by a supervisor",
        _course_cmd("enroll_student", "sup1", student_id="s9"),
        "actor",
        "not_allowed",
    ),
    Case(
        "assign a supervisor twice",
        _course_cmd("assign_supervisor", supervisor_id="sup1"),
        "supervisor_id",
        "already_assigned",
    ),
    Case(
        "assign a student as supervisor",
        _course_cmd("assign_supervisor", supervisor_id="s1"),
        "supervisor_id",
        "one_role",
    ),
    Case(
        "assign_supervisor by a student",
        _course_cmd("assign_supervisor", "s1", supervisor_id="sup9"),
        "actor",
        "not_allowed",
    ),
    Case(
        "assign a coordinator twice",
        _course_cmd("assign_coordinator", coordinator_id="coord"),
        "coordinator_id",
        "already_assigned",
    ),
    Case(
        "assign a student as coordinator",
        _course_cmd("assign_coordinator", coordinator_id="s2"),
        "coordinator_id",
        "one_role",
    ),
    Case(
        "assign_coordinator by a supervisor",
        _course_cmd("assign_coordinator", "sup1", coordinator_id="c9"),
        "actor",
        "not_allowed",
    ),
    # --- form_pair --------------------------------------------------------------------
    Case("form a pair of one", _with(_FORM_P3, students=["s5"]), "students", "too_short"),
    Case(
        "form a pair with the same student twice",
        _with(_FORM_P3, students=["s5", "s5"]),
        "students",
        "duplicate",
    ),
    Case(
        "form a pair without a supervisor",
        _with(_FORM_P3, supervisors=[]),
        "supervisors",
        "too_short",
    ),
    Case(
        "form a pair with a student not enrolled",
        _with(_FORM_P3, students=["s5", "s9"]),
        "students",
        "not_enrolled",
    ),
    Case(
        "form a pair with a supervisor not assigned",
        _with(_FORM_P3, supervisors=["sup9"]),
        "supervisors",
        "not_supervisor",
    ),
    Case(
        "a student in two active pairs",
        _with(_FORM_P3, students=["s5", "s1"]),
        "students",
        "already_paired",
    ),
    Case(
        "form a pair with an id in use",
        _with(_FORM_P3, pair_id="p2", students=["s5", "s3"]),
        "pair_id",
        "duplicate_pair",
        _dissolve_p2,
    ),
    Case("form_pair by a supervisor", _with(_FORM_P3, actor="sup1"), "actor", "not_allowed"),
    Case(
        "form_pair in an unknown course",
        _with(_FORM_P3, course_id="nope"),
        "course_id",
        "unknown_course",
    ),
    # --- sessions and roles -----------------------------------------------------------
    Case(
        "open_session in an unknown pair",
        _cmd("open_session", "s1", pair_id="p9", session_id="d2", roles={"s1": "performer"}),
        "pair_id",
        "unknown_pair",
    ),
    Case(
        "open_session by a student of another pair",
        _cmd("open_session", "s3", pair_id="p1", session_id="d2", roles={"s1": "performer"}),
        "actor",
        "not_allowed",
    ),
    Case(
        "open_session by another pair's supervisor",
        _cmd("open_session", "sup2", pair_id="p1", session_id="d2", roles={"s1": "performer"}),
        "actor",
        "not_allowed",
    ),
    Case(
        "open_session while another is open",
        _cmd("open_session", "s1", pair_id="p1", session_id="d2", roles={"s1": "performer"}),
        "session_id",
        "session_open",
    ),
    Case(
        "open_session with a session id in use",
        _cmd("open_session", "s1", pair_id="p1", session_id="d1", roles={"s1": "performer"}),
        "session_id",
        "duplicate_session",
        _close_d1,
    ),
    Case(
        "open_session giving a role to a non-member",
        _cmd("open_session", "s3", pair_id="p2", session_id="e1", roles={"s1": "performer"}),
        "roles.s1",
        "not_member",
    ),
    Case(
        "open_session with an unknown role",
        _cmd("open_session", "s3", pair_id="p2", session_id="e1", roles={"s3": "captain"}),
        "roles.s3",
        "literal_error",
    ),
    Case(
        "open_session with an unknown shift",
        _cmd(
            "open_session",
            "s3",
            pair_id="p2",
            session_id="e1",
            shift="morning",
            roles={"s3": "performer"},
        ),
        "shift",
        "literal_error",
    ),
    Case(
        "open_session without roles",
        _cmd("open_session", "s3", pair_id="p2", session_id="e1", roles={}),
        "roles",
        "too_short",
    ),
    Case(
        "switch_roles in an unknown session",
        _cmd("switch_roles", "s1", pair_id="p1", session_id="d9", roles={"s1": "observer"}),
        "session_id",
        "unknown_session",
    ),
    Case(
        "switch_roles in a closed session",
        _cmd("switch_roles", "s1", pair_id="p1", session_id="d1", roles={"s1": "observer"}),
        "session_id",
        "session_closed",
        _close_d1,
    ),
    Case(
        "switch_roles giving a role to a non-member",
        _cmd("switch_roles", "s1", pair_id="p1", session_id="d1", roles={"s3": "observer"}),
        "roles.s3",
        "not_member",
    ),
    Case(
        "close_session that is closed",
        _cmd("close_session", "s2", pair_id="p1", session_id="d1"),
        "session_id",
        "session_closed",
        _close_d1,
    ),
    Case(
        "close_session that does not exist",
        _cmd("close_session", "s2", pair_id="p1", session_id="d9"),
        "session_id",
        "unknown_session",
    ),
    Case(
        "close_session by a non-member",
        _cmd("close_session", "s4", pair_id="p1", session_id="d1"),
        "actor",
        "not_allowed",
    ),
    # --- steps ------------------------------------------------------------------------
    Case("record_step in a closed session", _step(), "session_id", "session_closed", _close_d1),
    Case(
        "record_step in an unknown session", _step(session_id="d9"), "session_id", "unknown_session"
    ),
    Case(
        "record_step with an entry id in use",
        _step(step_id="fb1"),
        "step_id",
        "duplicate_entry",
        lambda p: p.app.execute(p.feedback()),
    ),
    Case(
        "record_step with a non-member performing",
        _step(performers=["s3"]),
        "performers",
        "not_member",
    ),
    Case(
        "record_step with a non-member observing",
        _step(observers=["s4"]),
        "observers",
        "not_member",
    ),
    Case(
        "record_step performing and observing",
        _step(performers=["s1"], observers=["s1"]),
        "observers",
        "performer_and_observer",
    ),
    Case(
        "record_step with nobody",
        _step(performers=[], observers=[]),
        "performers",
        "no_participants",
    ),
    Case("record_step for an unknown goal", _step(goals=["surgery"]), "goals", "unknown_goal"),
    Case("record_step for a retired goal", _step(), "goals", "goal_retired", _retire_hygiene),
    Case("record_step of an unknown kind", _step(kind="lunch"), "kind", "literal_error"),
    Case("record_step by a student of another pair", _step(actor="s3"), "actor", "not_allowed"),
    # --- feedback ---------------------------------------------------------------------
    Case("give_feedback recorded by someone else", _feedback(actor="s1"), "actor", "not_allowed"),
    Case("peer feedback to oneself", _feedback(receiver="s2"), "receiver", "peer_is_other_member"),
    Case(
        "peer feedback from a non-member", _feedback(actor="s3", giver="s3"), "giver", "not_member"
    ),
    Case("peer feedback to a non-member", _feedback(receiver="s3"), "receiver", "not_member"),
    Case(
        "supervisor feedback from another pair's supervisor",
        _feedback(actor="sup2", giver="sup2", source="supervisor"),
        "giver",
        "supervisor_of_pair",
    ),
    Case(
        "supervisor feedback from a student",
        _feedback(source="supervisor"),
        "giver",
        "supervisor_of_pair",
    ),
    Case(
        "give_feedback with nothing said",
        _feedback(strengths=" ", improvements=""),
        "strengths",
        "empty_feedback",
    ),
    Case(
        "give_feedback in an unknown session",
        _feedback(session_id="d9"),
        "session_id",
        "unknown_session",
    ),
    Case(
        "give_feedback for an unknown goal", _feedback(goals=["surgery"]), "goals", "unknown_goal"
    ),
    Case(
        "give_feedback with an unknown source",
        _feedback(source="patient"),
        "source",
        "literal_error",
    ),
    # --- reflections ------------------------------------------------------------------
    Case("record_reflection by someone else", _reflection(actor="s2"), "actor", "not_allowed"),
    Case(
        "reflection by a non-member",
        _reflection(actor="s3", authors=["s3"]),
        "authors",
        "not_member",
    ),
    Case(
        "individual reflection with two authors",
        _reflection(authors=["s1", "s2"]),
        "authors",
        "individual_has_one_author",
    ),
    Case(
        "pair reflection with one author",
        _reflection(mode="pair"),
        "authors",
        "pair_has_two_authors",
    ),
    Case("reflection without stages", _reflection(stages={}), "stages", "no_stages"),
    Case(
        "reflection with an empty stage",
        _reflection(stages={"feelings": "  "}),
        "stages.feelings",
        "blank",
    ),
    Case(
        "reflection with a stage not in Gibbs' cycle",
        _reflection(stages={"summary": "x"}),
        "stages.summary.[key]",
        "literal_error",
    ),
    Case("reflection with an unknown mode", _reflection(mode="group"), "mode", "literal_error"),
    Case("reflection for a retired goal", _reflection(), "goals", "goal_retired", _retire_hygiene),
    # --- assessments ------------------------------------------------------------------
    Case("assess_goal by a student", _with(_ASSESS, actor="s2"), "actor", "not_allowed"),
    Case(
        "assess_goal by another pair's supervisor",
        _with(_ASSESS, actor="sup2"),
        "actor",
        "not_allowed",
    ),
    Case("assess_goal by the coordinator", _with(_ASSESS, actor="coord"), "actor", "not_allowed"),
    Case(
        "assess a student of another pair",
        _with(_ASSESS, student_id="s3"),
        "student_id",
        "not_member",
    ),
    Case(
        "assess at a level not on the scale",
        _with(_ASSESS, level="superb"),
        "level",
        "level_in_scale",
    ),
    Case("assess an unknown goal", _with(_ASSESS, goal_id="surgery"), "goal_id", "unknown_goal"),
    Case("assess a retired goal", _ASSESS, "goal_id", "goal_retired", _retire_hygiene),
    Case("assess with an unknown kind", _with(_ASSESS, kind="final-ish"), "kind", "literal_error"),
    # --- corrections and retractions --------------------------------------------------
    Case("correct an unknown entry", _CORRECT, "entry_id", "unknown_entry"),
    Case("correct a retracted entry", _CORRECT, "entry_id", "entry_retracted", _record_and_retract),
    Case(
        "correct someone else's entry",
        _with(_CORRECT, actor="s2"),
        "actor",
        "not_allowed",
        lambda p: p.app.execute(p.step()),
    ),
    Case(
        "correct a field a step does not have",
        _with(_CORRECT, changes={"giver": "s2"}),
        "changes.giver",
        "not_changeable",
        lambda p: p.app.execute(p.step()),
    ),
    Case(
        "correct a step to a non-member",
        _with(_CORRECT, changes={"performers": ["s3"]}),
        "changes.performers",
        "not_member",
        lambda p: p.app.execute(p.step()),
    ),
    Case(
        "correct a step to an unknown goal",
        _with(_CORRECT, changes={"goals": ["surgery"]}),
        "changes.goals",
        "unknown_goal",
        lambda p: p.app.execute(p.step()),
    ),
    Case(
        "correct with no changes",
        _with(_CORRECT, changes={}),
        "changes",
        "too_short",
        lambda p: p.app.execute(p.step()),
    ),
    Case(
        "correct without a reason",
        _with(_CORRECT, reason=""),
        "reason",
        "blank",
        lambda p: p.app.execute(p.step()),
    ),
    Case(
        "correct before the entry occurred",
        lambda p: {**_CORRECT(p), "occurred_at": "2026-03-02T07:00:00+00:00"},
        "occurred_at",
        "not_before_entry",
        lambda p: p.app.execute(p.step()),
    ),
    Case(
        "retract an unknown entry",
        _cmd("retract_entry", "s1", pair_id="p1", entry_id="st9", reason="X"),
        "entry_id",
        "unknown_entry",
    ),
    Case(
        "retract twice",
        _cmd("retract_entry", "s1", pair_id="p1", entry_id="st1", reason="X"),
        "entry_id",
        "entry_retracted",
        _record_and_retract,
    ),
    Case(
        "retract someone else's entry",
        _cmd("retract_entry", "s2", pair_id="p1", entry_id="st1", reason="X"),
        "actor",
        "not_allowed",
        lambda p: p.app.execute(p.step()),
    ),
    # --- dissolving -------------------------------------------------------------------
    Case(
        "dissolve_pair by a student",
        _cmd("dissolve_pair", "s1", pair_id="p1", reason="X"),
        "actor",
        "not_allowed",
    ),
    Case(
        "dissolve_pair with a session open",
        _cmd("dissolve_pair", "sup1", pair_id="p1", reason="X"),
        "pair_id",
        "session_open",
    ),
    Case(
        "dissolve_pair twice",
        _cmd("dissolve_pair", "sup2", pair_id="p2", reason="X"),
        "pair_id",
        "pair_dissolved",
        _dissolve_p2,
    ),
    Case(
        "record into a dissolved pair",
        _cmd("open_session", "s3", pair_id="p2", session_id="e1", roles={"s3": "performer"}),
        "pair_id",
        "pair_dissolved",
        _dissolve_p2,
    ),
]


@pytest.fixture
def placement(app: PeerLog) -> Placement:
    return Placement(app).seed()


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_command_breaking_a_rule_is_rejected_and_changes_nothing(
    placement: Placement, case: Case
) -> None:
    if case.setup is not None:
        case.setup(placement)
    command = case.build(placement)
    before = placement.app.store.max_notification_id()

    with pytest.raises(CommandRejected) as rejected:
        placement.app.execute(command)

    assert (rejected.value.field, rejected.value.rule) == (case.field, case.rule), str(
        rejected.value
    )
    message = str(rejected.value)
    name = command.get("command", "")
    if (
        name in {c.build(placement).get("command") for c in CASES}
        and case.rule != "unknown_command"
    ):
        assert message.startswith(f"{name} rejected: ")
    assert case.field in message
    assert f"[{case.rule}]" in message
    assert placement.app.store.max_notification_id() == before
    assert placement.app.store.find_command(command.get("command_id", "")) is None


VALID: list[tuple[str, Build]] = [
    ("open_course", _OPEN_COURSE),
    (
        "add_goal",
        _course_cmd(
            "add_goal",
            goal_id="teamwork",
            title="Work in a team",
            area="care",
            description="Plan a shift with others",
        ),
    ),
    (
        "revise_goal",
        _course_cmd("revise_goal", goal_id="hygiene", description="Incl. isolation routines"),
    ),
    (
        "retire_goal",
        _course_cmd("retire_goal", goal_id="communication", reason="Covered by another course"),
    ),
    ("enroll_student", _course_cmd("enroll_student", student_id="s9", display_name="Sara Lind")),
    (
        "assign_supervisor",
        _course_cmd("assign_supervisor", supervisor_id="sup9", display_name="Olle Berg"),
    ),
    ("assign_coordinator", _course_cmd("assign_coordinator", coordinator_id="coord2")),
    (
        "form_pair",
        _course_cmd("form_pair", pair_id="p3", students=["s5", "s6"], supervisors=["sup1", "sup2"]),
    ),
    (
        "open_session",
        _cmd(
            "open_session",
            "sup2",
            pair_id="p2",
            session_id="e1",
            shift="night",
            plan="Evening medication round",
            roles={"s3": "medication_responsible", "s4": "follower"},
        ),
    ),
    (
        "switch_roles",
        _cmd(
            "switch_roles",
            "s2",
            pair_id="p1",
            session_id="d1",
            roles={"s1": "observer", "s2": "performer"},
            reason="Halfway through the shift",
        ),
    ),
    (
        "record_step",
        _step(
            kind="checkpoint",
            performers=["s1", "s2"],
            observers=[],
            goals=["hygiene", "medication"],
        ),
    ),
    ("give_feedback", _feedback()),
    (
        "give_feedback",
        _feedback(
            actor="sup1",
            giver="sup1",
            source="supervisor",
            receiver="s2",
            session_id=None,
            goals=[],
        ),
    ),
    ("record_reflection", _reflection(actor="sup1", mode="with_supervisor", authors=["s1", "s2"])),
    ("assess_goal", _with(_ASSESS, comment="Safe and consistent")),
    (
        "close_session",
        _cmd("close_session", "sup1", pair_id="p1", session_id="d1", summary="A calm shift"),
    ),
    (
        "dissolve_pair",
        _cmd("dissolve_pair", "sup2", pair_id="p2", reason="s4 moved to another ward"),
    ),
]


@pytest.mark.parametrize(
    ("name", "build"), VALID, ids=[f"{n}-{i}" for i, (n, _) in enumerate(VALID)]
)
def test_the_valid_form_of_each_command_is_accepted(
    placement: Placement, name: str, build: Build
) -> None:
    before = placement.app.store.max_notification_id() or 0
    command = build(placement)
    if "session_id" in command and command["session_id"] is None:
        del command["session_id"]

    result = placement.app.execute(command)

    assert result.command == name
    assert not result.repeated
    assert [e.position for e in result.events] == list(
        range(before + 1, before + 1 + len(result.events))
    )
    assert placement.app.store.find_command(command["command_id"]) is not None


def test_a_correction_and_a_retraction_are_accepted_from_the_right_people(
    placement: Placement,
) -> None:
    app = placement.app
    app.execute(placement.step("st1"))
    app.execute(placement.feedback("fb1"))
    placement.run(
        "correct_entry",
        "sup1",
        pair_id="p1",
        entry_id="st1",
        changes={"performers": ["s2"], "observers": ["s1"], "note": "Partner performed"},
        reason="Roles were mixed up",
    )
    placement.run(
        "correct_entry",
        "s2",
        pair_id="p1",
        entry_id="fb1",
        changes={"improvements": "Explain before touching", "goals": ["hygiene", "communication"]},
        reason="Clearer wording",
    )
    placement.run("retract_entry", "coord", pair_id="p1", entry_id="fb1", reason="Duplicate")
    pair = app.state_at("pair/p1", 10_000)
    assert isinstance(pair, Pair)
    step = pair.entries["st1"]
    assert isinstance(step, StepEntry)
    assert (step.performers, step.observers) == (("s2",), ("s1",))
    assert pair.entries["fb1"].retracted


def test_a_goal_retired_later_still_takes_evidence_that_occurred_before(
    placement: Placement,
) -> None:
    """ "Not retired at occurred_at": a late-recorded step from before the retirement counts."""
    placement.run(
        "retire_goal",
        "coord",
        course_id=COURSE,
        goal_id="hygiene",
        reason="Moved",
        occurred_at="2026-03-03T12:00:00+00:00",
    )
    before_retirement = placement.step("late1", occurred_at="2026-03-02T09:00:00+00:00")
    placement.app.execute(before_retirement)
    with pytest.raises(CommandRejected) as rejected:
        placement.app.execute(placement.step("late2", occurred_at="2026-03-03T12:00:00+00:00"))
    assert rejected.value.rule == "goal_retired"


def test_open_course_needs_no_known_actor_and_makes_the_actor_its_coordinator(
    app: PeerLog,
) -> None:
    p = Placement(app)
    p.app.execute(_OPEN_COURSE(p))
    p.run("add_goal", "coord2", course_id="vfu-2", goal_id="g2", title="Hand over a patient")
    with pytest.raises(CommandRejected) as rejected:
        p.run("add_goal", "coord", course_id="vfu-2", goal_id="g3", title="X")
    assert rejected.value.rule == "unknown_actor"
