"""The contract's fixed words: roles, step kinds, feedback sources and so on.

They are ``Literal`` types so that pydantic (commands), msgspec (stored events) and
mypy all check the same vocabulary.
"""

from __future__ import annotations

import re
from typing import Final, Literal, get_args

from peerlog.i18n import N_

Role = Literal[
    "performer",
    "observer",
    "team_leader",
    "medication_responsible",
    "rounds_responsible",
    "follower",
]
Shift = Literal["day", "evening", "night"]
StepKind = Literal[
    "preparation",
    "pre_briefing",
    "performance",
    "checkpoint",
    "time_out",
    "debriefing",
    "other",
]
FeedbackSource = Literal["peer", "supervisor"]
ReflectionMode = Literal["individual", "pair", "with_supervisor"]
AssessmentKind = Literal["formative", "midpoint", "final"]
GibbsStage = Literal[
    "description",
    "feelings",
    "evaluation",
    "analysis",
    "conclusion",
    "action_plan",
]
EntryKind = Literal["step", "feedback", "reflection"]

ROLES: Final = frozenset(get_args(Role))
GIBBS_STAGES: Final[tuple[str, ...]] = get_args(GibbsStage)

ID_PATTERN: Final = r"^[A-Za-z0-9._:-]{1,64}$"
ID_RE: Final = re.compile(ID_PATTERN)
ID_RULE_TEXT: Final = N_("1 to 64 letters, digits, '-', '_', '.' or ':'")

COURSE_STREAM_PREFIX: Final = "course/"
PAIR_STREAM_PREFIX: Final = "pair/"


def course_stream(course_id: str) -> str:
    """The event stream (originator id) of a course aggregate."""
    return COURSE_STREAM_PREFIX + course_id


def pair_stream(pair_id: str) -> str:
    """The event stream (originator id) of a pair aggregate."""
    return PAIR_STREAM_PREFIX + pair_id
