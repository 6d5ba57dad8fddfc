"""Verification: the stored record's hash chains and command log, checked."""

from __future__ import annotations

from dataclasses import dataclass

from peerlog.domain.vocabulary import pair_stream
from peerlog.persistence import chain
from peerlog.persistence.base import EventRecorder


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of checking the stored record's hash chains and command log."""

    streams: int
    events: int
    problems: tuple[chain.Problem, ...]
    heads: dict[str, str]

    @property
    def verified(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> chain.Problem | None:
        if not self.problems:
            return None
        return min(
            self.problems,
            key=lambda p: p.position if p.position is not None else 1 << 62,
        )

    @property
    def digest(self) -> str:
        return chain.heads_digest(self.heads)


def verify(store: EventRecorder, pair_id: str | None = None) -> VerifyReport:
    """Check the hash chains (of one pair, or of every stream and the command log)."""
    streams = [pair_stream(pair_id)] if pair_id is not None else store.select_streams()
    problems: list[chain.Problem] = []
    heads: dict[str, str] = {}
    total = 0
    for stream in streams:
        records = store.select_records(stream)
        count, head, problem = chain.check_stream(records)
        total += count
        heads[stream] = head.hex()
        if problem is not None:
            problems.append(problem)
    if pair_id is None:
        problems.extend(chain.check_positions(store.select_commands(), store.select_positions()))
    return VerifyReport(len(streams), total, tuple(problems), heads)
