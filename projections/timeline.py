"""A pair's history, event by event, as the record knew it at a time: the dispute replay.

``timeline(source, pair_id, as_of)`` reads the pair's stream once, opens its personal texts
in one go (a text of a forgotten person reads as the erased marker the mapper gives), and
tells each event in plain words: who recorded what, when it happened and when the record
learned of it. Corrections and retractions are linked both ways with the entries they
change, so a reader sees them side by side. With ``with_state`` the participation
projection is folded along in memory (the same code as the read model) and each item
carries the pair's roles and balance after it.

**Late entries.** An event's *delay* is ``recorded_at - occurred_at``. Its *usual delay*
is the smallest delay among the pair's events recorded before it (zero or less means
"recorded as it happened"; a history imported in one go has a large usual delay, which
shrinks as the import moves forward in time). An event is *late* when its delay exceeds
the usual delay (at least zero) by more than ``late_after`` (default 24 hours): it was
entered after the record had moved on. So an entry typed in two days after the shift is
late, and so is an entry added to an imported history after later days were already in
it, while an import of a whole placement in order is not all late.

**Told once.** A process remembers a timeline as told (:class:`Telling`, kept in the
event source's memory, :mod:`peerlog.projections.remembered`) per pair, as-of window,
language, ``with_state`` and ``late_after``; the next request reads the stream again
and tells only the events recorded since onto the remembered teller, where that gives
what telling from scratch gives: the stream's earlier events read back unchanged
(field for field), the new ones come after them, and no one whose texts it tells has
been forgotten (read from the key store, not a cache: their texts read as erased
now, so a pair with someone forgotten in it is told from scratch each time). Anything
else is told from scratch. An item handed out is never changed
afterwards: a correction of an entry told earlier changes a copy of it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, NamedTuple

import msgspec

from peerlog.domain.erasure import is_erased
from peerlog.domain.events import (
    PAIR_EVENTS,
    DomainEvent,
    EntryCorrected,
    EntryRetracted,
    FeedbackChanges,
    FeedbackGiven,
    PairFormed,
    ReflectionChanges,
    ReflectionRecorded,
    RolesSwitched,
    SessionClosed,
    SessionOpened,
    StepChanges,
    StepRecorded,
)
from peerlog.domain.pair import Entry
from peerlog.domain.vocabulary import GIBBS_STAGES, pair_stream
from peerlog.folding import folding
from peerlog.i18n import N_, Labels, _, language, lazy, ngettext
from peerlog.persistence.records import RecordedEvent
from peerlog.persistence.sealing import people_of
from peerlog.projections.asof import AsOf, NotInRecord
from peerlog.projections.base import ref
from peerlog.projections.ledger import Ledger, ledger_table
from peerlog.projections.participation import BALANCE, PARTICIPATION, Participation
from peerlog.projections.remembered import TellingKey, continued
from peerlog.projections.source import EventSource
from peerlog.projections.tables import Rows

LATE_AFTER: Final = timedelta(hours=24)
"""How much later than usual an event must be recorded to be marked late."""

LEDGER: Final = ledger_table("timeline_entries")
_BASE_FIELDS: Final = frozenset({"originator_id", "originator_version"})


class Text(NamedTuple):
    """A free text of an event: its label and value (``erased`` when its key is gone)."""

    label: str
    value: str

    @property
    def erased(self) -> bool:
        return is_erased(self.value)


@dataclass(frozen=True)
class Link:
    """A correction or retraction, seen from the entry it changes (or the reverse)."""

    position: int
    event: str
    kind: str
    """``corrected`` or ``retracted``."""
    occurred_at: datetime
    summary: str


class PairState(NamedTuple):
    """The pair after an event: the roles in the open session, and the balance."""

    session_id: str | None
    roles: Mapping[str, str]
    performer: Mapping[str, int]
    feedback_given: Mapping[str, int]
    performer_balance: float | None
    feedback_balance: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "roles": dict(self.roles),
            "performer": dict(self.performer),
            "feedback_given": dict(self.feedback_given),
            "performer_balance": _round(self.performer_balance),
            "feedback_balance": _round(self.feedback_balance),
        }


class Item:
    """One event of the pair's history, told in plain words."""

    __slots__ = (
        "changed_by",
        "changes",
        "entry_id",
        "late_by",
        "raw",
        "record",
        "session_id",
        "state",
        "summary",
        "texts",
        "told_in",
    )

    def __init__(self, record: RecordedEvent, raw: DomainEvent) -> None:
        self.record = record
        self.raw = raw
        """The event, its personal texts opened (or marked erased)."""
        self.summary = ""
        self.texts: list[Text] = []
        self.session_id: str | None = None
        self.entry_id: str | None = None
        self.late_by: timedelta | None = None
        """How much later than usual it was recorded, when that is more than the threshold."""
        self.changes: Link | None = None
        """For a correction or retraction: the entry it changes."""
        self.changed_by: list[Link] = []
        """For an entry: the corrections and retractions of it (in the view)."""
        self.state: PairState | None = None
        self.told_in = 0
        """The round of telling that made it (a later round changes only a copy)."""

    def copy(self) -> Item:
        """The item, to be changed where this one is not (its links a list of their own)."""
        made = Item(self.record, self.raw)
        for name in Item.__slots__:
            setattr(made, name, getattr(self, name))
        made.changed_by = list(self.changed_by)
        return made

    @property
    def position(self) -> int:
        return self.record.id

    @property
    def event(self) -> str:
        return ref(self.raw)

    @property
    def type(self) -> str:
        return type(self.raw).__name__

    @property
    def recorded_at(self) -> datetime:
        return self.record.recorded_at

    @property
    def occurred_at(self) -> datetime:
        return self.raw.occurred_at

    @property
    def actor(self) -> str:
        return self.raw.actor

    @property
    def delay(self) -> timedelta:
        return self.record.recorded_at - self.raw.occurred_at

    @property
    def late(self) -> bool:
        return self.late_by is not None

    @property
    def people(self) -> frozenset[str]:
        """Everyone the event names: the actor, members, givers, authors, subjects."""
        return frozenset(_people(self.raw))

    def fields(self) -> dict[str, Any]:
        """The event's own fields, as JSON values."""
        data: dict[str, Any] = msgspec.to_builtins(self.raw, enc_hook=str)
        return {k: v for k, v in data.items() if k not in _BASE_FIELDS}

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "position": self.position,
            "event": self.event,
            "type": self.type,
            "recorded_at": self.recorded_at.isoformat(),
            "occurred_at": self.occurred_at.isoformat(),
            "actor": self.actor,
            "summary": self.summary,
            "texts": {t.label: str(t.value) for t in self.texts},
            "erased": [t.label for t in self.texts if t.erased],
            "session_id": self.session_id,
            "entry_id": self.entry_id,
            "delay_seconds": round(self.delay.total_seconds()),
            "late": self.late,
            "late_by_seconds": round(self.late_by.total_seconds()) if self.late_by else None,
            "changes": _link_dict(self.changes) if self.changes else None,
            "changed_by": [_link_dict(link) for link in self.changed_by],
            "fields": self.fields(),
        }
        if self.state is not None:
            out["state"] = self.state.as_dict()
        return out


