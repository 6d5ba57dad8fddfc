"""Merkle tree hashing, proofs and their verification, as RFC 9162 defines them.

A leaf's hash is ``SHA-256(0x00 || leaf)`` and an interior node's
``SHA-256(0x01 || left || right)``; the tree of n leaves splits at the largest power
of two below n (section 2.1.1). Proofs are made from any source of subtree hashes
(:class:`Hashes`), so the same code proves from a list of leaves (the reference, in
tests) and from the tiles kept in the database. Verification follows the RFC's
algorithms (sections 2.1.3.2 and 2.1.4.2) step by step.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Final

LEAF_PREFIX: Final = b"\x00"
NODE_PREFIX: Final = b"\x01"
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()
"""The hash of the empty tree (MTH({}) = SHA-256())."""

Node = Callable[[int, int], bytes]
"""The hash of a complete subtree: (level, index) -> hash of leaves
[index * 2**level, (index + 1) * 2**level)."""


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


class ProofError(ValueError):
    """A proof was asked for sizes or an index the tree does not have."""


class Hashes:
    """Subtree hashes of a tree of ``size`` leaves, from the hashes of its complete
    subtrees (``node``)."""

    def __init__(self, size: int, node: Node) -> None:
        self.size = size
        self.node = node

    def range_hash(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for the ranges the RFC's recursion visits: ``start`` is a
        multiple of the range's largest power of two, and ``end`` either closes a
        complete subtree or is a tree size."""
        width = end - start
        if width <= 0:
            return EMPTY_ROOT
        if width & (width - 1) == 0 and start % width == 0:
            level = width.bit_length() - 1
            return self.node(level, start >> level)
        k = split(width)
        return node_hash(self.range_hash(start, start + k), self.range_hash(start + k, end))

    def root(self, size: int | None = None) -> bytes:
        return self.range_hash(0, self.size if size is None else size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[0:size]) (section 2.1.3.1)."""
        size = self.size if size is None else size
        if not 0 <= index < size or size > self.size:
            msg = f"no leaf {index} in a tree of {size} leaves"
            raise ProofError(msg)
        proof: list[bytes] = []
        start, end = 0, size
        while end - start > 1:
            k = split(end - start)
            if index < start + k:
                proof.append(self.range_hash(start + k, end))
                end = start + k
            else:
                proof.append(self.range_hash(start, start + k))
                start += k
        proof.reverse()
        return proof

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        """PROOF(first, D[0:second]) (section 2.1.4.1); empty for first = 0 or first =
        second."""
        second = self.size if second is None else second
        if not 0 <= first <= second <= self.size:
            msg = f"no consistency proof from {first} to {second} leaves"
            raise ProofError(msg)
        if first in (0, second):
            return []
        proof: list[bytes] = []
        start, end, m, whole = 0, second, first, True
        while True:
            width = end - start
            if m == width:
                if not whole:
                    proof.append(self.range_hash(start, end))
                break
            k = split(width)
            if m <= k:
                proof.append(self.range_hash(start + k, end))
                end = start + k
            else:
                proof.append(self.range_hash(start, start + k))
                start += k
                m -= k
                whole = False
        proof.reverse()
        return proof


def of_leaves(leaves: Sequence[bytes]) -> Hashes:
    """Hashes of a tree from its leaf hashes, computed as asked (for tests and small
    trees)."""

    def node(level: int, index: int) -> bytes:
        if level == 0:
            return leaves[index]
        return node_hash(node(level - 1, 2 * index), node(level - 1, 2 * index + 1))

    return Hashes(len(leaves), node)


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``proof`` shows the leaf hash ``leaf`` at ``index`` in the tree of
    ``size`` leaves with this root (section 2.1.3.2)."""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(  # noqa: C901 - the RFC's algorithm, step by step
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` shows the tree of ``first`` leaves with ``first_root`` to be a
    prefix of the tree of ``second`` leaves with ``second_root`` (section 2.1.4.2).
    The empty tree is a prefix of every tree, and a tree of itself."""
    if not 0 <= first <= second:
        return False
    if first == 0:
        return not proof
    if first == second:
        return not proof and first_root == second_root
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0
