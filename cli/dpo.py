"""The data-protection officer's commands: ``peerlog forget`` (the right to erasure)
and ``peerlog person`` (a subject-access request)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click
import msgspec

from peerlog import PeerLog, i18n
from peerlog.cli.errors import Failed
from peerlog.cli.export import event_row
from peerlog.cli.output import echo_json, format_option, table, when
from peerlog.cli.recording import new_command_id
from peerlog.cli.session import Session, pass_session
from peerlog.domain.errors import CommandRejected
from peerlog.i18n import _, ngettext, pgettext
from peerlog.persistence.keys import ErasureIncomplete
from peerlog.projections.persons import PersonRecord, opened, person_record, texts_about
from peerlog.projections.source import EventSource


def _known(source: EventSource, person_id: str) -> PersonRecord:
    record = person_record(source, person_id)
    if not record.known:
        raise Failed(
            _("'%(person)s' is not in the record: no event is by or about them")
            % {"person": person_id}
        )
    return record


def _courses(courses: Sequence[str]) -> str:
    """``course vfu-1`` or ``courses vfu-1, vfu-2``, in the language's words."""
    return ngettext("course %(courses)s", "courses %(courses)s", len(courses)) % {
        "courses": ", ".join(courses)
    }


def _pairs(pairs: Sequence[str]) -> str:
    """``pair p1``, ``pairs p1, p2`` or ``no pair``."""
    if not pairs:
        return _("no pair")
    return ngettext("pair %(pairs)s", "pairs %(pairs)s", len(pairs)) % {"pairs": ", ".join(pairs)}


def _preview(record: PersonRecord) -> list[str]:
    """What forgetting the person erases, and what stays."""
    entries = len(record.entries)
    return [
        _("%(person)s is known in %(courses)s; %(pairs)s.")
        % {
            "person": record.person_id,
            "courses": _courses(record.courses),
            "pairs": _pairs(record.pairs),
        },
        ngettext(
            "%(count)s entry is by or about them (%(by)s recorded by them).",
            "%(count)s entries are by or about them (%(by)s recorded by them).",
            entries,
        )
        % {"count": i18n.number(entries), "by": i18n.number(record.by_them)},
        ngettext(
            "Erased: %(count)s personal text by or about them "
            "(%(names)s of them their name), in every course at once.",
            "Erased: %(count)s personal texts by or about them "
            "(%(names)s of them their name), in every course at once.",
            record.sealed_texts,
        )
        % {"count": i18n.number(record.sealed_texts), "names": i18n.number(record.names)},
        _(
            "Kept: ids, roles, pairs, sessions, entries as entries, counts, levels and the "
            "hash chains (an erasure is not tampering)."
        ),
    ]


@click.command("forget", short_help="Erase a person's personal data (the right to erasure).")
@click.argument("person_id", metavar="PERSON")
@click.option(
    "--actor",
    envvar="PEERLOG_ACTOR",
    show_envvar=True,
    help="Who erases: a coordinator of every course the person is known in.",
)
@click.option("--yes", is_flag=True, help="Do not ask; for scripts.")
@click.option(
    "--id",
    "command_id",
    help="The command id; forgetting again with the same id finishes an interrupted "
    "erasure. [default: a new id, printed]",
)
@pass_session
def forget_command(
    session: Session, /, *, person_id: str, actor: str | None, yes: bool, command_id: str | None
) -> None:
    """Erase a person's personal data: every text by or about them (their names,
    notes, feedback, reflections, comments, reasons) becomes unreadable, in every
    course at once, and their key is removed from the database files.

    Shows what will be erased and asks first (--yes does not ask). The actor must be a
    coordinator of every course the person is known in, and not the person. Ids and
    the record's structure stay, and so do its hash chains and checkpoints; nothing new
    is recorded by or about the person afterwards. See docs/privacy.md#erasure.

    \b
    Example:
      peerlog forget p05-b --actor coord-1
      peerlog forget p05-b --actor coord-1 --yes
    """
    if actor is None:
        raise click.UsageError(_("who erases? give --actor ID (or set PEERLOG_ACTOR)"))
    app = session.app()
    record = _known(session.events(), person_id)
    try:
        app.check_forget(person_id, actor=actor)
    except CommandRejected as rejected:
        if rejected.rule != "already_forgotten" or command_id is not None:
            raise
        when_forgotten = _courses(record.forgotten_in)
        # Forgetting again finishes an erasure whose key removal was interrupted.
        _forget(app, person_id, actor, new_command_id(), quiet=True)
        raise Failed(
            _(
                "'%(person)s' was already forgotten (in %(courses)s); "
                "nothing of theirs is left to erase"
            )
            % {"person": person_id, "courses": when_forgotten}
        ) from None
    for line in _preview(record):
        click.echo(line, err=True)
    if not yes:
        click.confirm(
            _("Forget %(person)s? This cannot be undone") % {"person": person_id},
            abort=True,
            err=True,
        )
    _forget(app, person_id, actor, command_id or new_command_id(), quiet=False)


