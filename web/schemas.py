"""The shapes the API answers with, for its OpenAPI description.

Handlers return plain JSON (the audit and balance reports are the contract's, field for
field, and nothing may filter them), so these models describe responses and are not used
to build them; ``extra="allow"`` says that fields may be added, as the contract allows.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from peerlog.commands import Command


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorDetail(_Out):
    field: str = Field(description="the field at fault ('' for the command as a whole)")
    rule: str = Field(description="the rule broken, e.g. not_allowed, invalid_id")
    message: str = Field(description="what was wrong and how to put it right")


class ErrorOut(_Out):
    command: str | None = Field(description="the command, when the error is about one")
    errors: list[ErrorDetail]


class EventOut(_Out):
    event: str = Field(description="stream@version, e.g. pair/p1@7")
    position: int
    type: str


class CommandOut(_Out):
    command_id: str
    command: str
    status: Literal["accepted", "repeated"]
    recorded_at: str
    events: list[EventOut]


class BatchIn(BaseModel):
    """Commands recorded in order, each with its own result; a command whose id was
    recorded before is a no-op that returns its first result. Each item is judged on
    its own: one that is not a command is rejected in the results, not the batch."""

    model_config = ConfigDict(extra="forbid")
    commands: Annotated[list[Any], Field(min_length=1, max_length=1000)]


class BatchItemOut(_Out):
    index: int = Field(description="the command's place in the batch, from 0")
    status: Literal["accepted", "repeated", "rejected"]
    http_status: int = Field(description="the status the command alone would have had")
    command: str | None
    command_id: str | None = None
    recorded_at: str | None = None
    events: list[EventOut] | None = None
    errors: list[ErrorDetail] | None = None


class BatchOut(_Out):
    accepted: int
    repeated: int
    rejected: int
    results: list[BatchItemOut]


class Health(_Out):
    status: Literal["ok"]


class Me(_Out):
    token_id: str
    actor: str
    role: Literal["student", "supervisor", "coordinator", "examiner"]
    courses: list[str]


class PageInfo(_Out):
    total: int
    limit: int
    offset: int
    next_offset: int | None


class Evidence(_Out):
    performed: int
    observed: int
    feedback_received: int
    feedback_given: int
    reflections: int
    assessments: int


class AuditGoal(_Out):
    goal_id: str
    status: Literal["met", "not_met", "evidenced", "no_evidence"]
    latest_level: str | None
    evidence: Evidence
    events: list[str]


class Integrity(_Out):
    verified: bool
    digest: str


class AuditOut(_Out):
    """The contract's audit JSON."""

    student_id: str
    course_id: str
    as_of: str
    pass_level: str
    goals: list[AuditGoal]
    integrity: Integrity


class MemberCounts(_Out):
    performer: int
    observer: int
    feedback_given: int
    feedback_received: int
    reflections: int


class BalanceOut(_Out):
    """The contract's balance JSON."""

    pair_id: str
    as_of: str
    members: dict[str, MemberCounts]
    performer_balance: float | None
    feedback_balance: float | None


class CourseOut(_Out):
    course_id: str
    title: str


class CoursesOut(_Out):
    courses: list[CourseOut]


class PairOut(_Out):
    pair_id: str
    course_id: str
    students: list[str]
    supervisors: list[str]
    active: bool


class PairsOut(PageInfo):
    items: list[PairOut]


class GoalProgress(_Out):
    goal_id: str
    title: str
    status: Literal["met", "not_met", "evidenced", "no_evidence"]
    latest_level: str | None
    evidence: Evidence
    retired: bool


class ProgressionOut(_Out):
    student_id: str
    course_id: str
    pass_level: str
    summary: dict[str, int]
    goals: list[GoalProgress]
    position: int


class GridOut(PageInfo):
    course_id: str
    goals: list[dict[str, Any]]
    students: list[dict[str, Any]]
    position: int


class Flag(_Out):
    flag: str
    message: str


class WeekBalance(_Out):
    week: str = Field(description="ISO week in UTC, e.g. 2026-W10")
    performer_balance: float | None


class PairOverviewOut(_Out):
    pair_id: str
    course_id: str
    supervisors: list[str]
    students: list[str]
    performer_balance: float | None
    feedback_balance: float | None
    flags: list[Flag]
    weekly_balance: list[WeekBalance] = Field(
        description="the performer balance of each week of the course so far"
    )


class WeekMemberCounts(_Out):
    performer: int
    observer: int
    feedback_given: int
    feedback_received: int
    peer_feedback_given: int
    reflections: int


class PairWeek(_Out):
    week: str = Field(description="ISO week in UTC, e.g. 2026-W10")
    starts_on: str = Field(description="its Monday")
    sessions: int
    steps: int
    performer_balance: float | None
    feedback: int
    peer_feedback: int
    feedback_balance: float | None
    reflections: int
    incomplete_reflections: int
    reflection_completeness: float | None
    members: dict[str, WeekMemberCounts]
    flags: list[Literal["performer_imbalance", "one_way_feedback"]] = Field(
        description="the overview's balance flags as they stood at the end of the week"
    )


class SessionTrend(_Out):
    session_id: str
    ordinal: int
    opened_at: str
    week: str
    steps: int
    performed: dict[str, int]
    performer_balance: float | None


class PairTrendsOut(_Out):
    pair_id: str
    course_id: str
    members: list[str]
    thresholds: dict[str, float]
    weeks: list[PairWeek]
    sessions: list[SessionTrend]
    position: int


class Assessed(_Out):
    occurred_at: str
    level: str
    kind: Literal["formative", "midpoint", "final"]


class GoalWeek(_Out):
    evidence: Evidence
    assessments: list[Assessed]


class GoalWeeks(_Out):
    goal_id: str
    title: str
    retired: bool
    weeks: dict[str, GoalWeek] = Field(description="by ISO week; weeks without any left out")


class WeekOut(_Out):
    week: str
    starts_on: str


class StudentTrendsOut(_Out):
    student_id: str
    course_id: str
    weeks: list[WeekOut]
    goals: list[GoalWeeks]
    position: int


class OverviewOut(PageInfo):
    now: str
    position: int
    head: int
    lag: int
    pairs: list[PairOverviewOut]


class TimelineItem(_Out):
    position: int
    event: str
    type: str
    recorded_at: str
    occurred_at: str
    actor: str
    summary: str
    texts: dict[str, str]
    withheld: list[str]


class TimelineOut(PageInfo):
    pair_id: str
    as_of: str
    items: list[TimelineItem]


class ProjectionsOut(_Out):
    position: int
    head: int
    lag: int
    projections: list[dict[str, Any]]


class Live(_Out):
    position: int
    head: int
    lag: int


def command_schemas() -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON schema of a command (one of the contract's, told apart by ``command``)
    and the schemas it refers to. Over HTTP ``actor`` may be left out: it is the token's."""
    adapter: TypeAdapter[Any] = TypeAdapter(Annotated[Command, Field(discriminator="command")])
    schema = adapter.json_schema(ref_template="#/components/schemas/{model}")
    definitions: dict[str, Any] = schema.pop("$defs", {})
    for definition in definitions.values():
        if "command" in definition.get("properties", {}):
            required = [n for n in definition.get("required", []) if n != "actor"]
            definition["required"] = ["command", *required]
    return schema, definitions
