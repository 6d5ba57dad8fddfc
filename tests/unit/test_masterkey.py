"""The master key comes from PEERLOG_MASTER_KEY, or from a private key file that is
created on first use; a bad key is reported without showing it."""

from __future__ import annotations

import base64
import stat
import threading
from pathlib import Path

import pytest

from peerlog.persistence.masterkey import (
    MasterKeyError,
    default_master_key_path,
    load_master_key,
    master_key_path,
)

KEY = bytes(range(32))


def test_the_key_can_come_from_the_environment() -> None:
    assert load_master_key({"PEERLOG_MASTER_KEY": base64.b64encode(KEY).decode()}) == KEY


@pytest.mark.parametrize("value", ["not base64 at all!", base64.b64encode(b"short").decode()])
def test_a_malformed_key_is_rejected_without_being_shown(value: str) -> None:
    with pytest.raises(MasterKeyError, match="base64 encoding of 32 random bytes") as caught:
        load_master_key({"PEERLOG_MASTER_KEY": value})
    assert value not in str(caught.value)


def test_the_default_key_file_lives_in_the_config_folder(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    assert default_master_key_path(env) == tmp_path / "peerlog" / "master.key"
    assert master_key_path(env) == tmp_path / "peerlog" / "master.key"
    assert master_key_path({**env, "PEERLOG_MASTER_KEY_FILE": "/srv/k"}) == Path("/srv/k")


def test_a_missing_key_file_is_created_private_and_then_reused(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config")}

    key = load_master_key(env)

    path = tmp_path / "config" / "peerlog" / "master.key"
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert base64.b64decode(path.read_text()) == key
    assert load_master_key(env) == key
    assert list(path.parent.iterdir()) == [path]


def test_processes_creating_the_key_file_at_once_agree_on_one_key(tmp_path: Path) -> None:
    env = {"PEERLOG_MASTER_KEY_FILE": str(tmp_path / "master.key")}
    barrier = threading.Barrier(8)
    keys: list[bytes] = []

    def load() -> None:
        barrier.wait()
        keys.append(load_master_key(env))

    threads = [threading.Thread(target=load) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8
    assert len(set(keys)) == 1


def test_a_key_file_with_something_else_in_it_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    path.write_text("secret-but-wrong\n")
    with pytest.raises(MasterKeyError, match="the master key file") as caught:
        load_master_key({"PEERLOG_MASTER_KEY_FILE": str(path)})
    assert "secret-but-wrong" not in str(caught.value)


def test_a_key_file_others_can_read_is_used_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "master.key"
    path.write_text(base64.b64encode(KEY).decode())
    path.chmod(0o644)
    assert load_master_key({"PEERLOG_MASTER_KEY_FILE": str(path)}) == KEY
    assert "can be read by other users" in caplog.text
    assert base64.b64encode(KEY).decode() not in caplog.text
