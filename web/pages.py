"""The supervisor dashboard: server-rendered pages for a browser on a ward's tablet.

Logging in takes an API token (a form), or goes through the institution's identity
provider when single sign-on is set up (:mod:`peerlog.web.sso`); either gives a
session: a random secret in a cookie that is ``HttpOnly`` (no script reads it),
``Secure`` (sent over HTTPS only; a browser also sends it to ``localhost``) and
``SameSite=Strict`` (no other site's page can make the browser send it), valid for 12
hours or until logging out (or revoking the token it was opened with). The session is
stored as a digest, like the token.

Pages read what the API reads, for the same scope. A page of live data asks
``/dashboard/live`` twice a second how far the record and its read models have got,
and fetches itself again when they moved: a new event shows within a second when the
server follows the record (``peerlog serve`` does).
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Annotated, Any, Final
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

from peerlog import i18n
from peerlog.domain.vocabulary import ID_RE
from peerlog.i18n import N_, Labels, lazy, ratio
from peerlog.projections import Thresholds, audit, directory
from peerlog.projections.asof import audit_weeks
from peerlog.projections.audit_file import make_file
from peerlog.projections.local_time import UTC_ZONE, course_zone, default_zone, local_when
from peerlog.projections.names import all_named, display_names, named
from peerlog.projections.progression import EVIDENCE_LABELS, STATUS_LABELS
from peerlog.projections.reads import Source
from peerlog.projections.source import EventSource
from peerlog.projections.store import ReadStore
from peerlog.projections.timeline import KIND_NAMES, timeline
from peerlog.projections.trends import QUIET_WEEKS, pair_trend, quiet_goals
from peerlog.web import audit_report, charts, views
from peerlog.web.access import Scope
from peerlog.web.audit_report import ASSESSMENT_LABELS, CHANGE_KINDS, STATUS_MARKS, TEXT_LABELS
from peerlog.web.auth import SESSION_COOKIE, scope_of, session_token
from peerlog.web.errors import ApiError, forbidden
from peerlog.web.headers import policy_for
from peerlog.web.services import Services
from peerlog.web.sso import CALLBACK_PATH, SignInRefused, role_in_record
from peerlog.web.times import as_of
from peerlog.web.tokens import SESSION_LIFETIME, Role

router = APIRouter(include_in_schema=False)

EVIDENCE_SHORT: Final = Labels(
    {
        "performed": N_("Perf."),
        "observed": N_("Obs."),
        "feedback_received": N_("FB got"),
        "feedback_given": N_("FB given"),
        "reflections": N_("Refl."),
        "assessments": N_("Assm."),
    }
)
KIND_LABELS: Final = Labels(
    {
        "pair": N_("the pair"),
        "session": N_("sessions"),
        "step": N_("steps"),
        "feedback": N_("feedback"),
        "reflection": N_("reflections"),
        "assessment": N_("assessments"),
        "correction": N_("corrections"),
        "retraction": N_("retractions"),
    }
)
"""The kinds of events the timeline filters by (``KIND_NAMES``), as the page says them."""
ROLE_LABELS: Final = Labels(
    {
        "student": N_("student"),
        "supervisor": N_("supervisor"),
        "coordinator": N_("coordinator"),
        "examiner": N_("examiner"),
        "admin": N_("admin"),
    }
)
FLAG_LABELS: Final = Labels(
    {
        "performer_imbalance": N_("performer imbalance"),
        "no_reflection": N_("no reflection"),
        "one_way_feedback": N_("one way feedback"),
        "goals_without_evidence": N_("goals without evidence"),
    }
)
"""The flags of a pair, in words (their codes are the API's)."""


@pass_context
def _when(page: Context, value: Any, zone: ZoneInfo | None = None, *, seconds: bool = False) -> str:
    """A moment in the page's time zone (the course's), with the zone named."""
    return local_when(value, zone or page.get("zone") or UTC_ZONE, seconds=seconds)


_env = Environment(
    loader=PackageLoader("peerlog.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
i18n.install(_env)
_env.filters["when"] = _when
_env.filters["ratio"] = ratio
_env.globals.update(
    named=named,
    all_named=all_named,
    status_labels=STATUS_LABELS,
    status_marks=STATUS_MARKS,
    evidence_labels=EVIDENCE_LABELS,
    evidence_short=EVIDENCE_SHORT,
    assessment_labels=ASSESSMENT_LABELS,
    role_labels=ROLE_LABELS,
    flag_labels=FLAG_LABELS,
    text_labels=TEXT_LABELS,
    change_kinds=CHANGE_KINDS,
)
_env.filters["shown"] = i18n.shown
_env.filters["text_label"] = lambda label: TEXT_LABELS.get(label, label)
templates = Jinja2Templates(env=_env)


class LoginRequired(Exception):
    """The page needs a valid session: go to the login form."""


def _services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def _scope(request: Request) -> Scope:
    found = _services(request)
    token = session_token(request, found)
    if token is None:
        raise LoginRequired
    return scope_of(token, found)


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, context, status_code=status)
    policy = policy_for(bytes(response.body))
    if policy is not None:
        response.headers["content-security-policy"] = policy
    return response


def error_page(
    request: Request, status: int, body: dict[str, Any], headers: Any = None
) -> Response:
    if status == 401:
        return RedirectResponse("/login", status_code=303)
    response = render(request, "error.html", {"status": status, "errors": body["errors"]}, status)
    if headers:
        response.headers.update(headers)
    return response


def _loopback(request: Request) -> bool:
    host = request.url.hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _same_origin(request: Request) -> bool:
    """A form post comes from this server's own page (or says nothing of its origin)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    parts = urlsplit(origin)
    return parts.netloc == request.headers.get("host", "")


# --- logging in and out ----------------------------------------------------------------


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/dashboard", status_code=303)


@router.get("/login")
def login_form(request: Request) -> Response:
    if session_token(request, _services(request)) is not None:
        return RedirectResponse("/dashboard", status_code=303)
    return _login(request, None)


def _login(request: Request, problem: str | None, status: int = 200) -> HTMLResponse:
    plain = request.url.scheme != "https" and not _loopback(request)
    sso = _services(request).sso
    return render(
        request,
        "login.html",
        {
            "problem": problem,
            "plain_http": plain,
            "sso_name": sso.settings.name if sso else None,
        },
        status,
    )


def _session_cookie(response: Response, secret: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        secure=True,
        httponly=True,
        samesite="strict",
    )


@router.post("/login")
def login(request: Request, token: Annotated[str, Form(max_length=200)] = "") -> Response:
    if not _same_origin(request):
        return _login(request, "The login form was sent from another site.", 403)
    found = _services(request)
    session = found.tokens.login(token.strip())
    if session is None:
        return _login(request, "That token is not valid, or it was revoked.", 401)
    _, secret, _ = session
    response = RedirectResponse("/dashboard", status_code=303)
    _session_cookie(response, secret)
    return response


# --- single sign-on ----------------------------------------------------------------------

ATTEMPT_COOKIE: Final = "peerlog_sso_attempt"
ATTEMPT_PATH: Final = "/login/sso"
"""The attempt's cookie goes only to the sign-in's own paths. It is ``SameSite=Lax``:
the provider sends the browser back from another site, and a Strict cookie would not
come along."""


def _redirect_uri(request: Request) -> str:
    sso = _services(request).sso
    assert sso is not None
    return sso.settings.redirect_uri or str(request.base_url).rstrip("/") + CALLBACK_PATH


def _refused(request: Request, refusal: SignInRefused) -> HTMLResponse:
    response = render(
        request,
        "sso_refused.html",
        {"status": refusal.status, "message": refusal.message, "reason": refusal.reason},
        refusal.status,
    )
    response.delete_cookie(
        ATTEMPT_COOKIE, path=ATTEMPT_PATH, secure=True, httponly=True, samesite="lax"
    )
    return response


@router.get("/login/sso")
def sso_start(request: Request) -> Response:
    """Send the browser to the identity provider, with a new attempt."""
    found = _services(request)
    if found.sso is None:
        raise ApiError(404, "", "not_found", lazy("single sign-on is not set up on this server"))
    try:
        attempt, url = found.sso.start(_redirect_uri(request))
    except SignInRefused as refusal:
        return _refused(request, refusal)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        ATTEMPT_COOKIE,
        found.tokens.begin_attempt(attempt),
        max_age=600,
        path=ATTEMPT_PATH,
        secure=True,
        httponly=True,
        samesite="lax",
    )
    return response


@router.get(CALLBACK_PATH)
def sso_callback(request: Request) -> Response:
    """The provider's answer: a session for the person it signed in, if the answer
    passes every check and the record knows the person."""
    found = _services(request)
    if found.sso is None:
        raise ApiError(404, "", "not_found", lazy("single sign-on is not set up on this server"))
    secret = request.cookies.get(ATTEMPT_COOKIE, "")
    attempt = found.tokens.take_attempt(secret) if secret else None
    params = {k: v[:2048] for k, v in request.query_params.items()}
    roster = found.roster.refresh()

    def known(person: str) -> bool:
        return role_in_record(roster, person) is not None and not roster.is_forgotten(person)

    try:
        person = found.sso.finish(attempt, params, _redirect_uri(request), known=known)
    except SignInRefused as refusal:
        return _refused(request, refusal)
    session, _ = found.tokens.sign_in(person)
    # A page, not a redirect: the browser came from the provider's site, and would not
    # send the Strict session cookie along a redirect that started there.
    response = render(request, "sso_done.html", {}, 200)
    _session_cookie(response, session)
    response.delete_cookie(
        ATTEMPT_COOKIE, path=ATTEMPT_PATH, secure=True, httponly=True, samesite="lax"
    )
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret and _same_origin(request):
        _services(request).tokens.logout(secret)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response


@router.get("/dashboard/live")
def live(request: Request) -> JSONResponse:
    """How far the record and its read models have got (the pages poll it)."""
    found = _services(request)
    if session_token(request, found) is None:
        return JSONResponse(
            ApiError(401, "session", "unauthenticated", lazy("log in again")).as_dict(), 401
        )
    return JSONResponse(views.positions(found.reads.read_models()))


# --- pages -----------------------------------------------------------------------------


def _page(
    request: Request,
    scope: Scope,
    name: str,
    live: str | None,
    source: Source,
    *,
    what: str = N_("Read models"),
    **context: Any,
) -> Response:
    where = views.positions(source)
    if "names" not in context:
        context["names"] = display_names(_services(request).events, scope.courses())
    if "zone" not in context:
        context["zone"] = default_zone(_services(request).events.settings)
    return render(
        request,
        name,
        {
            "scope": scope,
            "live": live,
            "position": where[live] if live else None,
            "lag": where["lag"],
            "source": source.describe(what),
            **context,
        },
    )


@router.get("/dashboard")
def dashboard(request: Request, *, include_dissolved: Annotated[bool, Query()] = False) -> Response:
    scope = _scope(request)
    found = _services(request)
    source = found.read_models_for(scope.actor)
    if scope.role in {Role.SUPERVISOR, Role.COORDINATOR}:
        context = overview_context(
            found.events,
            source.store,
            scope,
            now=found.now(),
            thresholds=found.thresholds,
            include_dissolved=include_dissolved,
        )
        return _page(request, scope, "overview.html", "position", source, **context)
    if scope.role is Role.STUDENT:
        return _page(
            request,
            scope,
            "student_home.html",
            "position",
            source,
            pairs=[p.as_dict() for p in scope.pairs()],
            courses=_courses(scope),
        )
    return _page(
        request,
        scope,
        "examiner_home.html",
        None,
        source,
        courses=[{**c, "students": scope.auditable(c["course_id"])} for c in _courses(scope)],
    )


def overview_context(
    events: EventSource,
    store: ReadStore,
    scope: Scope,
    *,
    now: datetime,
    thresholds: Thresholds,
    include_dissolved: bool = False,
) -> dict[str, Any]:
    """What the overview page shows (beside what every page shows): the pairs with their
    sparklines."""
    pairs = views.supervisor_overview(
        store, scope, now=now, thresholds=thresholds, include_dissolved=include_dissolved
    )
    return {
        "pairs": pairs,
        "names": display_names(events, {p["course_id"] for p in pairs}),
        "zones": {p["course_id"]: course_zone(events, p["course_id"]) for p in pairs},
        "sparks": _sparks(pairs),
        "spark_words": {p["pair_id"]: charts.sparkline_words(p["weekly_balance"]) for p in pairs},
        "flagged": sum(1 for p in pairs if p["flags"]),
        "courses": _courses(scope),
        "include_dissolved": include_dissolved,
    }


def _sparks(pairs: list[dict[str, Any]]) -> dict[str, Markup | None]:
    """Each pair's sparkline of its weekly performer balance (None without any steps)."""
    out: dict[str, Markup | None] = {}
    for pair in pairs:
        values = [w["performer_balance"] for w in pair["weekly_balance"]]
        # pygal's SVG escapes the texts in it (and ids are letters, digits and -_.:).
        out[pair["pair_id"]] = (
            Markup(charts.sparkline(pair["pair_id"], values))  # noqa: S704
            if any(v is not None for v in values)
            else None
        )
    return out


def _courses(scope: Scope) -> list[dict[str, Any]]:
    out = []
    for course_id in scope.courses():
        course = scope.roster.course(course_id)
        if course is not None:
            out.append({"course_id": course_id, "title": course.title})
    return out


def _check_id(value: str, field: str) -> None:
    if not ID_RE.fullmatch(value):
        raise ApiError(422, field, "invalid_id", lazy("is not an id"))


@router.get("/dashboard/courses/{course_id}")
def course_grid(request: Request, course_id: str) -> Response:
    scope = _scope(request)
    _check_id(course_id, "course_id")
    students = scope.students(course_id)
    if not students:
        raise forbidden(
            "course_id",
            lazy("you read no student's progression in %(course_id)s", course_id=course_id),
        )
    source = _services(request).read_models_for(scope.actor)
    grid = views.progression_grid(source.store, course_id, students)
    return _page(request, scope, "grid.html", "position", source, grid=grid)


@router.get("/dashboard/students/{student_id}")
def student_page(
    request: Request, student_id: str, course: Annotated[str, Query(max_length=64)]
) -> Response:
    scope = _scope(request)
    _check_id(student_id, "student_id")
    _check_id(course, "course")
    if not scope.may_read_progression(student_id, course):
        raise forbidden(
            "student_id",
            lazy("you do not read the progression of %(student_id)s", student_id=student_id),
        )
    found = _services(request)
    source = found.read_models_for(scope.actor)
    data = views.student_progression(source.store, course, student_id)
    weeks = views.student_trends(source.store, course, student_id, now=found.now())
    pairs = [
        p.as_dict() for p in scope.pairs() if student_id in p.students and p.course_id == course
    ]
    return _page(
        request,
        scope,
        "student.html",
        "position",
        source,
        progression=data,
        zone=course_zone(source.events, course),
        pairs=pairs,
        weeks=weeks,
        quiet=quiet_goals(weeks),
        quiet_span=QUIET_WEEKS,
    )


@router.get("/dashboard/pairs/{pair_id}")
def pair_page(
    request: Request,
    pair_id: str,
    *,
    session: Annotated[str | None, Query(max_length=64)] = None,
    student: Annotated[str | None, Query(max_length=64)] = None,
    goal: Annotated[str | None, Query(max_length=64)] = None,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    at: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    scope = _scope(request)
    _check_id(pair_id, "pair_id")
    if goal:
        _check_id(goal, "goal")
    if not scope.may_read_pair(pair_id):
        raise forbidden("pair_id", lazy("you do not read pair %(pair_id)s", pair_id=pair_id))
    found = _services(request)
    source = found.record_for(scope.actor)
    context = pair_context(
        source.events,
        found.read_models_for(scope.actor).store,
        scope,
        pair_id,
        now=found.now(),
        thresholds=found.thresholds,
        session=session or None,
        student=student or None,
        goal=goal or None,
        kind=kind or None,
        page=page,
        at=at,
    )
    return _page(request, scope, "timeline.html", "head", source, what=N_("Record"), **context)


def pair_context(
    events: EventSource,
    store: ReadStore,
    scope: Scope,
    pair_id: str,
    *,
    now: datetime,
    thresholds: Thresholds,
    session: str | None = None,
    student: str | None = None,
    goal: str | None = None,
    kind: str | None = None,
    page: int = 1,
    at: int | None = None,
) -> dict[str, Any]:
    """What the pair page shows: its trends drawn from the read models, and one page
    of its timeline (newest first) folded from the record (the page holding the event
    at position ``at``, when one is asked for)."""
    head, items = views.pair_timeline(
        events,
        pair_id,
        as_of(None, None),
        session=session,
        student=student,
        goal=goal,
        kind=kind,
    )
    newest, paging = views.timeline_page(items, page, at)
    shown = [views.timeline_item(item, scope) for item in newest]
    pair = scope.roster.pair(pair_id)
    trend = pair_trend(store, pair_id, until=now.date(), thresholds=thresholds)
    drawn = None
    if trend is not None:
        # pygal's SVG escapes the texts in it; the summary is escaped by the template.
        drawn = {
            name: value if name == "summary" else Markup(value)  # noqa: S704
            for name, value in charts.pair_charts(trend).items()
        }
    return {
        "trend": trend,
        "charts": drawn,
        "names": display_names(events, head["course_id"]) if head.get("course_id") else {},
        "zone": course_zone(events, head.get("course_id")),
        "head": head,
        "items": shown,
        "on_page": {item["position"] for item in shown},
        "matched_positions": {item.position for item in items},
        "matched": len(items),
        "paging": paging,
        "pair": pair.as_dict() if pair else None,
        "session": session,
        "student": student,
        "goal": goal,
        "kind": kind,
        "kinds": KIND_NAMES,
        "goals": _goal_choices(events, head.get("course_id")),
        "kind_labels": KIND_LABELS,
        "filters": {
            name: value
            for name, value in (
                ("session", session),
                ("student", student),
                ("goal", goal),
                ("kind", kind),
            )
            if value
        },
    }


def _goal_choices(events: EventSource, course_id: str | None) -> list[tuple[str, str]]:
    """The goals of a pair's course, for the timeline's goal filter: (id, title)."""
    course = directory.course(events, course_id) if course_id else None
    return [(g, goal.title) for g, goal in course.goals.items()] if course else []


def render_page(name: str, context: dict[str, Any]) -> str:
    """A page's HTML without a request (the benchmarks time what a page costs)."""
    html: str = templates.env.get_template(name).render(context)
    return html


def _audit(
    request: Request,
    student_id: str,
    course: str,
    as_of_: str | None,
    as_of_occurred: str | None = None,
) -> tuple[
    Scope, dict[str, Any], dict[str, dict[str, Any]], dict[str, str], Source, dict[str, Any]
]:
    """The audit a token may read, the events behind it as the token may read them,
    the names of the course's people, and the student's goals by weeks as of the
    audit's time."""
    scope = _scope(request)
    _check_id(student_id, "student_id")
    _check_id(course, "course")
    if not scope.may_audit(student_id, course):
        raise forbidden(
            "student_id",
            lazy(
                "you do not read audits of %(student_id)s in %(course)s",
                student_id=student_id,
                course=course,
            ),
        )
    source = _services(request).record_for(scope.actor)
    window = as_of(as_of_, as_of_occurred)
    report = audit(source.events, student_id, course, window)
    behind: dict[str, dict[str, Any]] = {}
    pairs = {
        ref.rpartition("@")[0].removeprefix("pair/")
        for goal in report["goals"]
        for ref in goal["events"]
        if ref.startswith("pair/")
    }
    for pair_id in sorted(pairs):
        told = timeline(source.events, pair_id, window)
        for item in told.items:
            behind[item.event] = views.timeline_item(item, scope)
    names = display_names(source.events, course)
    return scope, report, behind, names, source, audit_weeks(source.events, report)


@router.get("/dashboard/students/{student_id}/audit")
def audit_page(
    request: Request,
    *,
    student_id: str,
    course: Annotated[str, Query(max_length=64)],
    as_of_: Annotated[str | None, Query(alias="as_of", max_length=40)] = None,
    as_of_occurred: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    scope, report, behind, names, source, weeks = _audit(
        request, student_id, course, as_of_, as_of_occurred
    )
    return _page(
        request,
        scope,
        "audit.html",
        None,
        source,
        what=N_("Record"),
        **audit_report.context(
            report, behind, names, weeks, course_zone(source.events, report["course_id"])
        ),
        as_of=as_of_,
        as_of_occurred=as_of_occurred,
    )


@router.get("/dashboard/students/{student_id}/audit.pdf")
def audit_pdf(
    request: Request,
    *,
    student_id: str,
    course: Annotated[str, Query(max_length=64)],
    as_of_: Annotated[str | None, Query(alias="as_of", max_length=40)] = None,
    as_of_occurred: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """The audit as a PDF, for the student's file."""
    _, report, behind, names, source, weeks = _audit(
        request, student_id, course, as_of_, as_of_occurred
    )
    zone = course_zone(source.events, course)
    return Response(
        audit_report.render_pdf(report, behind, names, weeks, zone),
        media_type="application/pdf",
        headers={"content-disposition": f'attachment; filename="{student_id}-{course}-audit.pdf"'},
    )


@router.get("/dashboard/students/{student_id}/audit/file")
def audit_file(
    request: Request,
    *,
    student_id: str,
    course: Annotated[str, Query(max_length=64)],
    as_of_: Annotated[str | None, Query(alias="as_of", max_length=40)] = None,
    as_of_occurred: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """The examiner's audit file: the audit, the events it was made from with their
    inclusion proofs, and the signed checkpoint."""
    scope = _scope(request)
    _check_id(student_id, "student_id")
    _check_id(course, "course")
    if not scope.may_audit(student_id, course):
        raise forbidden(
            "student_id",
            lazy(
                "you do not read audits of %(student_id)s in %(course)s",
                student_id=student_id,
                course=course,
            ),
        )
    source = _services(request).record_for(scope.actor)
    data = make_file(source.events, student_id, course, as_of(as_of_, as_of_occurred))
    return Response(
        data,
        media_type="application/json",
        headers={"content-disposition": f'attachment; filename="{student_id}-{course}.audit.json"'},
    )
