"""PostgreSQL clusters of the tests' own: a primary, a synchronous standby and a second
standby, made with ``initdb`` and ``pg_basebackup`` (as the postgres user when the
tests run as root), on loopback ports free at run time, and removed afterwards.

Every set of clusters lives in a folder under :data:`BASE` that names the process that
made it; a set whose process is gone (a run that was killed) is stopped and removed by
the next run before it makes its own.

The topology is the one docs/deployment.md describes for plain promotion::

    primary ──(synchronous)──► s1 ──(cascading)──► s2

s1 confirms every commit before it is acknowledged (``synchronous_standby_names =
's1'``); s2 streams from s1, so that when s1 is promoted s2 follows it on its own
(it can never be ahead of s1), and s1 already names s2 as its synchronous standby.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

BASE = Path(tempfile.gettempdir()) / "peerlog-pgtest"
DATABASE = "peerlog"
REQUIRE = os.environ.get("PEERLOG_REQUIRE_REPLICATION", "") not in ("", "0")
START_SECONDS = 60.0
REPLICATION_SETTINGS: dict[str, str | int] = {
    "wal_level": "replica",
    "max_wal_senders": 10,
    "wal_keep_size": "512MB",
    "hot_standby": "on",
    "hot_standby_feedback": "on",
    "synchronous_commit": "on",
}
"""The primary's replication settings, as docs/deployment.md gives them."""
SYNCHRONOUS_STANDBY = "s1"


def bindir() -> Path | None:
    """The newest installed PostgreSQL's programs (Debian keeps them per version)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def unavailable() -> str | None:
    """Why the tests cannot make clusters here, or None."""
    programs = bindir()
    if programs is None:
        return "PostgreSQL's server programs (initdb, pg_ctl) are not installed"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root, and runuser (to run PostgreSQL as postgres) is missing"
    return None


def as_server_user(argv: Sequence[str]) -> list[str]:
    """PostgreSQL refuses to run as root: root runs it as the postgres user."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return list(argv)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _postmaster_pid(data: Path) -> int | None:
    try:
        return int((data / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def _children(pid: int) -> list[int]:
    """The processes a postmaster started (they outlive it for a moment if it is killed)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found += [int(c) for c in task.read_text().split()]
    return found


def remove_leftovers() -> None:
    """Stop and remove the clusters of runs whose process is gone."""
    if not BASE.is_dir():
        return
    for folder in BASE.iterdir():
        try:
            owner = int((folder / "owner").read_text())
        except (OSError, ValueError):
            owner = 0
        if owner and _alive(owner):
            continue
        # pg_autoctl services (tests/replication/auto_failover.py) would start their
        # PostgreSQL again: their process groups go first.
        with contextlib.suppress(OSError, ValueError):
            for session in (folder / "sessions").read_text().split():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(int(session), signal.SIGKILL)
        for pidfile in folder.glob("*/postmaster.pid"):
            pid = _postmaster_pid(pidfile.parent)
            if pid is not None and _alive(pid):
                for child in _children(pid):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(child, signal.SIGKILL)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Node:
    """One PostgreSQL cluster (a data folder and its server)."""

    name: str
    data: Path
    port: int
    programs: Path
    orphans: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def log(self) -> Path:
        return self.data.parent / f"{self.name}.log"

    def run(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            as_server_user([str(self.programs / program), *args]),
            check=check,
            capture_output=True,
            text=True,
            timeout=START_SECONDS,
        )

    def start(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        if _postmaster_pid(self.data) is not None:
            self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)
        for pid in self.orphans:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def kill(self) -> None:
        """SIGKILL the postmaster, as a crash of the machine's database would."""
        pid = _postmaster_pid(self.data)
        assert pid is not None, f"{self.name} is not running"
        self.orphans = _children(pid)
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + START_SECONDS
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.01)

    def promote(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "promote")

    def connect(self, dbname: str = DATABASE) -> psycopg.Connection[tuple[Any, ...]]:
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user="postgres",
            dbname=dbname,
            autocommit=True,
            connect_timeout=5,
        )

    def sql(self, statement: str, params: Sequence[Any] = (), dbname: str = DATABASE) -> list[Any]:
        with self.connect(dbname) as conn:
            cursor = conn.execute(statement.encode(), params)
            return cursor.fetchall() if cursor.description else []

    def configure(self, **settings: str | int) -> None:
        """Settings appended to postgresql.conf (a later line wins)."""
        lines = "".join(f"{key} = '{value}'\n" for key, value in settings.items())
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(lines)

    def replay_position(self) -> str:
        return str(self.sql("SELECT pg_last_wal_replay_lsn()")[0][0])

    def wait_for_replay(self, lsn: str, seconds: float = 30.0) -> None:
        """Until this standby has replayed the primary's WAL up to ``lsn``."""
        deadline = time.monotonic() + seconds
        while True:
            (behind,) = self.sql(
                "SELECT pg_wal_lsn_diff(%s::pg_lsn, coalesce(pg_last_wal_replay_lsn(), '0/0'))",
                (lsn,),
            )[0]
            if behind <= 0:
                return
            if time.monotonic() > deadline:
                msg = f"{self.name} did not replay up to {lsn} in {seconds} s"
                raise AssertionError(msg)
            time.sleep(0.01)


