"""``peerlog serve``: a real server that follows the record, so that what is recorded
shows on the dashboard within a second; it stops cleanly and logs no token or text."""

from __future__ import annotations

import json
import socket
import statistics
import threading
import time
from pathlib import Path

import httpx2

from peerlog.web import Tokens
from tests.conftest import Store
from tests.support import Placement
from tests.web.server import serve

NOTE = "Hand hygiene before and after the dressing change"


def test_new_events_reach_the_read_models_within_a_second(store: Store, tmp_path: Path) -> None:
    app = store.open()
    placement = Placement(app).seed()
    tokens = Tokens.of(app)
    _, student = tokens.create("s1", "student")
    _, supervisor = tokens.create("sup1", "supervisor")
    app.close()
    log = tmp_path / "serve.log"
    with serve(store.env, log) as server, httpx2.Client(base_url=server.url, timeout=10) as client:
        assert client.get("/health").json() == {"status": "ok"}
        as_student = {"Authorization": f"Bearer {student}"}
        as_supervisor = {"Authorization": f"Bearer {supervisor}"}
        waits = []
        for i in range(5):
            response = client.post(
                "/api/commands", json=placement.step(f"st{i}", note=NOTE), headers=as_student
            )
            assert response.status_code == 201, response.text
            position = response.json()["events"][0]["position"]
            sent = time.monotonic()
            while (
                client.get("/api/projections", headers=as_supervisor).json()["position"] < position
            ):
                assert time.monotonic() - sent < 5, "the follower did not catch up"
                time.sleep(0.02)
            waits.append(time.monotonic() - sent)
            time.sleep(0.3)
        print(
            f"\nread models caught up after {statistics.median(waits) * 1000:.0f} ms (median), {max(waits) * 1000:.0f} ms (max)"
        )
        assert max(waits) < 1.0
        overview = client.get("/api/overview", headers=as_supervisor).json()
        assert overview["pairs"][0]["members"]["s1"]["performer"] == 5
        # uvicorn shuts down cleanly, then dies of the signal it caught, as it should.
        assert server.stop() in {0, -15}
    text = log.read_text()
    assert "Application shutdown complete." in text
    assert '"POST /api/commands HTTP/1.1" 201' in text
    assert student not in text
    assert supervisor not in text
    assert NOTE not in text
    assert "Traceback" not in text


def test_serve_without_following_leaves_the_read_models_alone(store: Store, tmp_path: Path) -> None:
    app = store.open()
    placement = Placement(app).seed()
    _, student = Tokens.of(app).create("s1", "student")
    app.close()
    with serve(store.env, tmp_path / "serve.log", "--no-follow", "--no-access-log") as server:
        headers = {"Authorization": f"Bearer {student}"}
        response = httpx2.post(
            server.url + "/api/commands", json=placement.step("st1"), headers=headers
        )
        assert response.status_code == 201
        time.sleep(0.6)
        status = httpx2.get(server.url + "/api/projections", headers=headers).json()
        assert status["position"] == 0
        assert status["lag"] == status["head"]


def _rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    msg = f"no {field} for process {pid}"
    raise AssertionError(msg)


def test_a_chunked_body_past_the_limit_is_refused_as_it_arrives(
    store: Store, tmp_path: Path
) -> None:
    """200 MB sent with Transfer-Encoding: chunked (no Content-Length to refuse it by):
    413 as soon as the limit is passed, and the server never holds the body."""
    app = store.open()
    Placement(app).seed()
    _, student = Tokens.of(app).create("s1", "student")
    app.close()
    with serve(store.env, tmp_path / "serve.log", "--no-follow") as server:
        pid = server.process.pid
        port = int(server.url.rsplit(":", 1)[1])
        before = _rss_kib(pid)
        chunk = b'{"note": "' + b"x" * (1024 * 1024 - 12) + b'"}'
        sent = 0
        peak = before

        def upload(sock: socket.socket) -> None:
            nonlocal sent
            head = (
                "POST /api/commands HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {student}\r\nContent-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\n\r\n"
            )
            try:
                sock.sendall(head.encode())
                while sent < 200 * 1024 * 1024:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    sent += len(chunk)
                sock.sendall(b"0\r\n\r\n")
            except OSError:
                pass  # the server may close the connection once it has answered

        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            sender = threading.Thread(target=upload, args=(sock,), daemon=True)
            sender.start()
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                peak = max(peak, _rss_kib(pid))
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
            while sender.is_alive():  # the server reads and drops the rest, or hangs up
                peak = max(peak, _rss_kib(pid))
                sender.join(0.05)
        peak = max(peak, _rss_kib(pid, "VmHWM"))
        status_line, _, rest = answer.partition(b"\r\n")
        body = json.loads(rest.partition(b"\r\n\r\n")[2])
        print(
            f"\nchunked upload: {sent / 2**20:.0f} MiB sent, answered {status_line.decode()}; "
            f"server memory {before / 1024:.0f} MiB before, peak {peak / 1024:.0f} MiB"
        )
        assert status_line == b"HTTP/1.1 413 Request Entity Too Large"
        assert body["errors"][0]["rule"] == "too_large"
        assert (peak - before) / 1024 < 100
        # The server is still well.
        assert httpx2.get(server.url + "/health", timeout=10).status_code == 200


def test_no_token_cookie_or_text_reaches_the_log(store: Store, tmp_path: Path) -> None:
    app = store.open()
    placement = Placement(app).seed()
    _, secret = Tokens.of(app).create("s1", "student")
    app.close()
    log = tmp_path / "serve.log"
    texts = ["Eva Svensson", "19121212-1212", "Hand hygiene before and after"]
    with (
        serve(store.env, log, "--no-follow") as server,
        httpx2.Client(base_url=server.url, timeout=10) as client,
    ):
        bearer = {"Authorization": f"Bearer {secret}"}
        # A token where it does not belong: in the query string, and in the path.
        assert client.get("/api/me", params={"token": secret}).status_code == 401
        assert client.get(f"/api/pairs/{secret}/balance", headers=bearer).status_code == 403
        # Personal texts in query values, in paths, in bodies good and bad.
        client.get("/api/pairs", params={"course": texts[0], "note": texts[1]}, headers=bearer)
        client.get(f"/api/students/{texts[0]}/audit", headers=bearer)
        client.post("/api/commands", json=placement.step("st1", note=texts[2]), headers=bearer)
        client.post("/api/commands", json=placement.step("st2", note=texts[1]), headers=bearer)
        client.post(
            "/api/commands/batch",
            content=b'{"commands": [{"note": "' + texts[2].encode() + b'\x00"}',
            headers=bearer,
        )
        # A session cookie, made by logging in, sent back.
        login = client.post("/login", data={"token": secret}, headers={"Origin": server.url})
        assert login.status_code == 303, login.text
        session = login.headers["set-cookie"].split(";")[0].split("=", 1)[1]
        page = client.get("/dashboard", headers={"Cookie": f"peerlog_session={session}"})
        assert page.status_code == 200
        assert server.stop() in {0, -15}
    text = log.read_text()
    assert '"GET /api/me?token=* HTTP/1.1" 401' in text
    assert '"GET /api/pairs/*/balance HTTP/1.1" 403' in text
    assert '"GET /api/pairs?course=*&note=* HTTP/1.1" 422' in text
    assert '"POST /api/commands HTTP/1.1" 201' in text
    for needle in [secret, secret[4:20], session, session[4:20], *texts, "Svensson"]:
        assert needle not in text, needle
    assert "Traceback" not in text
