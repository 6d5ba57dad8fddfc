"""Times in query strings: ISO 8601 with a UTC offset, or a date (the end of that day,
in UTC), as the CLI takes them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from peerlog.projections import AsOf
from peerlog.web.errors import ApiError


def moment(value: str | None, field: str) -> datetime | None:
    if value is None or value == "":
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time.max, UTC)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(
            422,
            field,
            "invalid_time",
            "not a time; give ISO 8601 with a UTC offset, like 2026-03-20T18:00:00+01:00 "
            "or 2026-03-20T17:00:00Z, or a date (2026-03-20)",
        ) from None
    if parsed.tzinfo is None:
        raise ApiError(
            422, field, "timezone_aware", "needs a UTC offset, for example 2026-03-20T18:00:00Z"
        )
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ApiError(422, field, "invalid_time", "is out of range") from None


def as_of(recorded: str | None, occurred: str | None) -> AsOf:
    return AsOf(moment(recorded, "as_of"), moment(occurred, "as_of_occurred"))
