"""Times given on the command line: ISO 8601 with a UTC offset, or a date (the end of
that day on the ward, in the course's time zone, where the command knows the course)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any, TypeAlias
from zoneinfo import ZoneInfo

import click

from peerlog.cli.output import F
from peerlog.i18n import _

if TYPE_CHECKING:
    _ParamType: TypeAlias = click.ParamType[datetime, Any]
else:
    _ParamType = click.ParamType  # generic for type checkers only (older click is not)


class EndOfDay(datetime):
    """The end of a day given as a bare date: in UTC until the command knows in which
    time zone the day is meant (:func:`on_the_ward`)."""

    @classmethod
    def of(cls, day: date) -> EndOfDay:
        return cls.combine(day, time.max, UTC)


def on_the_ward(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    """A moment from the command line, a bare date read as the end of that day in ``zone``."""
    if isinstance(moment, EndOfDay):
        return datetime.combine(moment.date(), time.max, zone).astimezone(UTC)
    return moment


class Moment(_ParamType):
    """``2026-03-20T18:00:00+01:00`` (or ``...Z``); a bare date means the end of that day
    (on the ward, where the command knows the course; else in UTC), so that
    ``--as-of 2026-03-20`` includes all of the 20th."""

    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        try:
            if len(text) == 10:
                return EndOfDay.of(date.fromisoformat(text))
            moment = datetime.fromisoformat(text)
        except ValueError:
            self.fail(
                _(
                    "'%(text)s' is not a time; give ISO 8601 with a UTC offset, like "
                    "2026-03-20T18:00:00+01:00 or 2026-03-20T17:00:00Z, or a date (2026-03-20)"
                )
                % {"text": text},
                param,
                ctx,
            )
        if moment.tzinfo is None:
            self.fail(
                _("'%(text)s' has no UTC offset; add one, like %(text)s+01:00 or %(text)sZ")
                % {"text": text},
                param,
                ctx,
            )
        try:
            return moment.astimezone(UTC)
        except (OverflowError, ValueError):
            self.fail(
                _("'%(text)s' is out of range (years 1 to 9999, in UTC)") % {"text": text},
                param,
                ctx,
            )


MOMENT = Moment()


def as_of_options(function: F) -> F:
    """``--as-of`` and ``--as-of-occurred``, the two clocks of every as-of question."""
    function = click.option(
        "--as-of-occurred",
        "as_of_occurred",
        type=MOMENT,
        help="Only what had happened by this time (occurred_at), as recorded so far.",
    )(function)
    return click.option(
        "--as-of",
        "as_of",
        type=MOMENT,
        help="Only what had been recorded by this time (recorded_at), as the record stood then.",
    )(function)
