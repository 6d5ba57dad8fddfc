"""``peerlog dashboard``: the supervisor overview, flagged pairs first."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import click

from peerlog import i18n
from peerlog.cli.errors import Failed
from peerlog.cli.output import echo_json, format_option, when
from peerlog.cli.progress import Progress, progress_option, wanted
from peerlog.cli.session import Session, pass_session
from peerlog.cli.times import MOMENT, WardTime, on_the_ward
from peerlog.i18n import N_, _, ngettext, ratio, shown
from peerlog.projections import Runner, Thresholds, directory, overview
from peerlog.projections.local_time import course_zone, default_zone
from peerlog.projections.names import Names, all_named, display_names
from peerlog.projections.overview import PairOverview
from peerlog.projections.source import EventSource

DEFAULTS = Thresholds()


def threshold_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """One option per threshold of the overview's flags."""
    options = [
        ("--performer-balance", "performer_balance", float,
         N_("Flag a pair whose performer balance over its last sessions is below this.")),
        ("--balance-sessions", "balance_sessions", int,
         N_("How many of a pair's last sessions that performer balance is taken over.")),
        ("--reflection-sessions", "reflection_sessions", int,
         N_("Flag a pair without a reflection in this many last closed sessions.")),
        ("--feedback-balance", "feedback_balance", float,
         N_("Flag one-way peer feedback: feedback balance below this...")),
        ("--min-peer-feedback", "min_peer_feedback", int,
         N_("...with at least this many peer feedbacks.")),
        ("--recent-days", "recent_days", int,
         N_("Sessions in this many last days count as recent.")),
    ]  # fmt: skip
    for flag, name, kind, text in reversed(options):
        function = click.option(
            flag, name, type=kind, default=getattr(DEFAULTS, name), show_default=True, help=text
        )(function)
    return function


def bring_up_to_date(runner: Runner, *, show: bool) -> None:
    """Run the projections up to the head of the record, with progress if wanted."""
    bar = Progress("projections", runner.head() or None, enabled=show)

    def report(what: str, position: int, head: int) -> None:
        del what, head
        bar.reached(position)

    runner.progress = report
    try:
        runner.run()
    finally:
        runner.progress = None
    if bar.done:
        bar.finish()


@click.command("dashboard", short_help="The supervisor overview, flagged pairs first.")
@click.option("--supervisor", metavar="ID", help="Only this supervisor's pairs.")
@click.option(
    "--now",
    type=MOMENT,
    help="The moment to look from (flags and recent sessions depend on it); without a UTC "
    "offset, on the clock of the pairs' course (else PEERLOG_TIME_ZONE). [default: now]",
)
@click.option(
    "--update/--no-update",
    default=True,
    show_default=True,
    help="Bring the read models up to date first; with --no-update, say how far behind they are.",
)
@click.option("--all", "include_dissolved", is_flag=True, help="Include dissolved pairs.")
@threshold_options
@progress_option
@format_option("text", "json")
@pass_session
def dashboard_command(
    session: Session,
    /,
    *,
    supervisor: str | None,
    now: datetime | None,
    update: bool,
    include_dissolved: bool,
    progress: bool | None,
    fmt: str,
    **limits: Any,
) -> None:
    """The supervisor overview: each pair's sessions, activity and balance, and flags for
    who needs attention (imbalanced pairs, missing reflections, one-way feedback, goals
    without evidence past mid-placement), flagged pairs first.

    \b
    Example:
      peerlog dashboard
      peerlog dashboard --supervisor sup-1-1 --now 2026-04-24T18:00:00Z
    """
    session.must_exist()
    runner = session.runner()
    if update:
        bring_up_to_date(runner, show=wanted(asked=progress))
    # The read models as the primary's runner left them, read where reads are read.
    statuses = runner.status()
    source = session.read_models(after=min(s.position for s in statuses))
    position, head = source.position, source.head
    if isinstance(now, WardTime):
        now = on_the_ward(now, ward_zone(session.events(), supervisor))
    moment = now or datetime.now(UTC)
    thresholds = Thresholds(**limits)
    pairs = overview(
        source.store,
        now=moment,
        supervisor=supervisor,
        thresholds=thresholds,
        include_dissolved=include_dissolved,
    )
    if supervisor is not None and not pairs:
        raise Failed(
            _("no pairs supervised by '%(supervisor)s' in the read models")
            % {"supervisor": supervisor}
        )
    if fmt == "json":
        echo_json(
            {
                "now": moment.isoformat(),
                "position": position,
                "head": head,
                "lag": head - position,
                "thresholds": dataclasses.asdict(thresholds),
                "pairs": [p.as_dict() for p in pairs],
            }
        )
        return
    click.echo(
        render(
            pairs, moment, position, head, thresholds, **people_and_zones(session.events(), pairs)
        )
    )


