"""``peerlog checkpoint``: signed checkpoints of the record, their key, and what a
witness needs."""

from __future__ import annotations

from pathlib import Path

import click

from peerlog import i18n
from peerlog.cli.errors import Failed, cannot_write
from peerlog.cli.keys import read_text
from peerlog.cli.output import echo_json, table, when
from peerlog.cli.session import Session, pass_session
from peerlog.i18n import N_, _, ngettext, pgettext, shown_error
from peerlog.integrity.checkpoints import Checkpoint, CheckpointError
from peerlog.integrity.notes import Note, NoteError
from peerlog.integrity.service import Integrity
from peerlog.integrity.store import StoredCheckpoint
from peerlog.integrity.witness import Request
from peerlog.projections.local_time import default_zone

OUTPUT = click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write it to this file instead of standard output.",
)


NO_CHECKPOINTS = N_("no checkpoints yet; make one with 'peerlog checkpoint'")
THE_CHECKPOINT = N_("the checkpoint")


def _emit(text: str, output: Path | None, what: str) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise cannot_write(output, exc) from None
    click.echo(_("wrote %(what)s to %(file)s") % {"what": _(what), "file": output}, err=True)


def _integrity(session: Session) -> Integrity:
    return Integrity(session.app())


def _witnesses(stored: StoredCheckpoint) -> list[str]:
    """Who cosigned: the signatures of others than the record (whose keys, the
    current one and those retired before it, are named after its origin)."""
    note = Note.parse(stored.note)
    origin = Checkpoint.parse_body(note.body).origin
    return [s.name for s in note.signatures[1:] if s.name != origin]


@click.group(
    "checkpoint",
    invoke_without_command=True,
    short_help="Sign a checkpoint of the record (and list, show, publish them).",
)
@OUTPUT
@click.pass_context
def checkpoint_group(ctx: click.Context, output: Path | None) -> None:
    """Sign a checkpoint of the record as it is now: its origin, how many events it
    holds and the root hash of the Merkle tree over them, signed with the checkpoint
    key (C2SP tlog-checkpoint). The tree is brought up to date first. If the record
    has not grown since the latest checkpoint, that one is printed.

    Publish checkpoints (a web page, the course's documents, an email) and the key
    ('peerlog checkpoint key'): anyone holding one can later prove that the record
    only grew since ('peerlog verify --against'). See docs/integrity.md.

    \b
    Example:
      peerlog checkpoint > checkpoint.txt
      peerlog checkpoint list
    """
    if ctx.invoked_subcommand is not None:
        return
    session = ctx.find_object(Session)
    assert session is not None
    stored, new = _integrity(session).make_checkpoint()
    made = when(stored.made_at, zone=default_zone(session.app().settings))
    if new:
        line = ngettext(
            "checkpoint at %(size)s event (signed %(made)s)",
            "checkpoint at %(size)s events (signed %(made)s)",
            stored.size,
        )
    else:
        line = ngettext(
            "checkpoint at %(size)s event (unchanged since %(made)s)",
            "checkpoint at %(size)s events (unchanged since %(made)s)",
            stored.size,
        )
    click.echo(line % {"size": i18n.number(stored.size), "made": made}, err=True)
    _emit(stored.note, output, THE_CHECKPOINT)


@checkpoint_group.command("key")
@pass_session
def key_command(session: Session) -> None:
    """Print the checkpoint key's public half (a verifier key, NAME+ID+KEY), to
    publish beside the checkpoints. The key itself is PEERLOG_CHECKPOINT_KEY or the
    file PEERLOG_CHECKPOINT_KEY_FILE (created when missing; see docs/integrity.md).

    \b
    Example:
      peerlog checkpoint key > peerlog.pub
    """
    click.echo(str(_integrity(session).verifier()))


