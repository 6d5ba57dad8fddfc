"""``peerlog replay PAIR``: a pair's history event by event, for disputes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import click

from peerlog.cli.errors import Failed
from peerlog.cli.listing import require_course, require_pair
from peerlog.cli.output import echo_json, format_option, when
from peerlog.cli.session import Session, pass_session
from peerlog.cli.times import as_of_options, on_the_ward
from peerlog.domain.vocabulary import pair_stream
from peerlog.i18n import _, ngettext, ratio
from peerlog.projections import AsOf, NotInRecord
from peerlog.projections.local_time import pair_zone, zone_words
from peerlog.projections.names import Names, all_named, display_names
from peerlog.projections.source import EventSource
from peerlog.projections.timeline import (
    KIND_NAMES,
    LATE_AFTER,
    ROLES,
    Item,
    PairState,
    Timeline,
    duration,
    timeline,
)
from peerlog.web.audit_report import CHANGE_KINDS, TEXT_LABELS

ACTOR_WIDTH = 14


@click.command("replay", short_help="A pair's history, event by event, as of a time.")
@click.argument("pair")
@as_of_options
@click.option("--session", "session_id", metavar="SESSION", help="Only this session's events.")
@click.option("--student", metavar="STUDENT", help="Only events that name this student.")
@click.option(
    "--goal",
    metavar="GOAL",
    help="Only events about this goal (its entries, and their corrections and retractions).",
)
@click.option("--kind", type=click.Choice(KIND_NAMES), help="Only events of this kind.")
@click.option("--state", is_flag=True, help="Show the pair's roles and balance after each event.")
@click.option(
    "--late-after",
    type=click.FloatRange(min=0),
    default=LATE_AFTER.total_seconds() / 3600,
    show_default=True,
    metavar="HOURS",
    help="Mark an event late when it was recorded this much later than the pair's "
    "events before it.",
)
@format_option("text", "json")
@pass_session
def replay_command(
    session: Session,
    *,
    pair: str,
    as_of: datetime | None,
    as_of_occurred: datetime | None,
    session_id: str | None,
    student: str | None,
    goal: str | None,
    kind: str | None,
    state: bool,
    late_after: float,
    fmt: str,
) -> None:
    """Replay a pair's history, event by event, as the record knew it.

    Each event shows its position in the record, when it was recorded, when it
    happened, who recorded it and what happened, with its free texts (a forgotten
    person's texts read as erased). Corrections and retractions are shown under the
    entries they change, and where they were recorded. An event is marked late when
    it was recorded more than --late-after hours later than the pair's events before
    it. Times are in the course's time zone.

    \b
    Example:
      peerlog replay p03 --session p03-s006
      peerlog replay p03 --as-of 2026-03-18 --student p03-a --state
    """
    session.must_exist()
    source = session.record().events
    require_pair(source, pair)
    zone = pair_zone(source, pair)
    window = AsOf(on_the_ward(as_of, zone), on_the_ward(as_of_occurred, zone))
    try:
        history = timeline(
            source, pair, window, late_after=timedelta(hours=late_after), with_state=state
        )
    except NotInRecord:
        raise Failed(not_formed_yet(source, pair, window, zone)) from None
    if session_id is not None and not any(i.session_id == session_id for i in history.items):
        raise Failed(
            _("pair %(pair)s has no session %(session_id)s (as of then)")
            % {"pair": pair, "session_id": session_id}
        )
    if student is not None and not any(student in i.people for i in history.items):
        raise Failed(
            _("no event of pair %(pair)s names %(student)s (as of then)")
            % {"pair": pair, "student": student}
        )
    if goal is not None and history.course_id is not None:
        course = require_course(source, history.course_id)
        if goal not in course.goals:
            raise Failed(course.unknown_goal(goal))
    items = history.select(session=session_id, student=student, goal=goal, kind=kind)
    if fmt == "json":
        echo_json(
            {
                "pair_id": history.pair_id,
                "course_id": history.course_id,
                **history.as_of.describe(datetime.now(UTC)),
                "late_after_hours": late_after,
                "events_in_record": history.total,
                "events": [item.as_dict() for item in items],
            }
        )
        return
    names = display_names(source, history.course_id) if history.course_id else {}
    click.echo(
        render(
            history,
            items,
            names,
            zone,
            session_id=session_id,
            student=student,
            goal=goal,
            kind=kind,
        )
    )


def render(
    history: Timeline,
    items: list[Item],
    names: Names,
    zone: ZoneInfo,
    *,
    session_id: str | None,
    student: str | None,
    goal: str | None = None,
    kind: str | None = None,
) -> str:
    lines = [
        _heading(history, items, zone, session_id=session_id, student=student, goal=goal, kind=kind)
    ]
    people = sorted({person for item in items for person in item.people} & set(names))
    if people:
        lines.append(_("People: %(people)s.") % {"people": all_named(people, names)})
    lines.append("")
    ref_width = max([len(i.event) for i in items] + [5])
    actor_width = min(ACTOR_WIDTH, max([len(i.actor) for i in items] + [5]))
    recorded = [when(i.recorded_at, zone=zone) for i in items]
    occurred = [when(i.occurred_at, zone=zone) for i in items]
    width = max([len(t) for t in recorded + occurred] + [19])
    event, at, happened, actor = _("event"), _("recorded"), _("occurred"), _("actor")
    lines.append(
        f"{event:<{ref_width}}  {at:<{width}}  {happened:<{width}}  "
        f"{actor:<{actor_width}}  {_('what happened')}"
    )
    indent = " " * (ref_width + 2 + width + 2 + width + 2 + actor_width + 2)
    for item, at, happened in zip(items, recorded, occurred, strict=True):
        lines.append(
            f"{item.event:<{ref_width}}  {at:<{width}}  "
            f"{happened:<{width}}  {item.actor:<{actor_width}}  {item.summary}"
        )
        lines.extend(indent + detail for detail in details(item))
    return "\n".join(lines)


def not_formed_yet(source: EventSource, pair: str, window: AsOf, zone: ZoneInfo) -> str:
    """Why a pair is not there as of a time, and, for --as-of alone, what was meant."""
    if window.recorded is None or window.occurred is not None:
        when_ = when(window.occurred, zone=zone)
        return f"pair {pair} had not been formed by {when_}"
    first = source.records(pair_stream(pair))[0].recorded_at
    return (
        f"pair {pair} was not in the record yet by {when(window.recorded, zone=zone)}: its "
        f"first event was recorded at {when(first, zone=zone)}. --as-of asks what had been "
        "recorded by then; to see what had happened by then, as it was recorded since, "
        "use --as-of-occurred instead"
    )


def _heading(
    history: Timeline,
    items: list[Item],
    zone: ZoneInfo,
    *,
    session_id: str | None,
    student: str | None,
    goal: str | None = None,
    kind: str | None = None,
) -> str:
    course = _(" (course %(course)s)") % {"course": history.course_id} if history.course_id else ""
    view = []
    if history.as_of.recorded is not None:
        view.append(
            _("as recorded by %(when)s") % {"when": when(history.as_of.recorded, zone=zone)}
        )
    if history.as_of.occurred is not None:
        view.append(
            _("what had happened by %(when)s") % {"when": when(history.as_of.occurred, zone=zone)}
        )
    if session_id is not None:
        view.append(_("session %(session)s") % {"session": session_id})
    if student is not None:
        view.append(_("events naming %(student)s") % {"student": student})
    if goal is not None:
        view.append(_("events about goal %(goal)s") % {"goal": goal})
    if kind is not None:
        view.append(_("%(kind)s events") % {"kind": kind})
    shown = (
        _("; %(count)s shown (%(view)s)") % {"count": len(items), "view": ", ".join(view)}
        if view
        else ""
    )
    late = f"{history.late_after.total_seconds() / 3600:g} h"
    total = ngettext(
        "Pair %(pair)s%(course)s: %(count)s event in the record%(shown)s.",
        "Pair %(pair)s%(course)s: %(count)s events in the record%(shown)s.",
        history.total,
    ) % {"pair": history.pair_id, "course": course, "count": history.total, "shown": shown}
    return (
        total
        + "\n"
        + _(
            "Times in %(zone)s; late = recorded more than %(late)s later than the events before it."
        )
        % {"zone": zone_words(zone), "late": late}
    )


def details(item: Item) -> list[str]:
    """The lines under an event: its texts, lateness, what changed it, the state."""
    out = []
    for text in item.texts:
        value = str(text.value) if text.erased else f'"{text.value}"'
        label = TEXT_LABELS.get(text.label, text.label)
        out.append(f"{label}: {value}".replace("\n", "\n    "))
    if item.late_by is not None:
        out.append(
            _("LATE: recorded %(duration)s later than the events before it")
            % {"duration": duration(item.late_by)}
        )
    for link in item.changed_by:
        after = duration(link.occurred_at - item.occurred_at)
        out.append(
            _("%(kind)s at %(event)s (%(after)s later): %(summary)s")
            % {
                "kind": CHANGE_KINDS.get(link.kind, link.kind),
                "event": link.event,
                "after": after,
                "summary": link.summary,
            }
        )
    if item.state is not None:
        out.append(state_line(item.state))
    return out


def state_line(state: PairState) -> str:
    session = (
        _("session %(session)s") % {"session": state.session_id}
        if state.session_id
        else _("no session open")
    )
    roles = ", ".join(f"{who} {ROLES.get(role, role)}" for who, role in state.roles.items())
    performed = ", ".join(f"{who} {n}" for who, n in state.performer.items())
    given = ", ".join(f"{who} {n}" for who, n in state.feedback_given.items())
    return _(
        "state: %(session)s; performed %(performed)s (balance %(performer_balance)s); "
        "feedback given %(given)s (balance %(feedback_balance)s)"
    ) % {
        "session": f"{session}: {roles}" if roles else session,
        "performed": performed,
        "performer_balance": ratio(state.performer_balance),
        "given": given,
        "feedback_balance": ratio(state.feedback_balance),
    }
