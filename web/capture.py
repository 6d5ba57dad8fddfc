"""Capture pages: students and supervisors record on the ward, on a phone, offline.

Server-rendered, mobile-first pages under ``/capture`` (the dashboard's login and
session). Each form is sent by the page's script (``/static/capture.js``): the entry
gets its ``command_id`` and ``occurred_at`` on the device at the tap, waits in the
browser's IndexedDB while there is no network, and is sent in order through
``/capture/batch`` - the HTTP batch endpoint's own handler, for the session's token -
as soon as there is. A service worker (``/capture/sw.js``) keeps the pages, so that
they open without a network. See docs/capture.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from typing import Annotated, Any, Final
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from peerlog.domain.events import (
    CourseOpened,
    EntryCorrected,
    EntryRetracted,
    FeedbackGiven,
    GoalAdded,
    GoalAssessed,
    GoalRetired,
    GoalRevised,
    PairFormed,
    ReflectionRecorded,
    RolesSwitched,
    SessionClosed,
    SessionOpened,
    StepRecorded,
)
from peerlog.domain.vocabulary import GIBBS_STAGES, ID_RE, course_stream, pair_stream
from peerlog.i18n import N_, gettext, lazy, ngettext
from peerlog.projections.local_time import course_zone
from peerlog.projections.names import display_names
from peerlog.projections.source import EventSource, history
from peerlog.web import api, pages
from peerlog.web.access import Scope
from peerlog.web.auth import scope_of, session_token
from peerlog.web.errors import ApiError, forbidden
from peerlog.web.headers import POLICY
from peerlog.web.tokens import Role

router = APIRouter(include_in_schema=False)

CAPTURE_POLICY: Final = POLICY.format(styles="") + "; manifest-src 'self'; worker-src 'self'"
"""The pages' policy: the dashboard's, and the capture's own manifest and worker."""

ROLE_LABELS: Final = {
    "performer": N_("Performer"),
    "observer": N_("Observer"),
    "team_leader": N_("Team leader"),
    "medication_responsible": N_("Medication responsible"),
    "rounds_responsible": N_("Rounds responsible"),
    "follower": N_("Follower"),
}
STEP_KINDS: Final = {
    "performance": N_("Performance"),
    "preparation": N_("Preparation"),
    "pre_briefing": N_("Pre-briefing"),
    "checkpoint": N_("Checkpoint"),
    "time_out": N_("Time out"),
    "debriefing": N_("Debriefing"),
    "other": N_("Other"),
}
SHIFTS: Final = {"day": N_("Day"), "evening": N_("Evening"), "night": N_("Night")}
SHIFT_NAMES: Final = {
    "day": N_("day shift"),
    "evening": N_("evening shift"),
    "night": N_("night shift"),
}
GIBBS: Final = {
    "description": (N_("Description"), N_("What happened?")),
    "feelings": (N_("Feelings"), N_("What did you think and feel?")),
    "evaluation": (N_("Evaluation"), N_("What was good and what could be better?")),
    "analysis": (N_("Analysis"), N_("What can you learn from it?")),
    "conclusion": (N_("Conclusion"), N_("Could you have done something differently?")),
    "action_plan": (N_("Action plan"), N_("If it happens again, what will you do?")),
}
assert tuple(GIBBS) == GIBBS_STAGES
MODES: Final = {
    "individual": N_("Individual"),
    "pair": N_("As a pair"),
    "with_supervisor": N_("With supervisor"),
}
ASSESSMENT_KINDS: Final = {
    "formative": N_("Formative"),
    "midpoint": N_("Midpoint"),
    "final": N_("Final"),
}
ENTRY_KINDS: Final = {
    "step": N_("Step"),
    "feedback": N_("Feedback"),
    "reflection": N_("Reflection"),
}
SCRIPT_MESSAGES: Final = {
    "online": N_("online"),
    "offline": N_("offline"),
    "identity_number": N_(
        "This looks like a personal identity number. Patients must not be identifiable: remove it."
    ),
    "step": N_("Step"),
    "open_session": N_("Check-in"),
    "switch_roles": N_("Roles swapped"),
    "give_feedback": N_("Feedback"),
    "record_reflection": N_("Reflection"),
    "assess_goal": N_("Assessment"),
    "close_session": N_("Check-out"),
    "correct_entry": N_("Correction"),
    "retract_entry": N_("Retraction"),
    "waiting": N_("Waiting"),
    "accepted": N_("Accepted"),
    "rejected": N_("Rejected"),
    "fix": N_("Fix and send again"),
    "discard": N_("Discard"),
    "summary": N_("%(waiting)s waiting, %(accepted)s accepted, %(rejected)s rejected."),
    "incomplete": N_("(incomplete)"),
}
"""What the page's script writes, in the page's language (``data-messages``)."""