KINDS: Final = {event.__name__: event.kind_told for event in PAIR_EVENTS}
"""The kinds of a pair's events, by event type: what ``--kind`` chooses from."""
KIND_NAMES: Final = tuple(dict.fromkeys(KINDS.values()))


def _goals_of(event: DomainEvent) -> tuple[str, ...]:
    """The goals an event names (an assessment's one goal, a correction's new goals)."""
    goal_id = getattr(event, "goal_id", None)
    if isinstance(goal_id, str):
        return (goal_id,)
    goals = getattr(event, "goals", None)
    if goals is None and isinstance(event, EntryCorrected):
        goals = event.changes.goals
    return tuple(goals or ())


_PEOPLE_FIELDS: Final = (
    "students",
    "supervisors",
    "roles",
    "performers",
    "observers",
    "authors",
    "subjects",
)


def _people(event: DomainEvent) -> set[str]:
    people = {event.actor}
    for name in _PEOPLE_FIELDS:
        people.update(getattr(event, name, ()))
    for name in ("giver", "receiver", "student_id"):
        value = getattr(event, name, None)
        if value is not None:
            people.add(value)
    return people


@dataclass(frozen=True)
class Timeline:
    """A pair's history as of a time."""

    pair_id: str
    course_id: str | None
    as_of: AsOf
    late_after: timedelta
    items: list[Item]
    total: int
    """Events in the pair's stream, whatever the view."""

    def select(
        self,
        *,
        session: str | None = None,
        student: str | None = None,
        goal: str | None = None,
        kind: str | None = None,
    ) -> list[Item]:
        """The items about one session (its entries, and corrections of them), naming
        one student, about one goal (entries naming it, and their corrections and
        retractions), and/or of one kind (``KINDS``)."""
        if session is student is goal is kind is None:
            return list(self.items)
        sessions_of_entries = (
            {i.entry_id: i.session_id for i in self.items if i.entry_id}
            if session is not None
            else {}
        )
        about_goal = (
            {i.entry_id for i in self.items if i.entry_id and goal in _goals_of(i.raw)}
            if goal is not None
            else set()
        )
        chosen = []
        for item in self.items:
            if goal is not None and not (
                goal in _goals_of(item.raw)
                or (item.changes is not None and item.entry_id in about_goal)
            ):
                continue
            if kind is not None and KINDS.get(item.type) != kind:
                continue
            if session is not None:
                in_session = item.session_id
                if in_session is None and item.changes is not None and item.entry_id:
                    in_session = sessions_of_entries.get(item.entry_id)
                if in_session != session:
                    continue
            if student is not None and student not in item.people:
                continue
            chosen.append(item)
        return chosen

    def by_event(self) -> dict[str, Item]:
        return {item.event: item for item in self.items}


