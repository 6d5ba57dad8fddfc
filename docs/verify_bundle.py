#!/usr/bin/env python3
"""Check a peerlog audit file without peerlog and without the record's database.

    python3 verify_bundle.py AUDIT_FILE --key KEY [--witness KEY ...]

Needs Python 3.9 or later and the `cryptography` package, nothing else. KEY is the
record's published checkpoint key (NAME+KEYID+KEY), or a file holding it; each
--witness key must have cosigned the checkpoint. It checks that the file is as peerlog
wrote it, that the checkpoint is signed (and cosigned), that every event in the file
is in the checkpoint's Merkle tree (RFC 9162 inclusion proofs), that each stream's
events run from its first without a gap, that every event the audit cites is there,
and that the audit's digest is that of its content and checkpoint and is signed with
the record's key. It does not recount
the audit's numbers from the events: `peerlog verify-bundle` does that, with peerlog's
own projection code. See integrity.md.
"""

import argparse
import base64
import hashlib
import json
import struct
import sys
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class Failed(Exception):
    pass


def sha256(data):
    return hashlib.sha256(data).digest()


def b64(text):
    """Base64 as an encoder writes it (another spelling of the same bytes is a change)."""
    data = base64.b64decode(text, validate=True)
    if base64.b64encode(data).decode() != text:
        raise Failed(f"not canonical base64: {text[:20]}")
    return data


def parse_key(text, kind):
    """(name, key id, public key) of a verifier key NAME+KEYID+base64(type || key)."""
    if "+" not in text and Path(text).is_file():
        text = Path(text).read_text()
    name, key_id, material = text.strip().split("+", 2)
    raw = b64(material)
    if len(raw) != 33 or raw[0] != kind:
        raise Failed(f"{name}: not an Ed25519 key of type {kind}")
    public = raw[1:]
    if sha256(name.encode() + b"\n" + bytes([kind]) + public)[:4].hex() != key_id:
        raise Failed(f"{name}: the key id does not match the key")
    return name, bytes.fromhex(key_id), public


def verified(public, signature, message):
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except InvalidSignature:
        return False
    return True


def open_checkpoint(note, key, witnesses):
    """The checkpoint's (body, origin, size, root) if signed by key and every witness."""
    body, _, signatures = note.rpartition("\n\n")
    body += "\n"
    lines = [line for line in signatures.split("\n") if line]
    found = []
    for line in lines:
        name, _, material = line[len("\u2014 ") :].partition(" ")
        blob = b64(material)
        found.append((name, blob[:4], blob[4:]))
    name, key_id, public = key
    if not any(
        n == name and i == key_id and verified(public, s, body.encode()) for n, i, s in found
    ):
        raise Failed(f"the checkpoint is not signed by {name}")
    for w_name, w_id, w_public in witnesses:
        ok = False
        for n, i, s in found:
            if n == w_name and i == w_id and len(s) == 72:
                (stamp,) = struct.unpack(">Q", s[:8])
                message = f"cosignature/v1\ntime {stamp}\n{body}".encode()
                ok = ok or verified(w_public, s[8:], message)
        if not ok:
            raise Failed(f"the checkpoint is not cosigned by the witness {w_name}")
    origin, size, root = body.split("\n")[:3]
    return body, origin, int(size), b64(root)


def leaf_hash(event):
    stream, topic = event["stream"].encode(), event["topic"].encode()
    leaf = (
        struct.pack(">I", len(stream))
        + stream
        + struct.pack(">qqq", event["version"], event["position"], event["recorded_at"])
        + struct.pack(">I", len(topic))
        + topic
        + b64(event["state"])
    )
    return sha256(b"\x00" + leaf)


def verify_inclusion(index, size, leaf, proof, root):
    """RFC 9162, section 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = sha256(b"\x01" + p + r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = sha256(b"\x01" + r + p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def check(data, key, witnesses):
    try:
        bundle = json.loads(data.decode("utf-8"))
    except ValueError as exc:
        raise Failed(f"the file is not an audit file (not JSON: {exc})") from None
    canonical = (json.dumps(bundle, sort_keys=True, indent=1, ensure_ascii=True) + "\n").encode()
    if canonical != data:
        at = next((i for i, (a, b) in enumerate(zip(canonical, data)) if a != b), len(data))
        raise Failed(f"the file was changed at byte {at}: it is not in the form peerlog wrote it")
    if bundle.get("format") != "peerlog-audit-bundle/1":
        raise Failed("the file is not a peerlog audit file")
    body, origin, size, root = open_checkpoint(bundle["checkpoint"], key, witnesses)
    versions = {}
    for event in bundle["events"]:
        name = f"event {event['stream']}@{event['version']} (position {event['position']})"
        proof = [b64(h) for h in event["proof"]]
        if not verify_inclusion(event["position"] - 1, size, leaf_hash(event), proof, root):
            raise Failed(f"{name}: its inclusion proof does not lead to the checkpoint's root")
        if versions.get(event["stream"], 0) + 1 != event["version"]:
            raise Failed(f"{name}: the file lacks an earlier version of {event['stream']}")
        versions[event["stream"]] = event["version"]
    audit = bundle["audit"]
    for goal in audit["goals"]:
        for ref in goal["events"]:
            stream, _, version = ref.rpartition("@")
            if versions.get(stream, 0) < int(version):
                raise Failed(f"the audit cites {ref}, which the file does not hold")
    named = audit["integrity"]["checkpoint"]
    if (named["origin"], named["size"], named["root"]) != (origin, size, body.split("\n")[2]):
        raise Failed("the audit names another checkpoint than the one in the file")
    content = {k: v for k, v in audit.items() if k != "integrity"}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    digest = hashlib.sha256(
        b"peerlog audit digest v1\n" + text.encode() + b"\n" + body.encode()
    ).hexdigest()
    if digest != audit["integrity"]["digest"]:
        raise Failed("the audit's digest is not that of its content and checkpoint: it was changed")
    vouched, _, signature = bundle["audit_signature"].rpartition("\n\n")
    name, key_id, public = key
    blob = b64(signature.strip().split(" ")[-1])
    if vouched + "\n" != f"peerlog audit\n{digest}\n" or not (
        signature.startswith(f"\u2014 {name} ")
        and blob[:4] == key_id
        and verified(public, blob[4:], (vouched + "\n").encode())
    ):
        raise Failed(f"the audit's digest is not signed by {name}: the audit was changed")
    return audit, origin, size, len(bundle["events"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--key", required=True)
    parser.add_argument("--witness", action="append", default=[])
    args = parser.parse_args()
    try:
        key = parse_key(args.key, 0x01)
        witnesses = [parse_key(w, 0x04) for w in args.witness]
        audit, origin, size, events = check(args.file.read_bytes(), key, witnesses)
    except (Failed, KeyError, TypeError, ValueError, OSError) as exc:
        print(f"NOT VERIFIED: {exc}")
        return 1
    print(
        f"verified: the audit of {audit['student_id']} in course {audit['course_id']} "
        f"(as of {audit['as_of']}): {events} events, each in the checkpoint of {origin} "
        f"at {size} events; digest {audit['integrity']['digest']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