def script_messages() -> dict[str, str]:
    """The script's messages translated, and its plural ones in the forms for one and for
    more (Swedish, Danish and English have those two)."""
    found = {key: gettext(message) for key, message in SCRIPT_MESSAGES.items()}
    for n, key in ((1, "stages_one"), (2, "stages_other")):
        found[key] = ngettext(
            "%(written)s of %(count)s stage written",
            "%(written)s of %(count)s stages written",
            n,
        )
    for kind in STEP_KINDS:
        found[f"kind_{kind}"] = gettext(STEP_KINDS[kind]).lower()
    return found


PAGES: Final = (
    "today",
    "checkin",
    "step",
    "feedback",
    "reflection",
    "assess",
    "checkout",
    "entries",
)


@dataclass
class Goal:
    goal_id: str
    title: str
    retired: bool = False


@dataclass
class CourseView:
    course_id: str
    title: str
    scale: tuple[str, ...]
    goals: dict[str, Goal]
    names: dict[str, str]
    zone: ZoneInfo
    """The zone the ward reads the course's times in."""

    def active_goals(self) -> list[Goal]:
        return [g for g in self.goals.values() if not g.retired]


@dataclass
class SessionView:
    session_id: str
    roles: dict[str, str]
    opened_at: str
    changed_at: str
    shift: str | None = None
    plan: str | None = None
    is_open: bool = True
    steps: int = 0
    feedback: int = 0


@dataclass
class EntryView:
    entry_id: str
    kind: str
    actor: str
    occurred_at: str
    fields: dict[str, Any]
    retracted: bool = False
    corrections: int = 0


@dataclass
class PairView:
    pair_id: str
    course_id: str
    students: tuple[str, ...]
    supervisors: tuple[str, ...]
    sessions: dict[str, SessionView] = field(default_factory=dict)
    entries: dict[str, EntryView] = field(default_factory=dict)
    assessments: int = 0

    def open_session(self) -> SessionView | None:
        return next((s for s in reversed(self.sessions.values()) if s.is_open), None)

    def last_session(self) -> SessionView | None:
        return next(reversed(self.sessions.values()), None)


def course_view(events: EventSource, course_id: str) -> CourseView:
    """A course's title, scale, goals (titles as revised, retired ones marked), names and
    time zone."""
    title: str = course_id
    scale: tuple[str, ...] = ()
    goals: dict[str, Goal] = {}
    for event in history(events, course_stream(course_id)):
        if isinstance(event, CourseOpened):
            title, scale = event.title, event.scale
            goals = {g.goal_id: Goal(g.goal_id, g.title) for g in event.goals}
        elif isinstance(event, GoalAdded):
            goals[event.goal_id] = Goal(event.goal_id, event.title)
        elif isinstance(event, GoalRevised) and event.title and event.goal_id in goals:
            goals[event.goal_id].title = event.title
        elif isinstance(event, GoalRetired) and event.goal_id in goals:
            goals[event.goal_id].retired = True
    return CourseView(
        course_id,
        title,
        tuple(scale),
        goals,
        display_names(events, course_id),
        course_zone(events, course_id),
    )


def _entry_fields(event: StepRecorded | FeedbackGiven | ReflectionRecorded) -> dict[str, Any]:
    if isinstance(event, StepRecorded):
        return {
            "kind": event.kind,
            "performers": list(event.performers),
            "observers": list(event.observers),
            "goals": list(event.goals),
            "note": event.note or "",
        }
    if isinstance(event, FeedbackGiven):
        return {
            "giver": event.giver,
            "receiver": event.receiver,
            "goals": list(event.goals),
            "strengths": event.strengths,
            "improvements": event.improvements,
        }
    return {
        "mode": event.mode,
        "authors": list(event.authors),
        "goals": list(event.goals),
        "stages": dict(event.stages),
    }


