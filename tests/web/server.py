"""``peerlog serve`` as a real process on loopback, for the tests that need a server:
the live dashboard, the browser, schemathesis and the load run."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2

PEERLOG = str(Path(sys.executable).parent / "peerlog")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> int:
        """Stop it as an operator would (SIGTERM); its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@contextmanager
def serve(
    env: dict[str, str], log: Path, *options: str, port: int | None = None
) -> Iterator[Server]:
    """Start ``peerlog serve`` on a free loopback port (or this one) and wait until it
    answers."""
    port = port or free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [PEERLOG, "serve", "--host", "127.0.0.1", "--port", str(port), *options],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                msg = f"peerlog serve exited with {process.returncode}: {log.read_text()}"
                raise RuntimeError(msg)
            try:
                if httpx2.get(server.url + "/health", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline:
                msg = f"peerlog serve did not answer in time: {log.read_text()}"
                raise RuntimeError(msg)
            time.sleep(0.1)
        yield server
    finally:
        server.stop()
