"""How commands print: JSON, aligned columns, times in UTC, rounded balances."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar
from zoneinfo import ZoneInfo

import click

from peerlog.i18n import N_, ratio
from peerlog.projections.local_time import local_when

FORMAT_HELP: Final = N_("Output format.")
_ZERO: Final = timedelta(0)

F = TypeVar("F", bound=Callable[..., Any])


def format_option(*choices: str, default: str | None = None) -> Callable[[F], F]:
    """The ``--format`` option of a command whose output is data."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default=default or choices[0],
        show_default=True,
        help=FORMAT_HELP,
    )


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=_default)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    return str(value)


def echo_json(data: Any) -> None:
    click.echo(to_json(data))


def when(moment: datetime | None, *, seconds: bool = True, zone: ZoneInfo | None = None) -> str:
    """A moment in UTC, as ``2026-03-02 07:30:00`` (fast: replay prints thousands); with
    ``zone``, in that zone and named: ``2026-03-02 08:30:00 CET``."""
    if moment is None:
        return "-"
    if zone is not None:
        return local_when(moment, zone, seconds=seconds)
    if moment.utcoffset() != _ZERO:
        moment = moment.astimezone(UTC)
    return moment.isoformat(" ", "seconds")[: 19 if seconds else 16]


def table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    """Rows as aligned columns under a header (numbers right-aligned)."""
    cells = [[str(h) for h in header], *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    numeric = [
        all(isinstance(row[i], int | float) for row in rows) and bool(rows)
        for i in range(len(header))
    ]
    lines = []
    for row in cells:
        parts = [
            cell.rjust(width) if is_number else cell.ljust(width)
            for cell, width, is_number in zip(row, widths, numeric, strict=True)
        ]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return ratio(value)
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)
