"""The unit of work: the aggregates a command reads, kept up to date in memory.

A state is taken from the in-process cache, else from its latest snapshot and the
events after it, else from its events; once a command is recorded its events are
applied to the cached states (no reload), and a stream that grows past the next
snapshot interval is snapshotted. When another writer got there first, the states it
moved on are caught up from the store. The handlers read through it
(:class:`peerlog.handlers.Aggregates`); it never appends events itself.

Threads of one process decide and append at once; the cache's own dictionary
operations are locked (briefly, never across I/O), and the cache keeps the newest
version it was given, so a thread that recorded an older version than another thread
cached leaves the newer one be. The folds change states in place, so what a thread
reads must not change under it:

* A pair's cached state is changed in place only by the command holding the pair's
  in-process turn (:meth:`UnitOfWork.turn`: one command at a time per pair in one
  process, from before it decides until it is answered; commands on other pairs go
  on beside it). Copying a pair for every command would cost more than the command
  (a pair of 750 entries: about 1 ms).
* A course, which every command of its pairs reads, is never changed in place: the
  events of a course command are applied to a copy, which takes the cached one's place.
* A batch decides on a :class:`BatchView`: copies of the pairs it reads (each taken in
  the pair's turn) and of the courses it changes; they reach the cache once the batch
  was appended.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final, TypeVar, cast

import msgspec
import msgspec.inspect
from eventsourcing.persistence import (
    AggregateRecorder,
    IntegrityError,
    PersistenceError,
    StoredEvent,
)

from peerlog.commands import CommandBase, Streams
from peerlog.domain import course as course_rules
from peerlog.domain import pair as pair_rules
from peerlog.domain.course import Course
from peerlog.domain.events import DomainEvent
from peerlog.domain.pair import Pair
from peerlog.domain.vocabulary import COURSE_STREAM_PREFIX, course_stream, pair_stream
from peerlog.folding import folding
from peerlog.handlers import streams_of
from peerlog.persistence.base import EventRecorder, failure_summary
from peerlog.persistence.mapper import EventMapper
from peerlog.persistence.sealing import KeyRing

logger = logging.getLogger(__name__)

SNAPSHOT_SCHEMA: Final = 1
"""Raise when what Course or Pair keep means something else (fold older events into
them differently) while their shape stays; older snapshots are then ignored. A change
of shape (a field added, removed or retyped, here or in a struct they hold) changes
the snapshot's topic by itself (:func:`state_shape`)."""

State = Course | Pair
_S = TypeVar("_S", Course, Pair)


class StateCache:
    """The latest known state of recently used aggregates, least recently used first out.

    Safe to share between threads: each operation holds a short lock of its own (no
    I/O is done under it). The states in it are recorded ones, never changed in place."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._states: OrderedDict[str, State] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, stream: str) -> State | None:
        with self._lock:
            state = self._states.get(stream)
            if state is not None:
                self._states.move_to_end(stream)
            return state

    def put(self, stream: str, state: State) -> None:
        """Cache ``state`` unless a newer version of the stream is cached already."""
        with self._lock:
            cached = self._states.get(stream)
            if cached is None or cached.version < state.version:
                self._states[stream] = state
            self._states.move_to_end(stream)
            while len(self._states) > self.size:
                self._states.popitem(last=False)

    def evict(self, streams: Iterable[str]) -> None:
        with self._lock:
            for stream in streams:
                self._states.pop(stream, None)

    def evict_before(self, stream: str, version: int) -> None:
        """Forget the stream's cached state if it is older than ``version``."""
        with self._lock:
            cached = self._states.get(stream)
            if cached is not None and cached.version < version:
                del self._states[stream]


