"""Signed notes (C2SP signed-note) with Ed25519, and witness cosignatures (C2SP
tlog-cosignature, ``cosignature/v1``).

A note is a text body ending in a newline, a blank line, and signature lines
``— <key name> <base64(key id || signature)>``. A key's id is the first four bytes
of SHA-256(name || "\\n" || type || public key), with type 0x01 for a note signature
and 0x04 for a cosignature, whose signed message is ``cosignature/v1\\ntime <t>\\n``
followed by the body, and whose signature is the 8-byte big-endian time followed by
the Ed25519 signature. Keys are written as the formats define them:

* verifier key (to publish): ``<name>+<key id, hex>+<base64(type || public key)>``;
* signer key (kept secret): ``PRIVATE+KEY+<name>+<key id, hex>+<base64(type || seed)>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass, field
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from peerlog.i18n import Text, lazy

SIGNATURE: Final = 0x01
COSIGNATURE: Final = 0x04
DASH: Final = "\u2014 "
COSIGNATURE_HEADER: Final = "cosignature/v1\n"
_TIME: Final = struct.Struct(">Q")


class NoteError(ValueError):
    """A note, key or signature that is malformed (the message says what, in English as
    ``str``; shown in the reader's language, :func:`peerlog.i18n.shown_error`)."""


def _check_name(name: str) -> str:
    if not name or any(c.isspace() or c == "+" for c in name):
        msg = lazy("a key name is not empty and has no spaces or '+': %(name)s", name=repr(name))
        raise NoteError(msg)
    return name


def key_id(name: str, kind: int, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([kind]) + public).digest()[:4]


def strict_b64decode(text: str) -> bytes:
    """Base64 as written by an encoder: no stray characters, and no other spelling of
    the same bytes (unused bits in the last character set)."""
    data = base64.b64decode(text.encode("ascii"), validate=True)
    if base64.b64encode(data).decode("ascii") != text:
        msg = "not in canonical base64"
        raise ValueError(msg)
    return data


def _b64decode(text: str, what: Text) -> bytes:
    try:
        return strict_b64decode(text)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        msg = lazy("%(what)s is not base64", what=what)
        raise NoteError(msg) from None


@dataclass(frozen=True)
class Verifier:
    """A public key with its name: checks note signatures (or cosignatures)."""

    name: str
    kind: int
    public: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.kind, self.public)

    def __str__(self) -> str:
        material = base64.b64encode(bytes([self.kind]) + self.public).decode()
        return f"{self.name}+{self.key_id.hex()}+{material}"

    @classmethod
    def parse(cls, text: str) -> Verifier:
        parts = text.strip().split("+", 2)  # the base64 key may hold '+' itself
        if len(parts) != 3:
            msg = lazy(
                "a verifier key is written NAME+KEYID+KEY (as 'peerlog checkpoint key' prints it)"
            )
            raise NoteError(msg)
        name, hex_id, material = parts
        raw = _b64decode(material, lazy("the key in the verifier key"))
        if len(raw) != 33 or raw[0] not in (SIGNATURE, COSIGNATURE):
            msg = lazy("the verifier key is not an Ed25519 note or cosignature key")
            raise NoteError(msg)
        verifier = cls(_check_name(name), raw[0], raw[1:])
        if verifier.key_id.hex() != hex_id.lower():
            msg = lazy(
                "the verifier key's id does not match its name and key (was it copied whole?)"
            )
            raise NoteError(msg)
        return verifier

    def _key(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(self.public)

    def verifies(self, message: bytes, signature: bytes) -> bool:
        try:
            self._key().verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signer:
    """A private key with its name: signs notes (or cosigns checkpoints)."""

    name: str
    kind: int
    seed: bytes = field(repr=False)

    @classmethod
    def generate(cls, name: str, kind: int = SIGNATURE) -> Signer:
        key = Ed25519PrivateKey.generate()
        from cryptography.hazmat.primitives.serialization import (  # noqa: PLC0415
            NoEncryption,
            PrivateFormat,
        )

        seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return cls(_check_name(name), kind, seed)

    @classmethod
    def parse(cls, text: str) -> Signer:
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            msg = lazy("a signer key is written PRIVATE+KEY+NAME+KEYID+KEY")
            raise NoteError(msg)
        raw = _b64decode(parts[4], lazy("the signer key"))
        if len(raw) != 33 or raw[0] not in (SIGNATURE, COSIGNATURE):
            msg = lazy("the signer key is not an Ed25519 note or cosignature key")
            raise NoteError(msg)
        signer = cls(_check_name(parts[2]), raw[0], raw[1:])
        if signer.verifier.key_id.hex() != parts[3].lower():
            msg = lazy("the signer key's id does not match its name and key")
            raise NoteError(msg)
        return signer

    def __str__(self) -> str:
        material = base64.b64encode(bytes([self.kind]) + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_id.hex()}+{material}"

    def _key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @property
    def verifier(self) -> Verifier:
        public = self._key().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return Verifier(self.name, self.kind, public)

    def sign(self, body: str) -> str:
        """The signature line of this key for a note body."""
        if self.kind != SIGNATURE:
            msg = lazy("a cosignature key cosigns; it does not sign notes")
            raise NoteError(msg)
        blob = self.verifier.key_id + self._key().sign(body.encode())
        return f"{DASH}{self.name} {base64.b64encode(blob).decode()}\n"

    def cosign(self, body: str, timestamp: int) -> str:
        """The cosignature line of this key for a checkpoint body, at ``timestamp``."""
        if self.kind != COSIGNATURE:
            msg = lazy("a note key signs; a witness cosigns with a cosignature key")
            raise NoteError(msg)
        stamp = _TIME.pack(timestamp)
        signature = self._key().sign(cosigned_message(body, timestamp))
        blob = self.verifier.key_id + stamp + signature
        return f"{DASH}{self.name} {base64.b64encode(blob).decode()}\n"


def cosigned_message(body: str, timestamp: int) -> bytes:
    return f"{COSIGNATURE_HEADER}time {timestamp}\n{body}".encode()


@dataclass(frozen=True)
class Signature:
    name: str
    key_id: bytes
    blob: bytes
    line: str


@dataclass(frozen=True)
class Note:
    body: str
    signatures: tuple[Signature, ...]

    @classmethod
    def parse(cls, text: str) -> Note:
        if not text.endswith("\n"):
            msg = lazy("a signed note ends with a newline")
            raise NoteError(msg)
        split = text.rfind("\n\n")
        if split < 0:
            msg = lazy("a signed note has a blank line between its text and its signatures")
            raise NoteError(msg)
        body, block = text[: split + 1], text[split + 2 :]
        signatures = []
        for line in block.splitlines(keepends=True):
            if not line.startswith(DASH):
                msg = lazy(
                    "a signature line starts with '%(dash)s': %(line)s",
                    dash=DASH,
                    line=repr(line.strip()),
                )
                raise NoteError(msg)
            name, _, material = line[len(DASH) :].rstrip("\n").partition(" ")
            blob = _b64decode(material, lazy("the signature of %(name)s", name=repr(name)))
            if len(blob) < 5:
                msg = lazy("the signature of %(name)s is too short", name=repr(name))
                raise NoteError(msg)
            signatures.append(Signature(name, blob[:4], blob[4:], line))
        if not signatures:
            msg = lazy("the note carries no signature")
            raise NoteError(msg)
        return cls(body, tuple(signatures))

    def text(self) -> str:
        return self.body + "\n" + "".join(s.line for s in self.signatures)

    def _of(self, verifier: Verifier) -> list[Signature]:
        return [
            s for s in self.signatures if s.name == verifier.name and s.key_id == verifier.key_id
        ]

    def signed_by(self, verifier: Verifier) -> bool:
        return any(
            verifier.verifies(self.body.encode(), s.blob)
            for s in self._of(verifier)
            if verifier.kind == SIGNATURE
        )

    def cosigned_at(self, verifier: Verifier) -> int | None:
        """When the witness with this key cosigned the note, if it did."""
        if verifier.kind != COSIGNATURE:
            return None
        for s in self._of(verifier):
            if len(s.blob) != 8 + 64:
                continue
            (timestamp,) = _TIME.unpack(s.blob[:8])
            if verifier.verifies(cosigned_message(self.body, timestamp), s.blob[8:]):
                return int(timestamp)
        return None

    def with_lines(self, lines: list[str]) -> Note:
        """The note with more signature lines (those it has already are not repeated)."""
        have = {s.line for s in self.signatures}
        extra = Note.parse(self.body + "\n" + "".join(lines)).signatures
        return Note(self.body, self.signatures + tuple(s for s in extra if s.line not in have))
