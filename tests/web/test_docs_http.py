"""docs/http.md tells the truth: its tables of endpoints, roles, options and status
codes are the server's, and the error it shows is the one the server gives."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute

from peerlog.cli.serve import serve_command
from peerlog.web import api, pages
from peerlog.web.access import COMMANDS_BY_ROLE
from peerlog.web.errors import CONFLICT_RULES, FORBIDDEN_RULES
from peerlog.web.tokens import Role
from tests.web.conftest import Web

DOC = (Path(__file__).resolve().parents[2] / "docs" / "http.md").read_text()


def _table(header: str) -> list[list[str]]:
    """The rows of the table whose header row starts with ``header``."""
    lines = DOC.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def _ticked(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


def test_the_endpoints_table_is_the_apis_routes() -> None:
    documented = {(row[0], _ticked(row[1])[0]) for row in _table("| method | path |")}
    served = {
        (method, route.path)
        for route in api.router.routes
        if isinstance(route, APIRoute)
        for method in (route.methods or set()) - {"HEAD"}
    }
    assert documented == served


def test_the_roles_table_is_what_each_role_sends() -> None:
    rows = {row[0].strip("`"): row[1] for row in _table("| role | sends | reads |")}
    assert set(rows) == {str(r) for r in Role}
    sends: dict[str, set[str]] = {}
    for role, text in rows.items():
        names = set(_ticked(text))
        if text.startswith("what a student sends"):
            names |= sends["student"]
        sends[role] = names
    assert sends == {str(role): set(commands) for role, commands in COMMANDS_BY_ROLE.items()}


def test_the_status_table_names_the_rules_behind_each_status() -> None:
    rows = {row[0]: row[1] for row in _table("| status | when |")}
    assert set(_ticked(rows["409"])) == CONFLICT_RULES
    assert set(_ticked(rows["403"])) - {"actor_mismatch", "forbidden", "actor"} == FORBIDDEN_RULES


def test_the_serve_options_are_the_commands() -> None:
    documented = {_ticked(row[0])[0] for row in _table("| option | default | meaning |")}
    options = {
        "/".join(param.opts + param.secondary_opts) for param in serve_command.params if param.name
    }
    assert documented == options


def test_the_dashboard_pages_exist() -> None:
    paths = {route.path for route in pages.router.routes if isinstance(route, APIRoute)}
    for page in re.findall(r"\(`(/dashboard[^`?]*)", DOC):
        assert page in paths, page


def test_the_sign_in_paths_and_cookies_are_the_servers() -> None:
    paths = {route.path for route in pages.router.routes if isinstance(route, APIRoute)}
    named = set(re.findall(r"`(/login[^`?]*)`", DOC))
    assert {"/login", "/login/sso", "/login/sso/callback"} <= named
    assert named <= paths
    assert f"`{pages.ATTEMPT_COOKIE}`" in DOC


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_the_error_shown_is_the_one_given(web: Web) -> None:
    shown = json.loads(DOC.split("```json\n")[2].split("```")[0])
    step = web.placement.step("st1", actor="s2", performers=["s2"], observers=["s1"])
    response = web.command("s1", step)
    assert response.status_code == 403
    assert response.json() == shown
