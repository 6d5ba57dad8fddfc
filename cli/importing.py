"""``peerlog import FILE``: apply a JSON-lines file of commands, line by line.

The lines are handed, as they are, to ``PeerLog.execute_many``, which decides each in
order on the state the lines before it left and commits them in batches of 500 (one
durable commit per batch). A line that is rejected -
bad JSON, an unknown command, a wrong field, a broken rule, a reused command id - is
reported with its number and the reason, and the import goes on; a repeated command
(same id, same payload) is reported as already recorded. If the store itself fails, the
import stops and says where: the lines before were applied, and running the same file
again applies the rest.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Final

import click
import psycopg
from eventsourcing.persistence import PersistenceError

from peerlog import CommandRejected, PeerLog, i18n
from peerlog.cli.errors import FAILED
from peerlog.cli.output import echo_json, format_option
from peerlog.cli.progress import Progress, progress_option, wanted
from peerlog.cli.session import Session, pass_session
from peerlog.commands import COMMAND_NAMES, display_key, future_violation, parse_command
from peerlog.domain.errors import Violation
from peerlog.i18n import N_, Text, _, lazy, ngettext
from peerlog.json_text import (
    MAX_COMMAND_BYTES,
    JsonRejected,
    decode,
    named,
    strip_bom,
    too_large,
)

DRY_RUN_LIMITS: Final = N_(
    "A dry run checks each line on its own: JSON, command name, fields and their types, "
    "ids, dates and times (against this computer's clock), vocabularies, control "
    "characters and patient identifiers in free text. It cannot check what "
    "needs the record: that courses, pairs, sessions, goals and people exist, who may "
    "record what, and whether a command id was used before. Nothing was recorded."
)
_WITHIN_LINE: Final = re.compile(r"at line \d+ column")
BATCH: Final = 500
"""Lines decided and committed together (a failed batch leaves none of its lines)."""
BLANK: Final = Violation(
    "", "blank_line", "a blank line; a JSON-lines file has one command per line"
)
_CHUNK: Final = 64 * 1024
_UNREAD: Final = frozenset({"too_deep", "too_large"})


@dataclass(frozen=True)
class TooLong:
    """A line longer than a command may be (read past, never held in memory whole)."""

    size: int
    head: bytes
    """Its first bytes, which may name the command."""


@dataclass(frozen=True)
class Rejection:
    line: int
    command: str
    command_id: str | None
    errors: tuple[Violation, ...]

    def describe(self) -> str:
        what = []
        if self.command:
            what.append(self.command)
        if self.command_id:
            what.append(f"command_id {self.command_id}")
        reasons = "; ".join(str(v) for v in self.errors)
        if what:
            return _("line %(line)s (%(what)s): %(reasons)s") % {
                "line": self.line,
                "what": ", ".join(what),
                "reasons": reasons,
            }
        return _("line %(line)s: %(reasons)s") % {"line": self.line, "reasons": reasons}

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "command": self.command or None,
            "command_id": self.command_id,
            "errors": [
                {"field": v.field, "rule": v.rule, "message": v.message} for v in self.errors
            ],
        }


@dataclass
class ImportReport:
    source: str
    dry_run: bool
    lines: int = 0
    recorded: int = 0
    repeated: int = 0
    valid: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    stop: tuple[int, str] | None = None
    """Where the store failed, and how: the line and the store's first line of error."""

    @property
    def stopped(self) -> str | None:
        """Why the import stopped, in English (as the JSON says it)."""
        with i18n.speaking(i18n.DEFAULT):
            return self.stopped_text()

    def stopped_text(self) -> str | None:
        """Why the import stopped, in the current language."""
        if self.stop is None:
            return None
        line, cause = self.stop
        return _(
            "stopped at line %(line)s: the store failed (%(cause)s); the lines before its "
            "batch were applied, and importing the file again applies the rest"
        ) % {"line": line, "cause": cause}

    @property
    def ok(self) -> bool:
        return not self.rejected and self.stop is None

    def summary(self) -> str:
        counts = {
            "file": self.source,
            "lines": i18n.number(self.lines),
            "valid": i18n.number(self.valid),
            "recorded": i18n.number(self.recorded),
            "repeated": i18n.number(self.repeated),
            "rejected": i18n.number(len(self.rejected)),
        }
        if self.dry_run:
            return (
                ngettext(
                    "%(file)s (dry run): %(lines)s line: %(valid)s valid, %(rejected)s rejected",
                    "%(file)s (dry run): %(lines)s lines: %(valid)s valid, %(rejected)s rejected",
                    self.lines,
                )
                % counts
            )
        return (
            ngettext(
                "%(file)s: %(lines)s line: %(recorded)s recorded, %(repeated)s already recorded, "
                "%(rejected)s rejected",
                "%(file)s: %(lines)s lines: %(recorded)s recorded, %(repeated)s already recorded, "
                "%(rejected)s rejected",
                self.lines,
            )
            % counts
        )

    def __str__(self) -> str:
        return self.summary()

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.source, "dry_run": self.dry_run, "lines": self.lines}
        if self.dry_run:
            out["valid"] = self.valid
        else:
            out["recorded"] = self.recorded
            out["already_recorded"] = self.repeated
        out["rejected"] = [r.as_dict() for r in self.rejected]
        out["stopped"] = self.stopped
        return out


