"""The Merkle tree code against RFC 9162's own definitions.

The expected values are computed here from the RFC's recursive definitions (MTH,
PATH, SUBPROOF in sections 2.1.1, 2.1.3.1 and 2.1.4.1), naively, and compared with
what peerlog's iterative code and its tiles produce; the verifiers are checked to
accept every proof and to refuse a changed leaf, index, size or root."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peerlog.integrity import merkle
from peerlog.integrity.store import IntegrityStore, RetiredKey, StoredCheckpoint, TileKey
from peerlog.integrity.tree import StoredTree, TileWriter, right_edge


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def largest_power_below(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: list[bytes]) -> bytes:
    if not d:
        return sha(b"")
    if len(d) == 1:
        return sha(b"\x00" + d[0])
    k = largest_power_below(len(d))
    return sha(b"\x01" + mth(d[:k]) + mth(d[k:]))


def path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = largest_power_below(len(d))
    if m < k:
        return [*path(m, d[:k]), mth(d[k:])]
    return [*path(m - k, d[k:]), mth(d[:k])]


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [mth(d)]
    k = largest_power_below(len(d))
    if m <= k:
        return [*subproof(m, d[:k], b), mth(d[k:])]
    return [*subproof(m - k, d[k:], False), mth(d[:k])]


def data(n: int) -> list[bytes]:
    return [f"entry {i}".encode() * (i % 3 + 1) for i in range(n)]


def tree(d: list[bytes]) -> merkle.Hashes:
    return merkle.of_leaves([merkle.leaf_hash(x) for x in d])


def test_a_known_answer_from_certificate_transparency() -> None:
    """The eight-leaf tree of the Certificate Transparency test data."""
    leaves = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        bytes(range(0x50, 0x58)),
        bytes(range(0x60, 0x70)),
    ]
    assert tree(leaves).root().hex() == (
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    )
    assert mth(leaves) == tree(leaves).root()
    assert merkle.EMPTY_ROOT.hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


@pytest.mark.parametrize("n", range(9))
def test_roots_and_proofs_of_trees_of_up_to_eight_leaves(n: int) -> None:
    d = data(n)
    hashes = tree(d)
    assert hashes.root() == mth(d)
    for m in range(n):
        proof = hashes.inclusion_proof(m)
        assert proof == path(m, d)
        assert merkle.verify_inclusion(m, n, merkle.leaf_hash(d[m]), proof, mth(d))
    for m in range(1, n):
        proof = hashes.consistency_proof(m)
        assert proof == subproof(m, d, True)
        assert merkle.verify_consistency(m, n, mth(d[:m]), mth(d), proof)
    assert hashes.consistency_proof(n) == []
    assert merkle.verify_consistency(n, n, mth(d), mth(d), [])
    assert merkle.verify_consistency(0, n, merkle.EMPTY_ROOT, mth(d), [])


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 300).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
def test_an_inclusion_proof_verifies_and_fails_when_anything_changes(nm: tuple[int, int]) -> None:
    n, m = nm
    d = data(n)
    hashes = tree(d)
    root = hashes.root()
    leaf = merkle.leaf_hash(d[m])
    proof = hashes.inclusion_proof(m)
    assert merkle.verify_inclusion(m, n, leaf, proof, root)
    assert not merkle.verify_inclusion(m, n, merkle.leaf_hash(d[m] + b"!"), proof, root)
    assert not merkle.verify_inclusion(m, n, leaf, proof, merkle.leaf_hash(b"another root"))
    for other in {m - 1, m + 1} & set(range(n)):
        assert not merkle.verify_inclusion(other, n, leaf, proof, root)
    if proof:
        changed = [*proof]
        changed[-1] = sha(changed[-1])
        assert not merkle.verify_inclusion(m, n, leaf, changed, root)
        assert not merkle.verify_inclusion(m, n, leaf, proof[:-1], root)


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 300).flatmap(lambda n: st.tuples(st.integers(1, n - 1), st.just(n))))
def test_a_consistency_proof_verifies_and_fails_when_anything_changes(mn: tuple[int, int]) -> None:
    m, n = mn
    d = data(n)
    hashes = tree(d)
    old, new = mth(d[:m]), hashes.root()
    proof = hashes.consistency_proof(m)
    assert proof == subproof(m, d, True)
    assert merkle.verify_consistency(m, n, old, new, proof)
    rewritten = tree([*d[: m - 1], b"rewritten", *d[m:]]).root()
    assert not merkle.verify_consistency(m, n, old, rewritten, proof)
    assert not merkle.verify_consistency(m, n, sha(old), new, proof)
    if m > 1:
        assert not merkle.verify_consistency(m - 1, n, old, new, proof)
    changed = [*proof]
    changed[0] = sha(changed[0])
    assert not merkle.verify_consistency(m, n, old, new, changed)


class MemoryTiles(IntegrityStore):
    """Tiles in a dict, to check the tile arithmetic on trees of three tile levels
    (the database stores are checked in tests/integration/test_tree.py)."""

    def __init__(self) -> None:
        self.size = 0
        self.stored: dict[TileKey, bytes] = {}

    def create_tables(self) -> None:
        pass

    def tree_size(self) -> int:
        return self.size

    def tiles(self, keys: Collection[TileKey]) -> dict[TileKey, bytes]:
        return {k: self.stored[k] for k in keys if k in self.stored}

    def extend(self, expected: int, size: int, tiles: Mapping[TileKey, bytes]) -> bool:
        assert expected == self.size
        self.stored.update(tiles)
        self.size = size
        return True

    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> StoredCheckpoint:
        raise NotImplementedError

    def replace_note(self, size: int, note: str) -> None:
        raise NotImplementedError

    def checkpoints(self) -> list[StoredCheckpoint]:
        return []

    def checkpoint(self, size: int | None = None) -> StoredCheckpoint | None:
        return None

    def covering(self, size: int) -> StoredCheckpoint | None:
        return None

    def retired_keys(self) -> list[RetiredKey]:
        return []

    def retire_key(self, key: RetiredKey, notes: Mapping[int, str]) -> None:
        raise NotImplementedError


def test_tiles_give_the_reference_tree_across_three_tile_levels() -> None:
    """70,000 leaves, added in uneven batches: every tile boundary is crossed."""
    store = MemoryTiles()
    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(70_000)]
    at = 0
    for step in (1, 255, 1, 256, 3000, 65_536 - 3513, 1, 4463):
        writer = TileWriter(at, store.tiles(right_edge(at)))
        for leaf in leaves[at : at + step]:
            writer.append(leaf)
        store.extend(at, at + step, writer.written())
        at += step
    assert at == store.size == 70_000
    stored = StoredTree(store)
    reference = merkle.of_leaves(leaves[:at])
    # The tiles hold 256-hash levels: level 0 (leaves), 1 and 2.
    assert {level for level, _ in store.stored} == {0, 1, 2}
    for size in (1, 255, 256, 257, 512, 4513, 65_536, 65_537, at):
        partial = merkle.of_leaves(leaves[:size])
        assert stored.root(size) == partial.root() == mth_of_hashes(leaves[:size])
        for index in {0, size // 2, size - 1}:
            assert stored.inclusion_proof(index, size) == partial.inclusion_proof(index)
    for first in (1, 256, 300, 65_536):
        assert stored.consistency_proof(first, at) == reference.consistency_proof(first)
    assert stored.leaf_hashes([0, 300, at - 1, at]) == {
        0: leaves[0],
        300: leaves[300],
        at - 1: leaves[at - 1],
    }


def mth_of_hashes(hashes: list[bytes]) -> bytes:
    """MTH over leaves given by their hashes (iteratively: the recursion is too deep
    to run naively on 70,000 leaves in a test's time)."""
    if not hashes:
        return sha(b"")
    if len(hashes) == 1:
        return hashes[0]
    k = largest_power_below(len(hashes))
    return sha(b"\x01" + mth_of_hashes(hashes[:k]) + mth_of_hashes(hashes[k:]))
