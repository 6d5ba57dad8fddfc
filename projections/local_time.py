"""Times as the ward reads them: in the course's time zone, with the zone named.

A course may name its time zone (``time_zone`` on ``open_course``, an IANA name such as
``Europe/Stockholm``); else the deployment's ``PEERLOG_TIME_ZONE``; else UTC. The record
keeps every time in UTC (and JSON gives them with their offsets); what people read, and
what they type without an offset, is in the course's zone: ``08:00`` on a Swedish ward
is 07:00 UTC in winter and 06:00 UTC in summer.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from peerlog import i18n
from peerlog.domain.events import CourseOpened, PairFormed
from peerlog.domain.vocabulary import course_stream, pair_stream
from peerlog.i18n import lazy
from peerlog.persistence.config import ConfigurationError
from peerlog.persistence.mapper import EventMapper
from peerlog.persistence.records import RecordedEvent

if TYPE_CHECKING:
    from peerlog.projections.source import EventSource

TIME_ZONE: Final = "PEERLOG_TIME_ZONE"
"""The setting that names the time zone of courses that name none."""
UTC_ZONE: Final = ZoneInfo("UTC")

_CLOCK_TIME: Final = re.compile(r"\d{1,2}:\d{2}(:\d{2})?")
_NO_OFFSET: Final = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{1,2}:\d{2}(:\d{2}(\.\d{1,6})?)?")

# A course's zone is set when it is opened and never changes: read once per record.
_known: weakref.WeakKeyDictionary[EventSource, dict[str, str | None]] = weakref.WeakKeyDictionary()


def zone_named(name: str) -> ZoneInfo:
    """The zone of an IANA name (ValueError when the system knows none by that name)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            lazy(
                "%(name)s is not a time zone this system knows; "
                "give an IANA name, like Europe/Stockholm",
                name=repr(name),
            )
        ) from None


def default_zone(settings: Mapping[str, str]) -> ZoneInfo:
    """``PEERLOG_TIME_ZONE``, else UTC."""
    name = (settings.get(TIME_ZONE) or "").strip()
    if not name:
        return UTC_ZONE
    try:
        return zone_named(name)
    except ValueError as exc:
        raise ConfigurationError(
            lazy("%(name)s: %(error)s", name=TIME_ZONE, error=exc.args[0])
        ) from None


def _course_zone_name(source: EventSource, course_id: str) -> str | None:
    known = _known.setdefault(source, {})
    if course_id in known:
        return known[course_id]
    first = source.records(course_stream(course_id), limit=1)
    if not first:
        return None
    event = source.decode(first[0].topic, first[0].state)
    name = event.time_zone if isinstance(event, CourseOpened) else None
    known[course_id] = name
    return name


def zone_in_records(records: Sequence[RecordedEvent], settings: Mapping[str, str]) -> ZoneInfo:
    """The zone of the course whose stored events these are (an audit file's), without
    the record: the one its opening names, else the default."""
    if records:
        event = EventMapper().decode(records[0].topic, records[0].state)
        if isinstance(event, CourseOpened) and event.time_zone:
            try:
                return zone_named(event.time_zone)
            except ValueError:
                pass  # a zone this system does not know: the default's time is still right
    return default_zone(settings)


def course_zone(source: EventSource, course_id: str | None) -> ZoneInfo:
    """The zone the course's times are read in: its own, else the default, else UTC."""
    name = _course_zone_name(source, course_id) if course_id else None
    return zone_named(name) if name else default_zone(source.settings)


def pair_course(source: EventSource, pair_id: str) -> str | None:
    """The course a pair was formed in (None for a pair the record does not hold)."""
    first = source.records(pair_stream(pair_id), limit=1)
    if not first:
        return None
    event = source.decode(first[0].topic, first[0].state)
    return event.course_id if isinstance(event, PairFormed) else None


def pair_zone(source: EventSource, pair_id: str) -> ZoneInfo:
    return course_zone(source, pair_course(source, pair_id))


def local_when(moment: datetime | str | None, zone: ZoneInfo, *, seconds: bool = False) -> str:
    """A moment as the ward reads it, with its zone: ``2026-03-02 08:30 CET``."""
    if moment is None or moment == "":
        return "-"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(zone)
    # The date and time as the reader's language writes them, the zone as it is named.
    return f"{i18n.moment(local, seconds=seconds)} {local.strftime('%Z')}"


def zone_words(zone: ZoneInfo) -> str:
    """The zone's name for a sentence: ``Europe/Stockholm`` (or ``UTC``)."""
    return zone.key


def read_local(text: str, zone: ZoneInfo, now: datetime) -> datetime | None:
    """A time typed without a UTC offset, read in ``zone``: ``08:00`` is today at 08:00
    there, ``2026-03-02T08:00`` that day at 08:00 there. None for text of another shape
    (a time with an offset, or not a time at all: the command's checks answer it)."""
    text = text.strip()
    if _CLOCK_TIME.fullmatch(text):
        today: date = now.astimezone(zone).date()
        try:
            clock = time.fromisoformat(text if text[2:3] == ":" else f"0{text}")
        except ValueError:
            return None
        return datetime.combine(today, clock, zone).astimezone(UTC)
    if _NO_OFFSET.fullmatch(text):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
        return moment.replace(tzinfo=zone).astimezone(UTC)
    return None
