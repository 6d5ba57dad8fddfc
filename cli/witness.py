"""``peerlog witness``: cosign a record's checkpoints as a second party."""

from __future__ import annotations

import time
from pathlib import Path

import click

from peerlog import i18n
from peerlog.cli.errors import Failed, cannot_write
from peerlog.cli.keys import read_text, verifier_key
from peerlog.i18n import N_, _, ngettext, shown_error
from peerlog.integrity.notes import NoteError
from peerlog.integrity.witness import Request, Witness, WitnessRefused

STATE = click.option(
    "--state",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="PEERLOG_WITNESS_STATE",
    show_envvar=True,
    required=True,
    help="The witness's own folder (its key and the last checkpoint it cosigned).",
)


def _open(folder: Path) -> Witness:
    try:
        return Witness(folder)
    except WitnessRefused as exc:
        raise Failed(shown_error(exc)) from None


@click.group("witness", short_help="Cosign a record's checkpoints as a second party.")
def witness_group() -> None:
    """A witness (the university, when a hospital runs peerlog; another region)
    cosigns a record's checkpoints with its own key, each only after checking that it
    is consistent with the last one it cosigned. It keeps its state in a folder of its
    own, never in the record. See docs/integrity.md.

    \b
    Example:
      peerlog witness cosign --state ./witness request.txt -o cosigned.txt
    """


@witness_group.command("init")
@STATE
@click.option("--name", required=True, help="The witness's name, e.g. university.example/witness.")
@click.option(
    "--log-key", required=True, metavar="KEY", help="The record's checkpoint key (NAME+ID+KEY)."
)
def init_command(folder: Path, name: str, log_key: str) -> None:
    """Make a witness's folder with a new key, for the record with this key; prints
    the witness's public key (to publish).

    \b
    Example:
      peerlog witness init --state ./witness --name university.example/witness \\
          --log-key "$(cat peerlog.pub)"
    """
    try:
        witness = Witness.init(folder, name, verifier_key(log_key, what="--log-key"))
    except (WitnessRefused, NoteError) as exc:
        raise Failed(shown_error(exc)) from None
    click.echo(str(witness.verifier))


@witness_group.command("key")
@STATE
def key_command(folder: Path) -> None:
    """Print the witness's public key (NAME+ID+KEY).

    \b
    Example:
      peerlog witness key --state ./witness
    """
    click.echo(str(_open(folder).verifier))


@witness_group.command("cosign")
@STATE
@click.argument("request", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the cosigned checkpoint here instead of standard output.",
)
def cosign_command(folder: Path, request: Path, output: Path | None) -> None:
    """Check a request ('peerlog checkpoint request') and cosign its checkpoint: it
    must be signed by the record's key and consistent with the last checkpoint this
    witness cosigned. Prints the checkpoint with the cosignature added.

    \b
    Example:
      peerlog witness cosign --state ./witness request.txt -o cosigned.txt
    """
    witness = _open(folder)
    try:
        cosigned = witness.cosign(
            Request.parse(read_text(request, N_("the request"))), int(time.time())
        )
    except WitnessRefused as exc:
        raise Failed(_("not cosigned: %(reason)s") % {"reason": shown_error(exc)}) from None
    if output is None:
        click.echo(cosigned, nl=False)
    else:
        try:
            output.write_text(cosigned, encoding="utf-8")
        except OSError as exc:
            raise cannot_write(output, exc) from None
    last = witness.last()
    assert last is not None
    click.echo(
        ngettext(
            "cosigned the checkpoint at %(size)s event",
            "cosigned the checkpoint at %(size)s events",
            last.size,
        )
        % {"size": i18n.number(last.size)},
        err=True,
    )
