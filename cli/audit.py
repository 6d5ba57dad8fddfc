"""``peerlog audit STUDENT --course C``: what the record shows for a student, goal by goal."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from peerlog import i18n
from peerlog.cli.errors import FAILED, cannot_write
from peerlog.cli.listing import require_course, require_student
from peerlog.cli.output import format_option, to_json
from peerlog.cli.session import Session, pass_session
from peerlog.cli.times import as_of_options, on_the_ward
from peerlog.domain.vocabulary import PAIR_STREAM_PREFIX
from peerlog.i18n import _, ngettext
from peerlog.projections import AsOf, audit
from peerlog.projections.asof import audit_weeks
from peerlog.projections.audit_file import make_file
from peerlog.projections.local_time import course_zone
from peerlog.projections.names import display_names
from peerlog.projections.source import EventSource
from peerlog.projections.timeline import timeline
from peerlog.web.audit_report import (
    render_html,
    render_markdown,
    render_pdf,
    render_text,
)


@click.command("audit", short_help="A student's goals, evidence and the events behind them.")
@click.argument("student")
@click.option("--course", required=True, metavar="COURSE", help="The course to audit against.")
@as_of_options
@format_option("text", "json", "md", "html", "pdf")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the report to this file (a PDF needs one, or stdout sent to a file).",
)
@click.option(
    "--bundle",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    metavar="FILE",
    help="Also write the examiner's audit file: the audit, the events it was made from "
    "with their inclusion proofs, and the signed checkpoint (check it with "
    "'peerlog verify-bundle').",
)
@pass_session
def audit_command(
    session: Session,
    *,
    student: str,
    course: str,
    as_of: datetime | None,
    as_of_occurred: datetime | None,
    fmt: str,
    output: Path | None,
    bundle: Path | None,
) -> None:
    """What the record shows for STUDENT in a course: each goal's status and evidence,
    the events behind it, and the record's integrity.

    --format json prints the contract's audit JSON; md and html are reports to keep
    or print (html is one standalone file). The digest names the events the audit was
    made from: an audit made again later with the same --as-of has the same digest
    as long as those events are still there, unchanged. The exit code is 1 if the
    record fails its integrity check.

    \b
    Example:
      peerlog audit p02-a --course vfu-1
      peerlog audit p02-a --course vfu-1 --as-of 2026-03-27 --format html > p02-a.html
    """
    session.must_exist()
    source = session.record().events
    require_student(require_course(source, course), student)
    zone = course_zone(source, course)
    window = AsOf(on_the_ward(as_of, zone), on_the_ward(as_of_occurred, zone))
    report = audit(source, student, course, window)
    if bundle is not None:
        # The file is of this very audit: the same as-of, so the same digest.
        data = make_file(source, student, course, _fixed(report, window))
        try:
            bundle.write_bytes(data)
        except OSError as exc:
            raise cannot_write(bundle, exc) from None
        click.echo(
            ngettext(
                "wrote the audit file %(file)s (%(size)s byte)",
                "wrote the audit file %(file)s (%(size)s bytes)",
                len(data),
            )
            % {"file": bundle, "size": i18n.number(len(data))},
            err=True,
        )
    if fmt == "json":
        _write(to_json(report) + "\n", output)
    else:
        events, names = behind(source, report, window), display_names(source, course)
        if fmt == "text":
            _write(render_text(report, events, names, zone) + "\n", output)
        elif fmt == "pdf":
            if output is None and sys.stdout.isatty():
                raise click.UsageError(_("a PDF goes to a file: give -o FILE (or > FILE)"))
            _write(render_pdf(report, events, names, audit_weeks(source, report), zone), output)
        elif fmt == "md":
            _write(render_markdown(report, events, names, zone) + "\n", output)
        else:
            html = render_html(report, events, names, audit_weeks(source, report), zone)
            _write(html + "\n", output)
    if not report["integrity"]["verified"]:
        click.echo(_("Error: the record fails its integrity check; run 'peerlog verify'"), err=True)
        click.get_current_context().exit(FAILED)


def _fixed(report: dict[str, Any], window: AsOf) -> AsOf:
    return AsOf(datetime.fromisoformat(report["as_of"]), window.occurred)


def _write(content: str | bytes, output: Path | None) -> None:
    if output is None:
        click.echo(content, nl=False)  # bytes go to the binary stream as they are
        return
    try:
        if isinstance(content, bytes):
            output.write_bytes(content)
        else:
            output.write_text(content, encoding="utf-8")
    except OSError as exc:
        raise cannot_write(output, exc) from None


def behind(source: EventSource, report: dict[str, Any], window: AsOf) -> dict[str, dict[str, Any]]:
    """The events behind the audit's evidence, told as the replay tells them (the
    record's operator reads every text)."""
    streams = set()
    for goal in report["goals"]:
        for event in goal["events"]:
            stream = str(event).rpartition("@")[0]
            if stream.startswith(PAIR_STREAM_PREFIX):
                streams.add(stream.removeprefix(PAIR_STREAM_PREFIX))
    found: dict[str, dict[str, Any]] = {}
    for pair_id in sorted(streams):
        found.update(
            {
                ref: item.as_dict()
                for ref, item in timeline(source, pair_id, window).by_event().items()
            }
        )
    return found