def timeline(
    source: EventSource,
    pair_id: str,
    as_of: AsOf | None = None,
    *,
    late_after: timedelta = LATE_AFTER,
    with_state: bool = False,
) -> Timeline:
    """The pair's history as the record knew it (``as_of``), told event by event (only
    what was recorded since, where this process told the pair before: see above)."""
    as_of = as_of or AsOf()
    tellings = source.folds.tellings
    key: TellingKey = (pair_id, as_of.recorded, as_of.occurred, language(), with_state, late_after)
    with folding():
        records = source.records(pair_stream(pair_id))
        if not records:
            msg = lazy("pair '%(pair_id)s' is not in the record", pair_id=pair_id)
            raise NotInRecord(msg)
        if tellings is None:
            return build(
                source, pair_id, records, as_of, late_after=late_after, with_state=with_state
            )
        told = tellings.take(key)
        news = told.news(records, tellings.forgotten) if told is not None else None
        if told is None or news is None:
            told, news = Telling(pair_id, with_state=with_state), records
        made = told.tell(source, records, news, as_of, late_after)
        tellings.keep(key, told)
        return made


def build(
    source: EventSource,
    pair_id: str,
    records: Sequence[RecordedEvent],
    as_of: AsOf,
    *,
    late_after: timedelta = LATE_AFTER,
    with_state: bool = False,
) -> Timeline:
    """A timeline from a pair's stored events (in version order), told from scratch."""
    return Telling(pair_id, with_state=with_state).tell(source, records, records, as_of, late_after)


class Telling:
    """A pair's timeline as told up to its stream's last stored event, to be continued
    with the events stored after it (:func:`timeline`)."""

    def __init__(self, pair_id: str, *, with_state: bool) -> None:
        self.pair_id = pair_id
        self.records: list[RecordedEvent] = []
        """Every stored event of the stream up to the last one told (kept or not)."""
        self.teller = _Teller()
        self.tracker = _StateTracker(pair_id) if with_state else None
        self.items: list[Item] = []
        self.usual: timedelta | None = None
        """The smallest delay so far (:func:`_lateness`)."""
        self.people: set[str] = set()
        """Everyone whose texts the told events hold (whose keys open them)."""

    def news(
        self,
        records: Sequence[RecordedEvent],
        forgotten: Callable[[Collection[str]], set[str]],
    ) -> list[RecordedEvent] | None:
        """The stream's events stored after those told, where the telling can be
        continued with them; ``None`` where it must be told again."""
        last = self.records[-1].id if self.records else 0
        rest = continued(self.records, records, last)
        if rest is None or forgotten(self.people):
            return None
        return rest

    def tell(
        self,
        source: EventSource,
        records: Sequence[RecordedEvent],
        news: Sequence[RecordedEvent],
        as_of: AsOf,
        late_after: timedelta,
    ) -> Timeline:
        """The timeline of ``records`` (the stream as read now), telling ``news`` (those
        after the events told so far) onto what was told."""
        decoded = [source.decode(r.topic, r.state) for r in news]
        late, self.usual = _lateness(news, decoded, late_after, self.usual)
        kept = [
            (record, event, late_by)
            for record, event, late_by in zip(news, decoded, late, strict=True)
            if (as_of.recorded is None or record.recorded_at <= as_of.recorded)
            and (as_of.occurred is None or event.occurred_at <= as_of.occurred)
        ]
        events = source.open_many(event for _, event, _ in kept)
        teller, tracker = self.teller, self.tracker
        teller.round += 1
        teller.replaced = {}
        told = []
        for (record, _decoded, late_by), event in zip(kept, events, strict=True):
            item = teller.tell(record, event)
            item.late_by = late_by
            if tracker is not None:
                item.state = tracker.after(record, event, teller)
            self.people.update(people_of((event,)))
            told.append(item)
        items = self.items
        if teller.replaced:
            replaced = teller.replaced
            items = [replaced.get(item.position, item) for item in items]
        self.items = [*items, *told]
        # Those told before (equal to what was read now, up to there; the items hold
        # them), and the new ones.
        self.records = [*self.records, *news]
        if not self.items:
            msg = lazy("pair '%(pair_id)s' had not been formed by then", pair_id=self.pair_id)
            raise NotInRecord(msg)
        return Timeline(
            self.pair_id, teller.course_id, as_of, late_after, list(self.items), len(records)
        )


