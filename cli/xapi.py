"""``peerlog xapi ...``: keep a learning record store in step with the record."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TextIO

import click

from peerlog import i18n
from peerlog.cli.errors import Failed
from peerlog.cli.group import OrderedGroup
from peerlog.cli.output import echo_json, format_option, table, when
from peerlog.cli.progress import Progress, progress_option, wanted
from peerlog.cli.read_models import stop_on_signals
from peerlog.cli.session import Session, pass_session
from peerlog.i18n import _, ngettext, pgettext, shown_error
from peerlog.projections.xapi import (
    Forwarder,
    ForwarderBusy,
    ForwardingFailed,
    ForwardingStore,
    LrsClient,
    Produced,
    Refusal,
    export,
    xapi_settings,
)
from peerlog.projections.xapi.lrs import describe, statements_url


def write_statements(produced: Iterator[Produced], out: TextIO) -> int:
    """Statements as JSON lines, in the order a forwarder sends them."""
    count = 0
    for statement in produced:
        out.write(json.dumps(statement.statement, ensure_ascii=False) + "\n")
        count += 1
    return count


def export_statements(session: Session, pair_id: str | None, out: TextIO) -> int:
    """``peerlog export xapi``."""
    source = session.record().events
    settings = xapi_settings(source)
    return write_statements(export(source, settings, pair_id), out)


@click.group("xapi", cls=OrderedGroup, short_help="Send the record to a learning record store.")
def xapi_group() -> None:
    """Statements for a learning record store (xAPI), sent exactly once.

    The statements follow peerlog's xAPI profile (docs/xapi.md): people are accounts
    with opaque names, without names or free texts unless the deployment's settings
    say otherwise. "peerlog export xapi" writes them as JSON lines.

    \b
    Example:
      peerlog xapi forward --lrs https://lrs.example.edu/xAPI/
      peerlog xapi status
    """


def _lrs_url(value: str | None) -> str:
    if not value:
        raise click.UsageError(
            _("name the learning record store: --lrs URL or PEERLOG_XAPI_LRS_URL")
        )
    try:
        statements_url(value)
    except ValueError as exc:
        raise click.BadParameter(shown_error(exc), param_hint="--lrs") from None
    return value


LRS_OPTION = click.option(
    "--lrs",
    "lrs",
    metavar="URL",
    envvar="PEERLOG_XAPI_LRS_URL",
    show_envvar=True,
    help="The store's xAPI endpoint, e.g. https://lrs.example.edu/xAPI/ (credentials from "
    "PEERLOG_XAPI_LRS_USERNAME and PEERLOG_XAPI_LRS_PASSWORD).",
)


@xapi_group.command("forward")
@LRS_OPTION
@click.option("--follow", is_flag=True, help="Keep sending new statements until stopped (Ctrl-C).")
@click.option(
    "--batch-size",
    type=click.IntRange(1, 10_000),
    default=200,
    show_default=True,
    help="Statements per request.",
)
@click.option(
    "--retries",
    type=click.IntRange(0, 100),
    default=8,
    show_default=True,
    help="Tries after the first when the store cannot be reached or answers 429 or 5xx "
    "(with growing pauses, up to 30 s).",
)
@progress_option
@pass_session
def forward_command(
    session: Session,
    /,
    *,
    lrs: str | None,
    follow: bool,
    batch_size: int,
    retries: int,
    progress: bool | None,
) -> None:
    """Send every statement the store has not had yet.

    Statement ids are derived from the events, and the position reached is kept in the
    record after every batch the store took, so a forwarder stopped or killed at any
    moment and started again sends what is missing and nothing twice. A statement the
    store refuses is reported with the store's reason (and kept in "peerlog xapi
    status"); the others are sent. When a person is forgotten, every statement about
    them is voided. With --follow, new events are sent as they are recorded, until
    Ctrl-C or SIGTERM.

    \b
    Example:
      peerlog xapi forward --lrs https://lrs.example.edu/xAPI/
      peerlog xapi forward --lrs https://lrs.example.edu/xAPI/ --follow
    """
    url = _lrs_url(lrs)
    source = session.events()
    settings = xapi_settings(source)
    client = LrsClient.from_settings(url, source.settings, settings.version)

    def refused(refusal: Refusal) -> None:
        click.echo(
            _("refused: statement %(statement)s (event %(event)s): %(status)s %(reason)s")
            % {
                "statement": refusal.statement_id,
                "event": refusal.event,
                "status": refusal.status,
                "reason": refusal.reason,
            },
            err=True,
        )

    bar = Progress("statements", None, enabled=wanted(asked=progress))

    def report_progress(sent: int, position: int, head: int) -> None:
        del sent
        bar.total = head or None
        bar.reached(position)

    forwarder = Forwarder(
        source,
        client,
        settings,
        batch_size=batch_size,
        retries=retries,
        progress=report_progress,
        on_refused=refused,
    )
    try:
        if follow:
            click.echo(
                _("following the record, sending to %(lrs)s; Ctrl-C stops") % {"lrs": client.where},
                err=True,
            )
            with stop_on_signals() as stop:
                report = forwarder.run(follow=True, stop=stop)
        else:
            report = forwarder.run()
    except (ForwarderBusy, ForwardingFailed) as exc:
        raise Failed(shown_error(exc)) from None
    finally:
        forwarder.close()
    if bar.done:
        bar.finish()
    where = {
        "lrs": client.where,
        "start": i18n.number(report.start),
        "position": i18n.number(report.position),
        "head": i18n.number(report.head),
    }
    moved = (
        _("from position %(start)s to %(position)s of %(head)s")
        if report.position != report.start
        else _("at position %(position)s (already up to date) of %(head)s")
    ) % where
    sent = ngettext(
        "%(lrs)s: %(count)s statement sent", "%(lrs)s: %(count)s statements sent", report.sent
    ) % {**where, "count": i18n.number(report.sent)}
    refused_count = len(report.refused)
    refusals = (
        ngettext(", %(count)s refused", ", %(count)s refused", refused_count)
        % {"count": i18n.number(refused_count)}
        if refused_count
        else ""
    )
    click.echo(f"{sent}{refusals}; {moved}")


@xapi_group.command("status")
@click.option("--lrs", metavar="URL", help="List the statements this store refused.")
@format_option("text", "json")
@pass_session
def status_command(session: Session, /, *, lrs: str | None, fmt: str) -> None:
    """How far forwarding to each store has got, and what a store refused.

    \b
    Example:
      peerlog xapi status
      peerlog xapi status --lrs https://lrs.example.edu/xAPI/
    """
    source = session.events()
    head = source.head()
    read_store = source.read_store()
    try:
        tracking = ForwardingStore(read_store)
        if lrs is not None:
            target = describe(statements_url(_lrs_url(lrs)))
            refusals = tracking.refusals(target)
            if fmt == "json":
                echo_json(
                    [
                        {
                            "statement_id": r.statement_id,
                            "event": r.event,
                            "position": r.position,
                            "status": r.status,
                            "reason": r.reason,
                            "refused_at": r.refused_at.isoformat(),
                        }
                        for r in refusals
                    ]
                )
                return
            if not refusals:
                click.echo(_("%(lrs)s refused no statement") % {"lrs": target})
                return
            rows = [[r.event, r.statement_id, r.status, r.reason] for r in refusals]
            headings = [
                pgettext("column", "event"),
                pgettext("column", "statement"),
                pgettext("column", "status"),
                pgettext("column", "reason"),
            ]
            click.echo(table(rows, headings))
            return
        forwarded = tracking.all_forwarded()
        counts = {f.target: len(tracking.refusals(f.target)) for f in forwarded}
    finally:
        read_store.close()
    if fmt == "json":
        echo_json(
            [
                {
                    "lrs": f.target,
                    "position": f.position,
                    "head": head,
                    "lag": max(0, head - f.position),
                    "statements": f.statements,
                    "refused": counts[f.target],
                    "updated_at": f.updated_at.isoformat() if f.updated_at else None,
                }
                for f in forwarded
            ]
        )
        return
    if not forwarded:
        click.echo(_("nothing was forwarded yet; see 'peerlog xapi forward --help'"))
        return
    rows = [
        [
            f.target,
            f.position,
            head,
            max(0, head - f.position),
            f.statements,
            counts[f.target],
            when(f.updated_at),
        ]
        for f in forwarded
    ]
    headings = [
        pgettext("column", "lrs"),
        pgettext("column", "position"),
        pgettext("column", "head"),
        pgettext("column", "lag"),
        pgettext("column", "statements"),
        pgettext("column", "refused"),
        pgettext("column", "updated (UTC)"),
    ]
    click.echo(table(rows, headings))
