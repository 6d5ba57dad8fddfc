"""``peerlog keys``: replace the master key and the checkpoint signing key."""

from __future__ import annotations

import binascii
import os
import secrets
from pathlib import Path

import click

from peerlog import i18n
from peerlog.cli.errors import Failed
from peerlog.cli.group import OrderedGroup
from peerlog.cli.output import echo_json, table, when
from peerlog.cli.session import Session, pass_session
from peerlog.i18n import _, ngettext, pgettext, shown_error
from peerlog.integrity.checkpoints import CheckpointError
from peerlog.integrity.notes import Signer
from peerlog.integrity.service import Integrity
from peerlog.integrity.signing import (
    CHECKPOINT_KEY,
    CHECKPOINT_KEY_FILE,
    SigningKeyError,
    load_signer,
    write_key,
)
from peerlog.persistence.masterkey import (
    KEY_BYTES,
    MASTER_KEY,
    MASTER_KEY_FILE,
    create_private_file,
    decode_master_key,
    load_master_key,
)
from peerlog.persistence.sealing import AlreadyRotated

NEW_KEY_FILE = click.option(
    "--new-key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A file holding the new key; created with a new random key (readable by its "
    "owner only) if it does not exist.",
)
NEW_KEY_ENV = click.option(
    "--new-key-env",
    metavar="NAME",
    help="The name of an environment variable holding the new key (from a secret store).",
)


def _source(new_key_file: Path | None, new_key_env: str | None) -> tuple[Path | None, str]:
    """Where the new key comes from: exactly one of --new-key-file and --new-key-env."""
    if (new_key_file is None) == (new_key_env is None):
        raise click.UsageError(_("give the new key with --new-key-file FILE or --new-key-env NAME"))
    if new_key_env is not None:
        value = os.environ.get(new_key_env)
        if not value:
            raise click.UsageError(
                _("the environment variable %(name)s is not set") % {"name": new_key_env}
            )
        return None, value
    return new_key_file, ""


@click.group("keys", cls=OrderedGroup, short_help="Replace the master key or the checkpoint key.")
def keys_group() -> None:
    """Replace the keys the record is kept with: the master key that wraps every
    person's key ('rotate') and the key that signs checkpoints ('rotate-checkpoint');
    'list' shows the checkpoint keys, current and retired. See docs/operations.md.

    \b
    Example:
      peerlog keys rotate --new-key-file /etc/peerlog/master-2027.key
      peerlog keys list
    """


@keys_group.command("rotate")
@NEW_KEY_FILE
@NEW_KEY_ENV
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="How many person keys are rewrapped per statement.",
)
@click.option("--progress", is_flag=True, help="Say on stderr after each batch how far it is.")
@pass_session
def rotate_command(
    session: Session,
    /,
    *,
    new_key_file: Path | None,
    new_key_env: str | None,
    batch_size: int,
    progress: bool,
) -> None:
    """Rewrap every person key under a new master key, in one transaction: an
    interrupted run changes nothing, and running it again completes it. Afterwards the
    old master key opens nothing in the record (the old wrapped keys are removed from
    the database files too), and every text opens with the new one. Command digests and
    xAPI account names stay as they were.

    The old key is the configured one (PEERLOG_MASTER_KEY or PEERLOG_MASTER_KEY_FILE):
    keep it configured while rotating. Then configure the new key in every process that
    uses the record and restart them: until then they refuse to make new person keys,
    and read no text once their key cache (PEERLOG_KEY_CACHE_SECONDS) has run out.

    \b
    Example:
      peerlog keys rotate --new-key-file /etc/peerlog/master-2027.key
      peerlog keys rotate --new-key-env NEW_PEERLOG_MASTER_KEY
    """
    path, value = _source(new_key_file, new_key_env)
    if path is not None:
        if not path.exists():
            key_text = binascii.b2a_base64(secrets.token_bytes(KEY_BYTES)).decode()
            if create_private_file(path, key_text):
                click.echo(_("made a new master key in %(file)s") % {"file": path}, err=True)
        new_key = load_master_key({MASTER_KEY_FILE: str(path)})
        configure = f"{MASTER_KEY_FILE}={path}"
    else:
        new_key = decode_master_key(value, str(new_key_env))
        configure = f"{MASTER_KEY}=${new_key_env}"
    app = session.app()

    def report(done: int, total: int) -> None:
        click.echo(
            ngettext(
                "rewrapped %(done)s of %(total)s person key (not yet committed)",
                "rewrapped %(done)s of %(total)s person keys (not yet committed)",
                total,
            )
            % {"done": i18n.number(done), "total": i18n.number(total)},
            err=True,
        )

    try:
        count = app.keys.rotate(new_key, batch=batch_size, progress=report if progress else None)
    except AlreadyRotated:
        click.echo(
            _(
                "the record's keys are already wrapped under the new master key; nothing was "
                "rewrapped. Configure it where it is not yet: %(configure)s"
            )
            % {"configure": configure}
        )
        return
    click.echo(
        ngettext(
            "rewrapped %(count)s person key under the new master key, in one transaction, and "
            "removed the old wrapped keys from the database files",
            "rewrapped %(count)s person keys under the new master key, in one transaction, and "
            "removed the old wrapped keys from the database files",
            count,
        )
        % {"count": i18n.number(count)}
    )
    click.echo(
        _(
            "the old master key opens nothing in this record now; configure the new one in "
            "every process that uses it and restart them: %(configure)s"
        )
        % {"configure": configure}
    )


