"""The web interface against the standard placement, on SQLite and PostgreSQL.

``web`` is the application in-process (FastAPI's test client, over "https" so that the
dashboard's Secure cookie is sent), with a token for each kind of reader. The read models
are brought up to date by hand (``web.catch_up()``), so that what a test reads does not
depend on a follower's timing; the tests of ``peerlog serve`` run a real server.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from peerlog import PeerLog
from peerlog.web import create_app
from peerlog.web.services import Services
from tests.support import Placement

READERS = {
    "s1": ("s1", "student", ()),
    "s2": ("s2", "student", ()),
    "s3": ("s3", "student", ()),
    "s4": ("s4", "student", ()),
    "sup1": ("sup1", "supervisor", ()),
    "sup2": ("sup2", "supervisor", ()),
    "coord": ("coord", "coordinator", ()),
    "coord2": ("coord2", "coordinator", ()),
    "examiner": ("ext1", "examiner", ("vfu-1",)),
    "examiner2": ("ext2", "examiner", ("vfu-2",)),
    "stranger": ("nobody", "supervisor", ()),
}
"""Token names: (actor, role, examiner's courses). coord2 coordinates course vfu-2 only."""


@dataclass
class Web:
    app: PeerLog
    client: TestClient
    services: Services
    placement: Placement
    secrets: dict[str, str] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secrets[who]}"}

    def get(self, who: str | None, url: str, **kwargs: Any) -> Response:
        headers = {**(self.auth(who) if who else {}), **kwargs.pop("headers", {})}
        return self.client.get(url, headers=headers, **kwargs)

    def post(self, who: str | None, url: str, **kwargs: Any) -> Response:
        headers = {**(self.auth(who) if who else {}), **kwargs.pop("headers", {})}
        return self.client.post(url, headers=headers, **kwargs)

    def command(self, who: str, body: dict[str, Any]) -> Response:
        return self.post(who, "/api/commands", json=body)

    def catch_up(self) -> None:
        self.services.runner.run()

    def login(self, who: str) -> None:
        response = self.client.post(
            "/login", data={"token": self.secrets[who]}, follow_redirects=False
        )
        assert response.status_code == 303, response.text


def seed_second_course(app: PeerLog) -> None:
    """Course vfu-2, coordinated by coord2, with one student: a course the readers of
    vfu-1 have nothing to do with."""
    app.execute(
        {
            "command": "open_course",
            "command_id": "vfu-2-open",
            "actor": "coord2",
            "course_id": "vfu-2",
            "title": "Another placement",
            "starts_on": "2026-03-02",
            "ends_on": "2026-04-24",
            "scale": ["fail", "pass"],
            "pass_level": "pass",
            "goals": [{"goal_id": "hygiene", "title": "Hygiene"}],
            "occurred_at": "2026-03-02T07:00:00+00:00",
        }
    )
    app.execute(
        {
            "command": "enroll_student",
            "command_id": "vfu-2-enroll",
            "actor": "coord2",
            "course_id": "vfu-2",
            "student_id": "t1",
            "occurred_at": "2026-03-02T07:00:00+00:00",
        }
    )


@pytest.fixture
def names() -> dict[str, str] | None:
    """The display names the placement gives its people (a test module may give some)."""
    return None


@pytest.fixture
def time_zone() -> str | None:
    """The placement's time zone (a test module may name one)."""
    return None


@pytest.fixture
def web(app: PeerLog, names: dict[str, str] | None, time_zone: str | None) -> Iterator[Web]:
    placement = Placement(app).seed(names, time_zone)
    seed_second_course(app)
    application = create_app(app)
    services: Services = application.state.services
    secrets = {
        name: services.tokens.create(actor, role, courses)[1]
        for name, (actor, role, courses) in READERS.items()
    }
    with TestClient(application, base_url="https://testserver") as client:
        found = Web(app, client, services, placement, secrets)
        found.catch_up()
        yield found
    services.close()
