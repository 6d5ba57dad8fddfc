"""Does today's record extend a checkpoint published earlier?

It does if its first n events, hashed into leaves again from what is stored now, give
the checkpoint's root (n being the checkpoint's size): then not one of those events was
changed, removed, added or moved since, whatever else happened to the database.

When they do not, the evidence decides how precisely the change can be named:

* if the stored tree still gives the checkpoint's root, its leaves are those the
  checkpoint covers, and each position whose event no longer hashes to its leaf is
  named: missing (deleted), changed, or holding an event that stood elsewhere (moved:
  an insertion or deletion shifts the events after it; a reordering swaps them);
* if the stored tree was changed too, the change lies between the last of the record's
  earlier checkpoints (signed by the same key) that today's record still extends and
  the first one it does not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from peerlog.i18n import Text, lazy
from peerlog.integrity.checkpoints import Checkpoint
from peerlog.integrity.leaves import Entry
from peerlog.integrity.merkle import EMPTY_ROOT, ProofError, node_hash
from peerlog.integrity.source import RecordSource
from peerlog.integrity.tree import StoredTree

CHUNK: Final = 5_000
MOVE_SEARCH: Final = 64
"""Up to how many changed positions each is compared with every other (a reordering)."""
_MISSING: Final = bytes(32)


class CompactRange:
    """The root of a growing list of leaves, in O(log n) memory."""

    def __init__(self) -> None:
        self.stack: list[tuple[int, bytes]] = []
        self.size = 0

    def push(self, leaf: bytes) -> None:
        height, value = 0, leaf
        while self.stack and self.stack[-1][0] == height:
            _, left = self.stack.pop()
            value = node_hash(left, value)
            height += 1
        self.stack.append((height, value))
        self.size += 1

    def root(self) -> bytes:
        if not self.stack:
            return EMPTY_ROOT
        value = self.stack[-1][1]
        for _, left in reversed(self.stack[:-1]):
            value = node_hash(left, value)
        return value


@dataclass(frozen=True)
class Finding:
    """What is wrong at a position (or a run of positions) of the record. Its
    description is in English as ``str`` (JSON has it so), shown in the reader's language
    with :func:`peerlog.i18n.shown`."""

    first: int
    last: int
    what: Text

    def describe(self) -> Text:
        if self.first == self.last:
            return lazy("position %(first)s: %(what)s", first=self.first, what=self.what)
        return lazy(
            "positions %(first)s to %(last)s: %(what)s",
            first=self.first,
            last=self.last,
            what=self.what,
        )


@dataclass
class Verdict:
    checkpoint: Checkpoint
    head: int
    extends: bool
    findings: list[Finding] = field(default_factory=list)
    tree_matches: bool = True
    """Whether the stored tree gives the checkpoint's root."""
    between: tuple[int, int] | None = None
    """Where the change lies when nothing more precise can be said (positions)."""

    @property
    def added(self) -> int:
        return max(0, self.head - self.checkpoint.size)


def check(
    source: RecordSource,
    tree: StoredTree,
    checkpoint: Checkpoint,
    earlier: Iterable[Checkpoint] = (),
) -> Verdict:
    """Whether the record extends ``checkpoint``, and if not, what changed where.
    ``earlier`` are other checkpoints of this record known to be genuine (signed by
    the same key), smaller ones of which bracket a change the tree cannot locate."""
    size = checkpoint.size
    head = source.head()
    try:
        tree_matches = tree.size() >= size and tree.root(size) == checkpoint.root
    except ProofError:
        tree_matches = False
    marks = {c.size: c for c in earlier if 0 < c.size < size}
    roots: dict[int, bytes] = {}
    hashes = CompactRange()
    today: dict[int, Entry | None] = {}
    leaves: dict[int, bytes] = {}
    position = 0
    while position < size:  # past the record's end, positions are missing
        stop = min(size, position + CHUNK)
        batch = source.between(position + 1, stop) if position < head else []
        by_position = {r.id: Entry.of(r) for r in batch}
        stored = tree.leaf_hashes(range(position, stop)) if tree_matches else {}
        for at in range(position + 1, stop + 1):
            entry = by_position.get(at)
            leaf = entry.leaf_hash() if entry is not None else _MISSING
            hashes.push(leaf)
            if tree_matches and stored.get(at - 1) != leaf:
                today[at] = entry
                leaves[at] = stored.get(at - 1, _MISSING)
            if at in marks:
                roots[at] = hashes.root()
        position = stop
    extends = head >= size and hashes.root() == checkpoint.root
    verdict = Verdict(checkpoint, head, extends, tree_matches=tree_matches)
    if extends:
        return verdict
    if tree_matches:
        verdict.findings = _name(today, leaves)
    else:
        _bracket(verdict, roots, marks)
    return verdict


def _bracket(verdict: Verdict, roots: dict[int, bytes], marks: dict[int, Checkpoint]) -> None:
    """Where the change lies, from the earlier checkpoints today's record still extends."""
    size, head = verdict.checkpoint.size, verdict.head
    good = [s for s in sorted(roots) if roots[s] == marks[s].root]
    bad = [s for s in sorted(roots) if roots[s] != marks[s].root]
    low = max(good, default=0)
    high = min([s for s in bad if s > low] or [size])
    verdict.between = (low + 1, high)
    if head < size:
        verdict.findings.append(
            Finding(
                head + 1,
                size,
                lazy(
                    "missing: the record ends at position %(head)s but the checkpoint covers "
                    "%(size)s events (deleted)",
                    head=head,
                    size=size,
                )
                if head
                else lazy(
                    "missing: the record is empty but the checkpoint covers %(size)s events "
                    "(every event was deleted)",
                    size=size,
                ),
            )
        )


def _name(today: dict[int, Entry | None], leaves: dict[int, bytes]) -> list[Finding]:
    """Name each position whose event no longer hashes to the checkpoint's leaf."""
    changed = sorted(today)
    others = changed if len(changed) <= MOVE_SEARCH else []
    words: list[tuple[int, Text]] = []
    for at in changed:
        entry = today[at]
        if entry is None:
            words.append((at, lazy("missing: the event the checkpoint covers here was deleted")))
            continue
        came_from = None
        for candidate in (at - 1, at + 1, *others):
            if candidate != at and leaves.get(candidate) == entry.moved_to(candidate).leaf_hash():
                came_from = candidate
                break
        if came_from == at - 1:
            words.append(
                (
                    at,
                    lazy(
                        "moved one position on: an event was inserted before it (or deleted after)"
                    ),
                )
            )
        elif came_from == at + 1:
            words.append((at, lazy("moved one position back: an event before it was deleted")))
        elif came_from is not None:
            words.append(
                (
                    at,
                    lazy(
                        "reordered: it holds %(event)s, which the checkpoint has at %(position)s",
                        event=str(entry),
                        position=came_from,
                    ),
                )
            )
        else:
            words.append(
                (
                    at,
                    lazy(
                        "changed: %(event)s as stored now does not hash to the event the "
                        "checkpoint covers here (its bytes, stream, version or time were "
                        "rewritten, or it was inserted)",
                        event=str(entry),
                    ),
                )
            )
    return _runs(words)


def _runs(words: list[tuple[int, Text]]) -> list[Finding]:
    """Consecutive positions with the same finding, as one."""
    out: list[Finding] = []
    for at, what in words:
        if (
            out
            and out[-1].last == at - 1
            and out[-1].what == what
            and not what.startswith(("changed", "reordered"))
        ):
            out[-1] = Finding(out[-1].first, at, what)
        else:
            out.append(Finding(at, at, what))
    return out