def pair_view(events: EventSource, pair_id: str) -> PairView:  # noqa: C901, PLR0912 - one branch per event
    """A pair's sessions (roles now, open or closed) and entries (corrections applied)."""
    pair: PairView | None = None
    for event in history(events, pair_stream(pair_id)):
        if isinstance(event, PairFormed):
            pair = PairView(pair_id, event.course_id, event.students, event.supervisors)
            continue
        if pair is None:  # pragma: no cover - a pair's stream starts with its forming
            break
        at = event.occurred_at.isoformat()
        if isinstance(event, SessionOpened):
            pair.sessions[event.session_id] = SessionView(
                event.session_id, dict(event.roles), at, at, event.shift, event.plan
            )
        elif isinstance(event, RolesSwitched) and event.session_id in pair.sessions:
            session = pair.sessions[event.session_id]
            session.roles, session.changed_at = dict(event.roles), at
        elif isinstance(event, SessionClosed) and event.session_id in pair.sessions:
            session = pair.sessions[event.session_id]
            session.is_open, session.changed_at = False, at
        elif isinstance(event, StepRecorded | FeedbackGiven | ReflectionRecorded):
            kind = {StepRecorded: "step", FeedbackGiven: "feedback"}.get(type(event), "reflection")
            entry_id = getattr(event, f"{kind}_id")
            pair.entries[entry_id] = EntryView(
                entry_id, kind, event.actor, at, _entry_fields(event)
            )
            session_id = getattr(event, "session_id", None)
            if session_id in pair.sessions:
                session = pair.sessions[session_id]
                if kind == "step":
                    session.steps += 1
                elif kind == "feedback":
                    session.feedback += 1
        elif isinstance(event, EntryCorrected) and event.entry_id in pair.entries:
            entry = pair.entries[event.entry_id]
            changes = {
                k: list(v) if isinstance(v, tuple) else v
                for k, v in _changes(event).items()
                if v is not None
            }
            entry.fields.update(changes)
            entry.corrections += 1
        elif isinstance(event, EntryRetracted) and event.entry_id in pair.entries:
            pair.entries[event.entry_id].retracted = True
        elif isinstance(event, GoalAssessed):
            pair.assessments += 1
    if pair is None:
        raise ApiError(
            404,
            "pair_id",
            "not_in_record",
            lazy("pair %(pair_id)s is not in the record", pair_id=pair_id),
        )
    return pair


def _changes(event: EntryCorrected) -> dict[str, Any]:
    changes = event.changes
    return {n: getattr(changes, n) for n in changes.__struct_fields__}


# --- access -----------------------------------------------------------------------------


def _scope(request: Request) -> Scope:
    return pages._scope(request)  # noqa: SLF001 - the dashboard's session, shared


def _pair_for(request: Request, pair_id: str) -> tuple[Scope, PairView, CourseView]:
    scope = _scope(request)
    if not ID_RE.fullmatch(pair_id):
        raise ApiError(422, "pair_id", "invalid_id", lazy("is not an id"))
    if scope.role not in {Role.STUDENT, Role.SUPERVISOR} or not scope.may_read_pair(pair_id):
        raise forbidden("pair_id", lazy("you do not record in pair %(pair_id)s", pair_id=pair_id))
    events = pages._services(request).record_for(scope.actor).events  # noqa: SLF001
    pair = pair_view(events, pair_id)
    return scope, pair, course_view(events, pair.course_id)


def _render(request: Request, name: str, context: dict[str, Any]) -> Response:
    response = pages.templates.TemplateResponse(request, name, context)
    response.headers["content-security-policy"] = CAPTURE_POLICY
    return response


def _context(
    scope: Scope, pair: PairView, course: CourseView, page: str, **more: Any
) -> dict[str, Any]:
    session = pair.open_session()
    last = pair.last_session()
    me = scope.actor
    partners = [s for s in pair.students if s != me]

    def name(person: str) -> str:
        return course.names.get(person) or person

    return {
        "scope": scope,
        "me": me,
        "supervisor": scope.role is Role.SUPERVISOR,
        "pair": pair,
        "course": course,
        "session": session,
        "last": last,
        "state_at": last.changed_at if last else "",
        "partners": partners,
        "name": name,
        "page": page,
        "role_labels": ROLE_LABELS,
        "step_kinds": STEP_KINDS,
        "shifts": SHIFTS,
        "shift_names": SHIFT_NAMES,
        "gibbs": GIBBS,
        "modes": MODES,
        "assessment_kinds": ASSESSMENT_KINDS,
        "entry_kinds": ENTRY_KINDS,
        "script_messages": script_messages(),
        "goals": course.active_goals(),
        # The ``when`` filter writes times in the course's zone, and names it.
        "zone": course.zone,
        **more,
    }


