"""A realistic placement, generated: the demo, and the benchmarks' data at any scale.

``placement(...)`` yields the contract's commands (dicts, as in an import file) in the
order they would be recorded: courses with goals in areas, coordinators, supervisors and
students, pairs working shifts over the weeks of the placement - check-in with roles,
steps, role switches, peer and supervisor feedback, Gibbs reflections, check-out - with
mid-point and final assessments. Some pairs are made to need attention (see
:data:`TRAITS`): one where a student does most of the performing, one that stops
reflecting, one whose feedback only goes one way, and one with a step corrected days
after it was recorded, a reflection recorded two days after the shift, and a feedback
retracted.

The same seed and start date always give the same commands.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

GOALS: Final = (
    ("safety", "hygiene", "Basic hygiene and infection control"),
    ("safety", "medication", "Safe medication handling"),
    ("safety", "risks", "Prevent falls, pressure ulcers and other risks"),
    ("assessment", "abcde", "Assess the patient's condition (ABCDE)"),
    ("assessment", "priorities", "Plan and prioritise nursing care"),
    ("person_centred", "dignity", "Person-centred care with respect for dignity"),
    ("person_centred", "talk", "Communicate with patients and relatives"),
    ("teamwork", "handover", "Give a structured handover (SBAR)"),
    ("teamwork", "team", "Cooperate in the care team"),
    ("teamwork", "lead", "Lead and delegate during a shift"),
    ("development", "evidence", "Ground care decisions in evidence"),
    ("development", "reflect", "Reflect on own practice and learning"),
)
TIME_ZONE: Final = "Europe/Stockholm"
"""The demo's wards are Swedish: their times are read in Swedish time."""
SCALE: Final = ("not_yet", "pass", "good", "excellent")
UNITS: Final = (
    "Ward 12, internal medicine",
    "Ward 31, orthopaedics",
    "Ward 7, geriatrics",
    "Ward 44, surgery",
    "Ward 18, cardiology",
    "Ward 22, infectious diseases",
)
FIRST_NAMES: Final = (
    "Alva", "Elsa", "Maja", "Wilma", "Ella", "Saga", "Nora", "Ebba", "Selma", "Freja",
    "Liam", "Noah", "Hugo", "William", "Oliver", "Lucas", "Adam", "Elias", "Axel", "Theo",
    "Amina", "Yusuf", "Sara", "Omar", "Leila", "Ali", "Hanna", "Jonas", "Klara", "Emil",
)  # fmt: skip
LAST_NAMES: Final = (
    "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson",
    "Persson", "Svensson", "Gustafsson", "Lindberg", "Holm", "Berg", "Sandberg", "Ali",
)  # fmt: skip
STEPS: Final = (
    ("preparation", "Prepared the morning round together and read the care plans"),
    ("pre_briefing", "Went through the plan for the shift with the supervisor"),
    ("performance", "Gave the morning medication with double checks"),
    ("performance", "Measured vital signs and assessed the patient with ABCDE"),
    ("performance", "Changed a wound dressing with aseptic technique"),
    ("performance", "Helped a patient to mobilise after surgery"),
    ("performance", "Gave a handover to the evening shift using SBAR"),
    ("performance", "Talked with a worried relative about the plan for the day"),
    ("checkpoint", "Checked in on how the shift was going and adjusted the plan"),
    ("time_out", "Stopped to ask the supervisor before an unclear order"),
    ("debriefing", "Talked through the shift with the supervisor"),
)
STRENGTHS: Final = (
    "Calm and clear with the patient, explained each step",
    "Thorough with hand hygiene at every moment",
    "Good overview of the ward and the priorities",
    "Asked good questions before acting",
    "Structured handover that was easy to follow",
)
IMPROVEMENTS: Final = (
    "Say out loud what you check before giving medication",
    "Involve the patient more in the decisions",
    "Ask for help earlier when the workload grows",
    "Keep the SBAR shorter and end with a clear request",
    "Document right after the task, not at the end of the shift",
)
STAGES: Final = {
    "description": "We cared for a patient who became short of breath during the round.",
    "feelings": "I felt stressed at first, then calmer once we had a plan.",
    "evaluation": "We noticed the change early; the handover to the doctor was unclear.",
    "analysis": "A structured assessment helped; I lacked words for what I saw.",
    "conclusion": "ABCDE and SBAR work best together.",
    "action_plan": "Practise SBAR before the next shift and ask to lead the next round.",
}
PLANS: Final = (
    "Share the rooms; switch who performs after lunch",
    "Focus on medication today, one performs and one observes",
    "Practise handovers; each gives one to the supervisor",
)
SUMMARIES: Final = (
    "A busy shift; we kept to the plan and switched as agreed",
    "Good teamwork; we want more practice with handovers",
    "Calm shift, time to reflect together at the end",
)
SHIFT_STARTS: Final = {"day": time(7, 0), "evening": time(14, 30), "night": time(21, 15)}
TRAITS: Final = {
    1: "one student does most of the performing",
    2: "a step corrected days later, a reflection recorded late, a feedback retracted",
    3: "stops reflecting after the first two weeks",
    4: "peer feedback only goes one way",
}
"""What makes the pairs that need attention stand out, by pair number modulo 6."""
LATE_REFLECTION_DELAY: Final = timedelta(days=2, hours=3)


