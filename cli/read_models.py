"""``peerlog projections ...``: the read models' status, running, rebuilding, access."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import click

from peerlog import i18n
from peerlog.cli.errors import Failed
from peerlog.cli.group import OrderedGroup
from peerlog.cli.output import echo_json, format_option, table, when
from peerlog.cli.progress import Progress, progress_option, wanted
from peerlog.cli.session import Session, pass_session
from peerlog.i18n import _, pgettext
from peerlog.projections import PROJECTIONS, Runner
from peerlog.projections.store import PostgresReadStore


@click.group(
    "projections", cls=OrderedGroup, short_help="Status, running and rebuilding of the read models."
)
def projections_group() -> None:
    """The read models: how far they are, bringing them up to date, rebuilding them.

    \b
    Example:
      peerlog projections status
      peerlog projections run --follow
    """


@projections_group.command("status")
@format_option("text", "json")
@pass_session
def status_command(session: Session, /, *, fmt: str) -> None:
    """How far each projection has got, and how far behind the record it is.

    \b
    Example:
      peerlog projections status
    """
    session.must_exist()
    statuses = session.runner().status()
    if fmt == "json":
        echo_json([s.as_dict() for s in statuses])
        return
    rows = [
        [
            s.name,
            s.position,
            s.head,
            s.lag,
            _("%(stored)s (rebuild due: %(version)s)")
            % {"stored": s.stored_version, "version": s.version}
            if s.needs_rebuild
            else s.version,
            when(s.updated_at),
        ]
        for s in statuses
    ]
    headings = [
        pgettext("column", "projection"),
        pgettext("column", "position"),
        pgettext("column", "head"),
        pgettext("column", "lag"),
        pgettext("column", "version"),
        pgettext("column", "updated (UTC)"),
    ]
    click.echo(table(rows, headings))


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event set by Ctrl-C (or SIGTERM): the runner finishes its batch and stops."""
    stop = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _progress(runner: Runner, label: str, *, show: bool) -> Progress:
    bar = Progress(label, runner.head() or None, enabled=show)

    def report(what: str, position: int, head: int) -> None:
        del what
        bar.total = head or None
        bar.reached(position)

    runner.progress = report
    return bar


@projections_group.command("run")
@click.option("--follow", is_flag=True, help="Keep following new events until stopped (Ctrl-C).")
@progress_option
@pass_session
def run_command(session: Session, /, *, follow: bool, progress: bool | None) -> None:
    """Bring the read models up to date with the record.

    With --follow, keep following new events as they are recorded (PostgreSQL wakes on
    LISTEN/NOTIFY, SQLite polls) until Ctrl-C or SIGTERM: the current batch is finished
    and written, then the runner stops.

    \b
    Example:
      peerlog projections run
      peerlog projections run --follow
    """
    runner = session.runner()
    before = {s.name: s.position for s in runner.status()}
    bar = _progress(runner, "projections", show=wanted(asked=progress))
    if follow:
        click.echo(_("following the record; Ctrl-C stops"), err=True)
        with stop_on_signals() as stop:
            runner.run(follow=True, stop=stop)
    else:
        runner.run()
    if bar.done:
        bar.finish()
    for status in runner.status():
        start = before.get(status.name, 0)
        values = {
            "name": status.name,
            "start": i18n.number(start),
            "position": i18n.number(status.position),
            "head": i18n.number(status.head),
        }
        moved = (
            _("%(name)s: from %(start)s to %(position)s of %(head)s")
            if status.position != start
            else _("%(name)s: at %(position)s (already up to date) of %(head)s")
        )
        click.echo(moved % values)
    if follow:
        click.echo(_("stopped"))


@projections_group.command("rebuild")
@click.argument("names", nargs=-1, type=click.Choice([p.name for p in PROJECTIONS]))
@click.option(
    "--processes",
    type=click.IntRange(min=1),
    default=None,
    help="Processes to rebuild in: 1 folds every projection in one pass; more give each "
    "projection a process of its own. Default: one per projection, as far as there are "
    "cores, for a record of 200,000 events or more; else 1.",
)
@progress_option
@pass_session
def rebuild_command(
    session: Session,
    /,
    *,
    names: tuple[str, ...],
    processes: int | None,
    progress: bool | None,
) -> None:
    """Rebuild projections from the first event (all of them, or those named).

    The rebuilt tables replace the live ones in one transaction at the end; readers
    see the old tables until then.

    \b
    Example:
      peerlog projections rebuild
      peerlog projections rebuild participation
    """
    runner = session.runner()
    bar = _progress(runner, "rebuilding", show=wanted(asked=progress))
    done = runner.rebuild(names or None, processes=processes)
    if bar.done:
        bar.finish()
    for name, position in done.items():
        click.echo(
            _("%(name)s: rebuilt up to position %(position)s")
            % {"name": name, "position": i18n.number(position)}
        )


@projections_group.command("grant-reader")
@click.argument("role")
@pass_session
def grant_reader_command(session: Session, /, *, role: str) -> None:
    """Let a PostgreSQL role read the read models, and nothing else of peerlog's.

    The role is created (without login) if it does not exist; it may read every
    read-model table, also those a rebuild makes later, and has no rights on the
    event store. Run it as the role peerlog runs as.

    \b
    Example:
      peerlog projections grant-reader dashboard
    """
    store = session.runner().store
    if not isinstance(store, PostgresReadStore):
        raise Failed(
            _(
                "grant-reader is for PostgreSQL: an SQLite file has no roles (whoever can "
                "read the file can read all of it)"
            )
        )
    store.grant_reader(role)
    click.echo(
        _(
            "role %(role)s may now read the tables in schema %(schema)s and nothing in "
            "%(store)s; give it a login (ALTER ROLE %(role)s LOGIN PASSWORD '...') "
            "or grant it to a login role"
        )
        % {"role": role, "schema": store.schema, "store": store.datastore.schema}
    )
