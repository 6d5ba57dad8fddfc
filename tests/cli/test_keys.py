"""``peerlog keys``: the master key and the checkpoint key replaced on a running record.

After ``keys rotate`` every text opens with the new master key and none with the old one
(not even from the database files); an interrupted rotation changes nothing and runs
again to completion. After ``keys rotate-checkpoint`` checkpoints published before
still verify with the old public key, new ones with the new key, and audit files too."""

from __future__ import annotations

import base64
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from peerlog import PeerLog
from peerlog.domain.events import StepRecorded
from peerlog.persistence.masterkey import MasterKeyError
from tests.cli.conftest import Cli
from tests.conftest import Store, own_database
from tests.privacy import ABOUT_S1, found, record_personal_texts
from tests.support import COURSE, Placement

PERSON_KEY_AAD = b"peerlog person key 1:"


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """SQLite, or PostgreSQL in a database of its own: removing the old wrapped keys
    from the files waits for every session that could still see them."""
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    settings = {"PEERLOG_MASTER_KEY": key, "PEERLOG_CHECKPOINT_KEY_FILE": str(tmp_path / "cp.key")}
    if request.param == "sqlite":
        path = tmp_path / "record.sqlite3"
        yield Store("sqlite", {"PEERLOG_DATABASE_URL": f"sqlite:///{path}", **settings}, path=path)
        return
    with own_database() as made:
        made.env.update(settings)
        yield made


@pytest.fixture
def placement(store: Store) -> Iterator[Placement]:
    app = store.open()
    p = Placement(app).seed()
    record_personal_texts(p)  # closes session d1
    p.run("open_session", "s1", pair_id="p1", session_id="d2",
          roles={"s1": "performer", "s2": "observer"})  # fmt: skip
    yield p
    app.close()


def _everything(app: PeerLog) -> dict[str, list[Any]]:
    """Every stream's events as the application reads them, texts opened."""
    return {
        stream: [msgspec.to_builtins(e, enc_hook=str) for e in app.history(stream)]
        for stream in app.store.select_streams()
    }


def _wrapped(store: Store) -> dict[str, bytes]:
    rows = store.execute_raw(
        "SELECT person_id, wrapped FROM person_keys WHERE wrapped IS NOT NULL ORDER BY person_id"
    )
    return {str(p): bytes(w) for p, w in rows if isinstance(w, bytes | memoryview)}


def _opens(key: bytes, person: str, wrapped: bytes) -> bool:
    """Whether the master key opens a wrapped person key (AES-GCM, as docs/privacy.md
    describes it: nonce, then ciphertext and tag; the person's id as associated data)."""
    try:
        AESGCM(key).decrypt(wrapped[:12], wrapped[12:], PERSON_KEY_AAD + person.encode())
    except InvalidTag:
        return False
    return True


def _key(text: str) -> bytes:
    return base64.b64decode(text.strip())


