"""``peerlog checkpoint`` signs checkpoints of the record, and ``peerlog witness``
cosigns them only when each is consistent with the last it cosigned."""

from __future__ import annotations

from pathlib import Path

import pytest

from peerlog import PeerLog
from peerlog.integrity.checkpoints import open_note
from peerlog.integrity.notes import Verifier
from peerlog.integrity.service import Integrity
from tests.cli.conftest import Cli
from tests.cli.test_verify_against import recompute_chains
from tests.conftest import Store
from tests.support import Placement


@pytest.fixture
def placement(app: PeerLog) -> Placement:
    p = Placement(app).seed()
    for n in range(1, 4):
        p.app.execute(p.step(f"st{n}"))
    return p


def test_a_checkpoint_is_signed_kept_and_made_again_only_when_the_record_grew(
    peerlog: Cli, placement: Placement, tmp_path: Path
) -> None:
    result = peerlog("checkpoint")
    assert result.exit_code == 0
    note = result.stdout
    head = placement.app.store.max_notification_id()
    key = Verifier.parse(peerlog.ok("checkpoint", "key"))
    opened = open_note(note, key)
    assert opened.checkpoint.origin == "tests.peerlog.example/record"
    assert opened.checkpoint.size == head
    assert opened.checkpoint.root == Integrity.of(placement.app).tree.root(head)
    assert result.stderr.startswith(f"checkpoint at {head} events (signed ")
    again = peerlog("checkpoint")
    assert again.stdout == note
    assert again.stderr.startswith(f"checkpoint at {head} events (unchanged since ")
    placement.app.execute(placement.step("st4"))
    grown = peerlog.ok("checkpoint", "-o", str(tmp_path / "grown.txt"))
    assert grown == ""
    assert open_note((tmp_path / "grown.txt").read_text(), key).checkpoint.size == head + 1
    listed = peerlog.ok("checkpoint", "list").splitlines()
    assert listed[0].split() == ["events", "made", "root", "hash", "cosigned", "by"]
    assert [line.split()[0] for line in listed[1:]] == [str(head), str(head + 1)]
    assert peerlog.ok("checkpoint", "show", str(head)) == note
    missing = peerlog("checkpoint", "show", "3")
    assert missing.exit_code == 1
    assert "no checkpoint at 3 events" in missing.stderr


def _cosign(peerlog: Cli, state: Path, tmp_path: Path, old: int) -> tuple[int, str]:
    request = tmp_path / f"request-{old}.txt"
    peerlog.ok("checkpoint", "request", "--from", str(old), "-o", str(request))
    result = peerlog("witness", "cosign", "--state", str(state), str(request))
    return result.exit_code, result.stdout if result.exit_code == 0 else result.stderr


def test_a_witness_cosigns_consistent_checkpoints_and_verification_can_require_it(
    peerlog: Cli, placement: Placement, tmp_path: Path
) -> None:
    state = tmp_path / "witness"
    log_key = peerlog.ok("checkpoint", "key").strip()
    witness_key = peerlog.ok(
        "witness", "init", "--state", str(state), "--name", "uni.example/w", "--log-key", log_key
    ).strip()
    assert witness_key == peerlog.ok("witness", "key", "--state", str(state)).strip()
    peerlog.ok("checkpoint")
    code, cosigned = _cosign(peerlog, state, tmp_path, 0)
    assert code == 0, cosigned
    first = open_note(cosigned, Verifier.parse(log_key), (Verifier.parse(witness_key),))
    (tmp_path / "cosigned.txt").write_text(cosigned)
    kept = peerlog.ok("checkpoint", "cosigned", str(tmp_path / "cosigned.txt"))
    assert kept == f"checkpoint at {first.checkpoint.size} events: cosigned by uni.example/w\n"
    assert "uni.example/w" in peerlog.ok("checkpoint", "list")
    # The record grows; the witness cosigns the next checkpoint from where it was.
    placement.app.execute(placement.step("st4"))
    peerlog.ok("checkpoint")
    code, refusal = _cosign(peerlog, state, tmp_path, 0)
    assert code == 1
    assert refusal == (
        f"Error: not cosigned: the witness last cosigned the record at {first.checkpoint.size} "
        f"events, not 0; ask again with a proof from {first.checkpoint.size} ('peerlog "
        f"checkpoint request --from {first.checkpoint.size}')\n"
    )
    code, cosigned = _cosign(peerlog, state, tmp_path, first.checkpoint.size)
    assert code == 0, cosigned
    file = tmp_path / "second.txt"
    file.write_text(cosigned)
    ok = peerlog("verify", "--against", str(file), "--key", log_key, "--witness", witness_key)
    assert ok.exit_code == 0, ok.output
    plain = tmp_path / "plain.txt"  # the latest checkpoint as the record has it: not cosigned
    plain.write_text(peerlog.ok("checkpoint", "show"))
    refused = peerlog("verify", "--against", str(plain), "--key", log_key, "--witness", witness_key)
    assert refused.exit_code == 1
    assert refused.stderr == "Error: the checkpoint is not cosigned by the witness uni.example/w\n"


def test_a_witness_refuses_a_rewritten_history(
    peerlog: Cli, placement: Placement, store: Store, tmp_path: Path
) -> None:
    """The operator rewrites an event, rebuilds the tree and signs a new checkpoint with
    the record's own key: the witness, holding the last one it cosigned, refuses."""
    state = tmp_path / "witness"
    log_key = peerlog.ok("checkpoint", "key").strip()
    peerlog.ok(
        "witness", "init", "--state", str(state), "--name", "uni.example/w", "--log-key", log_key
    )
    peerlog.ok("checkpoint")
    code, cosigned = _cosign(peerlog, state, tmp_path, 0)
    assert code == 0
    size = open_note(cosigned, Verifier.parse(log_key)).checkpoint.size
    (row,) = store.execute_raw(
        "SELECT position, state FROM events WHERE originator_id = %s AND originator_version = 3",
        ("pair/p1",),
    )
    original = row[1]
    assert isinstance(original, bytes | memoryview)
    forged = bytes(original).replace(b"performance", b"preparation")
    assert forged != bytes(original)
    store.execute_raw("UPDATE events SET state = %s WHERE position = %s", (forged, row[0]))
    recompute_chains(store, placement.app)
    store.execute_raw("DELETE FROM merkle_tiles")
    store.execute_raw("UPDATE merkle_tree SET size = 0")
    store.execute_raw("DELETE FROM checkpoints")
    placement.app.execute(placement.step("st4"))
    peerlog.ok("checkpoint")
    code, refusal = _cosign(peerlog, state, tmp_path, size)
    assert code == 1
    assert refusal == (
        f"Error: not cosigned: the checkpoint at {size + 1} events is not consistent with the "
        f"one at {size} the witness cosigned: the record's history was changed\n"
    )
