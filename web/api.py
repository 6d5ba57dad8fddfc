"""The HTTP API: commands in, the contract's reports and the read models out.

Every endpoint but ``/health`` takes an API token (``Authorization: Bearer ...``); what
it may do follows from the token's role and the record (:mod:`peerlog.web.access`).
Handlers are plain functions: FastAPI runs them in its thread pool, and the record is
safe to use from many threads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from peerlog import CommandRejected, CommandResult
from peerlog.commands import COMMAND_NAMES, NOT_AN_OBJECT, display_key, violations_from
from peerlog.domain.errors import Violation
from peerlog.domain.vocabulary import ID_PATTERN
from peerlog.i18n import lazy, shown
from peerlog.json_text import JsonRejected, decode, decode_batch
from peerlog.projections import audit, balance_report
from peerlog.projections.reads import Source
from peerlog.web import schemas, views
from peerlog.web.access import COMMANDS_BY_ROLE, Scope
from peerlog.web.auth import api_scope, api_token
from peerlog.web.errors import ApiError, forbidden, status_of
from peerlog.web.services import Services, services
from peerlog.web.times import as_of, moment
from peerlog.web.tokens import Token

router = APIRouter()

Found = Annotated[Services, Depends(services)]
ScopeOf = Annotated[Scope, Depends(api_scope)]
TokenOf = Annotated[Token, Depends(api_token)]
Id = Annotated[str, Path(pattern=ID_PATTERN, max_length=64)]
CourseQuery = Annotated[str, Query(pattern=ID_PATTERN, max_length=64, description="The course.")]
AsOfQuery = Annotated[
    str | None,
    Query(
        max_length=40,
        description="Only what had been recorded by this time (recorded_at): ISO 8601 "
        "with a UTC offset, or a date (the end of that day, UTC).",
    ),
]
AsOfOccurredQuery = Annotated[
    str | None,
    Query(
        max_length=40,
        description="Only what had happened by this time (occurred_at), as recorded so far.",
    ),
]
Limit = Annotated[int, Query(ge=1, le=500, description="At most this many items.")]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000, description="Skip this many items.")]

ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    code: {"model": schemas.ErrorOut, "description": text}
    for code, text in [
        (401, "No token, or not a valid one"),
        (403, "The token may not do this"),
        (422, "A rule or a field was broken"),
    ]
}
UNREADABLE: Final[dict[int | str, dict[str, Any]]] = {
    400: {"model": schemas.ErrorOut, "description": "The body could not be read"},
    413: {"model": schemas.ErrorOut, "description": "The body is too large"},
}
NOT_FOUND: Final[dict[int | str, dict[str, Any]]] = {
    404: {"model": schemas.ErrorOut, "description": "Not in the record (at that time)"}
}
COMMAND_BODY: Final = {"$ref": "#/components/schemas/Command"}
BATCH_BODY: Final = {"$ref": "#/components/schemas/BatchIn"}
MAX_BODY_BYTES: Final = 8 * 1024 * 1024
"""A batch of 1,000 commands with long texts fits; the server refuses any larger body
(413), however it is sent."""


async def raw_body(request: Request) -> bytes:
    """The request body as sent (the server has already held it to its size limit);
    it is decoded in the handler, off the event loop."""
    return await request.body()


RawBody = Annotated[bytes, Depends(raw_body)]


def _unreadable(violation: Violation, command: str | None = None) -> ApiError:
    status = 413 if violation.rule == "too_large" else 422
    return ApiError(status, violation.field, violation.rule, violation.message, command=command)


def ok(data: Any, status: int = 200, source: Source | None = None) -> JSONResponse:
    """The answer; one read from a copy of the record says which, and how far it had
    come, in its headers (the contract's JSON stays as it is)."""
    return JSONResponse(data, status_code=status, headers=source.headers() if source else None)


@router.get("/health", tags=["service"], responses={200: {"model": schemas.Health}})
def health(found: Found) -> JSONResponse:
    """Whether the server is up and can reach its store. Needs no token."""
    found.events.head()
    return ok({"status": "ok"})


@router.get("/api/me", tags=["service"], responses={200: {"model": schemas.Me}, **ERRORS})
def me(scope: ScopeOf) -> JSONResponse:
    """The token's actor and role, and the courses it reads anything of."""
    token = scope.token
    return ok(
        {
            "token_id": token.token_id,
            "actor": token.actor,
            "role": str(token.role),
            "courses": scope.courses(),
        }
    )


# --- commands --------------------------------------------------------------------------


def prepare(raw: object, token: Token) -> dict[str, Any]:
    """The command as the token may send it: its actor is the token's, its role allows
    the command. Everything else is for the record to decide."""
    if not isinstance(raw, dict):
        raise CommandRejected("", [NOT_AN_OBJECT])
    name = raw.get("command")
    command = name if isinstance(name, str) and name in COMMAND_NAMES else None
    data = dict(raw)
    actor = data.setdefault("actor", token.actor)
    if isinstance(actor, str) and actor != token.actor:
        raise ApiError(
            403,
            "actor",
            "actor_mismatch",
            lazy(
                "this token acts for '%(actor)s', and a command is recorded by the token's actor "
                "(leave 'actor' out, or name the token's)",
                actor=token.actor,
            ),
            command=command,
        )
    allowed = COMMANDS_BY_ROLE[token.role]
    if command is not None and command not in allowed:
        raise forbidden(
            "command",
            lazy(
                "%(named)s token does not send %(command)s; it sends: %(value)s",
                named=token.role.named,
                command=command,
                value=", ".join(sorted(allowed)) or "no commands",
            ),
            command=command,
        )
    return data


@router.post(
    "/api/commands",
    tags=["commands"],
    status_code=201,
    responses={
        201: {"model": schemas.CommandOut, "description": "Recorded"},
        200: {"model": schemas.CommandOut, "description": "Recorded before: nothing new"},
        409: {"model": schemas.ErrorOut, "description": "In conflict with the record"},
        **ERRORS,
        **UNREADABLE,
    },
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": COMMAND_BODY}}}
    },
)
def post_command(token: TokenOf, found: Found, data: RawBody) -> JSONResponse:
    """Record one command of the contract. The actor is the token's (leave ``actor``
    out, or name the token's actor). 201 when it was recorded; 200 when its
    ``command_id`` was recorded before with the same payload (nothing new)."""
    try:
        body = decode(data)
    except JsonRejected as rejected:
        raise _unreadable(rejected.violation) from None
    result = found.app.execute(prepare(body, token))
    found.wrote(token.actor, [result])
    return ok(result.as_dict(), 200 if result.repeated else 201)


