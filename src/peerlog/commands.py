"""Commands from outside: the contract's vocabulary as pydantic models.

Every command that comes from a file, the shell or the network is parsed here into
one of these models, a discriminated union on ``command``. What can be checked on a
command alone (types, id format, the fixed vocabularies, free text without patient
identifiers) is checked here; rules that need the record (is the student enrolled, is
the session open) are checked by the domain.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Annotated, Any, ClassVar, Final, Literal, TypeAlias, TypeVar, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from peerlog.domain.erasure import ERASED_MARKER
from peerlog.domain.errors import CommandRejected, Violation
from peerlog.domain.events import EntryChanges, FeedbackChanges, ReflectionChanges, StepChanges
from peerlog.domain.identity_numbers import (
    IDENTITY_NUMBER_RULE,
    find_identity_numbers,
    identity_number_message,
)
from peerlog.domain.vocabulary import (
    ID_PATTERN,
    ID_RE,
    ID_RULE_TEXT,
    AssessmentKind,
    FeedbackSource,
    GibbsStage,
    ReflectionMode,
    Role,
    Shift,
    StepKind,
)
from peerlog.i18n import lazy
from peerlog.json_text import JsonRejected, as_bytes, check_text, check_value, named

MAX_LABEL_LENGTH: Final = 200
MAX_TEXT_LENGTH: Final = 20_000
EARLIEST_TIME: Final = datetime(1970, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE: Final = timedelta(minutes=5)
TIME_EXAMPLE: Final = "2026-03-02T07:30:00+01:00"

# C0 and C1 control characters but tab, line feed and carriage return; and lone
# surrogates, which are not characters at all (no store could keep them as UTF-8).
_NOT_IN_TEXT: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_TIME_SHAPE: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?"
)
_DATE_SHAPE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")


def control_character(value: str) -> str | None:
    """What is wrong with a text that holds a control character or a lone surrogate
    (which, and where: never the text itself), or None if it holds neither."""
    found = _NOT_IN_TEXT.search(value)
    if found is None:
        return None
    code = ord(found.group())
    where = f"U+{code:04X}, character {found.start() + 1}"
    if 0xD800 <= code <= 0xDFFF:
        return f"holds a lone surrogate ({where}), which is not a character"
    return (
        f"holds a control character ({where}); a text may hold tabs and line breaks, "
        "but no other control characters"
    )


def check_free_text(value: str) -> str:
    """Reject free text that holds control characters, would identify a patient, or
    would pass for an erased text."""
    problem = control_character(value)
    if problem is not None:
        raise PydanticCustomError("control_character", problem)
    if value == ERASED_MARKER:
        raise PydanticCustomError(
            "erased_marker",
            f"'{ERASED_MARKER}' is how the record shows an erased text, so it cannot be "
            "recorded as a text",
        )
    findings = find_identity_numbers(value)
    if findings:
        raise PydanticCustomError(IDENTITY_NUMBER_RULE, identity_number_message(findings[0]))
    return value


def _check_not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("blank", "must not be empty")
    return value


def _check_unique(values: list[str]) -> list[str]:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise PydanticCustomError("duplicate", f"'{value}' is named twice")
        seen.add(value)
    return values


def _check_time_zone(value: str) -> str:
    """An IANA time zone name the system knows, such as ``Europe/Stockholm``."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise PydanticCustomError(
            "unknown_time_zone",
            "is not a time zone this system knows; give an IANA name, like Europe/Stockholm",
        ) from None
    return value


TimeZone = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_check_time_zone)]
"""The time zone in which people read and type a course's times."""


def _time_given(value: object) -> object:
    """A time is an ISO 8601 string (or, from Python, a datetime); never a number."""
    if isinstance(value, datetime) or (isinstance(value, str) and _TIME_SHAPE.fullmatch(value)):
        return value
    raise PydanticCustomError(
        "not_a_time",
        f"must be an ISO 8601 time with a UTC offset, for example {TIME_EXAMPLE}; "
        "a number is not a time",
    )