def ward_zone(source: EventSource, supervisor: str | None) -> ZoneInfo:
    """The zone a ``--now`` without an offset is read in: that of the courses of the
    pairs (the supervisor's), where they share one; else the default."""
    courses = {
        p.course_id
        for p in directory.pairs(source)
        if supervisor is None or supervisor in p.supervisors
    }
    zones = {course_zone(source, course) for course in courses}
    return zones.pop() if len(zones) == 1 else default_zone(source.settings)


def people_and_zones(source: EventSource, pairs: list[PairOverview]) -> dict[str, Any]:
    """The names and time zones of the pairs' courses (``render``'s keywords)."""
    courses = {p.course_id for p in pairs}
    zones = {course: course_zone(source, course) for course in courses}
    shared = set(zones.values())
    return {
        "names": display_names(source, courses),
        "zones": zones,
        "zone": shared.pop() if len(shared) == 1 else default_zone(source.settings),
    }


def render(
    pairs: list[PairOverview],
    now: datetime,
    position: int,
    head: int,
    limits: Thresholds,
    *,
    names: Names,
    zones: Mapping[str, ZoneInfo],
    zone: ZoneInfo,
) -> str:
    """The overview in words: times in each pair's course's zone (the heading's in
    ``zone``), people by their names."""
    flagged = sum(1 for p in pairs if p.flags)
    counted = {
        "when": when(now, seconds=False, zone=zone),
        "pairs": ngettext("%(count)s pair", "%(count)s pairs", len(pairs))
        % {"count": i18n.number(len(pairs))},
        "flagged": ngettext("%(count)s needs attention", "%(count)s need attention", flagged)
        % {"count": i18n.number(flagged)},
    }
    where = {"position": i18n.number(position), "head": i18n.number(head)}
    lines = [
        _("Supervisor overview at %(when)s: %(pairs)s, %(flagged)s.") % counted,
        _("Read models at position %(position)s of %(head)s (up to date).") % where
        if position >= head
        else ngettext(
            "Read models at position %(position)s of %(head)s: %(lag)s event behind.",
            "Read models at position %(position)s of %(head)s: %(lag)s events behind.",
            head - position,
        )
        % {**where, "lag": i18n.number(head - position)},
    ]
    for pair in pairs:
        latest = when(pair.latest_activity_at, seconds=False, zone=zones.get(pair.course_id, zone))
        lines += [
            "",
            _("%(pair)s  course %(course)s  students %(students)s  supervisor %(supervisors)s")
            % {
                "pair": pair.pair_id,
                "course": pair.course_id,
                "students": all_named(pair.students, names),
                "supervisors": all_named(pair.supervisors, names),
            },
            "    "
            + _(
                "sessions %(sessions)s (%(recent)s in the last %(days)s days), "
                "last activity %(latest)s"
            )
            % {
                "sessions": pair.sessions,
                "recent": pair.recent_sessions,
                "days": limits.recent_days,
                "latest": latest,
            },
            "    "
            + _("performer balance %(performer)s, feedback balance %(feedback)s")
            % {
                "performer": ratio(pair.performer_balance),
                "feedback": ratio(pair.feedback_balance),
            },
        ]
        lines += [f"    ! {flag.code}: {shown(flag.message)}" for flag in pair.flags]
    if not pairs:
        lines += ["", _("No pairs to show.")]
    return "\n".join(lines)