def _forget(app: PeerLog, person_id: str, actor: str, command_id: str, *, quiet: bool) -> None:
    try:
        result = app.forget(person_id, actor=actor, command_id=command_id)
    except CommandRejected as rejected:
        if quiet and rejected.rule == "already_forgotten":
            return
        raise
    except ErasureIncomplete as exc:
        raise Failed(
            _(
                "%(person)s's erasure was recorded and their key deleted, but not yet removed "
                "from the database files: %(problem)s; run 'peerlog forget %(person)s --id "
                "%(command_id)s' again to finish"
            )
            % {"person": person_id, "problem": exc, "command_id": command_id}
        ) from None
    if quiet:
        return
    courses = _courses([e.stream.removeprefix("course/") for e in result.events])
    if result.repeated:
        line = _(
            "%(person)s already forgotten by this command (%(command_id)s) in %(courses)s: "
            "their personal texts read as [erased] everywhere, and their key is gone"
        )
    else:
        line = _(
            "%(person)s forgotten (%(command_id)s) in %(courses)s: their personal "
            "texts read as [erased] everywhere, and their key is gone"
        )
    click.echo(line % {"person": person_id, "command_id": result.command_id, "courses": courses})


@click.command("person", short_help="What the record holds about a person (subject access).")
@click.argument("person_id", metavar="PERSON")
@format_option("text", "json")
@pass_session
def person_command(session: Session, /, *, person_id: str, fmt: str) -> None:
    """What the record holds about a person, for a subject-access request: every
    entry by or about them - roster events, pairs, sessions, steps, feedback given and
    received, reflections, assessments, corrections and retractions - in the order
    recorded, with their texts opened (or "[erased]").

    The output holds personal data, of this person and of the people they worked
    with: review it before it leaves the institution.

    \b
    Example:
      peerlog person p03-a
      peerlog person p03-a --format json > p03-a.json
    """
    session.must_exist()
    source = session.record().events
    record = _known(source, person_id)
    rows = []
    readable = erased = 0
    for entry, event in opened(source, record):
        rows.append((entry, event_row(entry.position, entry.recorded_at, entry.topic, event)))
        counted = texts_about(entry, event, person_id)
        readable, erased = readable + counted[0], erased + counted[1]
    if fmt == "json":
        echo_json(_as_json(record, [row for _, row in rows], (readable, erased)))
        return
    _print(record, rows, (readable, erased))


def _as_json(
    record: PersonRecord, rows: list[dict[str, Any]], texts: tuple[int, int]
) -> dict[str, Any]:
    return {
        "person_id": record.person_id,
        "courses": record.courses,
        "pairs": record.pairs,
        "forgotten_in": record.forgotten_in,
        "entries": len(rows),
        "recorded_by_them": record.by_them,
        "texts": {"readable": texts[0], "erased": texts[1]},
        "counts": record.counts(),
        "events": rows,
    }


_BASE = ("position", "recorded_at", "stream", "version", "type", "command_id", "actor")


def _print(
    record: PersonRecord, rows: list[tuple[Any, dict[str, Any]]], texts: tuple[int, int]
) -> None:
    click.echo(_("What the record holds about %(person)s") % {"person": record.person_id})
    click.echo(_("courses: %(courses)s") % {"courses": ", ".join(record.courses) or "-"})
    click.echo(_("pairs: %(pairs)s") % {"pairs": ", ".join(record.pairs) or "-"})
    if record.forgotten_in:
        click.echo(_("forgotten in: %(courses)s") % {"courses": ", ".join(record.forgotten_in)})
    click.echo(
        ngettext(
            "%(count)s entry (%(by)s recorded by them); their personal "
            "texts: %(readable)s readable, %(erased)s erased",
            "%(count)s entries (%(by)s recorded by them); their personal "
            "texts: %(readable)s readable, %(erased)s erased",
            len(rows),
        )
        % {
            "count": i18n.number(len(rows)),
            "by": i18n.number(record.by_them),
            "readable": i18n.number(texts[0]),
            "erased": i18n.number(texts[1]),
        }
    )
    click.echo("")
    headings = [pgettext("column", "type"), pgettext("column", "entries")]
    click.echo(table(sorted(record.counts().items()), headings))
    for entry, row in rows:
        click.echo("")
        by = _("by them") if entry.by else _("by %(actor)s") % {"actor": row["actor"]}
        click.echo(
            f"#{row['position']}  {when(entry.recorded_at)}  {row['stream']}@{row['version']}  "
            f"{row['type']} ({by})"
        )
        for name, value in row.items():
            if name in _BASE or value is None or value in ((), [], {}):
                continue
            click.echo(f"    {name}: {_text(value)}")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return msgspec.json.encode(value).decode()
