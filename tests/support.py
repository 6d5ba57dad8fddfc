"""A small placement to test against: one course, two pairs, an open session."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from peerlog import PeerLog

if TYPE_CHECKING:
    from tests.conftest import Store

T0 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
"""A Monday morning shift in the placement (the tests' clock starts later)."""

COURSE = "vfu-1"
GOALS = [
    {"goal_id": "hygiene", "title": "Basic hygiene and infection control", "area": "safety"},
    {"goal_id": "medication", "title": "Safe medication handling", "area": "safety"},
    {"goal_id": "communication", "title": "Communicate with patients", "area": "care"},
]


class FixedClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class Placement:
    """Builds commands with fresh ids against the standard placement."""

    app: PeerLog
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def cid(self) -> str:
        return f"cmd-{next(self.ids)}"

    def cmd(self, command: str, actor: str, **fields: Any) -> dict[str, Any]:
        return {"command": command, "command_id": self.cid(), "actor": actor, **fields}

    def run(self, command: str, actor: str, **fields: Any) -> Any:
        return self.app.execute(self.cmd(command, actor, **fields))

    def seed(self, names: dict[str, str] | None = None, time_zone: str | None = None) -> Placement:
        """Course vfu-1 (coordinator coord), students s1-s6, supervisors sup1, sup2;
        pair p1 (s1, s2; sup1) with session d1 open; pair p2 (s3, s4; sup2). ``names``
        gives people display names; ``time_zone`` the course's time zone."""
        names = names or {}
        zone = {"time_zone": time_zone} if time_zone else {}
        self.run(
            "open_course",
            "coord",
            course_id=COURSE,
            title="Clinical placement, term 3",
            starts_on=date(2026, 3, 2).isoformat(),
            ends_on=date(2026, 4, 24).isoformat(),
            scale=["not_yet", "pass", "good", "excellent"],
            pass_level="pass",
            goals=GOALS,
            occurred_at=T0.isoformat(),
            **zone,
        )
        # The roster is set up as the placement starts, not when the test runs, so that
        # as-of questions about the placement's weeks see it.
        at = T0.isoformat()
        for student in ("s1", "s2", "s3", "s4", "s5", "s6"):
            self.run(
                "enroll_student",
                "coord",
                course_id=COURSE,
                student_id=student,
                occurred_at=at,
                **({"display_name": names[student]} if student in names else {}),
            )
        for supervisor in ("sup1", "sup2"):
            self.run(
                "assign_supervisor",
                "coord",
                course_id=COURSE,
                supervisor_id=supervisor,
                occurred_at=at,
                **({"display_name": names[supervisor]} if supervisor in names else {}),
            )
        self.run(
            "form_pair",
            "coord",
            course_id=COURSE,
            pair_id="p1",
            students=["s1", "s2"],
            supervisors=["sup1"],
            unit="Ward 12",
            occurred_at=at,
        )
        self.run(
            "form_pair",
            "coord",
            course_id=COURSE,
            pair_id="p2",
            students=["s3", "s4"],
            supervisors=["sup2"],
            occurred_at=at,
        )
        self.run(
            "open_session",
            "s1",
            pair_id="p1",
            session_id="d1",
            shift="day",
            roles={"s1": "performer", "s2": "observer"},
            occurred_at=(T0 + timedelta(minutes=5)).isoformat(),
        )
        return self

    def step(self, step_id: str = "st1", actor: str = "s1", **fields: Any) -> dict[str, Any]:
        values: dict[str, Any] = {
            "pair_id": "p1",
            "session_id": "d1",
            "step_id": step_id,
            "kind": "performance",
            "performers": ["s1"],
            "observers": ["s2"],
            "goals": ["hygiene"],
            "note": "Hand hygiene before and after the dressing change",
        }
        values.update(fields)
        return self.cmd("record_step", actor, **values)

    def feedback(
        self, feedback_id: str = "fb1", actor: str = "s2", **fields: Any
    ) -> dict[str, Any]:
        values: dict[str, Any] = {
            "pair_id": "p1",
            "session_id": "d1",
            "feedback_id": feedback_id,
            "giver": "s2",
            "receiver": "s1",
            "source": "peer",
            "goals": ["hygiene"],
            "strengths": "Calm and thorough with the patient",
            "improvements": "Explain each step before doing it",
        }
        values.update(fields)
        return self.cmd("give_feedback", actor, **values)

    def assessment(
        self, student_id: str = "s1", goal_id: str = "hygiene", actor: str = "sup1", **fields: Any
    ) -> dict[str, Any]:
        """A supervisor's formative assessment of a student in pair p1, passed."""
        values: dict[str, Any] = {
            "pair_id": "p1",
            "student_id": student_id,
            "goal_id": goal_id,
            "level": "pass",
            "kind": "formative",
        }
        values.update(fields)
        return self.cmd("assess_goal", actor, **values)

    def reflection(
        self, reflection_id: str = "rf1", actor: str = "s1", **fields: Any
    ) -> dict[str, Any]:
        values: dict[str, Any] = {
            "pair_id": "p1",
            "session_id": "d1",
            "reflection_id": reflection_id,
            "authors": ["s1"],
            "mode": "individual",
            "stages": {
                "description": "I changed a dressing with my partner watching.",
                "feelings": "Nervous at first.",
            },
            "goals": ["hygiene"],
        }
        values.update(fields)
        return self.cmd("record_reflection", actor, **values)


def swap_step_roles(store: Store, stream: str, step_id: str) -> None:
    """Change a stored step behind peerlog's back: its performer s1 and observer s2
    swapped in the stored bytes (tampering that verification and remembered answers
    must notice)."""
    rows = store.execute_raw(
        "SELECT position, state FROM events WHERE originator_id = %s", (stream,)
    )
    for position, state in rows:
        stored = bytes(state) if isinstance(state, bytes | memoryview) else b""
        if f'"step_id":"{step_id}"'.encode() in stored:
            forged = stored.replace(
                b'"performers":["s1"],"observers":["s2"]', b'"performers":["s2"],"observers":["s1"]'
            )
            assert forged != stored
            store.execute_raw(
                "UPDATE events SET state = %s WHERE position = %s", (forged, position)
            )
            return
    msg = f"no step {step_id} in {stream}"
    raise AssertionError(msg)