def _within_the_line(message: str) -> str:
    """The parser's message with only the column (it counts lines within the one line it
    was given), still a message of the catalogs when it was one."""
    if isinstance(message, Text):
        values = {
            name: _WITHIN_LINE.sub("at column", str(value))
            if isinstance(value, str | Exception)
            else value
            for name, value in message.values.items()
        }
        return lazy(message.msgid, **values)
    return _WITHIN_LINE.sub("at column", message)


def _rejection(number: int, line: bytes, rejected: CommandRejected) -> Rejection:
    command_id = None
    try:
        data = decode(line)
    except JsonRejected as unread:
        # Too deep or too large to decode: the ids it seems to name, to say which it was.
        data = named(line) if unread.violation.rule in _UNREAD else None
    if isinstance(data, dict) and isinstance(data.get("command_id"), str):
        command_id = display_key(data["command_id"])
    # The parser counts lines within the one line it was given: only the column helps.
    errors = tuple(
        Violation(v.field, v.rule, _within_the_line(v.message)) if v.rule == "json_invalid" else v
        for v in rejected.violations
    )
    return Rejection(number, rejected.command, command_id, errors)


def _check_alone(line: bytes) -> None:
    """What a dry run checks of a line: the command on its own, its time against
    this computer's clock."""
    command = parse_command(line)
    if command.occurred_at is not None:
        ahead = future_violation(command.occurred_at, _now())
        if ahead is not None:
            raise CommandRejected(command.command, [ahead])


def _validate(numbered: Iterator[tuple[int, bytes]], report: ImportReport) -> ImportReport:
    for number, line in numbered:
        try:
            _check_alone(line)
        except CommandRejected as rejected:
            report.rejected.append(_rejection(number, line, rejected))
        else:
            report.valid += 1
    return report


def apply_lines(
    app: PeerLog | None,
    lines: Iterable[bytes | TooLong],
    report: ImportReport,
    progress: Progress,
) -> ImportReport:
    """Apply (or, without an application, only validate) each line, in order."""
    numbered = _numbered(lines, report, progress)
    if app is None:
        return _validate(numbered, report)
    # The application decides every line in order, on the state the lines before it
    # left, and commits them in batches: one durable commit per batch, not per line.
    pending: deque[tuple[int, bytes]] = deque()

    def lines_to_apply() -> Iterator[bytes]:
        for number, line in numbered:
            pending.append((number, line))
            yield line

    try:
        for outcome in app.execute_many(lines_to_apply(), batch_size=BATCH):
            number, line = pending.popleft()
            if isinstance(outcome, CommandRejected):
                report.rejected.append(_rejection(number, line, outcome))
            elif outcome.repeated:
                report.repeated += 1
            else:
                report.recorded += 1
    except (PersistenceError, psycopg.Error, sqlite3.Error) as exc:
        first = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        where = pending[0][0] if pending else report.lines
        report.stop = (where, first)
        report.lines = where
    # Blank lines are noted as they are read, ahead of the batch they belong to.
    report.rejected.sort(key=lambda rejection: rejection.line)
    return report


