"""The integrity of one record: its tree kept up to date, its checkpoints made and
kept, and the proofs an outsider asks for."""

from __future__ import annotations

import time
import weakref
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final

from peerlog.application import PeerLog
from peerlog.i18n import lazy
from peerlog.integrity import checkpoints
from peerlog.integrity.checkpoints import Checkpoint
from peerlog.integrity.heads import VerifiedHeads
from peerlog.integrity.notes import Note, Signer, Verifier
from peerlog.integrity.signing import SigningKeyError, load_signer
from peerlog.integrity.source import RecordSource
from peerlog.integrity.store import (
    IntegrityStore,
    RetiredKey,
    StoredCheckpoint,
    integrity_store_for,
)
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
        self.heads = VerifiedHeads()
        """The chain heads audits found whole (in memory): the next audit of a stream
        hashes only its events after them (:mod:`peerlog.integrity.heads`)."""
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
            signer = load_signer(self.settings)
            if any(k.verifier == str(signer.verifier) for k in self.store.retired_keys()):
                msg = lazy(
                    "the configured checkpoint key %(key)s was retired ('peerlog keys "
                    "rotate-checkpoint'); configure the new key (PEERLOG_CHECKPOINT_KEY or "
                    "PEERLOG_CHECKPOINT_KEY_FILE)",
                    key=f"{signer.verifier.name}+{signer.verifier.key_id.hex()}",
                )
                raise SigningKeyError(msg)
            self._signer = signer
        return self._signer

    def rotate_signer(self, new: Signer) -> RetiredKey:
        """Sign with ``new`` from now on. The configured key first signs a checkpoint
        of the record as it is now; then every checkpoint kept is signed by the new key
        too (each after its root was checked against the stored tree), so that the
        checkpoints published before still verify with the old public key and every
        kept checkpoint (and audit file made from now on) verifies with the new one.
        The old key is kept in the list of retired keys, and is refused from then on."""
        old = self.signer()
        if new.name != old.name:
            msg = lazy(
                "the new key is named %(new)s, but the record's checkpoints are of %(old)s; "
                "make the new key with PEERLOG_CHECKPOINT_ORIGIN=%(old)s",
                new=new.name,
                old=old.name,
            )
            raise SigningKeyError(msg)
        if str(new.verifier) == str(old.verifier):
            msg = lazy("the new checkpoint key is the one configured now; give another key")
            raise SigningKeyError(msg)
        latest, _ = self.make_checkpoint()
        notes = {}
        for stored in self.store.checkpoints():
            note = Note.parse(stored.note)
            checkpoint = Checkpoint.parse_body(note.body)
            if not note.signed_by(old.verifier) or self.tree.root(checkpoint.size) != (
                checkpoint.root
            ):
                msg = lazy(
                    "the kept checkpoint at %(size)s events is not signed by the configured "
                    "key or no longer matches the stored tree; run 'peerlog verify --against' "
                    "with it before rotating the key",
                    size=checkpoint.size,
                )
                raise checkpoints.CheckpointError(msg)
            notes[stored.size] = note.with_lines([new.sign(note.body)]).text()
        retired = RetiredKey(str(old.verifier), datetime.now(UTC), latest.size)
        self.store.retire_key(retired, notes)
        self._signer = new
        return retired

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
            msg = lazy(
                "this record made no checkpoint of %(origin)s at %(size)s events",
                origin=checkpoint.origin,
                size=checkpoint.size,
            )
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