class PairTurns:
    """In-process turns at pairs: one thread at a time holds a pair's."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._held: set[str] = set()
        self._mine = threading.local()

    def hold(self, stream: str | None) -> contextlib.AbstractContextManager[None]:
        """Hold the pair's turn (waiting for it); None: nothing to hold."""
        return self.hold_all(() if stream is None else (stream,))

    @contextmanager
    def hold_all(self, streams: Iterable[str]) -> Iterator[None]:
        """Hold the turns of several pairs (waiting for each), taken in the order of
        their names in one pass under the lock, and given back together.

        A thread waiting for a pair holds only pairs named before it (besides those it
        held already), so two threads taking turns in this order never wait on each
        other."""
        mine = self.mine()
        wanted = sorted({stream for stream in streams if stream not in mine})
        if not wanted:
            yield
            return
        taken: list[str] = []
        with self._cond:
            try:
                for stream in wanted:
                    while stream in self._held:
                        self._cond.wait()
                    self._held.add(stream)
                    taken.append(stream)
            except BaseException:  # interrupted while waiting: give back what was taken
                self._held.difference_update(taken)
                self._cond.notify_all()
                raise
        mine.update(wanted)
        try:
            yield
        finally:
            mine.difference_update(wanted)
            with self._cond:
                self._held.difference_update(wanted)
                self._cond.notify_all()

    def mine(self) -> set[str]:
        """The pairs whose turns this thread holds."""
        held: set[str] | None = getattr(self._mine, "held", None)
        if held is None:
            held = self._mine.held = set()
        return held


def evolver(stream: str) -> Callable[[Any, DomainEvent], State]:
    """The fold of a stream's events into its state, by the stream's prefix."""
    if stream.startswith(COURSE_STREAM_PREFIX):
        return course_rules.evolve
    return pair_rules.evolve


@functools.cache
def state_shape(kind: type[State]) -> str:
    """A digest of the state's shape: its fields, their types and defaults, nested."""
    described = repr(msgspec.inspect.type_info(kind))
    return hashlib.sha256(described.encode()).hexdigest()[:12]


def _snapshot_topic(kind: type[State]) -> str:
    return f"{kind.__name__}#{SNAPSHOT_SCHEMA}.{state_shape(kind)}"