def _rejection(index: int, raw: Any, exc: CommandRejected | ApiError) -> dict[str, Any]:
    if isinstance(exc, ApiError):
        body, status = exc.as_dict(), exc.status
    else:
        body, status = exc.as_dict(), status_of(exc)
    command_id = raw.get("command_id") if isinstance(raw, Mapping) else None
    return {
        "index": index,
        "status": "rejected",
        "http_status": status,
        "command": body["command"] or None,
        "command_id": display_key(command_id) if isinstance(command_id, str) else None,
        "errors": body["errors"],
    }


def _accepted(index: int, result: CommandResult) -> dict[str, Any]:
    return {"index": index, "http_status": 200 if result.repeated else 201, **result.as_dict()}


@router.post(
    "/api/commands/batch",
    tags=["commands"],
    responses={200: {"model": schemas.BatchOut}, **ERRORS, **UNREADABLE},
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": BATCH_BODY}}}
    },
)
def post_batch(token: TokenOf, found: Found, data: RawBody) -> JSONResponse:
    """Record commands in order, as a client that was offline during a shift sends
    them: each gets its own result, as if sent alone. A command whose ``command_id`` was
    recorded before (also earlier in the batch) is a no-op that returns its first
    result; a rejected command - whatever is wrong with it - does not stop the others."""
    commands, unread = _batch(data)
    results: list[dict[str, Any] | None] = [None] * len(commands)
    ready: list[tuple[int, dict[str, Any]]] = []
    for index, raw in enumerate(commands):
        if index in unread:
            results[index] = _rejection(index, raw, CommandRejected("", [unread[index]]))
            continue
        try:
            ready.append((index, prepare(raw, token)))
        except (ApiError, CommandRejected) as exc:
            results[index] = _rejection(index, raw, exc)
    outcomes = list(found.app.execute_many([command for _, command in ready]))
    found.wrote(token.actor, [o for o in outcomes if not isinstance(o, CommandRejected)])
    for (index, command), outcome in zip(ready, outcomes, strict=True):
        results[index] = (
            _rejection(index, command, outcome)
            if isinstance(outcome, CommandRejected)
            else _accepted(index, outcome)
        )
    done = [r for r in results if r is not None]
    return ok(
        {
            "accepted": sum(1 for r in done if r["status"] == "accepted"),
            "repeated": sum(1 for r in done if r["status"] == "repeated"),
            "rejected": sum(1 for r in done if r["status"] == "rejected"),
            "results": done,
        }
    )


def _batch(data: bytes) -> tuple[list[Any], dict[int, Violation]]:
    """The items of a batch body, and why those that cannot be read cannot."""
    try:
        batch = decode_batch(data, limit=MAX_BODY_BYTES)
    except JsonRejected as rejected:
        raise _unreadable(rejected.violation) from None
    try:
        envelope = schemas.BatchIn.model_validate(batch.body)
    except ValidationError as exc:
        violations = violations_from(exc, strip_tag=False)
        first = violations[0]
        field = ".".join(part for part in ("body", first.field) if part)
        raise ApiError(422, field, first.rule, first.message) from None
    return envelope.commands, batch.unread