def test_after_rotating_the_master_key_every_text_opens_with_the_new_key_and_none_with_the_old(
    store: Store, placement: Placement, peerlog: Cli, tmp_path: Path
) -> None:
    app = placement.app
    placement.app.forget("s3", actor="coord", command_id="forget-s3")  # a tombstone too
    old = _key(store.env["PEERLOG_MASTER_KEY"])
    old_wrapped = _wrapped(store)
    assert len(old_wrapped) >= 4
    resent = placement.cmd(
        "record_step", "s2", pair_id="p1", session_id="d2", step_id="st9", kind="performance",
        performers=["s2"], observers=["s1"], goals=["hygiene"], note="Sara and Ali washed up",
    )  # fmt: skip
    app.execute(resent)
    before = _everything(app)
    pseudonyms = app.keys.pseudonym_key()
    new_file = tmp_path / "new.key"

    result = peerlog("keys", "rotate", "--new-key-file", str(new_file))

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"rewrapped {len(old_wrapped)} person keys under the new master key, in one "
        "transaction, and removed the old wrapped keys from the database files\n"
        "the old master key opens nothing in this record now; configure the new one in every "
        f"process that uses it and restart them: PEERLOG_MASTER_KEY_FILE={new_file}\n"
    )
    new = _key(new_file.read_text())
    assert oct(new_file.stat().st_mode & 0o777) == "0o600"
    # Every person key opens with the new key, none with the old.
    now = _wrapped(store)
    assert sorted(now) == sorted(old_wrapped)
    assert all(_opens(new, p, w) and not _opens(old, p, w) for p, w in now.items())
    assert found(store, {f"{p}'s old wrapped key": w for p, w in old_wrapped.items()}) == []
    # A process with the new key reads every text as before; one with the old key, none.
    with_new = PeerLog({**store.env, "PEERLOG_MASTER_KEY": base64.b64encode(new).decode()})
    try:
        assert _everything(with_new) == before
        # Commands recorded before are still recognised, xAPI names stay the same.
        assert with_new.execute(resent).repeated
        assert with_new.keys.pseudonym_key() == pseudonyms
    finally:
        with_new.close()
    with_old = PeerLog(store.env)
    try:
        with pytest.raises(MasterKeyError, match="does not open the person keys"):
            with_old.history("pair/p1")
    finally:
        with_old.close()
    # A process still running with the old key makes no person keys under it.
    refused = peerlog(
        "record", "enroll_student", "--actor", "coord", f"course_id={COURSE}",
        "student_id=s7", "display_name=Nils Berg",
    )  # fmt: skip
    assert refused.exit_code == 1
    assert "configuration: the master key does not open the person keys" in refused.stderr
    assert "s7" not in _wrapped(store)
    # Running it again changes nothing.
    again = peerlog("keys", "rotate", "--new-key-file", str(new_file))
    assert again.exit_code == 0
    assert again.stdout.startswith("the record's keys are already wrapped under the new master")
    assert _wrapped(store) == now


def test_an_interrupted_rotation_changes_nothing_and_running_it_again_completes_it(
    store: Store, placement: Placement, peerlog: Cli, tmp_path: Path
) -> None:
    """The rotation reports each key it rewraps on a pipe that the test stops reading
    after five keys: with 3,000 keys the pipe fills long before the rotation could
    commit, and the process is killed there, in the middle of its transaction."""
    app = placement.app
    people = tuple(f"extra-{i:04d}" for i in range(3000))
    assert app.keys.sealing_cipher(",".join(people), people) is not None  # their keys
    before = _everything(app)
    old = _key(store.env["PEERLOG_MASTER_KEY"])
    old_wrapped = _wrapped(store)
    assert len(old_wrapped) > 3000
    new_file = tmp_path / "new.key"
    command = [sys.executable, "-m", "peerlog.cli", "keys", "rotate", "--new-key-file",
               str(new_file), "--batch-size", "1", "--progress"]  # fmt: skip
    env = {**os.environ, **store.env}
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as run:
        assert run.stderr is not None
        while b"rewrapped 5 of " not in run.stderr.readline():
            assert run.poll() is None, "the rotation ended before it was interrupted"
        run.send_signal(signal.SIGKILL)
        run.communicate(timeout=60)
    assert run.returncode == -signal.SIGKILL
    # Nothing changed: every key is still under the old master key.
    assert _wrapped(store) == old_wrapped
    reader = PeerLog(store.env)
    try:
        assert _everything(reader) == before
    finally:
        reader.close()

    result = peerlog("keys", "rotate", "--new-key-file", str(new_file))

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"rewrapped {len(old_wrapped):,} person keys")
    new = _key(new_file.read_text())
    now = _wrapped(store)
    assert sorted(now) == sorted(old_wrapped)
    assert all(_opens(new, p, w) and not _opens(old, p, w) for p, w in now.items())
    reader = PeerLog({**store.env, "PEERLOG_MASTER_KEY": base64.b64encode(new).decode()})
    try:
        assert _everything(reader) == before
    finally:
        reader.close()


def test_the_new_master_key_can_come_from_an_environment_variable(
    store: Store, placement: Placement, peerlog: Cli
) -> None:
    new = secrets.token_bytes(32)
    peerlog.env["NEW_PEERLOG_MASTER_KEY"] = base64.b64encode(new).decode()
    result = peerlog("keys", "rotate", "--new-key-env", "NEW_PEERLOG_MASTER_KEY")
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("PEERLOG_MASTER_KEY=$NEW_PEERLOG_MASTER_KEY\n")
    assert all(_opens(new, p, w) for p, w in _wrapped(store).items())
    same = peerlog("keys", "rotate", "--new-key-env", "PEERLOG_MASTER_KEY")
    assert same.exit_code == 1
    assert "the new master key is the one configured now; keep the old key configured" in (
        same.stderr
    )
    neither = peerlog("keys", "rotate")
    assert neither.exit_code == 2
    assert "give the new key with --new-key-file FILE or --new-key-env NAME" in neither.stderr
    reader = PeerLog({**store.env, "PEERLOG_MASTER_KEY": base64.b64encode(new).decode()})
    try:
        notes = [e.note for e in reader.history("pair/p1") if isinstance(e, StepRecorded)]
    finally:
        reader.close()
    assert notes[0] == ABOUT_S1["step_note"]


