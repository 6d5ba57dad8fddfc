"""The integrity of one record: its tree kept up to date, its checkpoints made and
kept, and the proofs an outsider asks for."""

from __future__ import annotations

import time
import weakref
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final

from peerlog.application import PeerLog
from peerlog.integrity import checkpoints
from peerlog.integrity.checkpoints import Checkpoint
from peerlog.integrity.notes import Note, Signer, Verifier
from peerlog.integrity.signing import load_signer
from peerlog.integrity.source import RecordSource
from peerlog.integrity.store import IntegrityStore, StoredCheckpoint, integrity_store_for
from peerlog.integrity.tree import Progress, StoredTree, TreeGap, extend

REPLICATION_WAIT_SECONDS: Final = 5.0
"""How long a standby waits for a checkpoint the primary made for it."""


class Integrity:
    """The Merkle tree, checkpoints and proofs of a PeerLog application's record."""

    @classmethod
    def of(cls, app: PeerLog) -> Integrity:
        """The one for this application (made when first asked for)."""
        found = _BY_APP.get(app)
        if found is None:
            found = _BY_APP[app] = cls(app)
        return found

    def __init__(self, app: PeerLog, settings: Mapping[str, str] | None = None) -> None:
        # Nothing here holds the application itself, so that :meth:`of` keeps none alive.
        self.settings = dict(app.settings if settings is None else settings)
        self.store: IntegrityStore = integrity_store_for(app.factory)
        self.source = RecordSource(app.store)
        self.tree = StoredTree(self.store)
        self._signer: Signer | None = None
        self.maker: Integrity | None = None
        """On a standby, the primary's: it makes the checkpoints this copy lacks (a
        standby takes no writes), which then reach it by replication."""

    # --- the tree ----------------------------------------------------------------

    def catch_up(self, progress: Progress | None = None) -> int:
        """Extend the tree to the head of the record; its size."""
        return extend(self.store, self.source, progress=progress)

    def catch_up_if_possible(self) -> int:
        """Extend the tree as far as the record allows (a gap, a deleted event, stops
        it there); its size."""
        try:
            return self.catch_up()
        except TreeGap:
            return self.store.tree_size()

    # --- checkpoints ---------------------------------------------------------------

    def signer(self) -> Signer:
        if self._signer is None:
            self._signer = load_signer(self.settings)
        return self._signer

    def verifier(self) -> Verifier:
        """The public key of the configured signing key (to publish)."""
        return self.signer().verifier

    def make_checkpoint(self, progress: Progress | None = None) -> tuple[StoredCheckpoint, bool]:
        """A signed checkpoint of the whole record as it is now (the tree caught up
        first), and whether it is new: if the record has not grown since the latest
        checkpoint, that one is returned."""
        size = self.catch_up(progress)
        latest = self.store.checkpoint()
        if latest is not None and latest.size == size:
            return latest, False
        signer = self.signer()
        root = self.tree.root(size)
        note = checkpoints.sign(Checkpoint(signer.name, size, root), signer)
        stored = self.store.add_checkpoint(StoredCheckpoint(size, root, note, datetime.now(UTC)))
        return stored, stored.note == note

    def covering(self, position: int, *, make: bool = True) -> StoredCheckpoint | None:
        """The earliest checkpoint holding ``position``; one is made if none does yet
        (with ``make``)."""
        found = self.store.covering(position)
        if found is None and make:
            if self.maker is not None:
                return self._arrived(self.maker.covering(position), position)
            made, _ = self.make_checkpoint()
            return made if made.size >= position else None
        return found

    def _arrived(self, made: StoredCheckpoint | None, position: int) -> StoredCheckpoint | None:
        """The checkpoint the primary made, once it has reached this standby (waited
        for a bounded time: replication takes milliseconds)."""
        if made is None:
            return None
        deadline = time.monotonic() + REPLICATION_WAIT_SECONDS
        while True:
            found = self.store.covering(position)
            if found is not None or time.monotonic() >= deadline:
                return found
            time.sleep(0.01)

    def add_cosignatures(self, text: str) -> StoredCheckpoint:
        """Keep the cosignatures in a note of a checkpoint this record made."""
        incoming = Note.parse(text)
        checkpoint = Checkpoint.parse_body(incoming.body)
        stored = self.store.checkpoint(checkpoint.size)
        if stored is None or Note.parse(stored.note).body != incoming.body:
            msg = f"this record made no checkpoint {checkpoint}"
            raise checkpoints.CheckpointError(msg)
        mine = Note.parse(stored.note)
        merged = mine.with_lines([s.line for s in incoming.signatures])
        self.store.replace_note(stored.size, merged.text())
        updated = self.store.checkpoint(stored.size)
        assert updated is not None
        return updated

    # --- proofs ----------------------------------------------------------------------

    def inclusion_proof(self, position: int, size: int) -> list[bytes]:
        return self.tree.inclusion_proof(position - 1, size)

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        return self.tree.consistency_proof(first, second)

    def close(self) -> None:
        """Nothing of its own to release: the tables live in the application's store."""


_BY_APP: Final[weakref.WeakKeyDictionary[PeerLog, Integrity]] = weakref.WeakKeyDictionary()