def notable_pairs(pairs: int = 6) -> dict[str, str]:
    """The pairs of a placement that stand out, and how: ``{"p02": "...", ...}``."""
    return {f"p{n + 1:02d}": TRAITS[n % 6] for n in range(pairs) if n % 6 in TRAITS}


@dataclass
class Pair:
    pair_id: str
    course_id: str
    students: tuple[str, str]
    supervisor: str
    unit: str
    lead_share: float = 0.5
    """How much of the performing the first student does."""
    reflects: bool = True
    feedback_from: tuple[str, ...] = ()
    late_correction: bool = False
    late_reflection: str | None = None
    sessions: int = 0
    entries: int = 0
    notes: list[str] = field(default_factory=list)


def start_of_demo(today: date | None = None, weeks: int = 8) -> date:
    """The Monday that makes a placement of ``weeks`` weeks end on the last Friday before
    today, so that it is over, and its last week is recent."""
    today = today or datetime.now(UTC).date()
    days_since_friday = (today.weekday() - 4) % 7 or 7
    last_friday = today - timedelta(days=days_since_friday)
    return last_friday - timedelta(days=4, weeks=weeks - 1)


def placement(  # noqa: C901, PLR0912
    *,
    seed: int = 7,
    start: date | None = None,
    pairs: int = 6,
    weeks: int = 8,
    shifts_per_week: int = 3,
    steps_per_shift: int = 5,
    pairs_per_course: int = 6,
) -> Iterator[dict[str, Any]]:
    """The commands of a placement, in the order they would be recorded."""
    rng = random.Random(seed)  # noqa: S311 - made-up data, repeatable by seed
    start = start or start_of_demo(weeks=weeks)
    begin = datetime.combine(start, time(6, 30), UTC)
    ids = _Ids()
    courses = [f"vfu-{n + 1}" for n in range((pairs + pairs_per_course - 1) // pairs_per_course)]
    everyone: list[Pair] = []

    def command(name: str, actor: str, when: datetime, **fields: Any) -> dict[str, Any]:
        return {
            "command": name,
            "command_id": ids.next(),
            "actor": actor,
            "occurred_at": when.isoformat(),
            **fields,
        }

    # --- the courses, their people and pairs, set up the week before ------------------
    setup = begin - timedelta(days=7)
    for c, course_id in enumerate(courses):
        coordinator = f"coord-{c + 1}"
        yield command(
            "open_course",
            coordinator,
            setup,
            course_id=course_id,
            title=f"Clinical placement in nursing, term {3 + c % 3}",
            starts_on=start.isoformat(),
            ends_on=(start + timedelta(weeks=weeks, days=-3)).isoformat(),
            scale=list(SCALE),
            pass_level="pass",
            time_zone=TIME_ZONE,
            goals=[
                {
                    "goal_id": goal_id,
                    "title": title,
                    "area": area,
                    "description": f"{title}, as described in the course syllabus.",
                }
                for area, goal_id, title in GOALS
            ],
        )
        in_course = range(c * pairs_per_course, min(pairs, (c + 1) * pairs_per_course))
        supervisors = [f"sup-{c + 1}-{k + 1}" for k in range((len(in_course) + 1) // 2)]
        for supervisor in supervisors:
            yield command(
                "assign_supervisor",
                coordinator,
                setup + timedelta(minutes=5),
                course_id=course_id,
                supervisor_id=supervisor,
                display_name=_name(rng),
            )
        for n in in_course:
            pair_id = f"p{n + 1:02d}"
            students = (f"{pair_id}-a", f"{pair_id}-b")
            for student in students:
                yield command(
                    "enroll_student",
                    coordinator,
                    setup + timedelta(minutes=10),
                    course_id=course_id,
                    student_id=student,
                    display_name=_name(rng),
                )
            pair = Pair(
                pair_id,
                course_id,
                students,
                supervisors[(n - in_course.start) // 2],
                UNITS[n % len(UNITS)],
            )
            trait = n % 6
            if trait == 1:
                pair.lead_share = 0.85  # one student does most of the performing
            if trait == 3:
                pair.reflects = False  # stops reflecting after the first weeks
            if trait == 4:
                pair.feedback_from = (students[0],)  # feedback only goes one way
            if trait == 2:
                pair.late_correction = True
            everyone.append(pair)
            yield command(
                "form_pair",
                coordinator,
                setup + timedelta(minutes=20),
                course_id=course_id,
                pair_id=pair_id,
                students=list(students),
                supervisors=[pair.supervisor],
                unit=pair.unit,
            )

    # --- the weeks of the placement -----------------------------------------------------
    pending: list[tuple[datetime, dict[str, Any]]] = []
    for week in range(weeks):
        for day in range(5):
            today = begin + timedelta(weeks=week, days=day)
            todays: list[tuple[datetime, dict[str, Any]]] = []
            for pair in everyone:
                if rng.random() >= shifts_per_week / 5:
                    continue
                todays.extend(_shift(rng, pair, today, week=week, ids=ids, steps=steps_per_shift))
            if day == 4 and week in (weeks // 2 - 1, weeks - 1):
                moment = "midpoint" if week < weeks - 1 else "final"
                for pair in everyone:
                    todays.extend(_assessments(rng, pair, today, moment, ids))
            todays.extend(pending)
            pending = [item for item in todays if item[0] > today + timedelta(days=1)]
            for when, item in sorted(todays, key=lambda t: t[0]):
                if when <= today + timedelta(days=1):
                    yield item
    for _, item in sorted(pending, key=lambda t: t[0]):
        yield item


class _Ids:
    def __init__(self) -> None:
        self.n = 0

    def next(self) -> str:
        self.n += 1
        return f"demo-{self.n:07d}"


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def _shift(  # noqa: C901, PLR0912, PLR0915 - one shift, told in order
    rng: random.Random, pair: Pair, day: datetime, *, week: int, ids: _Ids, steps: int
) -> list[tuple[datetime, dict[str, Any]]]:
    shift = rng.choices(("day", "evening", "night"), weights=(6, 3, 1))[0]
    at = datetime.combine(day.date(), SHIFT_STARTS[shift], UTC)
    a, b = pair.students
    pair.sessions += 1
    session = f"{pair.pair_id}-s{pair.sessions:03d}"
    out: list[tuple[datetime, dict[str, Any]]] = []

    def add(
        when: datetime, name: str, actor: str, recorded: datetime | None = None, **fields: Any
    ) -> None:
        out.append(
            (
                recorded or when,
                {
                    "command": name,
                    "command_id": ids.next(),
                    "actor": actor,
                    "occurred_at": when.isoformat(),
                    "pair_id": pair.pair_id,
                    **fields,
                },
            )
        )

    first = a if rng.random() < pair.lead_share else b
    second = b if first == a else a
    add(
        at,
        "open_session",
        first,
        session_id=session,
        shift=shift,
        plan=rng.choice(PLANS),
        roles={first: "performer", second: "observer"},
    )
    goal_ids = [g[1] for g in GOALS]
    when = at
    switched = False
    for k in range(steps):
        when += timedelta(minutes=rng.randint(20, 50))
        kind, note = rng.choice(STEPS)
        if not switched and k >= steps // 2 and pair.lead_share == 0.5:
            add(
                when,
                "switch_roles",
                first,
                session_id=session,
                roles={first: "observer", second: "performer"},
                reason="Halfway through the shift, as planned",
            )
            first, second = second, first
            switched = True
            when += timedelta(minutes=1)
        if pair.lead_share != 0.5:
            performer = a if rng.random() < pair.lead_share else b
        else:
            performer = first if rng.random() < 0.8 else second
        observer = b if performer == a else a
        pair.entries += 1
        step_id = f"{session}-st{k + 1}"
        goals = rng.sample(goal_ids, rng.randint(1, 2))
        if kind in ("pre_briefing", "debriefing", "checkpoint"):
            performers, observers = [a, b], []
        else:
            performers, observers = [performer], [observer]
        add(
            when,
            "record_step",
            performer,
            session_id=session,
            step_id=step_id,
            kind=kind,
            performers=performers,
            observers=observers,
            goals=goals,
            note=note,
        )
        if pair.late_correction and week == 2 and k == 1 and not pair.notes:
            # Recorded with the roles swapped; the supervisor corrects it three days later.
            pair.notes.append(step_id)
            add(
                when + timedelta(days=3, hours=2),
                "correct_entry",
                pair.supervisor,
                entry_id=step_id,
                changes={"performers": observers or [b], "observers": performers[:1]},
                reason="The partner performed; the roles were swapped when it was recorded",
            )
    when += timedelta(minutes=30)
    givers = pair.feedback_from or (a, b)
    for giver in givers:
        receiver = b if giver == a else a
        feedback_id = f"{session}-fb-{giver[-1]}"
        add(
            when,
            "give_feedback",
            giver,
            session_id=session,
            feedback_id=feedback_id,
            giver=giver,
            receiver=receiver,
            source="peer",
            goals=rng.sample(goal_ids, 1),
            strengths=rng.choice(STRENGTHS),
            improvements=rng.choice(IMPROVEMENTS),
        )
        when += timedelta(minutes=5)
        if pair.late_correction and week == 4 and giver == a and len(pair.notes) == 1:
            pair.notes.append(feedback_id)
            add(
                when + timedelta(minutes=20),
                "retract_entry",
                giver,
                entry_id=feedback_id,
                reason="Recorded twice by mistake",
            )
    if rng.random() < 0.3:
        add(
            when,
            "give_feedback",
            pair.supervisor,
            session_id=session,
            feedback_id=f"{session}-fb-sup",
            giver=pair.supervisor,
            receiver=rng.choice((a, b)),
            source="supervisor",
            goals=rng.sample(goal_ids, 2),
            strengths=rng.choice(STRENGTHS),
            improvements=rng.choice(IMPROVEMENTS),
        )
    if pair.reflects or week < 2:
        when += timedelta(minutes=15)
        mode = rng.choices(("pair", "individual", "with_supervisor"), weights=(3, 2, 1))[0]
        authors = [a, b] if mode != "individual" else [rng.choice((a, b))]
        stage_names = list(STAGES)
        if rng.random() < 0.3:
            stage_names = stage_names[: rng.randint(2, 5)]
        late = pair.late_correction and week == 3 and pair.late_reflection is None
        if late:
            # Written up two days after the shift, when the record had moved on.
            pair.late_reflection = f"{session}-rf"
        add(
            when,
            "record_reflection",
            pair.supervisor if mode == "with_supervisor" else authors[0],
            when + LATE_REFLECTION_DELAY if late else None,
            session_id=session,
            reflection_id=f"{session}-rf",
            authors=authors,
            mode=mode,
            stages={s: STAGES[s] for s in stage_names},
            goals=rng.sample(goal_ids, 2),
        )
    add(
        when + timedelta(minutes=10),
        "close_session",
        rng.choice((a, b)),
        session_id=session,
        summary=rng.choice(SUMMARIES),
    )
    return out


def _assessments(
    rng: random.Random, pair: Pair, day: datetime, kind: str, ids: _Ids
) -> list[tuple[datetime, dict[str, Any]]]:
    at = datetime.combine(day.date(), time(15, 0), UTC)
    out = []
    goals = [g[1] for g in GOALS]
    if kind == "midpoint":
        goals = rng.sample(goals, 8)
    for n, student in enumerate(pair.students):
        for m, goal_id in enumerate(goals):
            level = rng.choices(SCALE, weights=(1, 4, 4, 1) if kind == "final" else (3, 5, 2, 0))[0]
            when = at + timedelta(minutes=n * 30 + m)
            out.append(
                (
                    when,
                    {
                        "command": "assess_goal",
                        "command_id": ids.next(),
                        "actor": pair.supervisor,
                        "occurred_at": when.isoformat(),
                        "pair_id": pair.pair_id,
                        "student_id": student,
                        "goal_id": goal_id,
                        "level": level,
                        "kind": kind,
                        "comment": f"{kind.capitalize()} assessment after the shared shifts",
                    },
                )
            )
    return out
