"""Who reads what: every reading endpoint against every kind of token, and nothing
without one. A refusal is 403 whether or not the thing asked about exists."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute

from peerlog.web import api, pages
from tests.web.conftest import Web

C = "course=vfu-1"
ENDPOINTS = {
    "own pair balance": "/api/pairs/p1/balance",
    "own pair timeline": "/api/pairs/p1/timeline",
    "other pair balance": "/api/pairs/p2/balance",
    "other pair timeline": "/api/pairs/p2/timeline",
    "unknown pair": "/api/pairs/p404/balance",
    "s1 audit": f"/api/students/s1/audit?{C}",
    "s2 audit": f"/api/students/s2/audit?{C}",
    "s3 audit": f"/api/students/s3/audit?{C}",
    "s1 progression": f"/api/students/s1/progression?{C}",
    "s2 progression": f"/api/students/s2/progression?{C}",
    "s3 progression": f"/api/students/s3/progression?{C}",
    "unknown student audit": f"/api/students/s404/audit?{C}",
    "grid": "/api/courses/vfu-1/progression",
    "other course grid": "/api/courses/vfu-2/progression",
    "overview": "/api/overview",
    "pairs": "/api/pairs",
    "projections": "/api/projections",
    "me": "/api/me",
}
# Expected status for each token (rows) and endpoint (columns, in the order above).
MATRIX = {
    #            own-b own-t oth-b oth-t unk  a1   a2   a3   p1   p2   p3   a404 grid ogrd ovw  prs  prj  me
    "s1": (
        200,
        200,
        403,
        403,
        403,
        200,
        403,
        403,
        200,
        403,
        403,
        403,
        200,
        403,
        403,
        200,
        200,
        200,
    ),
    "sup1": (
        200,
        200,
        403,
        403,
        403,
        200,
        200,
        403,
        200,
        200,
        403,
        403,
        200,
        403,
        200,
        200,
        200,
        200,
    ),
    "coord": (
        200,
        200,
        200,
        200,
        403,
        200,
        200,
        200,
        200,
        200,
        200,
        403,
        200,
        403,
        200,
        200,
        200,
        200,
    ),
    "coord2": (
        403,
        403,
        403,
        403,
        403,
        403,
        403,
        403,
        403,
        403,
        403,
        403,
        403,
        200,
        200,
        200,
        200,
        200,
    ),
    "examiner": (
        403,
        403,
        403,
        403,
        403,
        200,
        200,
        200,
        403,
        403,
        403,
        403,
        403,
        403,
        403,
        200,
        200,
        200,
    ),
    "examiner2": (
        403,
        403,
        403,
        403,
        403,
        403,
        403,
        403,
        403,
        403,
        403,
        403,
        403,
        403,
        403,
        200,
        200,
        200,
    ),
    "stranger": (
        403,
        403,
        403,
        403,
        403,
        403,
        403,
        403,
        403,
        403,
        403,
        403,
        403,
        403,
        200,
        200,
        200,
        200,
    ),
}


@pytest.mark.parametrize("who", list(MATRIX))
def test_each_token_reads_only_its_own(web: Web, who: str) -> None:
    got = {name: web.get(who, url).status_code for name, url in ENDPOINTS.items()}
    assert got == dict(zip(ENDPOINTS, MATRIX[who], strict=True))
    for name, url in ENDPOINTS.items():
        response = web.get(who, url)
        if response.status_code == 403:
            error = response.json()["errors"][0]
            assert error["rule"] == "forbidden", (name, error)


def test_lists_hold_only_what_the_token_reads(web: Web) -> None:
    def pairs(who: str) -> list[str]:
        return [p["pair_id"] for p in web.get(who, "/api/pairs").json()["items"]]

    assert pairs("s1") == ["p1"]
    assert pairs("s3") == ["p2"]
    assert pairs("sup2") == ["p2"]
    assert pairs("coord") == ["p1", "p2"]
    assert pairs("coord2") == []
    assert pairs("examiner") == []
    assert [p["pair_id"] for p in web.get("coord2", "/api/overview").json()["pairs"]] == []
    response = web.get("s1", "/api/overview")
    assert response.status_code == 403
    assert (
        "for supervisors and coordinators, not a student" in response.json()["errors"][0]["message"]
    )


def test_a_forgotten_person_reads_nothing_any_more(web: Web) -> None:
    assert web.get("s2", "/api/pairs/p1/balance").status_code == 200
    web.app.forget("s2", actor="coord", command_id="forget-s2")
    for url in ENDPOINTS.values():
        response = web.get("s2", url)
        assert response.status_code == 403, url
        assert response.json()["errors"][0]["rule"] == "person_forgotten"
    # Nor records anything: the record itself says so.
    response = web.command(
        "s2", web.placement.step("st9", actor="s2", performers=["s2"], observers=[])
    )
    assert response.status_code == 403
    assert response.json()["errors"][0]["rule"] == "person_forgotten"


# The sign-in through the identity provider is public by nature (tests/web/test_sso.py).
PUBLIC = {"/health", "/login", "/login/sso", "/login/sso/callback"}


def test_nothing_but_health_and_the_login_form_is_reachable_without_a_token(
    web: Web,
) -> None:
    """Walk every route of the application: without a token, the API answers 401 and
    the dashboard sends the browser to the login form."""
    seen = 0
    for route in [*api.router.routes, *pages.router.routes]:
        assert isinstance(route, APIRoute)
        path = route.path
        if path in PUBLIC or path in {"/", "/logout"}:
            continue
        methods = route.methods or set()
        url = (
            path.replace("{pair_id}", "p1")
            .replace("{student_id}", "s1")
            .replace("{course_id}", "vfu-1")
        )
        for method in methods - {"HEAD"}:
            response = web.client.request(
                method, url, params={"course": "vfu-1"}, follow_redirects=False
            )
            seen += 1
            if path.startswith("/api/"):
                assert response.status_code == 401, (method, path)
                assert response.json()["errors"][0]["rule"] == "unauthenticated"
            elif path == "/dashboard/live":
                assert response.status_code == 401, path
            else:
                assert response.status_code == 303, (method, path)
                assert response.headers["location"] == "/login"
    assert seen >= 17
    described = web.get(None, "/openapi.json")
    assert described.status_code == 401
    assert described.json()["errors"][0]["rule"] == "unauthenticated"
    assert web.get("s1", "/openapi.json").json()["info"]["title"] == "peerlog"
