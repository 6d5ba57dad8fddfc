"""``peerlog serve``: a real server that follows the record, so that what is recorded
shows on the dashboard within a second; it stops cleanly and logs no token or text."""

from __future__ import annotations

import statistics
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