def _to_utc(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except (OverflowError, ValueError):
        utc = None
    if utc is None or utc < EARLIEST_TIME:
        raise PydanticCustomError(
            "time_out_of_range",
            "is out of range: the record takes times from 1970-01-01T00:00:00Z up to "
            "5 minutes ahead of its clock",
        )
    return utc


def _date_given(value: object) -> object:
    """A date is an ISO 8601 string YYYY-MM-DD (or, from Python, a date); never a number."""
    if (isinstance(value, date) and not isinstance(value, datetime)) or (
        isinstance(value, str) and _DATE_SHAPE.fullmatch(value)
    ):
        return value
    raise PydanticCustomError(
        "not_a_date", "must be an ISO 8601 date, for example 2026-03-02; a number is not a date"
    )


def future_violation(occurred_at: datetime, now: datetime) -> Violation | None:
    """The contract's bound on ``occurred_at``: never more than 5 minutes ahead."""
    if occurred_at <= now + FUTURE_TOLERANCE:
        return None
    return Violation(
        "occurred_at",
        "not_in_future",
        lazy(
            "%(isoformat)s is more than 5 minutes ahead of the record's clock (%(isoformat2)s)",
            isoformat=occurred_at.isoformat(),
            isoformat2=now.isoformat(timespec="seconds"),
        ),
    )


def _check_json_texts(value: dict[str, Any]) -> dict[str, Any]:
    """Every key and text anywhere in a free-form mapping (a correction's ``changes``)
    is held to the rules of texts before the entry's own fields are known."""
    stack: list[tuple[str, object]] = [("", value)]
    while stack:
        path, item = stack.pop()
        texts: list[tuple[str, str]] = []
        if isinstance(item, dict):
            for key, child in item.items():
                where = f"{path}.{display_key(key)}" if path else display_key(key)
                texts.append((where, key))
                stack.append((where, child))
        elif isinstance(item, list):
            stack.extend((f"{path}.{i}", child) for i, child in enumerate(item))
        elif isinstance(item, str):
            texts.append((path, item))
        for where, text in texts:
            problem = control_character(text)
            if problem is not None:
                raise PydanticCustomError("control_character", f"{where}: {problem}")
    return value


# The id pattern is checked by pydantic-core itself (fast); its error is reworded below.
Id: TypeAlias = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
IdList: TypeAlias = Annotated[list[Id], AfterValidator(_check_unique)]
Label: TypeAlias = Annotated[
    str,
    Field(max_length=MAX_LABEL_LENGTH),
    AfterValidator(_check_not_blank),
    AfterValidator(check_free_text),
]
Text: TypeAlias = Annotated[str, Field(max_length=MAX_TEXT_LENGTH), AfterValidator(check_free_text)]
Reason: TypeAlias = Annotated[Text, AfterValidator(_check_not_blank)]
Timestamp: TypeAlias = Annotated[
    AwareDatetime, BeforeValidator(_time_given), AfterValidator(_to_utc)
]
Day: TypeAlias = Annotated[date, BeforeValidator(_date_given)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Streams(Enum):
    """The aggregates a command's handler reads and writes."""

    NEW_COURSE = "the course it opens (course_id), which must not exist yet"
    COURSE = "its course (course_id)"
    NEW_PAIR = "its course (course_id) and the pair it forms (pair_id), which must not exist yet"
    PAIR = "its pair (pair_id) and the pair's course"
    EVERY_COURSE = "every course (to find where a person is known)"


class CommandBase(_Model):
    """What every command carries, and what each command declares about itself: the
    handler, the HTTP access lists, the repr and the erasure check read these
    declarations rather than keeping lists of their own."""

    command_id: Id
    actor: Id
    occurred_at: Timestamp | None = None

    streams: ClassVar[Streams]
    """The aggregates its handler reads and writes."""
    senders: ClassVar[frozenset[str]] = frozenset()
    """The token roles that may send it over HTTP (the record's own rules still apply)."""
    personal: ClassVar[frozenset[str]] = frozenset()
    """Its fields that may hold personal text: their values stay out of its repr."""
    newcomers: ClassVar[tuple[str, ...]] = ()
    """Its fields naming a person it brings into a course (never someone forgotten)."""

    def __repr_args__(self) -> Any:
        personal = type(self).personal
        for name, value in super().__repr_args__():
            yield name, "<personal text>" if name in personal and value else value


class GoalInput(_Model):
    goal_id: Id
    title: Label
    area: Label | None = None
    description: Text | None = None


_PAIR_WORK: Final = frozenset({"student", "supervisor"})
"""Who may send the pair's daily work over HTTP: its members and its supervisors."""


# --- Course commands -----------------------------------------------------------------


class OpenCourse(CommandBase):
    command: Literal["open_course"] = "open_course"
    streams = Streams.NEW_COURSE
    senders = frozenset({"coordinator"})
    newcomers = ("actor",)
    course_id: Id
    title: Label
    starts_on: Day
    ends_on: Day
    scale: Annotated[list[Label], Field(min_length=1), AfterValidator(_check_unique)]
    pass_level: Label
    goals: list[GoalInput]
    time_zone: TimeZone | None = None


class AddGoal(CommandBase):
    command: Literal["add_goal"] = "add_goal"
    streams = Streams.COURSE
    senders = frozenset({"coordinator"})
    course_id: Id
    goal_id: Id
    title: Label
    area: Label | None = None
    description: Text | None = None


class ReviseGoal(CommandBase):
    command: Literal["revise_goal"] = "revise_goal"
    streams = Streams.COURSE
    senders = frozenset({"coordinator"})
    course_id: Id
    goal_id: Id
    title: Label | None = None
    area: Label | None = None
    description: Text | None = None


class RetireGoal(CommandBase):
    command: Literal["retire_goal"] = "retire_goal"
    streams = Streams.COURSE
    senders = frozenset({"coordinator"})
    personal = frozenset({"reason"})
    course_id: Id
    goal_id: Id
    reason: Reason


class EnrollStudent(CommandBase):
    command: Literal["enroll_student"] = "enroll_student"
    streams = Streams.COURSE
    senders = frozenset({"coordinator"})
    personal = frozenset({"display_name"})
    newcomers = ("student_id",)
    course_id: Id
    student_id: Id
    display_name: Label | None = None


class AssignSupervisor(CommandBase):
    command: Literal["assign_supervisor"] = "assign_supervisor"
    streams = Streams.COURSE
    senders = frozenset({"coordinator"})
    personal = frozenset({"display_name"})
    newcomers = ("supervisor_id",)
    course_id: Id
    supervisor_id: Id
    display_name: Label | None = None


class AssignCoordinator(CommandBase):
    command: Literal["assign_coordinator"] = "assign_coordinator"
    streams = Streams.COURSE
    senders = frozenset({"coordinator"})
    personal = frozenset({"display_name"})
    newcomers = ("coordinator_id",)
    course_id: Id
    coordinator_id: Id
    display_name: Label | None = None


class FormPair(CommandBase):
    command: Literal["form_pair"] = "form_pair"
    streams = Streams.NEW_PAIR
    senders = frozenset({"coordinator"})
    course_id: Id
    pair_id: Id
    students: Annotated[IdList, Field(min_length=2)]
    supervisors: Annotated[IdList, Field(min_length=1)]
    unit: Label | None = None


# --- Pair commands -------------------------------------------------------------------


class OpenSession(CommandBase):
    command: Literal["open_session"] = "open_session"
    streams = Streams.PAIR
    senders = _PAIR_WORK
    personal = frozenset({"plan"})
    pair_id: Id
    session_id: Id
    roles: Annotated[dict[Id, Role], Field(min_length=1)]
    shift: Shift | None = None
    plan: Text | None = None


class SwitchRoles(CommandBase):
    command: Literal["switch_roles"] = "switch_roles"
    streams = Streams.PAIR
    senders = _PAIR_WORK
    personal = frozenset({"reason"})
    pair_id: Id
    session_id: Id
    roles: Annotated[dict[Id, Role], Field(min_length=1)]
    reason: Text | None = None


class RecordStep(CommandBase):
    command: Literal["record_step"] = "record_step"
    streams = Streams.PAIR
    senders = _PAIR_WORK
    personal = frozenset({"note"})
    pair_id: Id
    session_id: Id
    step_id: Id
    kind: StepKind
    performers: IdList
    observers: IdList
    goals: IdList
    note: Text | None = None


class GiveFeedback(CommandBase):
    command: Literal["give_feedback"] = "give_feedback"
    streams = Streams.PAIR
    senders = _PAIR_WORK
    personal = frozenset({"strengths", "improvements"})
    pair_id: Id
    feedback_id: Id
    giver: Id
    receiver: Id
    source: FeedbackSource
    goals: IdList
    strengths: Text
    improvements: Text
    session_id: Id | None = None


class RecordReflection(CommandBase):
    command: Literal["record_reflection"] = "record_reflection"
    streams = Streams.PAIR
    senders = _PAIR_WORK
    personal = frozenset({"stages"})
    pair_id: Id
    reflection_id: Id
    authors: Annotated[IdList, Field(min_length=1)]
    mode: ReflectionMode
    stages: dict[GibbsStage, Text]
    goals: IdList
    session_id: Id | None = None


class AssessGoal(CommandBase):
    command: Literal["assess_goal"] = "assess_goal"
    streams = Streams.PAIR
    senders = frozenset({"supervisor"})
    personal = frozenset({"comment"})
    pair_id: Id
    student_id: Id
    goal_id: Id
    level: Label
    kind: AssessmentKind
    comment: Text | None = None
    assessment_id: Id | None = None
    """Names the assessment for an acknowledgement (in the pair's entry-id namespace)."""


_ASSESSMENT_REF: Final = re.compile(r"^pair/([A-Za-z0-9._:-]{1,64})@([1-9][0-9]{0,17})$")


def _check_assessment(value: str) -> str:
    if ID_RE.match(value) is None and _ASSESSMENT_REF.match(value) is None:
        raise PydanticCustomError(
            "invalid_assessment",
            "names an assessment by its assessment_id or by its event reference as "
            "audits print it (pair/<pair_id>@<n>)",
        )
    return value


def assessment_reference(value: str) -> tuple[str, int] | None:
    """The pair stream and version an event reference names (``None`` for an id)."""
    found = _ASSESSMENT_REF.match(value)
    if found is None:
        return None
    return f"pair/{found[1]}", int(found[2])


class AcknowledgeAssessment(CommandBase):
    command: Literal["acknowledge_assessment"] = "acknowledge_assessment"
    streams = Streams.PAIR
    senders = frozenset({"student"})
    personal = frozenset({"comment"})
    pair_id: Id
    assessment: Annotated[str, Field(max_length=96), AfterValidator(_check_assessment)]
    comment: Text | None = None


class CloseSession(CommandBase):
    command: Literal["close_session"] = "close_session"
    streams = Streams.PAIR
    senders = _PAIR_WORK
    personal = frozenset({"summary"})
    pair_id: Id
    session_id: Id
    summary: Text | None = None


class CorrectEntry(CommandBase):
    command: Literal["correct_entry"] = "correct_entry"
    streams = Streams.PAIR
    senders = frozenset({"student", "supervisor", "coordinator"})
    personal = frozenset({"changes", "reason"})
    pair_id: Id
    entry_id: Id
    changes: Annotated[dict[str, Any], Field(min_length=1), AfterValidator(_check_json_texts)]
    reason: Reason


class RetractEntry(CommandBase):
    command: Literal["retract_entry"] = "retract_entry"
    streams = Streams.PAIR
    senders = frozenset({"student", "supervisor", "coordinator"})
    personal = frozenset({"reason"})
    pair_id: Id
    entry_id: Id
    reason: Reason


class DissolvePair(CommandBase):
    command: Literal["dissolve_pair"] = "dissolve_pair"
    streams = Streams.PAIR
    senders = frozenset({"supervisor", "coordinator"})
    personal = frozenset({"reason"})
    pair_id: Id
    reason: Reason


class ForgetPerson(CommandBase):
    """Erasure, asked of :meth:`peerlog.PeerLog.forget` (not a command of the import
    format: it destroys keys, which no replayed file should do)."""

    command: Literal["forget_person"] = "forget_person"
    streams = Streams.EVERY_COURSE
    person_id: Id


CourseCommand = (
    OpenCourse
    | AddGoal
    | ReviseGoal
    | RetireGoal
    | EnrollStudent
    | AssignSupervisor
    | AssignCoordinator
    | FormPair
)
PairCommand = (
    OpenSession
    | SwitchRoles
    | RecordStep
    | GiveFeedback
    | RecordReflection
    | AssessGoal
    | AcknowledgeAssessment
    | CloseSession
    | CorrectEntry
    | RetractEntry
    | DissolvePair
)
Command = CourseCommand | PairCommand

COMMAND_TYPES: Final[tuple[type[CommandBase], ...]] = get_args(Command)
"""Every command of the import format, in the contract's order."""


def command_name(model: type[CommandBase]) -> str:
    """The contract's name of a command model (its ``command`` tag)."""
    return str(model.model_fields["command"].default)


COMMAND_NAMES: Final[tuple[str, ...]] = tuple(command_name(t) for t in COMMAND_TYPES)
AnyCommand = Command | ForgetPerson
"""Every command model: the import format's, and erasure."""
_EVERY_COMMAND: Final[tuple[type[CommandBase], ...]] = (*COMMAND_TYPES, ForgetPerson)
PERSONAL_FIELDS: Final = frozenset(name for t in _EVERY_COMMAND for name in t.personal)
"""Every field that may hold personal text, in any command."""

_ADAPTER: Final[TypeAdapter[Command]] = TypeAdapter(
    Annotated[Command, Field(discriminator="command")]
)


def display_key(key: object) -> str:
    """A key or name a client sent, as an error may show it: as it is when it reads
    like an id, else escaped and shortened, and never a patient identifier."""
    text = str(key)
    if ID_RE.fullmatch(text) and not find_identity_numbers(text):
        return text
    if find_identity_numbers(text):
        return "[a name holding a patient identifier]"
    shown = json.dumps(text[:40])[1:-1]
    return shown + ("..." if len(text) > 40 else "")


def _command_name(data: object) -> str:
    if isinstance(data, Mapping):
        name = data.get("command")
        if isinstance(name, str) and name in COMMAND_NAMES:
            return name
    return ""


_MESSAGES: Final = {
    "extra_forbidden": lazy("is not a field of this command"),
    "missing": lazy("is required"),
    "timezone_aware": lazy("needs a UTC offset, for example %(example)s", example=TIME_EXAMPLE),
    "string_unicode": lazy("is not valid text (it holds a lone surrogate)"),
}


def violations_from(error: ValidationError, *, strip_tag: bool = True) -> list[Violation]:
    """Turn pydantic's errors into violations that name the field and the rule.

    Field names and keys the client sent are shown only as :func:`display_key` shows
    them: an error never carries a control character or a patient identifier back."""
    violations = []
    for detail in error.errors(include_url=False):
        loc = list(detail["loc"])
        if strip_tag and loc and loc[0] in COMMAND_NAMES:
            loc = loc[1:]
        field = ".".join(display_key(part) for part in loc)
        rule = detail["type"]
        message = _MESSAGES.get(rule, detail["msg"])
        if rule == "union_tag_invalid":
            field = "command"
            tag = display_key(detail.get("ctx", {}).get("tag", ""))
            message = lazy(
                "unknown command '%(tag)s'; the commands are: %(commands)s",
                tag=tag,
                commands=", ".join(COMMAND_NAMES),
            )
            rule = "unknown_command"
        elif rule == "union_tag_not_found":
            field = "command"
            message = lazy("every command needs a 'command' field naming what to do")
            rule = "missing_command"
        elif rule == "json_invalid":
            field = ""
            message = lazy(
                "not valid JSON: %(exc)s", exc=detail.get("ctx", {}).get("error", message)
            )
        elif (
            rule == "string_pattern_mismatch" and detail.get("ctx", {}).get("pattern") == ID_PATTERN
        ):
            rule = "invalid_id"
            message = lazy("an id must be %(rule)s", rule=lazy(ID_RULE_TEXT))
        violations.append(Violation(field, rule, message))
    return violations


NOT_AN_OBJECT: Final = Violation("", "not_an_object", lazy("a command is a JSON object"))


def parse_command(data: str | bytes | Mapping[str, Any] | object) -> Command:
    """Validate one command from JSON text or a mapping; raise CommandRejected if it is bad.

    JSON text may start with a byte-order mark; text and mappings alike are held to the
    limits of :mod:`peerlog.json_text` (size, nesting) before their fields are read."""
    if isinstance(data, str | bytes):
        try:
            text = as_bytes(data)
            check_text(text)
        except JsonRejected as rejected:
            start = data[:65536]
            hint = named(start.encode("utf-8", "replace") if isinstance(start, str) else start)
            raise CommandRejected(_command_name(hint), [rejected.violation]) from None
        try:
            return _ADAPTER.validate_json(text)
        except ValidationError as exc:
            try:
                raw: object = msgspec.json.decode(text)
            except msgspec.DecodeError:
                raw = None
            if raw is not None and not isinstance(raw, dict):
                violations = [NOT_AN_OBJECT]
            else:
                violations = violations_from(exc)
            raise CommandRejected(_command_name(raw), violations) from None
    if not isinstance(data, Mapping):
        raise CommandRejected("", [NOT_AN_OBJECT])
    try:
        check_value(data)
    except JsonRejected as rejected:
        raise CommandRejected(_command_name(data), [rejected.violation]) from None
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise CommandRejected(_command_name(data), violations_from(exc)) from None


_M = TypeVar("_M", bound=CommandBase)


def build_command(model: type[_M], arguments: Mapping[str, Any]) -> _M:
    """Validate a command built from keyword arguments, as if it had come from outside:
    raise :class:`CommandRejected` if it is bad. Arguments at ``None`` are left out, so
    that they count as not given."""
    given = {k: v for k, v in arguments.items() if v is not None}
    try:
        return model.model_validate(given)
    except ValidationError as exc:
        raise CommandRejected(command_name(model), violations_from(exc, strip_tag=False)) from None


def _plain(value: object) -> object:
    if isinstance(value, BaseModel):
        return {name: getattr(value, name) for name in value.model_fields_set}
    msg = f"cannot digest a {type(value).__name__}"
    raise TypeError(msg)


_DIGEST_ENCODER: Final = msgspec.json.Encoder(enc_hook=_plain, order="sorted")


def command_digest(command: CommandBase, key: bytes | None = None) -> bytes:
    """A digest of the command's payload as given, to recognise a re-sent command.

    Only the fields that were given count (a default filled in later does not), and
    times are compared in UTC, so the same command sent twice has the same digest.
    With a ``key`` it is an HMAC: the record keeps digests of commands whose personal
    texts may later be erased, and a plain hash would let anyone test guesses of them."""
    payload = {name: getattr(command, name) for name in command.model_fields_set}
    payload["command"] = getattr(command, "command", "")
    encoded = _DIGEST_ENCODER.encode(payload)
    if key is not None:
        mac = _keyed(key).copy()
        mac.update(encoded)
        return mac.digest()
    return hashlib.sha256(encoded).digest()


# --- The changes a correction may make, checked once the entry's kind is known --------


class StepChangesInput(_Model):
    kind: StepKind | None = None
    performers: IdList | None = None
    observers: IdList | None = None
    goals: IdList | None = None
    note: Text | None = None


class FeedbackChangesInput(_Model):
    giver: Id | None = None
    receiver: Id | None = None
    source: FeedbackSource | None = None
    goals: IdList | None = None
    strengths: Text | None = None
    improvements: Text | None = None


class ReflectionChangesInput(_Model):
    authors: Annotated[IdList, Field(min_length=1)] | None = None
    mode: ReflectionMode | None = None
    stages: dict[GibbsStage, Text] | None = None
    goals: IdList | None = None


_CHANGES_INPUT: Final[dict[str, type[BaseModel]]] = {
    "step": StepChangesInput,
    "feedback": FeedbackChangesInput,
    "reflection": ReflectionChangesInput,
}
_CHANGES: Final[dict[str, type[EntryChanges]]] = {
    "step": StepChanges,
    "feedback": FeedbackChanges,
    "reflection": ReflectionChanges,
}


def parse_changes(kind: str, command: str, raw: Mapping[str, Any]) -> EntryChanges:
    """Check a correction's ``changes`` against the fields of the entry's kind."""
    try:
        checked = _CHANGES_INPUT[kind].model_validate(dict(raw))
    except ValidationError as exc:
        violations = [
            Violation(f"changes.{v.field}", v.rule, v.message)
            if v.rule != "extra_forbidden"
            else Violation(
                f"changes.{v.field}",
                "not_changeable",
                lazy("is not a field a correction can change in a %(kind)s", kind=kind),
            )
            for v in violations_from(exc, strip_tag=False)
        ]
        raise CommandRejected(command, violations) from None
    values = checked.model_dump(exclude_none=True)
    for key in ("performers", "observers", "goals", "authors"):
        if key in values:
            values[key] = tuple(values[key])
    return msgspec.convert(values, _CHANGES[kind])


@functools.lru_cache(maxsize=4)
def _keyed(key: bytes) -> hmac.HMAC:
    """The keyed digest with its key set up once (copied for each command)."""
    return hmac.new(key, digestmod=hashlib.sha256)