def test_rotating_the_checkpoint_key_keeps_old_checkpoints_verifying_with_the_old_key(
    store: Store, placement: Placement, peerlog: Cli, tmp_path: Path
) -> None:
    def write(name: str, text: str) -> str:
        (tmp_path / name).write_text(text)
        return str(tmp_path / name)

    old_pub = write("old.pub", peerlog.ok("checkpoint", "key"))
    old_checkpoint = write("old-checkpoint.txt", peerlog.ok("checkpoint"))
    before = tmp_path / "before.audit.json"
    peerlog.ok("audit", "s1", "--course", COURSE, "--bundle", str(before))
    placement.run(
        "record_step", "s1", pair_id="p1", session_id="d2", step_id="st8", kind="performance",
        performers=["s1"], observers=["s2"], goals=["hygiene"],
    )  # fmt: skip
    new_key = tmp_path / "new-checkpoint.key"

    result = peerlog("keys", "rotate-checkpoint", "--new-key-file", str(new_key))

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        f"retired the checkpoint key {Path(old_pub).read_text().strip()}"
    )
    # The old key signed the record as it stood when it was retired, and is refused now.
    placement.run(
        "record_step", "s2", pair_id="p1", session_id="d2", step_id="st9", kind="performance",
        performers=["s2"], observers=["s1"], goals=["hygiene"],
    )  # fmt: skip
    refused = peerlog("checkpoint")
    assert refused.exit_code == 1
    assert "was retired ('peerlog keys rotate-checkpoint'); configure the new key" in (
        refused.stderr
    )
    peerlog.env["PEERLOG_CHECKPOINT_KEY_FILE"] = str(new_key)
    new_pub = write("new.pub", peerlog.ok("checkpoint", "key"))
    assert Path(new_pub).read_text() != Path(old_pub).read_text()
    new_checkpoint = write("new-checkpoint.txt", peerlog.ok("checkpoint"))

    def verify(checkpoint: str, key: str) -> int:
        return peerlog("verify", "--against", checkpoint, "--key", key).exit_code

    assert verify(old_checkpoint, old_pub) == 0
    assert verify(new_checkpoint, new_pub) == 0
    assert verify(new_checkpoint, old_pub) == 1
    # Every checkpoint kept is signed by the new key too (the old file is only the old key's).
    sizes = [line.split()[0] for line in peerlog.ok("checkpoint", "list").splitlines()[1:]]
    assert len(sizes) == 3
    for size in sizes:
        kept = write(f"kept-{size}.txt", peerlog.ok("checkpoint", "show", size))
        assert verify(kept, new_pub) == 0
    assert verify(write("kept-first.txt", peerlog.ok("checkpoint", "show", sizes[0])), old_pub) == 0
    # Audit files: the one made before verifies with the old key, a new one with the new key.
    assert peerlog("verify-bundle", str(before), "--key", old_pub).exit_code == 0
    after = tmp_path / "after.audit.json"
    peerlog.ok("audit", "s1", "--course", COURSE, "--bundle", str(after))
    assert peerlog("verify-bundle", str(after), "--key", new_pub).exit_code == 0
    assert peerlog("verify-bundle", str(after), "--key", old_pub).exit_code == 1
    # The list of keys: the retired one, with the last checkpoint it signed, and the current.
    listed = peerlog.ok("keys", "list").splitlines()
    assert listed[1].startswith(Path(old_pub).read_text().strip() + "  retired")
    assert listed[1].endswith(sizes[1])
    assert listed[2].startswith(Path(new_pub).read_text().strip() + "  current")
    assert "cosigned by" in peerlog.ok("checkpoint", "list")
    assert all(line.endswith("-") for line in peerlog.ok("checkpoint", "list").splitlines()[1:])
