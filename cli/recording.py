"""``peerlog record COMMAND FIELD=VALUE ...``: record one command from the shell."""

from __future__ import annotations

import sys
import uuid
from datetime import datetime
from typing import Any

import click

from peerlog.cli.errors import Failed
from peerlog.cli.fields import MODELS, FieldsError, describe_fields, parse_words
from peerlog.cli.listing import COURSES, PAIRS
from peerlog.cli.output import echo_json, format_option, table
from peerlog.cli.session import Session, pass_session
from peerlog.commands import COMMAND_NAMES
from peerlog.domain.errors import CommandRejected
from peerlog.domain.suggest import suggestion
from peerlog.i18n import N_, _, pgettext, shown, shown_error
from peerlog.json_text import MAX_COMMAND_BYTES, JsonRejected, decode
from peerlog.projections import directory
from peerlog.projections.local_time import course_zone, pair_course, read_local
from peerlog.projections.source import EventSource


def new_command_id() -> str:
    return f"cli-{uuid.uuid4().hex[:16]}"


def _json_argument(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    raw = sys.stdin.buffer.read(MAX_COMMAND_BYTES + 1) if text == "-" else text
    try:
        data = decode(raw)
    except JsonRejected as rejected:
        raise click.BadParameter(shown(rejected.violation.message), param_hint="--json") from None
    if not isinstance(data, dict):
        raise click.BadParameter(_("a command is a JSON object"), param_hint="--json")
    return data


def build_command(
    command: str | None,
    words: tuple[str, ...],
    json_text: str | None,
    *,
    actor: str | None,
    command_id: str | None,
) -> dict[str, Any]:
    """The command as the contract's JSON object: --json, then the words, then the
    options; a new command id unless one was given."""
    data = _json_argument(json_text)
    name = command or data.get("command")
    if not isinstance(name, str) or name not in MODELS:
        raise click.UsageError(
            _('name the command (as COMMAND, or as "command" in --json): %(commands)s')
            % {"commands": ", ".join(COMMAND_NAMES)}
        )
    try:
        data.update(parse_words(name, words))
    except FieldsError as exc:
        raise click.UsageError(shown_error(exc)) from None
    data["command"] = name
    if actor is not None:
        data["actor"] = actor
    if command_id is not None:
        data["command_id"] = command_id
    data.setdefault("command_id", new_command_id())
    if "actor" not in data:
        raise click.UsageError(_("who records it? give --actor ID (or set PEERLOG_ACTOR)"))
    if name == "give_feedback":
        # Whoever records feedback from the shell gives it, unless giver= says otherwise.
        data.setdefault("giver", data["actor"])
    return data


_DEFAULTED = {"giver"}
"""Fields the shell fills in when they are not given (the giver is the actor)."""


def commands_and_fields() -> str:
    """The epilog of ``peerlog record --help``: every command with its fields
    (optional ones in brackets)."""
    lines = [
        N_(
            "The commands and their fields ([optional]; every command also takes actor, "
            "command_id and occurred_at; 'peerlog record COMMAND --fields' tells more):"
        ),
        "",
        "\b",
    ]
    for name, model in MODELS.items():
        fields = [
            field if info.is_required() and field not in _DEFAULTED else f"[{field}]"
            for field, info in model.model_fields.items()
            if field not in {"command", "command_id", "actor", "occurred_at"}
        ]
        lines.append(f"  {name:<18} {' '.join(fields)}")
    return "\n".join(lines)


def _hint(source: EventSource, rule: str, data: dict[str, Any]) -> str | None:
    """The ids there are, after a course or pair that is not."""
    if rule == "unknown_course":
        known = directory.course_ids(source)
        return suggestion(str(data.get("course_id")), known, COURSES, "peerlog courses")
    if rule == "unknown_pair":
        known = [p.pair_id for p in directory.pairs(source)]
        return suggestion(str(data.get("pair_id")), known, PAIRS, "peerlog pairs")
    return None


def read_in_local_time(source: EventSource, data: dict[str, Any], now: datetime) -> None:
    """An ``occurred_at`` typed without a UTC offset is a time on the ward: read it in
    the course's time zone (``08:00`` is today at 08:00 there)."""
    typed = data.get("occurred_at")
    if not isinstance(typed, str):
        return
    course = data.get("course_id")
    if not isinstance(course, str):
        pair = data.get("pair_id")
        course = pair_course(source, pair) if isinstance(pair, str) else None
    moment = read_local(typed, course_zone(source, course), now)
    if moment is not None:
        data["occurred_at"] = moment.isoformat()


@click.command(
    "record",
    short_help="Record one command, written as FIELD=VALUE words.",
    epilog=commands_and_fields(),
)
@click.argument("command", required=False, metavar="COMMAND")
@click.argument("words", nargs=-1, metavar="[FIELD=VALUE]...")
@click.option("--actor", envvar="PEERLOG_ACTOR", show_envvar=True, help="Who records it.")
@click.option(
    "--id",
    "command_id",
    help="The command id (send it again with the same id and nothing is recorded twice). "
    "[default: a new id, printed]",
)
@click.option(
    "--json",
    "json_text",
    metavar="JSON",
    help="The command (or some of its fields) as a JSON object; - reads it from stdin. "
    "FIELD=VALUE words override its fields.",
)
@click.option("--fields", "show_fields", is_flag=True, help="List COMMAND's fields and stop.")
@format_option("text", "json")
@pass_session
def record_command(
    session: Session,
    /,
    *,
    command: str | None,
    words: tuple[str, ...],
    actor: str | None,
    command_id: str | None,
    json_text: str | None,
    show_fields: bool,
    fmt: str,
) -> None:
    """Record one command of the contract, written as FIELD=VALUE words.

    \b
    FIELD=text                  a text, id, date or time
    FIELD=a,b                   a list (FIELD= is the empty list)
    FIELD=key:value,key:value   a mapping, e.g. roles=s1:performer,s2:observer
    FIELD.key=value             one entry of a mapping, e.g. stages.feelings=Calm
    FIELD:=JSON                 any JSON value

    The actor is --actor (or PEERLOG_ACTOR, or actor=...); the command id is --id (or
    command_id=...), else a new one, which is printed: sending the same id again
    records nothing twice. occurred_at=... says when it happened (default: now); a time
    without a UTC offset (occurred_at=08:00, or 2026-03-02T08:00) is read in the
    course's time zone.
    COMMAND --fields lists a command's fields.

    \b
    Example:
      peerlog record record_step --actor s1 pair_id=p1 session_id=d1 \\
          step_id=st7 kind=performance performers=s1 observers=s2 goals=hygiene \\
          note="Hand hygiene before and after the dressing change"
      peerlog record give_feedback --json '{"actor": "s2", ...}'
    """
    if command is not None and "=" in command:
        words, command = (command, *words), None  # the command is named in --json
    if command is not None and command not in MODELS:
        raise click.BadParameter(
            _("%(command)s is not a command; the commands are: %(commands)s")
            % {"command": repr(command), "commands": ", ".join(COMMAND_NAMES)},
            param_hint="COMMAND",
        )
    if show_fields:
        if command is None:
            raise click.UsageError(_("--fields needs a COMMAND"))
        headings = [
            pgettext("column", "field"),
            pgettext("column", "needed"),
            pgettext("column", "write it as"),
        ]
        click.echo(table(describe_fields(command), headings))
        return
    data = build_command(command, words, json_text, actor=actor, command_id=command_id)
    app = session.app()
    read_in_local_time(session.events(), data, app.clock())
    try:
        result = app.execute(data)
    except CommandRejected as rejected:
        hints = [
            hint for v in rejected.violations if (hint := _hint(session.events(), v.rule, data))
        ]
        raise Failed(" ".join([rejected.describe(), *map(shown, hints)])) from None
    name = data["command"]
    if fmt == "json":
        echo_json(result.as_dict())
        return
    events = ", ".join(
        _("%(event)s (position %(position)s)") % {"event": e, "position": e.position}
        for e in result.events
    )
    done = {"command": name, "command_id": result.command_id, "events": events}
    if result.repeated:
        click.echo(
            _("already recorded: %(command)s %(command_id)s (%(events)s); nothing new") % done
        )
    else:
        click.echo(_("recorded %(command)s %(command_id)s: %(events)s") % done)