class UnitOfWork:
    """Loading, caching, snapshots and catch-up of the aggregates commands read,
    shared by the threads of one application (see the module's docstring)."""

    def __init__(
        self,
        store: EventRecorder,
        snapshots: AggregateRecorder,
        mapper: EventMapper,
        keys: KeyRing,
        *,
        cache_size: int,
        snapshot_interval: int,
    ) -> None:
        self.store = store
        self.snapshot_recorder = snapshots
        self.mapper = mapper
        self.keys = keys
        self.cache_size = cache_size
        self.snapshot_interval = snapshot_interval
        self.cache = StateCache(cache_size)
        self.turns = PairTurns()
        self._state_encoder = msgspec.json.Encoder()
        self._state_decoders: dict[type[State], msgspec.json.Decoder[Any]] = {
            Course: msgspec.json.Decoder(Course),
            Pair: msgspec.json.Decoder(Pair),
        }
        self._copy_encoder = msgspec.msgpack.Encoder()
        self._copy_decoders: dict[type[State], msgspec.msgpack.Decoder[Any]] = {
            Course: msgspec.msgpack.Decoder(Course),
            Pair: msgspec.msgpack.Decoder(Pair),
        }

    # --- what handlers read (peerlog.handlers.Aggregates) -----------------------------

    def course(self, course_id: str) -> Course | None:
        return self.load(course_stream(course_id), Course)

    def pair(self, pair_id: str) -> Pair | None:
        return self.load(pair_stream(pair_id), Pair)

    def courses(self) -> list[Course]:
        loaded = (self.load(stream, Course) for stream in self.course_streams())
        return [course for course in loaded if course is not None]

    def forgotten(self, people: list[str]) -> set[str]:
        return set(self.keys.forgotten(people))

    # --- which streams ---------------------------------------------------------------

    def course_streams(self) -> list[str]:
        return [s for s in self.store.select_streams() if s.startswith(COURSE_STREAM_PREFIX)]

    def streams_of(self, cmd: CommandBase) -> list[str]:
        """The streams a command reads, as it declares them."""
        if cmd.streams is Streams.EVERY_COURSE:
            return self.course_streams()
        return streams_of(cmd)

    # --- loading ---------------------------------------------------------------------

    def load(self, stream: str, kind: type[_S]) -> _S | None:
        cached = self.cache.get(stream)
        if cached is not None:
            if not isinstance(cached, kind):  # pragma: no cover - streams are typed by prefix
                msg = f"{stream} holds a {type(cached).__name__}"
                raise TypeError(msg)
            return cached
        state = self._read_snapshot(stream, kind)
        evolve = evolver(stream)
        after = state.version if state is not None else None
        for stored in self.store.select_events(stream, gt=after):
            state = cast("_S", evolve(state, self.mapper.decode(stored.topic, stored.state)))
        if state is not None:
            self.cache.put(stream, state)
        return state

    @staticmethod
    def pair_of(cmd: CommandBase) -> str | None:
        """The stream of the pair a command writes (None for a course's commands, and
        for those that read every course: they touch courses only)."""
        if cmd.streams in (Streams.PAIR, Streams.NEW_PAIR):
            return pair_stream(getattr(cmd, "pair_id"))  # noqa: B009
        return None

    def turn(self, cmd: CommandBase) -> contextlib.AbstractContextManager[None]:
        """The command's in-process turn at the pair it writes (none for a course's
        commands, whose events are applied to copies)."""
        return self.turns.hold(self.pair_of(cmd))

    def _writable(self, stream: str, state: State) -> State:
        """The state itself where this thread may change it in place (a pair in its
        turn), else a copy."""
        return state if stream in self.turns.mine() else self.copy(state)

    def catch_up(self, streams: Iterable[str]) -> None:
        """Bring cached states up to date with events other writers have appended."""
        for stream in streams:
            cached = self.cache.get(stream)
            if cached is None:
                continue
            newer = self.store.select_events(stream, gt=cached.version)
            if not newer:
                continue
            evolve = evolver(stream)
            state = self._writable(stream, cached)
            for stored in newer:
                state = evolve(state, self.mapper.decode(stored.topic, stored.state))
            self.cache.put(stream, state)

    def copy(self, state: State) -> State:
        """A copy of a state that events may be applied to (the folds change states in
        place; the cached ones are shared by the threads deciding on them)."""
        kind = type(state)
        copied: State = self._copy_decoders[kind].decode(self._copy_encoder.encode(state))
        return copied

    def evict(self, streams: Iterable[str]) -> None:
        """Forget cached states (they are loaded from the store when next used)."""
        self.cache.evict(streams)

    def forget_cached_state(self) -> None:
        """Drop every cached aggregate state."""
        self.cache = StateCache(self.cache_size)

    def state_at(self, stream: str, version: int) -> State | None:
        """The state of an aggregate as it was at ``version`` (for tests and replay)."""
        evolve = evolver(stream)
        state: State | None = None
        with folding():
            for stored in self.store.select_events(stream, lte=version):
                state = evolve(state, self.mapper.decode(stored.topic, stored.state))
        return state

    # --- after an append -------------------------------------------------------------

    def apply(self, events: list[DomainEvent]) -> None:
        """Bring cached states up to date with events just recorded (in place for the
        pair in this thread's turn, else on a copy put in its place), and snapshot
        streams that have grown past the next interval."""
        by_stream: dict[str, list[DomainEvent]] = {}
        for event in events:
            by_stream.setdefault(event.originator_id, []).append(event)
        for stream, its_events in by_stream.items():
            first = its_events[0].originator_version
            cached = self.cache.get(stream)
            if cached is None or cached.version != first - 1:
                # Not cached, or cached behind (it is loaded from the store when next
                # used), or another thread cached a newer state already (left be).
                self.cache.evict_before(stream, first)
                continue
            evolve = evolver(stream)
            state = self._writable(stream, cached)
            for event in its_events:
                state = evolve(state, event)
                if state.version % self.snapshot_interval == 0:
                    self.write_snapshot(state)  # encoded at once, before the next event
            self.cache.put(stream, state)

    def publish(self, states: Iterable[State]) -> None:
        """Cache states a batch recorded (where nothing newer is cached)."""
        for state in states:
            self.cache.put(state.id, state)

    def snapshot_grown(self, stored: Iterable[StoredEvent], states: Mapping[str, State]) -> None:
        """Snapshot the streams a batch's events took past a snapshot interval (their
        ``states`` as the batch left them)."""
        grown: dict[str, tuple[int, int]] = {}
        for s in stored:
            low, _ = grown.get(str(s.originator_id), (s.originator_version, 0))
            grown[str(s.originator_id)] = (low, s.originator_version)
        for stream, (low, high) in grown.items():
            if (low - 1) // self.snapshot_interval != high // self.snapshot_interval:
                state = states.get(stream)
                if state is not None and state.version == high:
                    self.write_snapshot(state)

    # --- snapshots -------------------------------------------------------------------

    def take_snapshot(self, stream: str) -> None:
        """Store a snapshot of an aggregate's current state."""
        if stream.startswith(COURSE_STREAM_PREFIX):
            course = self.load(stream, Course)
            if course is not None:
                self.write_snapshot(course)
            return
        with self.turns.hold(stream):
            pair = self.load(stream, Pair)
            if pair is not None:
                self.write_snapshot(pair)

    def write_snapshot(self, state: State) -> None:
        try:
            self.snapshot_recorder.insert_events(
                [
                    StoredEvent(
                        originator_id=state.id,
                        originator_version=state.version,
                        topic=_snapshot_topic(type(state)),
                        state=self._state_encoder.encode(state),
                    )
                ]
            )
        except IntegrityError:
            pass  # another writer stored this snapshot first
        except PersistenceError as exc:
            # A missing snapshot only makes the next load slower; the command is recorded.
            logger.warning(
                "could not store a snapshot of %s (%s); what was recorded is kept, and the "
                "stream is read from its events instead",
                state.id,
                failure_summary(exc),
            )

    def _read_snapshot(self, stream: str, kind: type[_S]) -> _S | None:
        snapshots = self.snapshot_recorder.select_events(stream, desc=True, limit=1)
        if not snapshots or snapshots[0].topic != _snapshot_topic(kind):
            return None
        try:
            return cast("_S", self._state_decoders[kind].decode(snapshots[0].state))
        except msgspec.DecodeError:
            logger.warning("ignoring an unreadable snapshot of %s", stream)
            return None


