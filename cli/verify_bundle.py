"""``peerlog verify-bundle FILE --key KEY``: check an examiner's audit file offline."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import click

from peerlog import i18n
from peerlog.cli.errors import FAILED, Failed, reason
from peerlog.cli.keys import KEY_HELP, WITNESS_HELP, verifier_key
from peerlog.cli.output import echo_json, format_option, when
from peerlog.domain.vocabulary import course_stream
from peerlog.i18n import _, ngettext, shown, shown_error
from peerlog.integrity.bundle import BundleInvalid
from peerlog.projections.audit_file import recount
from peerlog.projections.local_time import zone_in_records


@click.command("verify-bundle", short_help="Check an examiner's audit file, without the record.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--key", metavar="KEY", required=True, help=KEY_HELP)
@click.option("--witness", "witnesses", metavar="KEY", multiple=True, help=WITNESS_HELP)
@format_option("text", "json")
def verify_bundle_command(file: Path, key: str, witnesses: tuple[str, ...], fmt: str) -> None:
    """Check an audit file ('peerlog audit ... --bundle FILE') without the database:
    that its checkpoint is signed with KEY (and cosigned by every --witness), that every
    event in it is proven to be in that checkpoint's tree, that the audit's digest is
    that of its content and checkpoint, and, recounting the audit from the events in the
    file with peerlog's own projection code, that its numbers are right. Exits with 1
    naming what failed.

    \b
    Example:
      peerlog verify-bundle p02-a.audit.json --key "$(cat peerlog.pub)"
    """
    verifier = verifier_key(key)
    required = tuple(verifier_key(w, what="--witness") for w in witnesses)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise Failed(
            _("cannot read %(file)s: %(reason)s") % {"file": file, "reason": reason(exc)}
        ) from None
    try:
        result = recount(data, verifier, required)
    except BundleInvalid as exc:
        if fmt == "json":
            echo_json({"verified": False, "problem": str(exc)})
        else:
            click.echo(_("NOT VERIFIED: %(problem)s") % {"problem": shown_error(exc)})
        raise click.exceptions.Exit(FAILED) from None
    checked = result.checked
    audit, checkpoint = checked.audit, checked.checkpoint
    events = sum(len(r) for r in checked.records.values())
    if fmt == "json":
        echo_json(
            {
                "verified": not result.differences,
                "student_id": audit["student_id"],
                "course_id": audit["course_id"],
                "as_of": audit["as_of"],
                "events": events,
                "checkpoint": {"origin": checkpoint.origin, "size": checkpoint.size},
                "cosigned_by": {k.split("+")[0]: t for k, t in checked.cosigned.items()},
                "digest": audit["integrity"]["digest"],
                "differences": result.differences,
            }
        )
    else:
        course = course_stream(str(audit["course_id"]))
        zone = zone_in_records(checked.records.get(course, []), os.environ)
        recorded = when(datetime.fromisoformat(audit["as_of"]), zone=zone)
        click.echo(
            _("audit of %(student)s in course %(course)s, as recorded by %(recorded)s")
            % {"student": audit["student_id"], "course": audit["course_id"], "recorded": recorded}
        )
        click.echo(
            ngettext(
                "%(count)s event, proven to be in the checkpoint of %(origin)s at %(size)s "
                "events, signed by %(key)s",
                "%(count)s events, each proven to be in the checkpoint of %(origin)s at "
                "%(size)s events, signed by %(key)s",
                events,
            )
            % {
                "count": i18n.number(events),
                "origin": checkpoint.origin,
                "size": i18n.number(checkpoint.size),
                "key": verifier.name,
            }
        )
        for witness, moment in checked.cosigned.items():
            at = when(datetime.fromtimestamp(moment, UTC), zone=zone)
            click.echo(
                _("cosigned by the witness %(witness)s at %(at)s")
                % {"witness": witness.split("+")[0], "at": at}
            )
        if result.differences:
            click.echo(_("NOT VERIFIED: recounted from the events in the file, the audit differs:"))
            for difference in result.differences:
                click.echo(f"  {shown(difference)}")
        else:
            click.echo(
                _(
                    "verified: recounted from the events in the file, every goal's status, "
                    "evidence and events are the audit's"
                )
            )
        click.echo(_("digest: %(digest)s") % {"digest": audit["integrity"]["digest"]})
    if result.differences:
        click.get_current_context().exit(FAILED)
