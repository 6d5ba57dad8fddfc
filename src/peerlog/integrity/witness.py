"""A witness: a second party that cosigns a record's checkpoints, each only after
checking that it is consistent with the last one it cosigned, so that the record's
operator cannot show two different histories (or rewrite one) without the witness
refusing.

The witness keeps its own state in a folder of its own, away from the record:

* ``witness.key``: its cosignature key (``PRIVATE+KEY+...``, readable by its owner);
* ``log.pub``: the verifier key of the record it witnesses;
* ``last.checkpoint``: the last checkpoint it cosigned, with its cosignature.

A request is the C2SP tlog-witness ``add-checkpoint`` body: ``old <size>``, the
consistency proof from that size (one base64 hash per line), a blank line, and the
signed checkpoint. ``peerlog checkpoint request --from SIZE`` writes one.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from peerlog.i18n import lazy
from peerlog.integrity import merkle
from peerlog.integrity.checkpoints import Checkpoint, CheckpointError, open_note
from peerlog.integrity.notes import COSIGNATURE, Note, NoteError, Signer, Verifier
from peerlog.integrity.signing import write_key

KEY_FILE: Final = "witness.key"
LOG_KEY_FILE: Final = "log.pub"
LAST_FILE: Final = "last.checkpoint"


class WitnessRefused(ValueError):
    """The witness does not cosign: the message says why (a :class:`peerlog.i18n.Text`,
    shown in the reader's language)."""


@dataclass(frozen=True)
class Request:
    old: int
    proof: list[bytes]
    note: str

    def text(self) -> str:
        lines = [f"old {self.old}"] + [base64.b64encode(h).decode() for h in self.proof]
        return "\n".join(lines) + "\n\n" + self.note

    @classmethod
    def parse(cls, text: str) -> Request:
        head, sep, note = text.partition("\n\n")
        lines = head.split("\n")
        if not sep or not lines[0].startswith("old ") or not lines[0][4:].isdigit():
            msg = lazy(
                "a witness request starts with 'old SIZE', the proof, a blank line, the checkpoint"
            )
            raise WitnessRefused(msg)
        try:
            proof = [base64.b64decode(line.encode("ascii"), validate=True) for line in lines[1:]]
        except (binascii.Error, UnicodeEncodeError, ValueError):
            msg = lazy("the request's consistency proof is not base64, one hash per line")
            raise WitnessRefused(msg) from None
        if any(len(h) != 32 for h in proof):
            msg = lazy("the request's consistency proof holds something that is not a hash")
            raise WitnessRefused(msg)
        return cls(int(lines[0][4:]), proof, note)


class Witness:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        try:
            self.signer = Signer.parse((folder / KEY_FILE).read_text(encoding="ascii"))
            self.log_key = Verifier.parse((folder / LOG_KEY_FILE).read_text(encoding="ascii"))
        except FileNotFoundError:
            msg = lazy(
                "%(folder)s is not a witness's folder; make one with 'peerlog witness init'",
                folder=str(folder),
            )
            raise WitnessRefused(msg) from None
        except (OSError, UnicodeDecodeError, NoteError) as exc:
            error = exc.args[0] if isinstance(exc, NoteError) else str(exc)
            msg = lazy(
                "the witness's folder %(folder)s cannot be read: %(error)s",
                folder=str(folder),
                error=error,
            )
            raise WitnessRefused(msg) from None

    @classmethod
    def init(cls, folder: Path, name: str, log_key: Verifier) -> Witness:
        if (folder / KEY_FILE).exists():
            msg = lazy("%(folder)s is a witness's folder already", folder=str(folder))
            raise WitnessRefused(msg)
        if log_key.kind != 1:
            msg = lazy("the record's key is a note signing key (type 1), not a cosignature key")
            raise WitnessRefused(msg)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_key(folder / KEY_FILE, Signer.generate(name, COSIGNATURE))
        _write(folder / LOG_KEY_FILE, str(log_key) + "\n")
        return cls(folder)

    @property
    def verifier(self) -> Verifier:
        return self.signer.verifier

    def last(self) -> Checkpoint | None:
        try:
            text = (self.folder / LAST_FILE).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        return Checkpoint.parse_body(Note.parse(text).body)

    def cosign(self, request: Request, now: int) -> str:
        """Check the request and cosign its checkpoint; the checkpoint with the
        cosignature added (the witness keeps it as its last)."""
        try:
            opened = open_note(request.note, self.log_key)
        except CheckpointError as exc:
            raise WitnessRefused(exc.args[0]) from None
        new = opened.checkpoint
        if new.origin != self.log_key.name:
            msg = lazy(
                "the checkpoint is of %(origin)s, not of %(name)s",
                origin=new.origin,
                name=self.log_key.name,
            )
            raise WitnessRefused(msg)
        last = self.last()
        old_size = last.size if last is not None else 0
        if request.old != old_size:
            msg = lazy(
                "the witness last cosigned the record at %(old)s events, not %(asked)s; ask "
                "again with a proof from %(old)s ('peerlog checkpoint request --from %(old)s')",
                old=old_size,
                asked=request.old,
            )
            raise WitnessRefused(msg)
        if new.size < old_size:
            msg = lazy(
                "the checkpoint has %(size)s events, fewer than the %(old)s the witness "
                "cosigned before: the record was cut short",
                size=new.size,
                old=old_size,
            )
            raise WitnessRefused(msg)
        old_root = last.root if last is not None else merkle.EMPTY_ROOT
        if not merkle.verify_consistency(old_size, new.size, old_root, new.root, request.proof):
            msg = lazy(
                "the checkpoint at %(size)s events is not consistent with the one at %(old)s "
                "the witness cosigned: the record's history was changed",
                size=new.size,
                old=old_size,
            )
            raise WitnessRefused(msg)
        line = self.signer.cosign(new.body(), now)
        cosigned = opened.note.with_lines([line]).text()
        _write(self.folder / LAST_FILE, cosigned)
        return cosigned


def _write(path: Path, text: str) -> None:
    """Replace a file atomically: a crash leaves the old one or the new one."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)
