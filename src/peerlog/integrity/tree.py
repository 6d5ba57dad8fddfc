"""The record's Merkle tree, kept in tiles and extended from the record in position order.

:func:`extend` is the tree's maintainer: like a projection with its own position (the
tree's size), it reads the events after that position, hashes them into leaves and
writes the tiles that changed together with the new size, in one short transaction
that succeeds only if no other maintainer got there first. Appending events is left
alone: the maintainer follows the record (the server runs it, and ``peerlog
checkpoint`` catches it up first), which works because positions are committed in
order without gaps.

:class:`StoredTree` answers roots and proofs for any size up to the tree's, from the
tiles: a handful of reads whatever the size of the record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final

from peerlog.integrity.leaves import record_leaf_hash
from peerlog.integrity.merkle import EMPTY_ROOT, Hashes, ProofError, node_hash
from peerlog.integrity.source import RecordSource
from peerlog.integrity.store import HASH_SIZE, TILE_HEIGHT, TILE_WIDTH, IntegrityStore, TileKey

BATCH: Final = 5_000
Progress = Callable[[int, int], None]
"""Called with (leaves in the tree, head of the record)."""


class TreeGap(Exception):
    """The record has a gap where the tree was to grow: an event was deleted."""

    def __init__(self, position: int, found: int | None) -> None:
        self.position = position
        self.found = found
        where = f"the next stored event is at {found}" if found is not None else "nothing follows"
        super().__init__(
            f"position {position} is missing from the record ({where}): the tree cannot "
            "grow past it; run 'peerlog verify'"
        )


def fold(hashes: bytes, height: int) -> bytes:
    """The root of a complete subtree of 2**height hashes, given concatenated."""
    level = [hashes[i : i + HASH_SIZE] for i in range(0, len(hashes), HASH_SIZE)]
    for _ in range(height):
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def _counts(size: int) -> list[int]:
    """How many hashes each tile level holds for a tree of ``size`` leaves."""
    counts = []
    while size:
        counts.append(size)
        size >>= TILE_HEIGHT
    return counts


def right_edge(size: int) -> list[TileKey]:
    """The partial tiles of a tree of ``size`` leaves (the ones that grow next)."""
    return [
        (level, count >> TILE_HEIGHT)
        for level, count in enumerate(_counts(size))
        if count % TILE_WIDTH
    ]


class TileWriter:
    """Appends leaf hashes to the tiles, completing tiles upward as they fill."""

    def __init__(self, size: int, edge: dict[TileKey, bytes]) -> None:
        self.size = size
        self.counts = _counts(size)
        self.tiles = {key: bytearray(value) for key, value in edge.items()}
        self.changed: set[TileKey] = set()

    def append(self, leaf: bytes) -> None:
        self._push(0, leaf)
        self.size += 1

    def _push(self, level: int, value: bytes) -> None:
        if level == len(self.counts):
            self.counts.append(0)
        count = self.counts[level]
        key = (level, count >> TILE_HEIGHT)
        tile = self.tiles.setdefault(key, bytearray())
        if len(tile) != (count % TILE_WIDTH) * HASH_SIZE:
            msg = f"tile {key} holds {len(tile) // HASH_SIZE} hashes, not {count % TILE_WIDTH}"
            raise ValueError(msg)
        tile += value
        self.counts[level] = count + 1
        self.changed.add(key)
        if len(tile) == TILE_WIDTH * HASH_SIZE:
            self._push(level + 1, fold(bytes(tile), TILE_HEIGHT))

    def written(self) -> dict[TileKey, bytes]:
        return {key: bytes(self.tiles[key]) for key in self.changed}


def extend(
    store: IntegrityStore,
    source: RecordSource,
    *,
    upto: int | None = None,
    batch: int = BATCH,
    progress: Progress | None = None,
) -> int:
    """Grow the tree to the head of the record (or to ``upto``); returns its size."""
    size = store.tree_size()
    head = source.head() if upto is None else upto
    while size < head:
        stop = min(head, size + batch)
        records = source.between(size + 1, stop)
        for offset, record in enumerate(records):
            if record.id != size + 1 + offset:
                raise TreeGap(size + 1 + offset, record.id)
        if len(records) != stop - size:
            raise TreeGap(size + 1 + len(records), None)
        writer = TileWriter(size, store.tiles(right_edge(size)))
        for record in records:
            writer.append(record_leaf_hash(record))
        # If another maintainer extended the tree first, go on from where it got.
        size = stop if store.extend(size, stop, writer.written()) else store.tree_size()
        if progress is not None:
            progress(size, head)
    return size


class TreeTooSmall(ProofError):
    """The tree does not hold that many leaves (yet)."""


class StoredTree:
    """Roots, proofs and leaves of the stored tree, at any size up to its own."""

    def __init__(self, store: IntegrityStore) -> None:
        self.store = store

    def size(self) -> int:
        return self.store.tree_size()

    def _planned(self, size: int, compute: Callable[[Hashes], object]) -> Hashes:
        """Hashes whose tiles are fetched in one query: a first pass notes which tiles
        the computation needs."""
        held = self.size()
        if size > held:
            msg = f"the tree holds {held} leaves, not {size}: bring it up to date first"
            raise TreeTooSmall(msg)
        planner = _TileNodes(self.store, plan=True)
        compute(Hashes(size, planner.node))
        reader = _TileNodes(self.store)
        reader.prefetch(planner.wanted)
        return Hashes(size, reader.node)

    def root(self, size: int) -> bytes:
        if size == 0:
            return EMPTY_ROOT
        return self._planned(size, lambda h: h.root()).root()

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return self._planned(size, lambda h: h.inclusion_proof(index)).inclusion_proof(index)

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        return self._planned(second, lambda h: h.consistency_proof(first)).consistency_proof(first)

    def leaf_hashes(self, indexes: Iterable[int]) -> dict[int, bytes]:
        """The stored leaf hashes at these indexes (those the tree holds)."""
        wanted = sorted(set(indexes))
        size = self.size()
        keys = {(0, i >> TILE_HEIGHT) for i in wanted if i < size}
        tiles = self.store.tiles(keys)
        out = {}
        for i in wanted:
            tile = tiles.get((0, i >> TILE_HEIGHT))
            offset = (i % TILE_WIDTH) * HASH_SIZE
            if tile is not None and len(tile) >= offset + HASH_SIZE:
                out[i] = tile[offset : offset + HASH_SIZE]
        return out


class _TileNodes:
    """Complete-subtree hashes from tiles, each tile read once."""

    def __init__(self, store: IntegrityStore, *, plan: bool = False) -> None:
        self.store = store
        self.plan = plan
        self.wanted: set[TileKey] = set()
        self.cache: dict[TileKey, bytes] = {}

    def prefetch(self, keys: set[TileKey]) -> None:
        self.cache.update(self.store.tiles(keys - set(self.cache)))

    def node(self, level: int, index: int) -> bytes:
        tile_level, height = divmod(level, TILE_HEIGHT)
        first = index << height
        key = (tile_level, first >> TILE_HEIGHT)
        if self.plan:
            self.wanted.add(key)
            return bytes(HASH_SIZE)
        tile = self.cache.get(key)
        if tile is None:
            self.prefetch({key})
            tile = self.cache.get(key)
        offset = (first % TILE_WIDTH) * HASH_SIZE
        chunk = tile[offset : offset + (HASH_SIZE << height)] if tile is not None else b""
        if len(chunk) != HASH_SIZE << height:
            msg = f"the stored tree lacks tile {key}: it is damaged; rebuild it from the record"
            raise ProofError(msg)
        return fold(chunk, height)
