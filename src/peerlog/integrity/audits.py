"""What names an audit, and what proves the record it was made from.

The audit's **digest** is ``SHA-256("peerlog audit digest v1\\n" || content || "\\n" ||
checkpoint)``, where ``content`` is the audit's JSON without its ``integrity`` part,
written canonically (keys sorted, no spaces, ASCII), and ``checkpoint`` is the body of
the checkpoint it is proven against (origin, size and root hash lines). That checkpoint
is the earliest one holding every event the audit was made from, so the same audit made
later with the same as-of names the same checkpoint and has the same digest, while two
different audits (another student, another as-of) have different ones.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from peerlog.integrity.checkpoints import Checkpoint
from peerlog.integrity.heads import VerifiedHead
from peerlog.integrity.leaves import Entry
from peerlog.integrity.merkle import ProofError
from peerlog.integrity.notes import Note
from peerlog.integrity.service import Integrity
from peerlog.integrity.signing import SigningKeyError
from peerlog.integrity.tree import TreeGap
from peerlog.persistence.records import RecordedEvent

DIGEST_PREFIX: Final = b"peerlog audit digest v1\n"


def canonical(content: Mapping[str, Any]) -> bytes:
    """The audit's content (without ``integrity``) as canonical JSON."""
    kept = {k: v for k, v in content.items() if k != "integrity"}
    return json.dumps(kept, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def audit_digest(content: Mapping[str, Any], checkpoint: Checkpoint | None) -> str:
    body = checkpoint.body().encode() if checkpoint is not None else b"no checkpoint\n"
    return hashlib.sha256(DIGEST_PREFIX + canonical(content) + b"\n" + body).hexdigest()


def integrity_of(
    integrity: Integrity,
    records: Mapping[str, Sequence[RecordedEvent]],
    kept: Sequence[RecordedEvent],
    content: Mapping[str, Any],
) -> dict[str, Any]:
    """The audit's ``integrity``: whether its streams' chains hold and their events are
    those of the checkpoint it is proven against (made now if none holds them yet), and
    the digest that names the audit and that checkpoint.

    The events are the ones the audit was made from (one read of each stream); only
    those after a stream's remembered verified head are hashed again
    (:mod:`peerlog.integrity.heads`)."""
    problems = []
    for stream, stream_records in records.items():
        problem = integrity.heads.check(stream, stream_records)
        if problem is not None:
            problems.append(str(problem.describe()))
    needed = max((r.id for r in kept), default=0)
    checkpoint = None
    try:
        stored = integrity.covering(needed)
    except (TreeGap, SigningKeyError) as exc:
        stored = None
        problems.append(str(exc))
    if stored is not None:
        checkpoint = Checkpoint.parse_body(Note.parse(stored.note).body)
        problems.extend(_tree_problems(integrity, records, checkpoint))
    elif not problems:
        problems.append(f"no checkpoint holds position {needed} yet")
    out: dict[str, Any] = {
        "verified": not problems,
        "digest": audit_digest(content, checkpoint),
        "streams": len(records),
        "checkpoint": (
            {
                "origin": checkpoint.origin,
                "size": checkpoint.size,
                "root": checkpoint.body().split("\n")[2],
            }
            if checkpoint is not None
            else None
        ),
    }
    if problems:
        out["problems"] = problems
    return out


def _tree_problems(
    integrity: Integrity, records: Mapping[str, Sequence[RecordedEvent]], checkpoint: Checkpoint
) -> list[str]:
    """The streams' events up to the checkpoint must be its leaves, and the stored
    tree must give its root."""
    try:
        if integrity.tree.root(checkpoint.size) != checkpoint.root:
            return [
                "the stored Merkle tree does not give the checkpoint's root: run 'peerlog verify'"
            ]
    except ProofError as exc:
        return [str(exc)]
    heads = integrity.heads
    covered: dict[str, list[RecordedEvent]] = {}
    checked: dict[str, VerifiedHead] = {}
    for stream, stream_records in records.items():
        # Leaves found in the tree before, of events found unchanged since, are not
        # hashed again (a leaf, once in the tree, stays at its position).
        head = heads.get(stream)
        found = 0
        if head is not None:
            checked[stream], found = head, head.leaves
        covered[stream] = [
            r for r in stream_records if r.id <= checkpoint.size and r.originator_version > found
        ]
    stored = integrity.tree.leaf_hashes(r.id - 1 for rs in covered.values() for r in rs)
    problems = []
    for stream, stream_records in covered.items():
        wrong = [
            f"{Entry.of(r)} (position {r.id}) is not the event checkpoint {checkpoint.size} "
            "holds there: run 'peerlog verify'"
            for r in stream_records
            if stored.get(r.id - 1) != Entry.of(r).leaf_hash()
        ]
        if wrong:
            heads.forget(stream)
        elif stream_records and stream in checked:
            heads.leaves_found(stream, checked[stream], stream_records[-1].originator_version)
        problems += wrong
    return problems