# --- queries ---------------------------------------------------------------------------


@router.get(
    "/api/courses", tags=["queries"], responses={200: {"model": schemas.CoursesOut}, **ERRORS}
)
def courses(scope: ScopeOf) -> JSONResponse:
    """The courses the token reads anything of."""
    out = []
    for course_id in scope.courses():
        course = scope.roster.course(course_id)
        if course is not None:
            out.append({"course_id": course_id, "title": course.title})
    return ok({"courses": out})


@router.get("/api/pairs", tags=["queries"], responses={200: {"model": schemas.PairsOut}, **ERRORS})
def pairs(
    scope: ScopeOf,
    *,
    course: Annotated[str | None, Query(pattern=ID_PATTERN, max_length=64)] = None,
    active: Annotated[bool | None, Query(description="Only active (or dissolved) pairs.")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> JSONResponse:
    """The pairs the token reads, in the order they were formed."""
    chosen = [
        p
        for p in scope.pairs()
        if (course is None or p.course_id == course) and (active is None or p.active == active)
    ]
    items, page = views.Page(limit, offset).of(chosen)
    return ok({**page, "items": [p.as_dict() for p in items]})


def _pair(scope: Scope, pair_id: str) -> None:
    if not scope.may_read_pair(pair_id):
        raise forbidden(
            "pair_id", lazy("the token does not read pair '%(pair_id)s'", pair_id=pair_id)
        )


@router.get(
    "/api/pairs/{pair_id}/balance",
    tags=["queries"],
    responses={200: {"model": schemas.BalanceOut}, **ERRORS, **NOT_FOUND},
)
def balance(
    scope: ScopeOf,
    *,
    found: Found,
    pair_id: Id,
    as_of_: Annotated[AsOfQuery, Query(alias="as_of")] = None,
    as_of_occurred: AsOfOccurredQuery = None,
) -> JSONResponse:
    """The contract's balance report for a pair, as of a time."""
    _pair(scope, pair_id)
    source = found.record_for(scope.actor)
    report = balance_report(source.events, pair_id, as_of(as_of_, as_of_occurred))
    return ok(report, source=source)


@router.get(
    "/api/pairs/{pair_id}/timeline",
    tags=["queries"],
    responses={200: {"model": schemas.TimelineOut}, **ERRORS, **NOT_FOUND},
)
def pair_timeline(
    scope: ScopeOf,
    *,
    found: Found,
    pair_id: Id,
    as_of_: Annotated[AsOfQuery, Query(alias="as_of")] = None,
    as_of_occurred: AsOfOccurredQuery = None,
    session: Annotated[str | None, Query(pattern=ID_PATTERN, max_length=64)] = None,
    student: Annotated[str | None, Query(pattern=ID_PATTERN, max_length=64)] = None,
    goal: Annotated[str | None, Query(pattern=ID_PATTERN, max_length=64)] = None,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> JSONResponse:
    """A pair's history, event by event, as the record knew it (the dispute replay):
    who recorded what, when it happened and when it was recorded, corrections linked to
    their entries, late entries marked, and the pair's roles and balance after each
    event. A student reads the texts of the events that name them."""
    _pair(scope, pair_id)
    source = found.record_for(scope.actor)
    head, items = views.pair_timeline(
        source.events,
        pair_id,
        as_of(as_of_, as_of_occurred),
        session=session,
        student=student,
        goal=goal,
        kind=kind,
    )
    chosen, page = views.Page(limit, offset).of(items)
    shown = [views.timeline_item(item, scope) for item in chosen]
    return ok({**head, **page, "items": shown}, source=source)


@router.get(
    "/api/pairs/{pair_id}/trends",
    tags=["queries"],
    responses={200: {"model": schemas.PairTrendsOut}, **ERRORS, **NOT_FOUND},
)
def pair_trends(scope: ScopeOf, found: Found, *, pair_id: Id) -> JSONResponse:
    """A pair week by week (ISO weeks, UTC) and session by session, from the read
    models: sessions, steps and performer balance, feedback each way, reflections and
    how complete they were, and the weeks at whose end the overview's balance flags
    stood."""
    _pair(scope, pair_id)
    source = found.read_models_for(scope.actor)
    data = views.pair_trends(source.store, pair_id, now=found.now(), thresholds=found.thresholds)
    return ok({**data, "position": source.position}, source=source)


@router.get(
    "/api/students/{student_id}/audit",
    tags=["queries"],
    responses={200: {"model": schemas.AuditOut}, **ERRORS, **NOT_FOUND},
)
def student_audit(
    scope: ScopeOf,
    *,
    found: Found,
    student_id: Id,
    course: CourseQuery,
    as_of_: Annotated[AsOfQuery, Query(alias="as_of")] = None,
    as_of_occurred: AsOfOccurredQuery = None,
) -> JSONResponse:
    """The contract's audit of a student in a course, as of a time: each goal's status
    and evidence, the events behind it, and the integrity of the record."""
    if not scope.may_audit(student_id, course):
        raise forbidden(
            "student_id",
            lazy(
                "the token does not read audits of '%(student_id)s' in course %(course)s",
                student_id=student_id,
                course=course,
            ),
        )
    source = found.record_for(scope.actor)
    report = audit(source.events, student_id, course, as_of(as_of_, as_of_occurred))
    return ok(report, source=source)


@router.get(
    "/api/students/{student_id}/progression",
    tags=["queries"],
    responses={200: {"model": schemas.ProgressionOut}, **ERRORS, **NOT_FOUND},
)
def student_progression(
    scope: ScopeOf, found: Found, *, student_id: Id, course: CourseQuery
) -> JSONResponse:
    """A student's progression in a course, goal by goal, from the read models."""
    if not scope.may_read_progression(student_id, course):
        raise forbidden(
            "student_id",
            lazy(
                "the token does not read the progression of '%(student_id)s' in %(course)s",
                student_id=student_id,
                course=course,
            ),
        )
    source = found.read_models_for(scope.actor)
    data = views.student_progression(source.store, course, student_id)
    return ok({**data, "position": source.position}, source=source)


@router.get(
    "/api/students/{student_id}/trends",
    tags=["queries"],
    responses={200: {"model": schemas.StudentTrendsOut}, **ERRORS, **NOT_FOUND},
)
def student_trends(
    scope: ScopeOf, found: Found, *, student_id: Id, course: CourseQuery
) -> JSONResponse:
    """A student's goals by weeks (ISO weeks, UTC) in a course, from the read models:
    each goal's evidence counts and assessments (level and kind) in each week."""
    if not scope.may_read_progression(student_id, course):
        raise forbidden(
            "student_id",
            lazy(
                "the token does not read the progression of '%(student_id)s' in %(course)s",
                student_id=student_id,
                course=course,
            ),
        )
    source = found.read_models_for(scope.actor)
    data = views.student_trends(source.store, course, student_id, now=found.now())
    return ok({**data, "position": source.position}, source=source)


@router.get(
    "/api/courses/{course_id}/progression",
    tags=["queries"],
    responses={200: {"model": schemas.GridOut}, **ERRORS, **NOT_FOUND},
)
def course_progression(
    scope: ScopeOf, found: Found, *, course_id: Id, limit: Limit = 100, offset: Offset = 0
) -> JSONResponse:
    """Goals by students: the progression of the course's students the token reads,
    in the order they were enrolled."""
    students = scope.students(course_id)
    if not students:
        raise forbidden(
            "course_id",
            lazy("the token reads no student's progression in %(course_id)s", course_id=course_id),
        )
    chosen, page = views.Page(limit, offset).of(students)
    source = found.read_models_for(scope.actor)
    data = views.progression_grid(source.store, course_id, chosen)
    return ok({**data, **page, "position": source.position}, source=source)


@router.get(
    "/api/overview",
    tags=["queries"],
    responses={200: {"model": schemas.OverviewOut}, **ERRORS},
)
def supervisor_overview(
    scope: ScopeOf,
    *,
    found: Found,
    now: Annotated[
        str | None,
        Query(max_length=40, description="The moment to look from (flags depend on it)."),
    ] = None,
    include_dissolved: Annotated[bool, Query(description="Include dissolved pairs.")] = False,
    limit: Limit = 100,
    offset: Offset = 0,
) -> JSONResponse:
    """Who needs attention: the pairs the token supervises (a coordinator: the pairs of
    their courses), flagged pairs first, with balance, recent sessions and flags."""
    moment_ = moment(now, "now") or found.now()
    source = found.read_models_for(scope.actor)
    pairs_ = views.supervisor_overview(
        source.store,
        scope,
        now=moment_,
        thresholds=found.thresholds,
        include_dissolved=include_dissolved,
    )
    chosen, page = views.Page(limit, offset).of(pairs_)
    for pair in chosen:
        # A flag's code is the same in every language; its message is the reader's.
        pair["flags"] = [{**flag, "message": shown(flag["message"])} for flag in pair["flags"]]
    return ok(
        {"now": moment_.isoformat(), **views.positions(source), **page, "pairs": chosen},
        source=source,
    )


@router.get(
    "/api/projections",
    tags=["service"],
    responses={200: {"model": schemas.ProjectionsOut}, **ERRORS},
)
def projection_status(scope: ScopeOf, found: Found) -> JSONResponse:
    """How far each projection has got, and how far behind the record it is."""
    del scope
    return ok(views.projections(found.runner))