# --- pages ------------------------------------------------------------------------------


@router.get("/capture")
def capture_home(request: Request) -> Response:
    """The first pair the person records in: its page of today."""
    scope = _scope(request)
    pairs = [p for p in scope.pairs() if p.active] or scope.pairs()
    if scope.role not in {Role.STUDENT, Role.SUPERVISOR} or not pairs:
        raise forbidden(
            "actor", lazy("capture pages are for the students and supervisors of a pair")
        )
    return RedirectResponse(f"/capture/{pairs[0].pair_id}", status_code=303)


def _page(request: Request, pair_id: str, page: str, template: str) -> Response:
    scope, pair, course = _pair_for(request, pair_id)
    others = [p.pair_id for p in scope.pairs() if p.active and p.pair_id != pair_id]
    context = _context(scope, pair, course, page, other_pairs=others)
    if page == "entries":
        context["entries"] = [
            e
            for e in reversed(pair.entries.values())
            if scope.role is Role.SUPERVISOR or e.actor == scope.actor
        ]
    return _render(request, template, context)


def _static(name: str) -> bytes:
    return (resources.files("peerlog.web") / "static" / name).read_bytes()


@router.get("/capture/sw.js")
def service_worker() -> Response:
    """The service worker, from /capture/ so that its scope is the capture pages."""
    return Response(
        _static("capture-sw.js"),
        media_type="text/javascript",
        headers={"cache-control": "no-cache"},
    )


@router.get("/capture/manifest.webmanifest")
def manifest() -> Response:
    return Response(
        _static("capture.webmanifest"),
        media_type="application/manifest+json",
        headers={"cache-control": "no-cache"},
    )


@router.get("/capture/{pair_id}")
def today(request: Request, pair_id: str) -> Response:
    return _page(request, pair_id, "today", "capture_today.html")


@router.get("/capture/{pair_id}/checkin")
def checkin(request: Request, pair_id: str) -> Response:
    return _page(request, pair_id, "checkin", "capture_checkin.html")


@router.get("/capture/{pair_id}/step")
def step(request: Request, pair_id: str) -> Response:
    return _page(request, pair_id, "step", "capture_step.html")


@router.get("/capture/{pair_id}/feedback")
def feedback(request: Request, pair_id: str) -> Response:
    return _page(request, pair_id, "feedback", "capture_feedback.html")


@router.get("/capture/{pair_id}/reflection")
def reflection(request: Request, pair_id: str) -> Response:
    return _page(request, pair_id, "reflection", "capture_reflection.html")


@router.get("/capture/{pair_id}/assess")
def assess(request: Request, pair_id: str) -> Response:
    return _page(request, pair_id, "assess", "capture_assess.html")


@router.get("/capture/{pair_id}/checkout")
def checkout(request: Request, pair_id: str) -> Response:
    return _page(request, pair_id, "checkout", "capture_checkout.html")


@router.get("/capture/{pair_id}/entries")
def entries(request: Request, pair_id: str) -> Response:
    return _page(request, pair_id, "entries", "capture_entries.html")


# --- sending, the worker, the manifest --------------------------------------------------


def _same_origin(request: Request) -> None:
    """The page's script sends with a header of its own (no other site's page can, without
    the server's leave) and, where the browser says, from this origin."""
    origin = request.headers.get("origin")
    host = request.headers.get("host", "")
    if request.headers.get("x-peerlog-capture") != "1" or (
        origin is not None and origin.split("://", 1)[-1] != host
    ):
        raise forbidden("origin", lazy("entries are sent by the capture page of this server"))


@router.post("/capture/batch")
def batch(request: Request, data: Annotated[bytes, Depends(api.raw_body)]) -> JSONResponse:
    """The entries waiting on a device, in order: the HTTP batch endpoint, for the
    session's person."""
    found = pages._services(request)  # noqa: SLF001
    token = session_token(request, found)
    if token is None:
        # The script keeps the entries and sends them again after logging in.
        return JSONResponse(
            ApiError(401, "session", "unauthenticated", lazy("log in again")).as_dict(), 401
        )
    _same_origin(request)
    return api.post_batch(scope_of(token, found).token, found, data)