def _lateness(
    records: Sequence[RecordedEvent],
    events: Sequence[DomainEvent],
    late_after: timedelta,
    usual: timedelta | None = None,
) -> tuple[list[timedelta | None], timedelta | None]:
    """How late each event is, given the smallest delay of the pair's events before
    them (``usual``); and the smallest delay after them."""
    out: list[timedelta | None] = []
    for record, event in zip(records, events, strict=True):
        delay = record.recorded_at - event.occurred_at
        beyond = delay - max(usual, timedelta(0)) if usual is not None else timedelta(0)
        out.append(beyond if beyond > late_after else None)
        usual = delay if usual is None else min(usual, delay)
    return out, usual


class _StateTracker:
    """The participation projection folded along the timeline, read after each event."""

    def __init__(self, pair_id: str) -> None:
        self.pair_id = pair_id
        self.projection = Participation(Rows(Participation.tables, track=False))
        self.last: PairState | None = None

    def after(self, record: RecordedEvent, event: DomainEvent, teller: _Teller) -> PairState:
        self.projection.apply(record.id, record.recorded_at, event)
        rows = self.projection.rows
        pair = rows.get(BALANCE, (self.pair_id,))
        members: Iterable[str] = pair.members if pair is not None else ()
        counts = [rows.of(PARTICIPATION)[(self.pair_id, m)] for m in members]
        performer = {m: c.performer for m, c in zip(members, counts, strict=True)}
        given = {m: c.feedback_given for m, c in zip(members, counts, strict=True)}
        state = PairState(
            teller.open_session,
            teller.roles,
            performer,
            given,
            pair.performer_balance if pair is not None else None,
            pair.feedback_balance if pair is not None else None,
        )
        if state == self.last:
            return self.last
        self.last = state
        return state