def _now() -> datetime:
    return datetime.now(UTC)


def read_lines(stream: BinaryIO, limit: int = MAX_COMMAND_BYTES) -> Iterator[bytes | TooLong]:
    """The lines of a stream; a line longer than ``limit`` bytes is read past in chunks
    and stands as :class:`TooLong`, so that no line is ever held whole in memory."""
    while True:
        line = stream.readline(limit + 2)  # room for the line's own CR LF
        if not line:
            return
        size = len(line)
        complete = line.endswith(b"\n") or size < limit + 2
        while not complete:
            more = stream.readline(_CHUNK)
            size += len(more)
            complete = not more or more.endswith(b"\n")
        if size == len(line) and len(line.rstrip(b"\r\n")) <= limit:
            yield line
        else:
            yield TooLong(size, line[:_CHUNK])


def _numbered(
    lines: Iterable[bytes | TooLong], report: ImportReport, progress: Progress
) -> Iterator[tuple[int, bytes]]:
    """Each non-blank line with its number (blank lines and lines too long to be a
    command are rejected on the way). A byte-order mark before a line is ignored."""
    for number, raw in enumerate(lines, 1):
        report.lines = number
        if isinstance(raw, TooLong):
            progress.advance(1, raw.size)
            hint = named(raw.head)
            command = hint.get("command", "")
            report.rejected.append(
                Rejection(
                    number,
                    command if command in COMMAND_NAMES else "",
                    hint.get("command_id"),
                    (too_large(raw.size),),
                )
            )
            continue
        progress.advance(1, len(raw))
        line = strip_bom(raw).rstrip()
        if line:
            yield number, line
        else:
            report.rejected.append(Rejection(number, "", None, (BLANK,)))


def import_file(
    app: PeerLog, path: str | os.PathLike[str], *, dry_run: bool = False, progress: bool = False
) -> ImportReport:
    """Import a JSON-lines file into the record (what ``peerlog import FILE`` does)."""
    report = ImportReport(str(path), dry_run)
    with Path(path).open("rb") as stream:
        bar = Progress("importing", _size(stream), enabled=progress)
        apply_lines(None if dry_run else app, read_lines(stream), report, bar)
    bar.finish(report.lines)
    return report


def _size(stream: BinaryIO) -> int | None:
    try:
        info = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return None
    return info.st_size or None


@click.command("import", short_help="Apply a JSON-lines file of commands.")
@click.argument("file", type=click.File("rb"))
@click.option("--dry-run", is_flag=True, help="Only validate each line; record nothing.")
@progress_option
@format_option("text", "json")
@pass_session
def import_command(
    session: Session, /, *, file: BinaryIO, dry_run: bool, progress: bool | None, fmt: str
) -> None:
    """Apply a JSON-lines file of commands (one command per line; - reads stdin).

    Good lines are recorded, in order; every rejected line is reported with its line
    number, its command and the reason, and the exit code is 1 if any line was
    rejected. Importing the same file again changes nothing: each command id is
    recorded once, and a repeated command is counted as already recorded.

    \b
    Example:
      peerlog import week-12.jsonl
      peerlog import --dry-run week-12.jsonl
      cat week-12.jsonl | peerlog import -
    """
    name = getattr(file, "name", "-")
    source = "stdin" if name in ("-", "<stdin>") or not isinstance(name, str) else name
    report = ImportReport(source, dry_run)
    bar = Progress("importing", _size(file), enabled=wanted(asked=progress))
    app = None if dry_run else session.app()
    apply_lines(app, read_lines(file), report, bar)
    bar.finish(report.lines)
    if fmt == "json":
        echo_json(report.as_dict())
    else:
        click.echo(report.summary())
        for rejection in report.rejected:
            click.echo(rejection.describe())
        if dry_run:
            click.echo(_(DRY_RUN_LIMITS))
    stopped = report.stopped_text()
    if stopped is not None:
        click.echo(_("Error: %(message)s") % {"message": stopped}, err=True)
    if not report.ok:
        click.get_current_context().exit(FAILED)
