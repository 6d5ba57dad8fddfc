"""A restore from a base backup and archived WAL to a point in time, by the script
docs/deployment.md gives (docs/restore-to-a-point-in-time.sh), then ``peerlog verify``:
the restored record holds exactly what had been recorded by then, its hash chains and
command log check out, and it extends the checkpoint signed before that time."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from peerlog import PeerLog
from tests.replication.clusters import Clusters, Node, as_server_user, free_port, wait_for
from tests.support import Placement

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docs" / "restore-to-a-point-in-time.sh"
PEERLOG = str(Path(sys.executable).parent / "peerlog")


def _peerlog(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PEERLOG, *args], env={**os.environ, **env}, capture_output=True, text=True, check=False
    )


def _owned(path: Path) -> Path:
    path.mkdir(mode=0o700)
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")
    return path


def test_a_restore_to_a_point_in_time_verifies(private_clusters: Clusters, tmp_path: Path) -> None:
    folder = private_clusters.folder
    archive = _owned(folder / "archive")
    primary = private_clusters.primary("archived", archive=archive)
    env = {"PEERLOG_DATABASE_URL": primary.url, "PEERLOG_SCHEMA": f"pitr_{uuid.uuid4().hex[:8]}"}
    app = PeerLog(env)
    try:
        place = Placement(app).seed()
        # The base backup comes first: what follows is restored from the archived WAL.
        primary.run(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
            "-D", str(folder / "base"), "-X", "stream", "-c", "fast", "--no-sync",
        )  # fmt: skip
        kept = [place.step(f"kept-{n}") for n in range(5)]
        for command in kept:
            app.execute(command)
        checkpoint = _peerlog(env, "checkpoint")
        assert checkpoint.returncode == 0, checkpoint.stderr
        (tmp_path / "checkpoint.txt").write_text(checkpoint.stdout)
        (tmp_path / "peerlog.pub").write_text(_peerlog(env, "checkpoint", "key").stdout)
        by_then = app.store.max_notification_id()
        (target,) = primary.sql("SELECT clock_timestamp()")[0]
        lost = [place.step(f"after-{n}") for n in range(5)]
        for command in lost:
            app.execute(command)
        assert (app.store.max_notification_id() or 0) > (by_then or 0)
    finally:
        app.close()
    (segment,) = primary.sql("SELECT pg_walfile_name(pg_switch_wal() - 1)")[0]
    wait_for((archive / segment).exists, f"WAL segment {segment} to be archived")
    primary.stop()

    restored = Node("restored", folder / "restored", free_port(), private_clusters.programs)
    private_clusters.nodes["restored"] = restored
    done = subprocess.run(
        as_server_user(
            [
                "bash", str(SCRIPT), str(folder / "base"), str(archive),
                target.isoformat(), str(restored.data), str(restored.port),
            ]
        ),
        env={**os.environ, "PG_BIN": str(private_clusters.programs)},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ready for 'peerlog verify'" in done.stdout

    at = {**env, "PEERLOG_DATABASE_URL": restored.url}
    verify = _peerlog(at, "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert f"verified: {by_then:,} events in " in verify.stdout
    against = _peerlog(
        at, "verify", "--against", str(tmp_path / "checkpoint.txt"),
        "--key", str(tmp_path / "peerlog.pub"),
    )  # fmt: skip
    assert against.returncode == 0, against.stdout + against.stderr
    assert "0 added since" in against.stdout
    back = PeerLog(at)
    try:
        ids = {c.command_id for c in back.store.select_commands()}
        assert {c["command_id"] for c in kept} <= ids
        assert not {c["command_id"] for c in lost} & ids
        assert back.store.max_notification_id() == by_then
    finally:
        back.close()
