"""``peerlog verify``: check the record's hash chains and command log, and that it
extends a checkpoint published earlier."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from peerlog import PeerLog, i18n
from peerlog.application import VerifyReport
from peerlog.cli.errors import FAILED, Failed
from peerlog.cli.keys import KEY_HELP, WITNESS_HELP, read_text, verifier_key
from peerlog.cli.output import echo_json, format_option
from peerlog.cli.session import Session, pass_session
from peerlog.i18n import N_, _, ngettext, shown, shown_error
from peerlog.integrity import tamper
from peerlog.integrity.checkpoints import Checkpoint, CheckpointError, open_note
from peerlog.integrity.notes import Note, NoteError, Verifier
from peerlog.integrity.service import Integrity

DEFAULT_KEY = N_("[default: the configured key]")


@click.command("verify", short_help="Check that the stored record was not altered.")
@click.option("--pair", "pair_id", metavar="PAIR", help="Check only this pair's events.")
@click.option(
    "--against",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="CHECKPOINT",
    help="A checkpoint published earlier (a file): prove the record extends it.",
)
@click.option("--key", metavar="KEY", help=KEY_HELP + " " + DEFAULT_KEY)
@click.option("--witness", "witnesses", metavar="KEY", multiple=True, help=WITNESS_HELP)
@format_option("text", "json")
@pass_session
def verify_command(
    session: Session,
    /,
    *,
    pair_id: str | None,
    against: Path | None,
    key: str | None,
    witnesses: tuple[str, ...],
    fmt: str,
) -> None:
    """Check that the stored record was not altered.

    Recomputes every event's link in its stream's hash chain and checks that no event
    is missing or was inserted. Exits with 1 and names the first bad event if the
    record was tampered with.

    With --against CHECKPOINT it also proves that today's record extends a checkpoint
    published earlier: that the events the checkpoint covers are all still there,
    unchanged and in their places. That holds against anyone who can write to the
    database, as long as they cannot sign with the checkpoint key (or, with --witness,
    also with the witness's). A change is named as precisely as the evidence allows.

    \b
    Example:
      peerlog verify
      peerlog verify --pair p03
      peerlog verify --against checkpoint-1797.txt --key "$(cat peerlog.pub)"
    """
    session.must_exist()
    app = session.app()
    if against is not None and pair_id is not None:
        raise click.UsageError(_("--against checks the whole record; leave out --pair"))
    report = app.verify(pair_id)
    if pair_id is not None and report.events == 0:
        raise Failed(_("pair '%(pair_id)s' is not in the record") % {"pair_id": pair_id})
    verdict = None
    if against is not None:
        verdict = _against(app, read_text(against, N_("the checkpoint")), key, witnesses)
    elif key is not None or witnesses:
        raise click.UsageError(_("--key and --witness go with --against CHECKPOINT"))
    if fmt == "json":
        echo_json(_as_json(report, verdict))
    else:
        _print(report, verdict, pair_id)
    if not report.verified or (verdict is not None and not verdict.extends):
        click.get_current_context().exit(FAILED)


def _against(
    app: PeerLog, text: str, key: str | None, witnesses: tuple[str, ...]
) -> tamper.Verdict:
    integrity = Integrity(app)
    verifier = verifier_key(key) if key is not None else integrity.verifier()
    required = tuple(verifier_key(w, what="--witness") for w in witnesses)
    try:
        opened = open_note(text, verifier, required)
    except CheckpointError as exc:
        raise Failed(shown_error(exc)) from None
    integrity.catch_up_if_possible()
    return tamper.check(
        integrity.source, integrity.tree, opened.checkpoint, _earlier(integrity, verifier)
    )


def _earlier(integrity: Integrity, verifier: Verifier) -> list[Checkpoint]:
    """The record's own checkpoints that the key really signed."""
    out = []
    for stored in integrity.store.checkpoints():
        try:
            note = Note.parse(stored.note)
            if note.signed_by(verifier):
                out.append(Checkpoint.parse_body(note.body))
        except (NoteError, CheckpointError):
            continue
    return out


def _print(report: VerifyReport, verdict: tamper.Verdict | None, pair_id: str | None) -> None:
    first = report.first_problem
    if verdict is not None:
        _print_verdict(verdict)
    if first is None and pair_id is not None:
        click.echo(
            ngettext(
                "verified: pair %(pair_id)s: %(count)s event, hash chain intact",
                "verified: pair %(pair_id)s: %(count)s events, hash chain intact",
                report.events,
            )
            % {"pair_id": pair_id, "count": i18n.number(report.events)}
        )
        click.echo(_("digest: %(digest)s") % {"digest": report.digest})
    elif first is None:
        streams = ngettext("%(count)s stream", "%(count)s streams", report.streams) % {
            "count": i18n.number(report.streams)
        }
        click.echo(
            ngettext(
                "verified: %(count)s event in %(streams)s, hash chains and command log intact",
                "verified: %(count)s events in %(streams)s, hash chains and command log intact",
                report.events,
            )
            % {"count": i18n.number(report.events), "streams": streams}
        )
        click.echo(_("digest: %(digest)s") % {"digest": report.digest})
    else:
        count = len(report.problems)
        click.echo(
            ngettext(
                "NOT VERIFIED: %(count)s problem found",
                "NOT VERIFIED: %(count)s problems found",
                count,
            )
            % {"count": i18n.number(count)}
        )
        click.echo(_("first bad event: %(problem)s") % {"problem": shown(first.describe())})
        for problem in report.problems:
            if problem is not first:
                click.echo(_("also: %(problem)s") % {"problem": shown(problem.describe())})


def _print_verdict(verdict: tamper.Verdict) -> None:
    checkpoint = verdict.checkpoint
    if verdict.extends:
        click.echo(
            ngettext(
                "verified: the record extends the checkpoint of %(origin)s at "
                "%(size)s event: those events are all there, unchanged; %(added)s added since",
                "verified: the record extends the checkpoint of %(origin)s at "
                "%(size)s events: those events are all there, unchanged; %(added)s added since",
                checkpoint.size,
            )
            % {
                "origin": checkpoint.origin,
                "size": i18n.number(checkpoint.size),
                "added": i18n.number(verdict.added),
            }
        )
        if not verdict.tree_matches:
            click.echo(
                _(
                    "note: the stored Merkle tree does not give the checkpoint's root (it was "
                    "changed or lost); the events themselves were checked"
                )
            )
        return
    click.echo(
        ngettext(
            "NOT VERIFIED: the record does not extend the checkpoint of %(origin)s at "
            "%(size)s event",
            "NOT VERIFIED: the record does not extend the checkpoint of %(origin)s at "
            "%(size)s events",
            checkpoint.size,
        )
        % {"origin": checkpoint.origin, "size": i18n.number(checkpoint.size)}
    )
    for finding in verdict.findings:
        click.echo(shown(finding.describe()))
    if verdict.between is not None:
        low, high = verdict.between
        click.echo(
            _(
                "the change lies between positions %(low)s and %(high)s (the stored tree was "
                "changed too, so the checkpoints this record kept bracket it)"
            )
            % {"low": i18n.number(low), "high": i18n.number(high)}
        )


def _as_json(report: VerifyReport, verdict: tamper.Verdict | None) -> dict[str, Any]:
    first = report.first_problem
    out: dict[str, Any] = {
        "verified": report.verified and (verdict is None or verdict.extends),
        "streams": report.streams,
        "events": report.events,
        "digest": report.digest,
        # In English in every language, as JSON is.
        "first_problem": str(first.describe()) if first else None,
        "problems": [str(p.describe()) for p in report.problems],
    }
    if verdict is not None:
        out["against"] = {
            "origin": verdict.checkpoint.origin,
            "size": verdict.checkpoint.size,
            "extends": verdict.extends,
            "added": verdict.added,
            "findings": [str(f.describe()) for f in verdict.findings],
            "between": list(verdict.between) if verdict.between else None,
            "tree_matches": verdict.tree_matches,
        }
    return out
