"""Who may record what: every command of the contract against every kind of actor,
allowed or rejected exactly as the contract's table says (and forget, as
docs/access.md says). A rejected command changes nothing."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from peerlog import CommandRejected, PeerLog
from peerlog.commands import COMMAND_NAMES
from tests.conftest import Store
from tests.support import COURSE, GOALS, Placement

ALLOWED = ("", "allowed")
NOT_ALLOWED = ("actor", "not_allowed")
UNKNOWN = ("actor", "unknown_actor")

ACTORS = {
    "coord": "a coordinator of the course",
    "coord2": "a coordinator of another course",
    "sup1": "a supervisor of the pair",
    "sup2": "a supervisor of another pair in the course",
    "s1": "a member of the pair, the student concerned",
    "s2": "the other member of the pair: the feedback giver, the entry's original actor",
    "s3": "a student of another pair",
    "ghost": "an actor the record does not know",
}

Outcome = tuple[str, str]
Expectation = dict[str, Outcome]


def _table(**allowed: bool) -> Expectation:
    """Allowed for the actors named, rejected for everyone else: as unknown for those
    the course does not know, as not allowed for those it does."""
    return {
        actor: ALLOWED
        if allowed.get(actor)
        else UNKNOWN
        if actor in {"coord2", "ghost"}
        else NOT_ALLOWED
        for actor in ACTORS
    }


COORDINATOR = _table(coord=True)
MEMBER_OR_SUPERVISOR = _table(sup1=True, s1=True, s2=True)
ANYONE: Expectation = dict.fromkeys(ACTORS, ALLOWED)


def _close_d1(p: Placement) -> None:
    p.run("close_session", "s1", pair_id="p1", session_id="d1")


def _step_by_s2(p: Placement) -> None:
    p.app.execute(p.step("st0", actor="s2"))


def _assess_s1(p: Placement) -> None:
    p.run(
        "assess_goal",
        "sup1",
        pair_id="p1",
        student_id="s1",
        goal_id="hygiene",
        level="pass",
        kind="formative",
        assessment_id="as0",
    )


def _open_course(p: Placement, actor: str) -> dict[str, Any]:
    return p.cmd(
        "open_course",
        actor,
        course_id="new-course",
        title="Placement, term 5",
        starts_on=date(2027, 1, 11).isoformat(),
        ends_on=date(2027, 3, 5).isoformat(),
        scale=["not_yet", "pass"],
        pass_level="pass",
        goals=GOALS,
    )


def _course(command: str, **fields: Any) -> Callable[[Placement, str], dict[str, Any]]:
    return lambda p, actor: p.cmd(command, actor, course_id=COURSE, **fields)


def _pair(command: str, **fields: Any) -> Callable[[Placement, str], dict[str, Any]]:
    return lambda p, actor: p.cmd(command, actor, pair_id="p1", **fields)


@dataclass(frozen=True)
class Case:
    command: str
    build: Callable[[Placement, str], dict[str, Any]]
    expected: Expectation
    setup: Callable[[Placement], object] | None = None
    variant: str = ""

    @property
    def name(self) -> str:
        return f"{self.command}{'/' + self.variant if self.variant else ''}"


CASES = [
    Case("open_course", _open_course, ANYONE),
    Case("assign_coordinator", _course("assign_coordinator", coordinator_id="coord9"), COORDINATOR),
    Case("add_goal", _course("add_goal", goal_id="g9", title="Document care"), COORDINATOR),
    Case("revise_goal", _course("revise_goal", goal_id="hygiene", title="Hygiene"), COORDINATOR),
    Case(
        "retire_goal",
        _course("retire_goal", goal_id="medication", reason="Moved to term 4"),
        COORDINATOR,
    ),
    Case("enroll_student", _course("enroll_student", student_id="s9"), COORDINATOR),
    Case("assign_supervisor", _course("assign_supervisor", supervisor_id="sup9"), COORDINATOR),
    Case(
        "form_pair",
        _course("form_pair", pair_id="p3", students=["s5", "s6"], supervisors=["sup1"]),
        COORDINATOR,
    ),
    Case(
        "open_session",
        _pair("open_session", session_id="d2", roles={"s1": "performer", "s2": "observer"}),
        MEMBER_OR_SUPERVISOR,
        setup=_close_d1,
    ),
    Case(
        "switch_roles",
        _pair("switch_roles", session_id="d1", roles={"s1": "observer", "s2": "performer"}),
        MEMBER_OR_SUPERVISOR,
    ),
    Case("record_step", lambda p, actor: p.step("st9", actor=actor), MEMBER_OR_SUPERVISOR),
    Case("close_session", _pair("close_session", session_id="d1"), MEMBER_OR_SUPERVISOR),
    Case(
        "give_feedback",
        lambda p, actor: p.feedback("fb9", actor=actor),
        _table(s2=True),
        variant="peer, giver s2",
    ),
    Case(
        "give_feedback",
        lambda p, actor: p.feedback(
            "fb9", actor=actor, giver="sup1", receiver="s1", source="supervisor"
        ),
        _table(sup1=True),
        variant="supervisor, giver sup1",
    ),
    Case(
        "record_reflection",
        lambda p, actor: p.reflection("rf9", actor=actor),
        _table(s1=True, sup1=True),
        variant="author s1",
    ),
    Case(
        "assess_goal",
        _pair("assess_goal", student_id="s1", goal_id="hygiene", level="pass", kind="formative"),
        _table(sup1=True),
    ),
    Case(
        "acknowledge_assessment",
        _pair("acknowledge_assessment", assessment="as0"),
        _table(s1=True),
        setup=_assess_s1,
    ),
    Case(
        "correct_entry",
        _pair("correct_entry", entry_id="st0", changes={"goals": ["medication"]}, reason="Goal"),
        _table(s2=True, sup1=True, coord=True),
        setup=_step_by_s2,
        variant="recorded by s2",
    ),
    Case(
        "retract_entry",
        _pair("retract_entry", entry_id="st0", reason="Recorded twice"),
        _table(s2=True, sup1=True, coord=True),
        setup=_step_by_s2,
        variant="recorded by s2",
    ),
    Case(
        "dissolve_pair",
        _pair("dissolve_pair", reason="Placement ended early"),
        _table(sup1=True, coord=True),
        setup=_close_d1,
    ),
    Case("forget", lambda p, actor: {"person_id": "s5", "actor": actor}, COORDINATOR),
]


@pytest.fixture
def placement(app: PeerLog) -> Placement:
    """The standard placement, with a second course coordinated by coord2."""
    p = Placement(app).seed()
    p.run(
        "open_course",
        "coord2",
        course_id="vfu-2",
        title="Another placement",
        starts_on=date(2026, 3, 2).isoformat(),
        ends_on=date(2026, 4, 24).isoformat(),
        scale=["pass"],
        pass_level="pass",
        goals=[],
    )
    return p


def _attempt(p: Placement, case: Case, actor: str) -> Outcome:
    command = case.build(p, actor)
    try:
        if case.command == "forget":
            p.app.forget(command["person_id"], actor=actor, command_id=p.cid())
        else:
            p.app.execute(command)
    except CommandRejected as rejected:
        return rejected.field, rejected.rule
    return ALLOWED


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_each_command_is_allowed_exactly_for_the_actors_the_contract_names(
    store: Store, placement: Placement, case: Case, actor: str
) -> None:
    if case.setup is not None:
        case.setup(placement)
    before = placement.app.store.max_notification_id()

    outcome = _attempt(placement, case, actor)

    assert outcome == case.expected[actor], f"{case.name} by {actor} ({ACTORS[actor]})"
    after = placement.app.store.max_notification_id()
    assert (after == before) == (outcome != ALLOWED)


def test_every_command_of_the_contract_is_in_the_matrix() -> None:
    assert {c.command for c in CASES} == {*COMMAND_NAMES, "forget"}


# docs/access.md's matrix: which of the test's actors each column and cell stands for.
DOC = (Path(__file__).resolve().parents[2] / "docs" / "access.md").read_text()
COLUMNS = (("coord",), ("sup1",), ("s1", "s2"), ("coord2", "sup2", "s3", "ghost"))
MEMBERS = {
    "an author": ("s1",),
    "the giver": ("s2",),
    "the entry's original actor": ("s2",),
    "the assessed student": ("s1",),
}
VARIANTS = {"(source `peer`)": "peer, giver s2", "(source `supervisor`)": "supervisor, giver sup1"}


def _documented() -> dict[str, set[str]]:
    """The actors docs/access.md allows, by case name."""
    table = DOC.split("## The matrix")[1].split("\n\n")[2]
    allowed: dict[str, set[str]] = {}
    for line in table.splitlines()[2:]:
        first, *cells = (cell.strip() for cell in line.strip("|").split("|"))
        variant = next((v for k, v in VARIANTS.items() if k in first), "")
        people: set[str] = set()
        for cell, actors in zip(cells, COLUMNS, strict=True):
            if cell.startswith("yes"):
                people.update(actors)
            elif cell != "no":
                # "the giver" or "an author": of the members, only the one who is that.
                people.update(MEMBERS[cell] if len(actors) == 2 else actors)
        for command in re.findall(r"`(\w+)`", first.split("(")[0]):
            allowed[f"{command}{'/' + variant if variant else ''}"] = people
    return allowed


def test_docs_access_says_what_the_matrix_checks() -> None:
    checked = {
        c.name if c.command == "give_feedback" else c.command: {
            actor for actor, outcome in c.expected.items() if outcome == ALLOWED
        }
        for c in CASES
    }
    assert _documented() == checked


@pytest.mark.parametrize(
    ("name", "build", "outcome"),
    [
        (
            "peer feedback given by a student of another pair as giver",
            lambda p: p.feedback("fb9", actor="s3", giver="s3"),
            ("giver", "not_member"),
        ),
        (
            "supervisor feedback given by a supervisor of another pair as giver",
            lambda p: p.feedback(
                "fb9", actor="sup2", giver="sup2", receiver="s1", source="supervisor"
            ),
            ("giver", "supervisor_of_pair"),
        ),
        (
            "peer feedback given by a supervisor of the pair as giver",
            lambda p: p.feedback("fb9", actor="sup1", giver="sup1", source="peer"),
            ("giver", "not_member"),
        ),
        (
            "a reflection by a student of another pair as its author",
            lambda p: p.reflection("rf9", actor="s3", authors=["s3"]),
            ("authors", "not_member"),
        ),
        (
            "a pair reflection recorded by one of its authors",
            lambda p: p.reflection("rf9", actor="s2", authors=["s1", "s2"], mode="pair"),
            ALLOWED,
        ),
        (
            "an assessment of a student of another pair",
            lambda p: p.cmd(
                "assess_goal",
                "sup1",
                pair_id="p1",
                student_id="s3",
                goal_id="hygiene",
                level="pass",
                kind="final",
            ),
            ("student_id", "not_member"),
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_the_giver_and_authors_must_also_be_who_the_command_needs(
    store: Store,
    placement: Placement,
    name: str,
    build: Callable[[Placement], dict[str, Any]],
    outcome: Outcome,
) -> None:
    del name
    try:
        placement.app.execute(build(placement))
    except CommandRejected as rejected:
        assert (rejected.field, rejected.rule) == outcome
    else:
        assert outcome == ALLOWED
