"""``peerlog backup FILE``: a copy of an SQLite record, taken while it is in use, and
checked by opening it as a record of its own."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import click

from peerlog import PeerLog, i18n
from peerlog.application import VerifyReport
from peerlog.cli.errors import Failed
from peerlog.cli.session import Session, pass_session
from peerlog.i18n import N_, _, ngettext, shown
from peerlog.integrity import tamper
from peerlog.integrity.checkpoints import Checkpoint
from peerlog.integrity.notes import Note
from peerlog.integrity.service import Integrity
from peerlog.persistence.config import DATABASE_URL, SQLITE_PREFIX
from peerlog.persistence.sqlite import SQLiteFactory

EXISTS: Final = N_("%(file)s exists; peerlog backup writes a new file")
POSTGRES_MESSAGE: Final = N_(
    "peerlog backup copies an SQLite record; back up a PostgreSQL record with "
    "PostgreSQL's own tools: pg_dump for a copy of the database, or pg_basebackup with "
    "archived WAL to restore it to any moment (see docs/deployment.md#backups-and-"
    "point-in-time-recovery)"
)


@dataclass(frozen=True)
class Copy:
    """What the copy holds, as checked by opening it."""

    report: VerifyReport
    first: int
    last: int
    tree_size: int
    checkpoint: tamper.Verdict | None


def check_copy(path: Path, settings: dict[str, str]) -> Copy:
    """Open the SQLite file at ``path`` as a record and check it: its hash chains and
    command log, its positions, and its Merkle tree (extended to every event it holds)
    against its latest signed checkpoint."""
    copy = PeerLog({**settings, DATABASE_URL: SQLITE_PREFIX + str(path).lstrip("/")})
    try:
        report = copy.verify()
        positions = copy.store.select_positions()
        integrity = Integrity(copy)
        size = integrity.catch_up()
        latest = integrity.store.checkpoint()
        verdict = None
        if latest is not None:
            checkpoint = Checkpoint.parse_body(Note.parse(latest.note).body)
            verdict = tamper.check(integrity.source, integrity.tree, checkpoint)
    finally:
        copy.close()
    first, last = (positions[0], positions[-1]) if positions else (0, 0)
    return Copy(report, first, last, size, verdict)


@click.command("backup", short_help="Copy an SQLite record while it is in use, and check the copy.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_session
def backup_command(session: Session, /, *, file: Path) -> None:
    """Copy the record (an SQLite file) to FILE, a new file, with SQLite's online
    backup API: commands may go on being recorded meanwhile, and the copy is the record
    as it stood at one moment. The copy is then opened as a record and checked: its hash
    chains and command log, that its events are the positions 1 to N without a gap, and
    that its Merkle tree gives the root of its latest checkpoint. FILE is written only
    if the copy passes.

    Restore by stopping peerlog and putting the copy in the record's place. The copy
    holds person keys wrapped under the master key: keep it apart from the master key
    (docs/privacy.md). A PostgreSQL record is backed up with pg_dump or pg_basebackup
    (docs/deployment.md).

    \b
    Example:
      peerlog backup /backup/peerlog-2026-12-02.sqlite3
    """
    app = session.app()
    factory = app.factory
    if not isinstance(factory, SQLiteFactory):
        raise Failed(_(POSTGRES_MESSAGE))
    target = file.expanduser().absolute()
    if target.exists():
        raise Failed(_(EXISTS) % {"file": file})
    if not target.parent.is_dir():
        raise Failed(_("%(folder)s is not a folder") % {"folder": target.parent})
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.partial")
    try:
        factory.datastore.backup(str(temporary))
        copy = check_copy(temporary, app.settings)
        if not copy.report.verified or (copy.checkpoint and not copy.checkpoint.extends):
            raise Failed(
                _("the copy does not verify (%(problem)s); %(file)s was not written")
                % {"problem": _problem(copy), "file": file}
            )
        try:
            os.link(temporary, target)  # never over a file made meanwhile
        except FileExistsError:
            raise Failed(_(EXISTS) % {"file": file}) from None
    finally:
        for leftover in (temporary, *(Path(f"{temporary}{s}") for s in ("-wal", "-shm"))):
            leftover.unlink(missing_ok=True)
    size = target.stat().st_size
    click.echo(
        ngettext(
            "backed up %(where)s to %(file)s: %(count)s event "
            "(positions %(first)s to %(last)s), %(size)s bytes",
            "backed up %(where)s to %(file)s: %(count)s events "
            "(positions %(first)s to %(last)s), %(size)s bytes",
            copy.report.events,
        )
        % {
            "where": session.where,
            "file": file,
            "count": i18n.number(copy.report.events),
            "first": i18n.number(copy.first),
            "last": i18n.number(copy.last),
            "size": i18n.number(size),
        }
    )
    click.echo(_checked(copy))


def _problem(copy: Copy) -> str:
    first = copy.report.first_problem
    if first is not None:
        return shown(first.describe())
    assert copy.checkpoint is not None
    size = copy.checkpoint.checkpoint.size
    return ngettext(
        "it does not extend its checkpoint at %(size)s event",
        "it does not extend its checkpoint at %(size)s events",
        size,
    ) % {"size": i18n.number(size)}


def _checked(copy: Copy) -> str:
    tree = {"count": i18n.number(copy.tree_size)}
    if copy.checkpoint is None:
        return (
            ngettext(
                "checked the copy: hash chains and command log intact, Merkle tree of "
                "%(count)s event",
                "checked the copy: hash chains and command log intact, Merkle tree of "
                "%(count)s events",
                copy.tree_size,
            )
            % tree
        )
    size = copy.checkpoint.checkpoint.size
    return ngettext(
        "checked the copy: hash chains and command log intact, Merkle tree of "
        "%(count)s event; it extends its latest checkpoint (at %(size)s events)",
        "checked the copy: hash chains and command log intact, Merkle tree of "
        "%(count)s events; it extends its latest checkpoint (at %(size)s events)",
        copy.tree_size,
    ) % {**tree, "size": i18n.number(size)}
