"""``peerlog verify``: check the record's hash chains and command log."""

from __future__ import annotations

import click

from peerlog.cli.errors import FAILED, Failed
from peerlog.cli.output import echo_json, format_option
from peerlog.cli.session import Session, pass_session


@click.command("verify", short_help="Check that the stored record was not altered.")
@click.option("--pair", "pair_id", metavar="PAIR", help="Check only this pair's events.")
@format_option("text", "json")
@pass_session
def verify_command(session: Session, /, *, pair_id: str | None, fmt: str) -> None:
    """Check that the stored record was not altered.

    Recomputes every event's link in its stream's hash chain and checks that no event
    is missing or was inserted. Exits with 1 and names the first bad event if the
    record was tampered with.

    \b
    Example:
      peerlog verify
      peerlog verify --pair p03
    """
    report = session.app().verify(pair_id)
    if pair_id is not None and report.events == 0:
        raise Failed(f"pair '{pair_id}' is not in the record")
    first = report.first_problem
    if fmt == "json":
        echo_json(
            {
                "verified": report.verified,
                "streams": report.streams,
                "events": report.events,
                "digest": report.digest,
                "first_problem": first.describe() if first else None,
                "problems": [p.describe() for p in report.problems],
            }
        )
    elif first is None and pair_id is not None:
        click.echo(f"verified: pair {pair_id}: {report.events:,} events, hash chain intact")
        click.echo(f"digest: {report.digest}")
    elif first is None:
        click.echo(
            f"verified: {report.events:,} events in {report.streams:,} streams, "
            "hash chains and command log intact"
        )
        click.echo(f"digest: {report.digest}")
    else:
        click.echo(f"NOT VERIFIED: {len(report.problems)} problem(s) found")
        click.echo(f"first bad event: {first.describe()}")
        for problem in report.problems:
            if problem is not first:
                click.echo(f"also: {problem.describe()}")
    if not report.verified:
        click.get_current_context().exit(FAILED)
