"""A real learning record store for the tests: ralph's LRS server (file backend), started
on loopback at a free port, from the virtual environment ``make lrs`` makes (see
``ralph_server.py`` for the one setting it is started with).

``PEERLOG_TEST_RALPH`` names its ``ralph`` command (``make test`` sets it). Without it
the tests that need a store are skipped, unless ``PEERLOG_REQUIRE_LRS`` is set (as CI
sets it): then they fail.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from peerlog.projections.xapi import LrsClient

ROOT = Path(__file__).resolve().parents[2]
RALPH = os.environ.get("PEERLOG_TEST_RALPH") or str(ROOT / ".venv-lrs" / "bin" / "ralph")
REQUIRE_LRS = os.environ.get("PEERLOG_REQUIRE_LRS", "") not in ("", "0")
USERNAME = "peerlog"
PASSWORD = "a-test-password"
START_SECONDS = 90.0
"""How long ralph may take to answer (it imports FastAPI and pydantic; on a busy
two-core machine that takes a while)."""


class LrsUnavailable(RuntimeError):
    """ralph is not installed where it is looked for."""


def find_ralph() -> str:
    if Path(RALPH).is_file() and os.access(RALPH, os.X_OK):
        return RALPH
    msg = f"no ralph at {RALPH} (make lrs installs it; PEERLOG_TEST_RALPH names it)"
    raise LrsUnavailable(msg)


def ralph_or_skip() -> str:
    try:
        return find_ralph()
    except LrsUnavailable as missing:
        if REQUIRE_LRS:
            pytest.fail(f"a learning record store is required here but there is {missing}")
        pytest.skip(str(missing))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Lrs:
    """A running ralph server and what it stores."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def client(self, **kwargs: Any) -> LrsClient:
        return LrsClient(self.url, username=USERNAME, password=PASSWORD, **kwargs)

    def client_credentials(self) -> tuple[str, str]:
        return USERNAME, PASSWORD

    @property
    def env(self) -> dict[str, str]:
        """The settings a forwarder needs to reach it."""
        return {"PEERLOG_XAPI_LRS_USERNAME": USERNAME, "PEERLOG_XAPI_LRS_PASSWORD": PASSWORD}

    def statements(self, **params: str) -> list[dict[str, Any]]:
        """Every statement the store holds (matching ``params``), read back from it."""
        client = self.client()
        try:
            return list(client.query(**params))
        finally:
            client.close()


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            msg = f"ralph ended ({process.returncode}) before answering:\n{log.read_text()[-3000:]}"
            raise RuntimeError(msg)
        try:
            with urllib.request.urlopen(f"{url}__heartbeat__", timeout=2) as answer:  # noqa: S310 - loopback
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)  # polling for a condition, with a bound
    msg = f"ralph did not answer within {START_SECONDS:.0f} s:\n{log.read_text()[-3000:]}"
    raise RuntimeError(msg)


@contextmanager
def running_lrs(folder: Path, *, max_hits: int = 500, ralph: str | None = None) -> Iterator[Lrs]:
    """Start ralph with a fresh store in ``folder``; stop it afterwards. Without
    ``ralph``, a test that cannot have it is skipped (or fails, where it is required)."""
    ralph = ralph or ralph_or_skip()
    app_dir = folder / "ralph-app"
    data = folder / "ralph-data"
    app_dir.mkdir(parents=True)
    data.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PEERLOG_", "RALPH_"))
    }
    env.update(
        {
            "RALPH_APP_DIR": str(app_dir),
            "RALPH_RUNSERVER_BACKEND": "fs",
            "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(data),
            "RALPH_RUNSERVER_MAX_SEARCH_HITS_COUNT": str(max_hits),
        }
    )
    subprocess.run(
        [
            ralph,
            "auth",
            "-u",
            USERNAME,
            "-p",
            PASSWORD,
            "-s",
            "all",
            "-M",
            "mailto:lrs@example.org",
            "-w",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    assert json.loads((app_dir / "auth.json").read_text())[0]["username"] == USERNAME
    log = folder / "ralph.log"
    port = free_port()
    python = str(Path(ralph).with_name("python"))
    with log.open("wb") as out:
        process = subprocess.Popen(
            [python, str(Path(__file__).with_name("ralph_server.py")), "127.0.0.1", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/xAPI/"
    try:
        _wait_until_up(f"http://127.0.0.1:{port}/", process, log)
        yield Lrs(url, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
