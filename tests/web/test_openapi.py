"""The server's OpenAPI description, put to schemathesis against a running server: a
bounded run of generated requests (valid and invalid) finds no server error, and every
answer is one the description documents."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx2

from peerlog.web import Tokens
from tests.conftest import Store
from tests.support import Placement
from tests.web.server import serve

SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance,ignored_auth"
)


def test_schemathesis_finds_no_server_error(store: Store, tmp_path: Path) -> None:
    app = store.open()
    placement = Placement(app).seed()
    for i in range(3):
        app.execute(placement.step(f"st{i}"))
    secret = Tokens.of(app).create("coord", "coordinator")[1]
    app.close()
    with serve(store.env, tmp_path / "serve.log", "--no-access-log") as server:
        # One worker: schemathesis describes its generators with ast.parse, and CPython
        # 3.11 before 3.11.8 can fail ("AST constructor recursion depth mismatch") when
        # two threads parse at once.
        run = subprocess.run(
            [
                SCHEMATHESIS, "run", f"{server.url}/openapi.json",
                "--header", f"Authorization: Bearer {secret}",
                "--checks", CHECKS,
                "--phases", "examples,coverage,fuzzing",
                "--max-examples", "15",
                "--workers", "1",
                "--request-timeout", "20",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )  # fmt: skip
        summary = run.stdout[run.stdout.rfind("SUMMARY") :]
        print("\n" + summary)
        assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
        cases = re.search(r"(\d+) generated", summary)
        assert cases is not None
        assert int(cases.group(1)) >= 500
        # Whatever the run recorded, the read models still follow the record.
        headers = {"Authorization": f"Bearer {secret}"}
        deadline = time.monotonic() + 20
        while (status := httpx2.get(server.url + "/api/projections", headers=headers).json())[
            "lag"
        ]:
            assert time.monotonic() < deadline, status
            time.sleep(0.2)
    log = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in log
    assert "follower stopped" not in log
