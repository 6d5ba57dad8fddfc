"""``peerlog export``: the record's events, or any read model, as JSON lines or CSV."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any, Final, TextIO

import click
import msgspec

from peerlog.cli.errors import Failed
from peerlog.cli.output import format_option
from peerlog.cli.session import Session, pass_session
from peerlog.cli.xapi import export_statements
from peerlog.domain.events import DomainEvent
from peerlog.domain.vocabulary import pair_stream
from peerlog.projections import TABLES
from peerlog.projections.source import EventSource
from peerlog.projections.tables import R, Table

EVENT_COLUMNS: Final = ("position", "recorded_at", "stream", "version", "type")
EVENT_BASE: Final = ("command_id", "actor", "occurred_at")
CHUNK: Final = 1000


def events(source: EventSource, stream: str | None) -> Iterator[dict[str, Any]]:
    """Every stored event (of one stream, or of the record), readable: personal texts
    opened (or shown as erased), in the order recorded."""
    mapper = source
    if stream is not None:
        batches: Iterator[list[tuple[int, str, bytes, datetime]]] = iter(
            [[(r.id, r.topic, r.state, r.recorded_at) for r in source.records(stream)]]
        )
    else:
        batches = _chunks(source.iter_raw(0))
    for batch in batches:
        decoded = [mapper.decode(topic, state) for _, topic, state, _ in batch]
        for (position, topic, _, recorded_at), event in zip(
            batch, mapper.open_many(decoded), strict=True
        ):
            yield event_row(position, recorded_at, topic, event)


def _chunks(raw: Iterator[tuple[int, str, bytes, datetime]]) -> Iterator[list[Any]]:
    batch = []
    for row in raw:
        batch.append(row)
        if len(batch) >= CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def event_row(
    position: int, recorded_at: datetime, topic: str, event: DomainEvent
) -> dict[str, Any]:
    fields: dict[str, Any] = msgspec.to_builtins(event, enc_hook=str)
    stream = fields.pop("originator_id")
    version = fields.pop("originator_version")
    return {
        "position": position,
        "recorded_at": recorded_at.isoformat(),
        "stream": stream,
        "version": version,
        "type": topic,
        **fields,
    }


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    return value


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple | dict):
        return json.dumps(_json_value(value), ensure_ascii=False)
    return value


def write_events(rows: Iterator[dict[str, Any]], out: TextIO, fmt: str) -> int:
    count = 0
    if fmt == "jsonl":
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
        return count
    writer = csv.writer(out)
    writer.writerow([*EVENT_COLUMNS, *EVENT_BASE, "data"])
    for row in rows:
        data = {k: v for k, v in row.items() if k not in EVENT_COLUMNS and k not in EVENT_BASE}
        writer.writerow(
            [
                *(row[k] for k in EVENT_COLUMNS),
                *(row.get(k, "") for k in EVENT_BASE),
                json.dumps(data, ensure_ascii=False),
            ]
        )
        count += 1
    return count


def write_table(table: Table[R], rows: list[R], out: TextIO, fmt: str) -> int:
    if fmt == "jsonl":
        for row in rows:
            record = {n: _json_value(v) for n, v in table.named(row).items()}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return len(rows)
    writer = csv.writer(out)
    writer.writerow(table.column_names)
    writer.writerows([_csv_value(v) for v in table.named(row).values()] for row in rows)
    return len(rows)


HELP: Final = f"""Export the record's events, its xAPI statements, or a read-model table, as
JSON lines or CSV.

WHAT is "events", "xapi" or the name of a read-model table (see docs/read-models.md):
{", ".join(TABLES)}.

Events come in the order recorded, readable: position, recorded_at, stream, version,
type and the event's fields, personal texts opened (or "[erased]"). The export holds
personal data: keep it as safe as the record. In CSV the event's own fields are one
JSON column, "data". A table is exported as its read model stands; run "peerlog
projections run" first to bring it up to date. "xapi" writes the statements a
forwarder sends to a learning record store (docs/xapi.md), one per line, in order:
JSON lines only. --pair keeps one pair's events or statements (and the voiding of
them), or the rows of a table that has a pair_id column.

\b
Example:
  peerlog export events --pair p03 > p03.jsonl
  peerlog export xapi --pair p03 > p03-statements.jsonl
  peerlog export pair_balance --format csv -o balance.csv
"""


@click.command(
    "export", help=HELP, short_help="Events, xAPI statements or a read model as JSON lines or CSV."
)
@click.argument("what", type=click.Choice(["events", "xapi", *TABLES]), metavar="WHAT")
@click.option("--pair", "pair_id", metavar="PAIR", help="Only this pair's events or rows.")
@click.option(
    "--output", "-o", type=click.File("w", encoding="utf-8", lazy=True), default="-",
    help="Write to this file. [default: stdout]",
)  # fmt: skip
@format_option("jsonl", "csv")
@pass_session
def export_command(
    session: Session, /, *, what: str, pair_id: str | None, output: TextIO, fmt: str
) -> None:
    session.must_exist()
    if what == "xapi":
        if fmt != "jsonl":
            raise click.UsageError("xAPI statements are JSON; leave out --format csv")
        if pair_id is not None and not session.record().events.records(pair_stream(pair_id)):
            raise Failed(f"pair '{pair_id}' is not in the record")
        count = export_statements(session, pair_id, output)
    elif what == "events":
        stream = pair_stream(pair_id) if pair_id is not None else None
        record = session.record().events
        if stream is not None and not record.records(stream):
            raise Failed(f"pair '{pair_id}' is not in the record")
        count = write_events(events(record, stream), output, fmt)
    else:
        table = TABLES[what]
        where = {}
        if pair_id is not None:
            if "pair_id" not in table.column_names:
                raise click.UsageError(f"{what} has no pair_id column; leave out --pair")
            where["pair_id"] = pair_id
        session.runner()  # the read models' tables, made if they are missing
        source = session.read_models()
        count = write_table(table, source.store.read(table, **where), output, fmt)
        lag = source.lag
        if lag:
            click.echo(
                f"note: the read models are {lag:,} events behind the record; "
                "'peerlog projections run' brings them up to date",
                err=True,
            )
    if output.name not in ("<stdout>", "-"):
        click.echo(f"wrote {count:,} rows to {output.name}", err=True)