class _Teller:
    """Tells events in plain words, remembering what later events refer back to."""

    def __init__(self) -> None:
        self.course_id: str | None = None
        self.open_session: str | None = None
        self.roles: dict[str, str] = {}
        self.entries: dict[str, Item] = {}
        self.ledger = Ledger(Rows((LEDGER,), track=False), LEDGER)
        """Each corrected or retracted entry as corrections leave it: an entry comes into
        it with the first change of it (most entries are never changed)."""
        # A pair's events name the same people, roles and goals again and again: each
        # way of naming them is told once a timeline (which is told in one language).
        self._roles_told: dict[tuple[tuple[str, str], ...], str] = {}
        self._people_told: dict[tuple[tuple[str, ...], tuple[str, ...]], str] = {}
        self._goals_told: dict[tuple[str, ...], str] = {}
        self.round = 0
        """Each continuation of the telling is a round: its items are its own to change."""
        self.replaced: dict[int, Item] = {}
        """By position, this round's copies of items told before it (changed by it)."""

    def tell(self, record: RecordedEvent, event: DomainEvent) -> Item:  # noqa: C901 - by event
        item = Item(record, event)
        item.told_in = self.round
        texts = item.texts
        if isinstance(event, StepRecorded | FeedbackGiven | ReflectionRecorded):
            self._entry(item, event)
        elif isinstance(event, SessionOpened):
            self.open_session = event.session_id
            self.roles = dict(event.roles)
            values = {"session": event.session_id, "roles": self._roles(event.roles)}
            if event.shift:
                values["shift"] = SHIFTS.get(event.shift, event.shift)
                item.summary = (
                    _("checked in to session %(session)s (%(shift)s): %(roles)s") % values
                )
            else:
                item.summary = _("checked in to session %(session)s: %(roles)s") % values
            item.session_id = event.session_id
            _text(texts, "plan", event.plan)
        elif isinstance(event, RolesSwitched):
            self.roles = dict(event.roles)
            item.summary = _("switched roles in session %(session)s: %(roles)s") % {
                "session": event.session_id,
                "roles": self._roles(event.roles),
            }
            item.session_id = event.session_id
            _text(texts, "reason", event.reason)
        elif isinstance(event, SessionClosed):
            if self.open_session == event.session_id:
                self.open_session = None
                self.roles = {}
            item.summary = _("checked out of session %(session)s") % {"session": event.session_id}
            item.session_id = event.session_id
            _text(texts, "summary", event.summary)
        elif isinstance(event, EntryCorrected | EntryRetracted):
            self._change(item, event)
        elif isinstance(event, PairFormed):
            self.course_id = event.course_id
            values = {
                "course": event.course_id,
                "unit": event.unit or "",
                "students": _names(event.students),
                "supervisors": _names(event.supervisors),
            }
            item.summary = (
                _(
                    "pair formed in course %(course)s on %(unit)s: students %(students)s, "
                    "supervised by %(supervisors)s"
                )
                if event.unit
                else _(
                    "pair formed in course %(course)s: students %(students)s, "
                    "supervised by %(supervisors)s"
                )
            ) % values
        else:
            # An event that tells itself: its template, and its personal texts.
            item.summary = event.tell()
            for text in event.personal_text:
                if "." not in text.path:
                    _text(texts, text.path.replace("_", " "), getattr(event, text.path))
        return item

    def _entry(self, item: Item, event: StepRecorded | FeedbackGiven | ReflectionRecorded) -> None:
        if isinstance(event, StepRecorded):
            entry_id = event.step_id
            item.summary = _("step %(step)s (%(kind)s): %(people)s") % {
                "step": entry_id,
                "kind": STEP_KINDS.get(event.kind, event.kind),
                "people": self._step_people(event),
            } + self._goals(event.goals)
            _text(item.texts, "note", event.note)
        elif isinstance(event, FeedbackGiven):
            entry_id = event.feedback_id
            words = FEEDBACK_WORDS.get(event.source)
            if words is None:  # a source without words of its own reads as peer feedback
                words = FEEDBACK_WORDS["peer"]
            item.summary = (
                words % {"feedback": entry_id, "giver": event.giver, "receiver": event.receiver}
            ) + self._goals(event.goals)
            _text(item.texts, "strengths", event.strengths)
            _text(item.texts, "improvements", event.improvements)
        else:
            entry_id = event.reflection_id
            covered = [s for s in GIBBS_STAGES if s in event.stages]
            complete = (
                _("all six Gibbs stages")
                if len(covered) == len(GIBBS_STAGES)
                else ngettext(
                    "%(count)s of 6 Gibbs stages", "%(count)s of 6 Gibbs stages", len(covered)
                )
                % {"count": len(covered)}
            )
            item.summary = _("reflection %(reflection)s (%(mode)s) by %(authors)s, %(stages)s") % {
                "reflection": entry_id,
                "mode": MODES.get(event.mode, event.mode),
                "authors": _names(event.authors),
                "stages": complete,
            } + self._goals(event.goals)
            for stage in GIBBS_STAGES:
                _text(item.texts, stage.replace("_", " "), event.stages.get(stage))
        item.entry_id = entry_id
        item.session_id = event.session_id
        if entry_id in self.entries and self.ledger.get((event.pair_id, entry_id)) is not None:
            # An id recorded again after a change of it: the ledger holds the new entry,
            # as it holds every entry it is given.
            self.ledger.apply(item.record.id, event)
        self.entries[entry_id] = item

    def _roles(self, roles: Mapping[str, str]) -> str:
        named = tuple(roles.items())
        told = self._roles_told.get(named)
        if told is None:
            told = self._roles_told[named] = _roles(roles)
        return told

    def _step_people(self, step: StepRecorded) -> str:
        named = (step.performers, step.observers)
        told = self._people_told.get(named)
        if told is None:
            told = self._people_told[named] = _step_people(step)
        return told

    def _goals(self, goals: tuple[str, ...]) -> str:
        told = self._goals_told.get(goals)
        if told is None:
            told = self._goals_told[goals] = _goals(goals)
        return told

    def _change(self, item: Item, event: EntryCorrected | EntryRetracted) -> None:
        entry_id = event.entry_id
        item.entry_id = entry_id
        original = self.entries.get(entry_id)
        if original is not None and original.told_in != self.round:
            # Told in an earlier round and handed out: this round changes a copy.
            original = original.copy()
            original.told_in = self.round
            self.entries[entry_id] = self.replaced[original.position] = original
        kind = _entry_kind(original)
        key = (event.pair_id, entry_id)
        if original is not None and self.ledger.get(key) is None:
            # The entry's first change: the ledger takes the entry as recorded first.
            self.ledger.apply(original.record.id, original.raw)
        before = self.ledger.get(key)
        self.ledger.apply(item.record.id, event)
        if isinstance(event, EntryCorrected):
            what = _describe_changes(event.changes, before)
            item.summary = CORRECTED[kind] % {"entry": entry_id, "what": what}
            _changed_texts(item.texts, event.changes)
            link_kind = "corrected"
            link_summary = what
        else:
            item.summary = RETRACTED[kind] % {"entry": entry_id}
            link_kind = "retracted"
            link_summary = _("it no longer counts")
        _text(item.texts, "reason", event.reason)
        if original is not None:
            item.session_id = original.session_id
            item.summary += " " + _after(event.occurred_at - original.occurred_at, original.event)
            item.changes = Link(
                original.position, original.event, "entry", original.occurred_at, original.summary
            )
            original.changed_by.append(
                Link(item.position, item.event, link_kind, event.occurred_at, link_summary)
            )


