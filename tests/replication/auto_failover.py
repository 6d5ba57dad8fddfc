"""A pg_auto_failover formation of the tests' own (Debian's postgresql-15-auto-failover):
a monitor and three PostgreSQL nodes, each kept by its ``pg_autoctl`` service, on
loopback ports free at run time, in a folder under the clusters' BASE (removed
afterwards, and by a later run if this one was killed).

The monitor's health checks are made quicker than its defaults, and so is the time a
promoted node waits for the old primary to have demoted itself before it takes writes
(``primary_demote_timeout``), so that a failover takes seconds rather than most of a
minute; docs/deployment.md gives the production values.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from tests.replication.clusters import Clusters, as_server_user, clusters, free_port, wait_for

MONITOR_SETTINGS = {
    "health_check_period": "1s",
    "health_check_timeout": "1s",
    "health_check_retry_delay": "500ms",
    "health_check_max_retries": "1",
    "node_considered_unhealthy_timeout": "3s",
    "primary_demote_timeout": "5s",
}
"""The monitor's settings for the tests (pgautofailover.*)."""


def pg_autoctl() -> str | None:
    return shutil.which("pg_autoctl")


@dataclass
class Keeper:
    """A ``pg_autoctl ... --run`` service (and the PostgreSQL it keeps)."""

    name: str
    port: int
    data: Path
    process: subprocess.Popen[bytes]

    def sql(self, statement: str) -> list[tuple[object, ...]]:
        return _sql(self.port, statement)

    def kill(self) -> None:
        """SIGKILL the service and its PostgreSQL at once, as a crash of the machine."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Formation:
    clusters: Clusters
    monitor: Keeper | None = None
    nodes: list[Keeper] = field(default_factory=list)

    @property
    def folder(self) -> Path:
        return self.clusters.folder

    def _env(self) -> dict[str, str]:
        # pg_autoctl keeps its configuration and state under XDG folders: the formation's.
        return {
            "XDG_CONFIG_HOME": str(self.folder / "config"),
            "XDG_DATA_HOME": str(self.folder / "share"),
            "XDG_RUNTIME_DIR": str(self.folder / "run"),
            "PGHOST": "127.0.0.1",
        }

    def _start(self, name: str, port: int, *args: str) -> Keeper:
        data = self.folder / name
        env = self._env()
        argv = as_server_user(
            [
                "env",
                *(f"{k}={v}" for k, v in env.items()),
                str(pg_autoctl()),
                *args,
                "--pgctl",
                str(self.clusters.programs / "pg_ctl"),
                "--pgdata",
                str(data),
                "--pgport",
                str(port),
                "--hostname",
                "127.0.0.1",
                "--listen",
                "127.0.0.1",
                "--auth",
                "trust",
                "--no-ssl",
                "--run",
            ]
        )
        log = (self.folder / f"{name}.log").open("wb")
        process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        with (self.folder / "sessions").open("a") as sessions:
            sessions.write(f"{process.pid}\n")
        return Keeper(name, port, data, process)

    @property
    def monitor_url(self) -> str:
        assert self.monitor is not None
        return (
            f"postgresql://autoctl_node@127.0.0.1:{self.monitor.port}/pg_auto_failover"
            "?sslmode=disable"
        )

    def start_monitor(self) -> None:
        for folder in ("config", "share", "run"):
            made = self.folder / folder
            made.mkdir(mode=0o700)
            if os.geteuid() == 0:
                shutil.chown(made, "postgres", "postgres")
        self.monitor = self._start("monitor", free_port(), "create", "monitor")
        port = self.monitor.port
        wait_for(lambda: _answers(port, "pg_auto_failover"), "the monitor to start")
        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{port}/pg_auto_failover", autocommit=True
        ) as conn:
            for key, value in MONITOR_SETTINGS.items():
                conn.execute(f"ALTER SYSTEM SET pgautofailover.{key} = '{value}'".encode())
            conn.execute("SELECT pg_reload_conf()")

    def add_node(self, name: str) -> Keeper:
        node = self._start(
            name,
            free_port(),
            "create",
            "postgres",
            "--monitor",
            self.monitor_url,
            "--dbname",
            "peerlog",
            "--name",
            name,
        )
        self.nodes.append(node)
        primary = self.nodes[0]
        nudged = [0.0]

        def settled() -> bool:
            # pg_basebackup waits for a checkpoint on the primary: ask for it now
            # (once a second, while the node joins).
            if node is not primary and time.monotonic() - nudged[0] > 1:
                nudged[0] = time.monotonic()
                with contextlib.suppress(psycopg.Error):
                    _sql(primary.port, "CHECKPOINT")
            states = self.states()
            settled = {"single", "primary", "secondary"}  # a lone first node is "single"
            return states.get(name) in settled and all(s in settled for s in states.values())

        wait_for(settled, f"{name} to join the formation", 120)
        return node

    def states(self) -> dict[str, str]:
        """Each node's reported state, as the monitor has it."""
        assert self.monitor is not None
        try:
            rows = _sql(
                self.monitor.port,
                "SELECT nodename, reportedstate::text FROM pgautofailover.node",
                dbname="pg_auto_failover",
            )
        except psycopg.Error:
            return {}
        return {str(name): str(state) for name, state in rows}

    def uri(self) -> str:
        """The formation's URL for applications (``pg_autoctl show uri``)."""
        done = subprocess.run(
            as_server_user(
                [
                    "env",
                    *(f"{k}={v}" for k, v in self._env().items()),
                    str(pg_autoctl()),
                    "show",
                    "uri",
                    "--formation",
                    "default",
                    "--monitor",
                    self.monitor_url,
                ]
            ),
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return done.stdout.strip()

    def primary(self) -> Keeper:
        states = self.states()
        return next(n for n in self.nodes if states.get(n.name) == "primary")

    def remove(self) -> None:
        for keeper in [*self.nodes, *([self.monitor] if self.monitor else [])]:
            keeper.stop()


def _answers(port: int, dbname: str) -> bool:
    try:
        _sql(port, "SELECT 1", dbname=dbname)
    except psycopg.Error:
        return False
    return True


def _sql(port: int, statement: str, *, dbname: str = "postgres") -> list[tuple[object, ...]]:
    with psycopg.connect(
        host="127.0.0.1", port=port, user="postgres", dbname=dbname, autocommit=True,
        connect_timeout=2,
    ) as conn:  # fmt: skip
        cursor = conn.execute(statement.encode())
        return cursor.fetchall() if cursor.description else []


@contextlib.contextmanager
def formation(nodes: int = 3) -> Iterator[Formation]:
    with clusters() as made:
        found = Formation(made)
        try:
            found.start_monitor()
            for n in range(nodes):
                found.add_node(f"node{n + 1}")
            yield found
        finally:
            found.remove()