@checkpoint_group.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@pass_session
def list_command(session: Session, fmt: str) -> None:
    """The checkpoints this record made, oldest first, and who cosigned them.

    \b
    Example:
      peerlog checkpoint list
    """
    stored = _integrity(session).store.checkpoints()
    if fmt == "json":
        echo_json(
            [
                {
                    "size": s.size,
                    "made_at": s.made_at.isoformat(),
                    "root": Checkpoint.parse_body(Note.parse(s.note).body).body().split("\n")[2],
                    "cosigned_by": _witnesses(s),
                }
                for s in stored
            ]
        )
        return
    if not stored:
        click.echo(_(NO_CHECKPOINTS))
        return
    zone = default_zone(session.app().settings)
    rows = [
        (
            s.size,
            when(s.made_at, zone=zone),
            Note.parse(s.note).body.split("\n")[2],
            _witnesses(s) or None,
        )
        for s in stored
    ]
    headings = [
        pgettext("column", "events"),
        pgettext("column", "made"),
        pgettext("column", "root hash"),
        pgettext("column", "cosigned by"),
    ]
    click.echo(table(rows, headings))


@checkpoint_group.command("show")
@click.argument("size", type=click.IntRange(min=0), required=False)
@OUTPUT
@pass_session
def show_command(session: Session, size: int | None, output: Path | None) -> None:
    """Print a checkpoint this record made (the latest, or the one at SIZE events),
    with every cosignature it has.

    \b
    Example:
      peerlog checkpoint show
      peerlog checkpoint show 1797 -o checkpoint-1797.txt
    """
    stored = _integrity(session).store.checkpoint(size)
    if stored is None:
        raise Failed(
            _(NO_CHECKPOINTS)
            if size is None
            else ngettext(
                "no checkpoint at %(size)s event; 'peerlog checkpoint list' shows them",
                "no checkpoint at %(size)s events; 'peerlog checkpoint list' shows them",
                size,
            )
            % {"size": size}
        )
    _emit(stored.note, output, THE_CHECKPOINT)


@checkpoint_group.command("request")
@click.option(
    "--from",
    "old",
    type=click.IntRange(min=0),
    required=True,
    help="The size of the checkpoint the witness cosigned last (0 for its first).",
)
@OUTPUT
@pass_session
def request_command(session: Session, old: int, output: Path | None) -> None:
    """A witness's request: the latest checkpoint with the consistency proof from the
    one the witness cosigned last. The witness answers with 'peerlog witness cosign';
    bring its answer back with 'peerlog checkpoint cosigned'.

    \b
    Example:
      peerlog checkpoint request --from 1797 -o request.txt
    """
    integrity = _integrity(session)
    latest = integrity.store.checkpoint()
    if latest is None:
        raise Failed(_(NO_CHECKPOINTS))
    if old > latest.size:
        raise Failed(
            ngettext(
                "the latest checkpoint has %(size)s event, fewer than %(old)s",
                "the latest checkpoint has %(size)s events, fewer than %(old)s",
                latest.size,
            )
            % {"size": latest.size, "old": old}
        )
    request = Request(old, integrity.consistency_proof(old, latest.size), latest.note)
    _emit(request.text(), output, N_("the request"))


@checkpoint_group.command("cosigned")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_session
def cosigned_command(session: Session, file: Path) -> None:
    """Keep a witness's cosignature with the checkpoint it cosigned (FILE is what
    'peerlog witness cosign' wrote).

    \b
    Example:
      peerlog checkpoint cosigned cosigned.txt
    """
    try:
        text = read_text(file, N_("the cosigned checkpoint"))
        stored = _integrity(session).add_cosignatures(text)
    except (NoteError, CheckpointError) as exc:
        raise Failed(shown_error(exc)) from None
    click.echo(
        ngettext(
            "checkpoint at %(size)s event: cosigned by %(witnesses)s",
            "checkpoint at %(size)s events: cosigned by %(witnesses)s",
            stored.size,
        )
        % {"size": i18n.number(stored.size), "witnesses": ", ".join(_witnesses(stored))}
    )