# The English words are the codes as the replay has always shown them.
STEP_KINDS: Final = Labels(
    {
        "performance": N_("performance"),
        "preparation": N_("preparation"),
        "pre_briefing": N_("pre_briefing"),
        "checkpoint": N_("checkpoint"),
        "time_out": N_("time_out"),
        "debriefing": N_("debriefing"),
        "other": N_("other"),
    }
)
ROLES: Final = Labels(
    {
        "performer": N_("performer"),
        "observer": N_("observer"),
        "team_leader": N_("team leader"),
        "medication_responsible": N_("medication responsible"),
        "rounds_responsible": N_("rounds responsible"),
        "follower": N_("follower"),
    }
)
SHIFTS: Final = Labels(
    {"day": N_("day shift"), "evening": N_("evening shift"), "night": N_("night shift")}
)
MODES: Final = Labels(
    {
        "individual": N_("individual"),
        "pair": N_("pair"),
        "with_supervisor": N_("with supervisor"),
    }
)
ASSESSMENT_KINDS: Final = Labels(
    {"formative": N_("formative"), "midpoint": N_("midpoint"), "final": N_("final")}
)
FEEDBACK_WORDS: Final = Labels(
    {
        "peer": N_("peer feedback %(feedback)s from %(giver)s to %(receiver)s"),
        "supervisor": N_("supervisor feedback %(feedback)s from %(giver)s to %(receiver)s"),
    }
)
CORRECTED: Final = Labels(
    {
        "step": N_("corrected step %(entry)s: %(what)s"),
        "feedback": N_("corrected feedback %(entry)s: %(what)s"),
        "reflection": N_("corrected reflection %(entry)s: %(what)s"),
        "entry": N_("corrected entry %(entry)s: %(what)s"),
    }
)
RETRACTED: Final = Labels(
    {
        "step": N_("retracted step %(entry)s: it no longer counts"),
        "feedback": N_("retracted feedback %(entry)s: it no longer counts"),
        "reflection": N_("retracted reflection %(entry)s: it no longer counts"),
        "entry": N_("retracted entry %(entry)s: it no longer counts"),
    }
)
FIELDS: Final = Labels(
    {
        "kind": N_("kind"),
        "performers": N_("performers"),
        "observers": N_("observers"),
        "goals": N_("goals"),
        "giver": N_("giver"),
        "receiver": N_("receiver"),
        "source": N_("source"),
        "authors": N_("authors"),
        "mode": N_("mode"),
        "note": N_("note"),
        "strengths": N_("strengths"),
        "improvements": N_("improvements"),
        "stages": N_("stages"),
    }
)
"""The words of a pair's events in the current language (the summaries people read; the
codes and texts' labels in the JSON are the same in every language)."""


