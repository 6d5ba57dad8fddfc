"""``peerlog demo``: seed a realistic placement, run the projections, show the dashboard."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

import click

from peerlog import CommandRejected, PeerLog, i18n
from peerlog.cli import dashboard
from peerlog.cli.demo import notable_pairs, placement, start_of_demo
from peerlog.cli.errors import FAILED, Failed
from peerlog.cli.progress import Progress, progress_option, wanted
from peerlog.cli.session import Session, pass_session
from peerlog.i18n import _, ngettext
from peerlog.projections import NotInRecord, Thresholds, overview
from peerlog.projections.source import EventSource
from peerlog.projections.timeline import timeline

FUTURE_TOLERANCE: Final = timedelta(minutes=5)


@click.command("demo", short_help="Seed a demo placement and show what peerlog makes of it.")
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the generator.")
@click.option(
    "--start",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The Monday the placement starts. [default: so that it ended last Friday]",
)
@click.option("--pairs", type=click.IntRange(1, 600), default=6, show_default=True)
@click.option("--weeks", type=click.IntRange(1, 40), default=8, show_default=True)
@progress_option
@pass_session
def demo_command(
    session: Session,
    *,
    seed: int,
    start: datetime | None,
    pairs: int,
    weeks: int,
    progress: bool | None,
) -> None:
    """Seed a realistic placement into a fresh record and show what peerlog makes of it.

    A course with 12 goals in 5 areas and pairs of students (6 by default) working
    shifts over the weeks (8): check-ins, steps, role switches, feedback, Gibbs
    reflections, check-outs, mid-point and final assessments. Some pairs need
    attention: one student doing most of the performing, a pair that stops
    reflecting, one-way feedback, a step corrected days later and a reflection
    recorded late. The same --seed and --start always give the same record (ids,
    times, texts, positions; only the recording times differ).

    Then the projections are run, the supervisor overview is shown, and the next
    commands to try are printed. Seeding a record that already holds this demo
    changes nothing; a record that holds anything else is left alone.

    \b
    Example:
      peerlog demo
      peerlog --db sqlite:////tmp/demo.sqlite3 demo --seed 7 --start 2026-03-02
    """
    first_day = start.date() if start is not None else start_of_demo(weeks=weeks)
    commands = list(placement(seed=seed, start=first_day, pairs=pairs, weeks=weeks))
    _check_not_in_future(commands, first_day)
    app = session.app(announce=False)  # the demo says where it seeded
    seeded = _seed(app, commands, session.where, show=wanted(asked=progress))
    runner = session.runner()
    runner.run()
    now = datetime.now(UTC)
    shown = overview(runner.store, now=now)
    head = runner.head()
    click.echo(seeded)
    click.echo("")
    click.echo(
        dashboard.render(
            shown,
            now,
            head,
            head,
            Thresholds(),
            **dashboard.people_and_zones(session.events(), shown),
        )
    )
    click.echo("")
    click.echo(_next_steps(session, pairs))


def _check_not_in_future(commands: list[dict[str, Any]], first_day: date) -> None:
    last = max(datetime.fromisoformat(c["occurred_at"]) for c in commands)
    if last > datetime.now(UTC) + FUTURE_TOLERANCE:
        raise Failed(
            _(
                "a placement starting on %(first)s runs until %(last)s, which is in the "
                "future, and the record takes nothing that has not happened yet; give an "
                "earlier --start (or leave it out)"
            )
            % {"first": first_day, "last": f"{last:%Y-%m-%d}"}
        )


def _seed(app: PeerLog, commands: list[dict[str, Any]], where: str, *, show: bool) -> str:
    """Record the commands into an empty record; say what was done."""
    if app.store.max_notification_id():
        if app.store.find_command(commands[0]["command_id"]) is None:
            raise Failed(
                _(
                    "the record at %(where)s is not empty and holds no demo placement; the "
                    "demo seeds a fresh record, for example: "
                    "peerlog --db sqlite:////tmp/peerlog-demo.sqlite3 demo"
                )
                % {"where": where}
            )
        return _(
            "The record at %(where)s already holds a demo placement; showing it (to seed "
            "another one, give a fresh --db)."
        ) % {"where": where}
    bar = Progress("seeding", len(commands), enabled=show)
    problems = []
    for command in commands:
        bar.advance()
        try:
            app.execute(command)
        except CommandRejected as rejected:
            problems.append(f"{command['command_id']}: {rejected.describe()}")
    bar.finish(len(commands))
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        click.echo(
            ngettext(
                "Error: %(count)s demo command was rejected",
                "Error: %(count)s demo commands were rejected",
                len(problems),
            )
            % {"count": len(problems)},
            err=True,
        )
        click.get_current_context().exit(FAILED)
    courses = {c["course_id"] for c in commands if c["command"] == "open_course"}
    pair_count = sum(1 for c in commands if c["command"] == "form_pair")
    recorded = len(commands) - len(problems)
    return _(
        "Seeded a placement into %(where)s: %(courses)s, %(pairs)s, %(commands)s recorded."
    ) % {
        "where": where,
        "courses": ngettext("%(count)s course", "%(count)s courses", len(courses))
        % {"count": i18n.number(len(courses))},
        "pairs": ngettext("%(count)s pair", "%(count)s pairs", pair_count)
        % {"count": i18n.number(pair_count)},
        "commands": ngettext("%(count)s command", "%(count)s commands", recorded)
        % {"count": i18n.number(recorded)},
    }


def _next_steps(session: Session, pairs: int) -> str:
    """The commands to try next, with the ids of this record."""
    prefix = "peerlog" + (f" --db {session.where}" if session.db_from_option else "")
    notable = notable_pairs(pairs)
    by_trait = {trait: pair for pair, trait in notable.items()}
    imbalanced = by_trait.get(notable_pairs(6).get("p02", ""), "p01")
    late = by_trait.get(notable_pairs(6).get("p03", ""))
    lines = [_("Next, try:")]
    if late is not None:
        lines += _late_pair_steps(session.events(), prefix, late)
    lines += [
        f"  {prefix} audit {imbalanced}-a --course vfu-1",
        f"  {prefix} audit {imbalanced}-a --course vfu-1 --format html > {imbalanced}-a.html",
        f"  {prefix} balance {imbalanced}",
        f"  {prefix} dashboard --supervisor sup-1-1",
        f"  {prefix} verify",
        _("See docs/cli.md for every command."),
    ]
    return "\n".join(lines)


def _late_pair_steps(source: EventSource, prefix: str, pair_id: str) -> list[str]:
    try:
        history = timeline(source, pair_id)
    except NotInRecord:
        return []
    corrected = next((i for i in history.items if i.type == "EntryCorrected"), None)
    late = next((i for i in history.items if i.late), None)
    lines = []
    if corrected is not None and corrected.session_id is not None:
        lines.append(f"  {prefix} replay {pair_id} --session {corrected.session_id}")
    if late is not None and late.session_id is not None:
        lines.append(f"  {prefix} replay {pair_id} --session {late.session_id} --state")
    return lines
