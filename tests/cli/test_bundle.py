"""The examiner's audit file: made by ``peerlog audit --bundle``, checked offline by
``peerlog verify-bundle`` and by the stand-alone ``docs/verify_bundle.py`` after the
database is gone; one changed byte anywhere fails, naming what failed."""

from __future__ import annotations

import importlib.util
import json
import random
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from peerlog import PeerLog
from peerlog.integrity import bundle
from peerlog.integrity.audits import audit_digest
from peerlog.integrity.checkpoints import Checkpoint
from peerlog.integrity.notes import Verifier
from peerlog.integrity.service import Integrity
from peerlog.projections.audit_file import recount
from tests.cli.conftest import Cli
from tests.conftest import Store, drop_schemas
from tests.support import T0, Placement

ROOT = Path(__file__).resolve().parents[2]
STANDALONE = ROOT / "docs" / "verify_bundle.py"
AS_OF = "2026-03-02T23:00:00+00:00"


def standalone() -> ModuleType:
    spec = importlib.util.spec_from_file_location("verify_bundle", STANDALONE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def placement(app: PeerLog) -> Placement:
    p = Placement(app).seed()
    for n in range(1, 4):
        p.app.execute(p.step(f"st{n}", occurred_at=(T0.replace(hour=8 + n)).isoformat()))
    p.app.execute(p.feedback("fb1", occurred_at=T0.replace(hour=12).isoformat()))
    p.run(
        "assess_goal",
        "sup1",
        pair_id="p1",
        student_id="s1",
        goal_id="hygiene",
        level="good",
        kind="final",
        occurred_at=T0.replace(hour=13).isoformat(),
    )
    p.app.execute(p.reflection("rf1", occurred_at=T0.replace(hour=14).isoformat()))
    return p


def make(peerlog: Cli, tmp_path: Path, student: str = "s1") -> tuple[Path, str]:
    file = tmp_path / f"{student}.audit.json"
    result = peerlog(
        "audit", student, "--course", "vfu-1", "--format", "json", "--bundle", str(file)
    )
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith(f"wrote the audit file {file} (")
    key = peerlog.ok("checkpoint", "key").strip()
    return file, key


def test_a_bundle_verifies_and_recounts(peerlog: Cli, placement: Placement, tmp_path: Path) -> None:
    file, key = make(peerlog, tmp_path)
    data = json.loads(file.read_text())
    audit = data["audit"]
    hygiene = next(g for g in audit["goals"] if g["goal_id"] == "hygiene")
    assert (hygiene["status"], hygiene["latest_level"]) == ("met", "good")
    # Every event of the course's and the pair's streams is in it, not only those cited.
    streams = {e["stream"] for e in data["events"]}
    assert streams == {"course/vfu-1", "pair/p1"}
    assert len(data["events"]) == len(placement.app.records("course/vfu-1")) + len(
        placement.app.records("pair/p1")
    )
    out = peerlog.ok("verify-bundle", str(file), "--key", key).splitlines()
    size = audit["integrity"]["checkpoint"]["size"]
    assert out[1] == (
        f"{len(data['events'])} events, each proven to be in the checkpoint of "
        f"tests.peerlog.example/record at {size} events, signed by tests.peerlog.example/record"
    )
    assert out[2] == (
        "verified: recounted from the events in the file, every goal's status, evidence and "
        "events are the audit's"
    )
    assert out[3] == f"digest: {audit['integrity']['digest']}"


def test_the_standalone_verifier_needs_no_database(
    peerlog: Cli, placement: Placement, store: Store, tmp_path: Path
) -> None:
    file, key = make(peerlog, tmp_path)
    placement.app.close()
    if store.kind == "sqlite":
        assert store.path is not None
        for suffix in ("", "-wal", "-shm"):
            Path(f"{store.path}{suffix}").unlink(missing_ok=True)
    else:
        drop_schemas(store.schema)
    result = subprocess.run(
        [sys.executable, str(STANDALONE), str(file), "--key", key],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("verified: the audit of s1 in course vfu-1 (as of ")
    # peerlog's own check needs no database either: its recount runs in memory.
    assert "verified: recounted" in peerlog.ok("verify-bundle", str(file), "--key", key)


def test_one_changed_byte_anywhere_fails_naming_what_failed(
    peerlog: Cli, placement: Placement, tmp_path: Path
) -> None:
    file, key = make(peerlog, tmp_path)
    data = file.read_bytes()
    verifier = Verifier.parse(key)
    tool = standalone()
    stand_key = tool.parse_key(key, 0x01)
    rng = random.Random(14)
    # Every region of the file (the audit, its signature, the checkpoint, each event's
    # fields and proofs), and a spread of random bytes.
    text = data.decode()
    anchors = [
        text.find(word)
        for word in (
            '"audit"',
            '"audit_signature"',
            '"checkpoint"',
            '"digest"',
            '"position"',
            '"proof"',
            '"recorded_at"',
            '"state"',
            '"stream"',
            '"topic"',
            '"version"',
            '"status"',
            '"evidence"',
        )
    ]
    offsets = sorted(
        {
            *(a + d for a in anchors for d in (1, 3, 12, 20)),
            *rng.sample(range(len(data)), 300),
            # The last character of each base64 text, which also holds unused bits.
            *[i for i in range(len(data) - 1) if data[i + 1] == ord("=")][:100],
            0,
            len(data) - 1,
        }
    )
    named = {
        "the file is not an audit file",
        "the file was changed at byte",
        "the checkpoint",
        "event ",
        "the audit cites",
        "the audit names another checkpoint",
        "the audit's digest",
        "an event of the file is malformed",
        "the file has no audit",
    }
    for offset in offsets:
        changed = bytearray(data)
        changed[offset] ^= 1 << rng.randrange(7)
        forged = bytes(changed)
        with pytest.raises(bundle.BundleInvalid) as failure:
            recount(forged, verifier)
        message = str(failure.value)
        assert any(message.startswith(n) for n in named), (offset, message)
        with pytest.raises((tool.Failed, KeyError, TypeError, ValueError)) as stand:
            tool.check(forged, stand_key, [])
        assert str(stand.value), offset
    result = peerlog("verify-bundle", str(file), "--key", key)
    assert result.exit_code == 0
    middle = bytearray(data)
    middle[len(data) // 2] ^= 4
    file.write_bytes(bytes(middle))
    result = peerlog("verify-bundle", str(file), "--key", key)
    assert result.exit_code == 1
    assert result.stdout.startswith("NOT VERIFIED: ")


def test_an_audit_rewritten_with_its_digest_recomputed_fails(
    peerlog: Cli, placement: Placement, tmp_path: Path
) -> None:
    """Whoever holds the file but not the record's key cannot make it say more."""
    file, key = make(peerlog, tmp_path)
    data = json.loads(file.read_text())
    audit = data["audit"]
    hygiene = next(g for g in audit["goals"] if g["goal_id"] == "hygiene")
    hygiene["latest_level"] = "excellent"
    checkpoint = Checkpoint.parse_body(data["checkpoint"].split("\n\n")[0] + "\n")
    audit["integrity"]["digest"] = audit_digest(audit, checkpoint)
    file.write_bytes(bundle.encode(data))
    result = peerlog("verify-bundle", str(file), "--key", key)
    assert result.exit_code == 1
    assert result.stdout == (
        "NOT VERIFIED: the audit's digest is not signed by tests.peerlog.example/record: the "
        "audit was changed\n"
    )
    tool = standalone()
    with pytest.raises(tool.Failed, match="not signed by"):
        tool.check(file.read_bytes(), tool.parse_key(key, 0x01), [])


def test_a_signed_audit_whose_numbers_are_wrong_fails_the_recount(
    peerlog: Cli, placement: Placement, tmp_path: Path
) -> None:
    """Even the record's operator, who holds the key, cannot file a false audit: the
    recount from the events in the file disagrees."""
    file, key = make(peerlog, tmp_path)
    data = json.loads(file.read_text())
    audit = data["audit"]
    hygiene = next(g for g in audit["goals"] if g["goal_id"] == "hygiene")
    hygiene["evidence"]["performed"] += 1
    checkpoint = Checkpoint.parse_body(data["checkpoint"].split("\n\n")[0] + "\n")
    audit["integrity"]["digest"] = audit_digest(audit, checkpoint)
    signer = Integrity.of(placement.app).signer()
    body = bundle.audit_note_body(audit["integrity"]["digest"])
    data["audit_signature"] = body + "\n" + signer.sign(body)
    file.write_bytes(bundle.encode(data))
    result = peerlog("verify-bundle", str(file), "--key", key)
    assert result.exit_code == 1
    performed = hygiene["evidence"]["performed"]
    assert (
        "NOT VERIFIED: recounted from the events in the file, the audit differs:" in result.stdout
    )
    (line,) = [x for x in result.stdout.splitlines() if "goal hygiene: evidence:" in x]
    said, _, counted = line.partition(", the events ")
    assert f"'performed': {performed}," in said
    assert f"'performed': {performed - 1}," in counted