def current_lsn(node: Node) -> str:
    return str(node.sql("SELECT pg_current_wal_lsn()")[0][0])


@dataclass
class Clusters:
    """A set of clusters in a folder of its own."""

    folder: Path
    programs: Path
    nodes: dict[str, Node] = field(default_factory=dict)

    @classmethod
    def make(cls) -> Clusters:
        programs = bindir()
        assert programs is not None
        remove_leftovers()
        BASE.mkdir(mode=0o755, exist_ok=True)
        folder = BASE / uuid.uuid4().hex[:10]
        folder.mkdir(mode=0o755)
        (folder / "owner").write_text(str(os.getpid()))
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres", "postgres")
        return cls(folder, programs)

    def node(self, name: str) -> Node:
        found = Node(name, self.folder / name, free_port(), self.programs)
        self.nodes[name] = found
        return found

    def primary(self, name: str = "primary", *, archive: Path | None = None) -> Node:
        node = self.node(name)
        node.run("initdb", "-D", str(node.data), "-A", "trust", "-U", "postgres", "--no-sync")
        settings: dict[str, str | int] = {
            "listen_addresses": "127.0.0.1",
            "port": node.port,
            "unix_socket_directories": str(self.folder),
            "cluster_name": name,
            **REPLICATION_SETTINGS,
            "shared_buffers": "64MB",
            "max_connections": 120,
            "jit": "off",
        }
        if archive is not None:
            settings |= {
                "archive_mode": "on",
                "archive_command": f"test ! -f {archive}/%f && cp %p {archive}/%f",
            }
        node.configure(**settings)
        node.start()
        node.sql(f"CREATE DATABASE {DATABASE}", dbname="postgres")
        return node

    def standby(self, name: str, upstream: Node, **settings: str | int) -> Node:
        """A standby streaming from ``upstream`` (a base backup of it, ``-R``)."""
        node = self.node(name)
        node.run(
            "pg_basebackup",
            "-h", "127.0.0.1", "-p", str(upstream.port), "-U", "postgres",
            "-D", str(node.data), "-X", "stream", "-R", "--no-sync", "-c", "fast",
        )  # fmt: skip
        node.configure(port=node.port, cluster_name=name, **settings)
        node.start()
        return node

    def replicated(self) -> tuple[Node, Node, Node]:
        """primary → s1 (synchronous) → s2 (cascading from s1); see the module."""
        primary = self.primary()
        s1 = self.standby("s1", primary, synchronous_standby_names="s2")
        s2 = self.standby("s2", s1, synchronous_standby_names="")
        primary.sql(f"ALTER SYSTEM SET synchronous_standby_names = '{SYNCHRONOUS_STANDBY}'")
        primary.sql("SELECT pg_reload_conf()")
        wait_for(lambda: _streaming(primary, "s1", "sync"), "s1 to stream synchronously")
        wait_for(lambda: _streaming(s1, "s2", "async"), "s2 to stream from s1")
        return primary, s1, s2

    def remove(self) -> None:
        for node in self.nodes.values():
            node.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


def _streaming(upstream: Node, name: str, sync_state: str) -> bool:
    rows = upstream.sql(
        "SELECT state, sync_state FROM pg_stat_replication WHERE application_name = %s", (name,)
    )
    return bool(rows) and rows[0][0] == "streaming" and rows[0][1] == sync_state


def wait_for(condition: Any, what: str, seconds: float = START_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            msg = f"waited {seconds} s for {what}"
            raise AssertionError(msg)
        time.sleep(0.05)


@contextlib.contextmanager
def clusters() -> Iterator[Clusters]:
    made = Clusters.make()
    try:
        yield made
    finally:
        made.remove()