class BatchView:
    """What a batch decides on: the unit of work's states as the batch first read them
    (each pair copied in its turn), with the events of the batch's commands decided so
    far applied to copies of its own. Nothing of it reaches the shared cache until the
    batch was appended (:meth:`UnitOfWork.publish`)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.seen: dict[str, State | None] = {}
        """Every stream read, as the batch sees it (None: it does not exist)."""
        self.written: dict[str, State] = {}
        """The streams the batch's events changed: copies of its own."""
        self._own: set[str] = set()
        """The streams whose states in ``seen`` are the batch's own copies."""

    @contextmanager
    def pairs_held(self, cmds: Iterable[CommandBase]) -> Iterator[None]:
        """Hold the turns of the pairs the commands declare, in the order of their names
        (so that two batches never wait on each other), for the whole batch: the batch
        then changes those pairs in place, as one command does in its turn, instead of
        copying each of them (a copy of a long pair costs more than deciding on it)."""
        pairs = {self.uow.pair_of(cmd) for cmd in cmds}
        with self.uow.turns.hold_all(pair for pair in pairs if pair is not None):
            yield

    def _load(self, stream: str, kind: type[_S]) -> _S | None:
        if stream not in self.seen:
            if stream.startswith(COURSE_STREAM_PREFIX):
                self.seen[stream] = self.uow.load(stream, kind)
            elif stream in self.uow.turns.mine():
                # The batch holds the pair's turn: its state is changed in place (and
                # evicted if the batch is not appended).
                self.seen[stream] = self.uow.load(stream, kind)
                self._own.add(stream)
            else:
                # A pair changes in place in its turn: copied in it.
                with self.uow.turns.hold(stream):
                    shared = self.uow.load(stream, kind)
                    self.seen[stream] = self.uow.copy(shared) if shared is not None else None
                self._own.add(stream)
        state = self.seen[stream]
        if state is not None and not isinstance(state, kind):  # pragma: no cover - by prefix
            msg = f"{stream} holds a {type(state).__name__}"
            raise TypeError(msg)
        return state

    def course(self, course_id: str) -> Course | None:
        return self._load(course_stream(course_id), Course)

    def pair(self, pair_id: str) -> Pair | None:
        return self._load(pair_stream(pair_id), Pair)

    def courses(self) -> list[Course]:
        loaded = (self._load(stream, Course) for stream in self.uow.course_streams())
        return [course for course in loaded if course is not None]

    def forgotten(self, people: list[str]) -> set[str]:
        return self.uow.forgotten(people)

    def version(self, stream: str) -> int:
        """The version of a stream as the batch sees it (0: it does not exist)."""
        state = self.seen.get(stream)
        return state.version if state is not None else 0

    def apply(self, events: list[DomainEvent]) -> None:
        """Apply a decided command's events to the batch's own states."""
        for event in events:
            stream = event.originator_id
            state = self.seen.get(stream)
            if state is not None and stream not in self._own:
                state = self.uow.copy(state)
            state = evolver(stream)(state, event)
            self.written[stream] = state
            self.seen[stream] = state
            self._own.add(stream)
