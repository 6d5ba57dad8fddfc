"""Checkpoints in the C2SP tlog-checkpoint format: the origin (which record), the tree
size and the base64 root hash, one per line, as the body of a signed note."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from peerlog.i18n import lazy
from peerlog.integrity.notes import Note, NoteError, Signer, Verifier


class CheckpointError(ValueError):
    """A checkpoint that is malformed, or not signed (or cosigned) as required (the
    message, a :class:`peerlog.i18n.Text`, is shown in the reader's language)."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse_body(cls, body: str) -> Checkpoint:
        lines = body.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            msg = lazy("a checkpoint's text is three lines: origin, tree size, root hash")
            raise CheckpointError(msg)
        origin, size, root = lines[0], lines[1], lines[2]
        if not origin or not size.isdigit() or (size != "0" and size.startswith("0")):
            msg = lazy("a checkpoint names its origin, then its tree size in decimal digits")
            raise CheckpointError(msg)
        try:
            digest = base64.b64decode(root.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError, ValueError):
            digest = b""
        if len(digest) != 32 or base64.b64encode(digest).decode() != root:
            msg = lazy("a checkpoint's third line is the base64 of its 32-byte root hash")
            raise CheckpointError(msg)
        return cls(origin, int(size), digest)

    def __str__(self) -> str:
        return f"{self.origin} at {self.size:,} events"


def sign(checkpoint: Checkpoint, signer: Signer) -> str:
    """The signed note of a checkpoint."""
    body = checkpoint.body()
    return body + "\n" + signer.sign(body)


@dataclass(frozen=True)
class Opened:
    checkpoint: Checkpoint
    note: Note
    cosigned: dict[str, int]
    """The witnesses (by verifier key) that cosigned it, and when."""


def open_note(text: str, key: Verifier, witnesses: tuple[Verifier, ...] = ()) -> Opened:
    """The checkpoint in a signed note, if ``key`` signed it and every witness cosigned it."""
    try:
        note = Note.parse(text)
    except NoteError as exc:
        msg = lazy("not a signed checkpoint: %(error)s", error=exc.args[0])
        raise CheckpointError(msg) from None
    checkpoint = Checkpoint.parse_body(note.body)
    if not note.signed_by(key):
        msg = lazy("the checkpoint is not signed by %(key)s", key=f"{key.name}+{key.key_id.hex()}")
        raise CheckpointError(msg)
    cosigned = {}
    for witness in witnesses:
        when = note.cosigned_at(witness)
        if when is None:
            msg = lazy("the checkpoint is not cosigned by the witness %(name)s", name=witness.name)
            raise CheckpointError(msg)
        cosigned[str(witness)] = when
    return Opened(checkpoint, note, cosigned)