@keys_group.command("rotate-checkpoint")
@NEW_KEY_FILE
@NEW_KEY_ENV
@pass_session
def rotate_checkpoint_command(
    session: Session, /, *, new_key_file: Path | None, new_key_env: str | None
) -> None:
    """Sign checkpoints with a new key from now on. The configured key (the old one)
    first signs a checkpoint of the record as it is now; then the new key signs every
    checkpoint kept, so that checkpoints published before still verify with the old
    public key, and every kept checkpoint (and every audit file made from now on)
    with the new one. The old key goes on the list of retired keys ('peerlog keys
    list') and is refused from then on. A new key file is made with the record's
    origin as its name.

    Publish the new public key ('peerlog checkpoint key' once it is configured) beside
    the old one, and give it to the witnesses.

    \b
    Example:
      peerlog keys rotate-checkpoint --new-key-file /etc/peerlog/checkpoint-2027.key
    """
    path, value = _source(new_key_file, new_key_env)
    integrity = Integrity(session.app())
    old = integrity.signer()
    if path is not None:
        if not path.exists() and write_key(path, Signer.generate(old.name)):
            click.echo(_("made a new checkpoint key in %(file)s") % {"file": path}, err=True)
        new = load_signer({CHECKPOINT_KEY_FILE: str(path)}, create=False)
        configure = f"{CHECKPOINT_KEY_FILE}={path}"
    else:
        new = load_signer({CHECKPOINT_KEY: value})
        configure = f"{CHECKPOINT_KEY}=${new_key_env}"
    try:
        retired = integrity.rotate_signer(new)
    except CheckpointError as exc:
        raise Failed(shown_error(exc)) from None
    click.echo(
        ngettext(
            "retired the checkpoint key %(key)s after the checkpoint at %(size)s event; "
            "every kept checkpoint is signed by the new key too",
            "retired the checkpoint key %(key)s after the checkpoint at %(size)s events; "
            "every kept checkpoint is signed by the new key too",
            retired.last_size,
        )
        % {"key": retired.verifier, "size": i18n.number(retired.last_size)}
    )
    click.echo(_("new checkpoint key: %(key)s") % {"key": new.verifier})
    click.echo(
        _("configure it in every process that uses the record and restart them: %(configure)s")
        % {"configure": configure}
    )


@keys_group.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@pass_session
def list_command(session: Session, /, *, fmt: str) -> None:
    """The checkpoint keys: the configured one and those retired, with the last
    checkpoint each retired key signed. A checkpoint verifies with the key that was
    current when it was made (and, once rotated, with the next one too).

    \b
    Example:
      peerlog keys list
    """
    integrity = Integrity(session.app())
    retired = integrity.store.retired_keys()
    try:
        current: str | None = str(integrity.signer().verifier)
    except SigningKeyError:
        current = None  # the configured key is a retired one (or missing)
    if fmt == "json":
        echo_json(
            {
                "current": current,
                "retired": [
                    {
                        "key": k.verifier,
                        "retired_at": k.retired_at.isoformat(),
                        "last_checkpoint": k.last_size,
                    }
                    for k in retired
                ],
            }
        )
        return
    rows: list[tuple[str, str, str, int | None]] = [
        (k.verifier, pgettext("key", "retired"), when(k.retired_at), k.last_size) for k in retired
    ]
    if current is not None:
        rows.append((current, pgettext("key", "current"), "-", None))
    headings = [
        pgettext("column", "key"),
        pgettext("column", "state"),
        pgettext("column", "retired (UTC)"),
        pgettext("column", "last checkpoint"),
    ]
    click.echo(table(rows, headings))
