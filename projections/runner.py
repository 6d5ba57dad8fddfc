"""The projection runner: pulls events in batches and keeps the read models up to date.

The runner pulls (it does not need the library's subscriptions, so it works on SQLite
too), processes events in batches and writes every projection's changed rows together
with their new positions in one transaction, so that every event counts exactly once,
also after a crash in the middle of a batch. A batch is what was recorded since the
last one, and what arrived while it was folded: the commands recorded while one batch
was written cost one commit together. The projections' locks (advisory locks on
PostgreSQL, file locks on SQLite) are held while a batch is processed; a runner that
finds the stored position moved (another runner, or a rebuild) reloads before going on,
so two runners started by mistake never count anything twice.

A rebuild takes the head of the record once and folds its events into fresh tables
part by part (whole courses, about :data:`~peerlog.projections.parts.PART_EVENTS` events
at a time, :mod:`peerlog.projections.parts`): each part's states are folded from
position zero, written to the fresh tables and dropped, so that a rebuild's memory does
not grow with the record. After the last part the live tables are switched to the fresh
ones, and the position set, in one short transaction: readers see the old tables until
then, and a rebuild that fails leaves them (and the positions) as they were.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import os
import resource
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Final

from peerlog.folding import folding, pause_while_folding
from peerlog.projections.base import Projection
from peerlog.projections.participation import Participation
from peerlog.projections.parts import PART_EVENTS, plan
from peerlog.projections.progression import Progression
from peerlog.projections.source import EventSource, StoreEvents
from peerlog.projections.store import ReadStore
from peerlog.projections.tables import Rows, Table
from peerlog.projections.trends import Trends

logger = logging.getLogger(__name__)

PROJECTIONS: Final[tuple[type[Projection], ...]] = (Progression, Participation, Trends)
TABLES: Final[dict[str, Table[Any]]] = {t.name: t for p in PROJECTIONS for t in p.tables}
"""Every read-model table by name: the one list the API, the dashboard and export use."""
BATCH_SIZE: Final = 5_000
PARALLEL_FROM: Final = 200_000
"""From how many events a rebuild runs each projection in a process of its own."""
GATHER_SECONDS: Final = 0.05
"""A following runner's shortest time between passes: commands that arrive one by one
(single POSTs) are written to the read models together, a few per commit, instead of a
commit each; the read models are at most this much later for it."""

Progress = Callable[[str, int, int], None]
"""Called with (what is happening, position reached, head of the record)."""


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    version: int
    stored_version: int
    position: int
    head: int
    updated_at: datetime | None

    @property
    def lag(self) -> int:
        return max(0, self.head - self.position)

    @property
    def needs_rebuild(self) -> bool:
        return self.stored_version != self.version and self.position > 0

    def as_dict(self) -> dict[str, object]:
        return {
            "projection": self.name,
            "position": self.position,
            "head": self.head,
            "lag": self.lag,
            "version": self.version,
            "stored_version": self.stored_version,
            "needs_rebuild": self.needs_rebuild,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }


class Runner:
    """Runs projections over a record (an :class:`EventSource`)."""

    def __init__(
        self,
        source: EventSource,
        projections: Sequence[type[Projection]] = PROJECTIONS,
        *,
        batch_size: int = BATCH_SIZE,
        part_events: int = PART_EVENTS,
        progress: Progress | None = None,
        before_commit: Callable[[], None] | None = None,
        gather: float = GATHER_SECONDS,
    ) -> None:
        self.source = source
        self.projections = tuple(projections)
        self.batch_size = batch_size
        self.part_events = part_events
        """About how many events a rebuild folds into memory at a time."""
        self.progress = progress
        self.before_commit = before_commit
        """Called inside each batch's transaction, just before it commits (tests use it
        to stop a runner in the middle of a batch)."""
        self.gather = gather
        """A following runner starts a pass at most this often (seconds): what was
        recorded meanwhile is folded and written in that one pass."""
        self.store: ReadStore = source.read_store()
        self.store.ensure(self.projections)
        self._states: dict[str, Projection] = {}
        self._positions: dict[str, int] = {}
        self.peak_memory: dict[str, int] = {}
        """The most memory (bytes) each projection's rebuilding process held."""

    def close(self) -> None:
        self.store.close()

    def head(self) -> int:
        return self.source.head()

    def status(self) -> list[ProjectionStatus]:
        tracked = self.store.tracking()
        head = self.head()
        out = []
        for projection in self.projections:
            stored = tracked.get(projection.name)
            out.append(
                ProjectionStatus(
                    name=projection.name,
                    version=projection.version,
                    stored_version=stored.version if stored else projection.version,
                    position=stored.position if stored else 0,
                    head=head,
                    updated_at=stored.updated_at if stored else None,
                )
            )
        return out

    # --- catching up and following ---------------------------------------------------

    def run(self, *, follow: bool = False, stop: threading.Event | None = None) -> dict[str, int]:
        """Bring every projection up to the head of the record; with ``follow``, keep
        following new events until ``stop`` is set."""
        stop = stop or threading.Event()
        started: float | None = None
        while not stop.is_set():
            if follow and started is not None:
                # Commands that arrive one by one are written together: a pass waits
                # until ``gather`` has gone by since the last one began.
                rest = self.gather - (time.monotonic() - started)
                if rest > 0 and stop.wait(rest):
                    break
            started = time.monotonic()
            if self._pass():
                continue
            if not follow:
                break
            self.store.wait_for_events(1.0, stop)
        return dict(self._positions)

    def _pass(self) -> bool:
        """Fold what was recorded since each projection's stored position (up to
        ``batch_size`` events past the one furthest behind), and then what was recorded
        while folding, into every projection; write all their changes and positions in
        one transaction. So the commands recorded while the previous pass was being
        written cost one read-model commit together. False when all are at the head."""
        names = [p.name for p in self.projections]
        with self.store.locks(names):
            tracked = self.store.tracking()
            changed = [
                p
                for p in self.projections
                if tracked[p.name].version != p.version and tracked[p.name].position > 0
            ]
            if changed:
                logger.info(
                    "projection %s changed version; rebuilding", ", ".join(p.name for p in changed)
                )
                self._rebuild(changed)
                return True
            states = {p.name: self._state(p, tracked[p.name].position) for p in self.projections}
            stored = {name: tracked[name].position for name in names}
            try:
                reached = self._fold_available(states, stored)
                moves = [
                    (states[n], stored[n], reached[n]) for n in names if reached[n] > stored[n]
                ]
                if not moves:
                    return False
                self.store.flush_all(moves, before_commit=self.before_commit)
            except BaseException:
                # The states have folded events their stored read models may not have
                # (the flush failed, or its commit was lost with a failed primary): start
                # again from what is stored, so that every event counts exactly once.
                for name in names:
                    self._states.pop(name, None)
                raise
            head = self.head() if self.progress is not None else 0
            for state, _, new in moves:
                self._positions[state.name] = new
                self._report(f"{state.name}: processed up to", new, head)
            return True

    def _state(self, projection: type[Projection], position: int) -> Projection:
        """The projection's state at its stored position (kept from the last pass, or
        loaded when this is the first, or another process moved the read model on)."""
        state = self._states.get(projection.name)
        if state is None or self._positions.get(projection.name) != position:
            with folding():
                state = projection(self.store.load(projection))
            self._states[projection.name] = state
            self._positions[projection.name] = position
        return state

    def _fold_available(
        self, states: dict[str, Projection], stored: dict[str, int]
    ) -> dict[str, int]:
        """Fold the events after each stored position up to the head, then once more up
        to the head as it is then (what arrived while folding), never more than
        ``batch_size`` events past the one furthest behind; how far each got."""
        reached = dict(stored)
        limit = min(stored.values(), default=0) + self.batch_size
        for _ in range(2):
            head = min(self.head(), limit)
            behind = [name for name, position in reached.items() if position < head]
            if not behind:
                break
            for after in sorted({reached[name] for name in behind}):
                self._fold_all([states[n] for n in behind if reached[n] == after], after, head)
            for name in behind:
                reached[name] = head
        return reached

    # --- rebuilding ------------------------------------------------------------------

    def rebuild(
        self, names: Iterable[str] | None = None, *, processes: int | None = None
    ) -> dict[str, int]:
        """Rebuild projections from position zero into fresh tables, then switch.

        With one process, all projections are folded in one pass over the record; with
        more, each projection is rebuilt in a process of its own, as many at a time.
        ``None`` (the default) chooses: one process for a record under
        :data:`PARALLEL_FROM` events (starting processes would cost more than they
        save), else one per projection, as far as there are cores."""
        wanted = set(names) if names is not None else {p.name for p in self.projections}
        unknown = wanted - {p.name for p in self.projections}
        if unknown:
            msg = f"no projection called {', '.join(sorted(unknown))}"
            raise ValueError(msg)
        if processes is not None and processes < 1:
            msg = f"a rebuild needs at least one process, not {processes}"
            raise ValueError(msg)
        chosen = [p for p in self.projections if p.name in wanted]
        if processes is None:
            processes = self.processes_for(len(chosen))
        with contextlib.ExitStack() as locks:
            for projection in chosen:
                locks.enter_context(self.store.lock(projection.name, wait=True))
            if processes > 1 and len(chosen) > 1:
                return self._rebuild_in_processes(chosen, processes)
            return self._rebuild(chosen)

    def processes_for(self, projections: int) -> int:
        """How many processes a rebuild of this many projections uses by default."""
        if self.head() < PARALLEL_FROM:
            return 1
        return max(1, min(projections, os.cpu_count() or 1))

    def _rebuild_in_processes(
        self, projections: Sequence[type[Projection]], processes: int
    ) -> dict[str, int]:
        context = multiprocessing.get_context("spawn")
        messages = context.SimpleQueue()
        waiting = list(projections)
        running: dict[str, BaseProcess] = {}
        reached = {p.name: 0 for p in projections}
        done: dict[str, int] = {}
        failed: list[str] = []
        try:
            while waiting or running:
                while waiting and len(running) < processes:
                    name = waiting.pop(0).name
                    running[name] = context.Process(
                        target=_rebuild_one,
                        args=(
                            dict(self.source.settings),
                            name,
                            self.batch_size,
                            self.part_events,
                            messages,
                        ),
                        name=f"peerlog-rebuild-{name}",
                    )
                    running[name].start()
                self._receive(messages, running, reached, done, failed)
        finally:
            for process in running.values():
                process.terminate()
                process.join()
        for name in done:
            # This runner's in-memory states are behind the rebuilt tables: reload on use.
            self._states.pop(name, None)
            self._positions.pop(name, None)
        if failed:
            raise RebuildFailed("; ".join(failed))
        return done

    def _receive(
        self,
        messages: Any,
        running: dict[str, BaseProcess],
        reached: dict[str, int],
        done: dict[str, int],
        failed: list[str],
    ) -> None:
        """Take in what the rebuilding processes said, or notice one that died silently."""
        if messages.empty():
            for name, process in list(running.items()):
                process.join(timeout=0.1)
                if process.exitcode is not None and messages.empty():
                    del running[name]
                    failed.append(f"{name}: its process ended ({process.exitcode}) unfinished")
            return
        kind, name, *rest = messages.get()
        if kind == "progress":
            # One progress for all: how far the projection furthest behind has come.
            what, position, head = rest
            reached[name] = position
            self._report(what, min(reached.values()), head)
            return
        running.pop(name).join()
        if kind == "done":
            done[name], self.peak_memory[name] = rest
        else:
            failed.append(f"{name}: {rest[0]}")

    def _rebuild(self, projections: Sequence[type[Projection]]) -> dict[str, int]:
        with folding():  # the rows written out are as many as those folded
            return self._rebuild_folding(projections)

    def _rebuild_folding(self, projections: Sequence[type[Projection]]) -> dict[str, int]:
        names = ", ".join(p.name for p in projections)
        head = self.head()
        parts = plan(self.source, head, self.part_events)
        for projection in projections:
            self.store.start_fresh(projection)
        states: list[Projection] = []
        for number, part in enumerate(parts, 1):
            states = [p(Rows(p.tables, track=False)) for p in projections]
            if part.streams is None:
                # The whole record in one part: folded up to the head as it moves on.
                head = self._fold_record(states, names)
            else:
                self._fold_all(states, 0, head, streams=part.streams)
                self._report(f"{names}: rebuilt part {number} of {len(parts)}, to", head, head)
            self._add_rows(states)
            if number < len(parts):
                states = []  # the part's rows are written: let them go
        for projection in projections:
            self.store.switch(projection, head)
        for projection in projections:
            self._states.pop(projection.name, None)
            self._positions.pop(projection.name, None)
        if len(parts) == 1:
            # The states are the whole read models: the runner goes on from them.
            for state in states:
                state.rows.track = True
                self._states[state.name] = state
                self._positions[state.name] = head
        self._report(f"{names}: switched to the rebuilt tables at", head, head)
        return {p.name: head for p in projections}

    def _fold_record(self, states: Sequence[Projection], names: str) -> int:
        """Fold the whole record, in chunks, up to its head as it is at the end."""
        position = 0
        while True:
            head = self.head()
            if position >= head:
                return position
            stop_at = min(head, position + self.batch_size * 20)
            self._fold_all(states, position, stop_at)
            position = stop_at
            self._report(f"{names}: rebuilt up to", position, head)

    def _add_rows(self, states: Sequence[Projection]) -> None:
        if self.store.dialect == "postgres" and len(states) > 1:
            # The server does most of the writing; two connections write two projections.
            with ThreadPoolExecutor(len(states)) as writers:
                list(writers.map(self.store.add_rows, states))
        else:
            for state in states:
                self.store.add_rows(state)

    def _fold_all(
        self,
        states: Sequence[Projection],
        after: int,
        stop: int,
        *,
        streams: frozenset[str] | None = None,
    ) -> None:
        """Fold events (of ``streams`` only, if given) into several projections,
        decoding each event once."""
        decode = self.source.decode
        wanted = [(state, state.topics()) for state in states]
        topics = frozenset().union(*(t for _, t in wanted))
        with folding():
            for position, topic, stored, recorded_at in self.source.iter_raw(
                after, stop=stop, topics=topics, streams=streams
            ):
                event = decode(topic, stored)
                for state, its_topics in wanted:
                    if topic in its_topics:
                        state.apply(position, recorded_at, event)

    def _report(self, what: str, position: int, head: int) -> None:
        if self.progress is not None:
            self.progress(what, position, head)


