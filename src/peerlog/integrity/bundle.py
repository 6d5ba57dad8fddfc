"""The examiner's audit file: one self-contained JSON file that proves an audit.

It holds the audit (the contract's JSON), every stored event of the streams the audit
was made from up to its checkpoint (the course's and the student's pairs', each from
its first event: what the numbers depend on, not only the events cited), each with its
inclusion proof, and the signed checkpoint (with any cosignatures). Anyone can check it
without the database: ``peerlog verify-bundle`` (which also recounts the audit with
peerlog's projection code) or ``docs/verify_bundle.py`` (Python and ``cryptography``).

The file is written canonically (keys sorted, one-space indents, ASCII), so that one
changed byte anywhere either changes what it says (and a check fails) or makes it
differ from its canonical form (which is checked first).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from peerlog.i18n import lazy
from peerlog.integrity import merkle
from peerlog.integrity.audits import audit_digest
from peerlog.integrity.checkpoints import Checkpoint, CheckpointError, open_note
from peerlog.integrity.leaves import Entry
from peerlog.integrity.notes import Note, NoteError, Signer, Verifier, strict_b64decode
from peerlog.persistence.records import RecordedEvent, from_micros

FORMAT: Final = "peerlog-audit-bundle/1"


def encode(data: Mapping[str, Any]) -> bytes:
    return (json.dumps(data, sort_keys=True, indent=1, ensure_ascii=True) + "\n").encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def event_json(entry: Entry, proof: Sequence[bytes]) -> dict[str, Any]:
    return {
        "position": entry.position,
        "stream": entry.stream,
        "version": entry.version,
        "recorded_at": entry.recorded_at_micros,
        "topic": entry.topic,
        "state": _b64(entry.state),
        "proof": [_b64(h) for h in proof],
    }


def audit_note_body(digest: str) -> str:
    """What the record's key signs to vouch for an audit: its digest."""
    return f"peerlog audit\n{digest}\n"


def make(
    audit: Mapping[str, Any],
    checkpoint_note: str,
    events: Iterable[dict[str, Any]],
    signer: Signer,
) -> bytes:
    body = audit_note_body(str(audit["integrity"]["digest"]))
    return encode(
        {
            "format": FORMAT,
            "audit": dict(audit),
            "audit_signature": body + "\n" + signer.sign(body),
            "checkpoint": checkpoint_note,
            "events": sorted(events, key=lambda e: e["position"]),
        }
    )


class BundleInvalid(ValueError):
    """What failed, in words."""


@dataclass(frozen=True)
class Checked:
    """A bundle whose proofs hold: its audit, checkpoint and events."""

    audit: dict[str, Any]
    checkpoint: Checkpoint
    cosigned: dict[str, int]
    records: dict[str, list[RecordedEvent]]


def _first_difference(a: bytes, b: bytes) -> int:
    same = (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y)
    return next(same, min(len(a), len(b)))