def _text(texts: list[Text], label: str, value: str | None) -> None:
    if value is not None:
        texts.append(Text(label, value))


def _changed_texts(texts: list[Text], changes: Any) -> None:
    for name in ("note", "strengths", "improvements"):
        _text(texts, f"new {name}", getattr(changes, name, None))
    stages = getattr(changes, "stages", None)
    if stages:
        for stage in GIBBS_STAGES:
            _text(texts, f"new {stage.replace('_', ' ')}", stages.get(stage))


_ENTRY_FIELDS: Final = {"kind": "step_kind"}
"""A correction's field, where the entry calls it otherwise."""


def _describe_changes(changes: Any, before: Entry | None) -> str:
    """What a correction changed, old value to new."""
    parts = []
    names: tuple[str, ...] = ()
    if isinstance(changes, StepChanges):
        names = ("kind", "performers", "observers", "goals")
    elif isinstance(changes, FeedbackChanges):
        names = ("giver", "receiver", "source", "goals")
    elif isinstance(changes, ReflectionChanges):
        names = ("authors", "mode", "goals")
    for name in names:
        new = getattr(changes, name)
        if new is None:
            continue
        old = getattr(before, _ENTRY_FIELDS.get(name, name), None)
        shown_new = _value(new)
        field = FIELDS.get(name, name)
        parts.append(f"{field} {_value(old)} -> {shown_new}" if old is not None else shown_new)
    texts = [
        name
        for name in ("note", "strengths", "improvements", "stages")
        if getattr(changes, name, None) is not None
    ]
    if texts:
        parts.append(_("new %(texts)s") % {"texts": _(" and ").join(FIELDS[t] for t in texts)})
    return "; ".join(parts) or _("no fields changed")


def _value(value: Any) -> str:
    if isinstance(value, tuple | list):
        return _names(value) if value else _("(none)")
    return str(value)


def _entry_kind(item: Item | None) -> str:
    if item is None:
        return "entry"
    return {"StepRecorded": "step", "FeedbackGiven": "feedback"}.get(item.type, "reflection")


def _names(ids: Iterable[str]) -> str:
    return ", ".join(ids) or _("(none)")


def _roles(roles: Mapping[str, str]) -> str:
    return ", ".join(f"{who} {ROLES.get(role, role)}" for who, role in roles.items())


def _step_people(step: StepRecorded) -> str:
    parts = []
    if step.performers:
        parts.append(_("performed by %(people)s") % {"people": _names(step.performers)})
    if step.observers:
        parts.append(_("observed by %(people)s") % {"people": _names(step.observers)})
    return ", ".join(parts)


def _goals(goals: Sequence[str]) -> str:
    if not goals:
        return ""
    return "; " + ngettext("goal %(goals)s", "goals %(goals)s", len(goals)) % {
        "goals": ", ".join(goals)
    }


def _after(delta: timedelta, entry: str) -> str:
    """How long after (or before) the entry (the event ``entry``) a change came."""
    if delta >= timedelta(0):
        words = _("(%(duration)s after the entry, %(event)s)")
    else:
        words, delta = _("(%(duration)s before the entry, %(event)s)"), -delta
    return words % {"duration": duration(delta), "event": entry}


def duration(delta: timedelta) -> str:
    """A duration in the largest whole units that say it: ``3 days 2 h``, ``40 min``."""
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        words = ngettext("%(days)s day", "%(days)s days", days) % {"days": days}
        return words + (_(" %(hours)s h") % {"hours": hours} if hours else "")
    if hours:
        words = _("%(hours)s h") % {"hours": hours}
        return words + (_(" %(minutes)s min") % {"minutes": minutes} if minutes else "")
    return _("%(minutes)s min") % {"minutes": minutes}


def _link_dict(link: Link) -> dict[str, Any]:
    return {
        "position": link.position,
        "event": link.event,
        "kind": link.kind,
        "occurred_at": link.occurred_at.isoformat(),
        "summary": link.summary,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