class RebuildFailed(RuntimeError):
    """A projection could not be rebuilt in its own process (its live tables are as
    they were)."""


def _rebuild_one(
    settings: dict[str, str], name: str, batch_size: int, part_events: int, messages: Any
) -> None:
    """Rebuild one projection, in a process of its own (the caller holds its lock), and
    say how it went.

    The process holds off the cyclic garbage collector throughout (its rows form no
    cycles, and a full pass over them costs seconds), and ends without freeing the rows
    one by one: they are many, and the operating system takes them back at once."""
    gc.disable()
    pause_while_folding()
    try:
        source = StoreEvents.open(settings)
        try:
            projection = next((p for p in PROJECTIONS if p.name == name), None)
            if projection is None:
                msg = f"no projection called {name}"
                raise ValueError(msg)
            runner = Runner(
                source,
                [projection],
                batch_size=batch_size,
                part_events=part_events,
                progress=lambda what, position, head: messages.put(
                    ("progress", name, what, position, head)
                ),
            )
            try:
                position = runner._rebuild([projection])[name]  # noqa: SLF001 - the same runner's work
            finally:
                runner.close()
        finally:
            source.close()
    except Exception as exc:
        logger.exception("rebuilding %s failed", name)
        messages.put(("failed", name, f"{type(exc).__name__}: {exc}"))
        os._exit(1)
    messages.put(("done", name, position, _peak_memory()))
    os._exit(0)


def _peak_memory() -> int:
    """The most memory (bytes) this process has held resident.

    Linux's ``ru_maxrss`` keeps, across the ``exec`` that starts a spawned process, the
    resident size of the process it was forked from (a benchmark's that loaded the
    record, say); ``VmHWM`` is this program's own."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # reported in kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # reported in KiB