def check(data: bytes, key: Verifier, witnesses: tuple[Verifier, ...] = ()) -> Checked:  # noqa: C901 - one check after another, each with its own message
    """Check everything but the recount; raise :class:`BundleInvalid` naming what failed."""
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BundleInvalid(
            lazy("the file is not an audit file (not JSON: %(error)s)", error=str(exc))
        ) from None
    if not isinstance(parsed, dict) or parsed.get("format") != FORMAT:
        raise BundleInvalid(
            lazy("the file is not an audit file of the format %(format)s", format=FORMAT)
        )
    canonical = encode(parsed)
    if canonical != data:
        raise BundleInvalid(
            lazy(
                "the file was changed at byte %(byte)s: it is not in the form peerlog wrote it",
                byte=_first_difference(canonical, data),
            )
        )
    try:
        opened = open_note(str(parsed["checkpoint"]), key, witnesses)
    except (CheckpointError, KeyError) as exc:
        problem = exc.args[0] if isinstance(exc, CheckpointError) and exc.args else str(exc)
        raise BundleInvalid(lazy("the checkpoint: %(error)s", error=problem)) from None
    checkpoint = opened.checkpoint
    audit = parsed.get("audit")
    events = parsed.get("events")
    if not isinstance(audit, dict) or not isinstance(events, list):
        raise BundleInvalid(lazy("the file has no audit or no events"))
    records = _proven_events(events, checkpoint)
    cited = {ref for goal in audit.get("goals", []) for ref in goal.get("events", [])}
    held = {f"{s}@{r.originator_version}" for s, rs in records.items() for r in rs}
    if cited - held:
        raise BundleInvalid(
            lazy(
                "the audit cites events the file does not hold: %(events)s",
                events=tuple(sorted(cited - held)),
            )
        )
    integrity = audit.get("integrity") or {}
    named = integrity.get("checkpoint") or {}
    if (named.get("origin"), named.get("size"), named.get("root")) != (
        checkpoint.origin,
        checkpoint.size,
        checkpoint.body().split("\n")[2],
    ):
        raise BundleInvalid(lazy("the audit names another checkpoint than the one in the file"))
    if integrity.get("digest") != audit_digest(audit, checkpoint):
        raise BundleInvalid(
            lazy(
                "the audit's digest is not the digest of its content and checkpoint: "
                "the audit was changed"
            )
        )
    try:
        vouched = Note.parse(str(parsed.get("audit_signature", "")))
    except NoteError:
        vouched = None
    if (
        vouched is None
        or vouched.body != audit_note_body(str(integrity["digest"]))
        or not vouched.signed_by(key)
    ):
        raise BundleInvalid(
            lazy("the audit's digest is not signed by %(key)s: the audit was changed", key=key.name)
        )
    return Checked(audit, checkpoint, opened.cosigned, records)


def _proven_events(events: list[Any], checkpoint: Checkpoint) -> dict[str, list[RecordedEvent]]:
    """The file's events by stream, each proven in the checkpoint, versions without gaps."""
    records: dict[str, list[RecordedEvent]] = {}
    for item in events:
        entry, proof = _event(item)
        name = lazy("event %(event)s (position %(position)s)", event=entry, position=entry.position)
        if entry.position > checkpoint.size or not merkle.verify_inclusion(
            entry.position - 1, checkpoint.size, entry.leaf_hash(), proof, checkpoint.root
        ):
            raise BundleInvalid(
                lazy(
                    "%(event)s: its inclusion proof does not lead to the checkpoint's root: "
                    "the event is not the one the record holds there",
                    event=name,
                )
            )
        stream = records.setdefault(entry.stream, [])
        if len(stream) + 1 != entry.version:
            raise BundleInvalid(
                lazy(
                    "%(event)s: the file lacks version %(version)s of %(stream)s",
                    event=name,
                    version=len(stream) + 1,
                    stream=entry.stream,
                )
            )
        stream.append(
            RecordedEvent.of(
                entry.position,
                entry.stream,
                entry.version,
                entry.topic,
                entry.state,
                from_micros(entry.recorded_at_micros),
                b"",
            )
        )
    return records


def _event(item: Any) -> tuple[Entry, list[bytes]]:
    try:
        entry = Entry(
            str(item["stream"]),
            int(item["version"]),
            int(item["position"]),
            int(item["recorded_at"]),
            str(item["topic"]),
            strict_b64decode(item["state"]),
        )
        proof = [strict_b64decode(h) for h in item["proof"]]
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise BundleInvalid(
            lazy("an event of the file is malformed: %(event)s", event=str(item)[:80])
        ) from None
    return entry, proof


def as_of_of(audit: Mapping[str, Any]) -> tuple[datetime, datetime | None]:
    occurred = audit.get("as_of_occurred")
    return (
        datetime.fromisoformat(str(audit["as_of"])),
        datetime.fromisoformat(str(occurred)) if occurred else None,
    )
