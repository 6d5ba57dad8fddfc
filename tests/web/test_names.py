"""The dashboard names people by the display names the record gives them (beside their
ids), and shows [erased] once a person is forgotten."""

from __future__ import annotations

import pytest

from tests.web.conftest import Web

NAMES = {"s1": "Hanna Svensson", "s2": "Ali Haddad", "sup1": "Karin Berg", "s3": "Åsa Öberg"}


@pytest.fixture
def names() -> dict[str, str]:
    return NAMES


def test_every_page_names_the_people(web: Web) -> None:
    web.login("sup1")
    overview = web.client.get("/dashboard").text
    assert ">Hanna Svensson (s1)</a>" in overview
    assert ">Ali Haddad (s2)</a>" in overview
    assert "supervised by Karin Berg (sup1)" in overview
    timeline = web.client.get("/dashboard/pairs/p1").text
    assert ">Hanna Svensson (s1)</a>" in timeline
    assert "supervised by Karin Berg (sup1)" in timeline
    assert '<span class="actor">Hanna Svensson (s1)</span>' in timeline
    student = web.client.get("/dashboard/students/s1?course=vfu-1").text
    assert "<h1>Hanna Svensson (s1) <small>" in student
    web.login("coord")
    grid = web.client.get("/dashboard/courses/vfu-1").text
    assert ">Åsa Öberg (s3)</a>" in grid
    assert ">s5</a>" in grid  # no name in the record: the id alone
    audit = web.client.get("/dashboard/students/s1/audit?course=vfu-1").text
    assert "<h1>Audit: Hanna Svensson (s1) in vfu-1</h1>" in audit
    web.login("examiner")
    home = web.client.get("/dashboard").text
    assert ">Ali Haddad (s2)</a>" in home


def test_a_forgotten_person_reads_as_erased(web: Web) -> None:
    web.app.forget("s2", actor="coord", command_id="forget-s2")
    web.catch_up()
    web.login("sup1")
    for url in ("/dashboard", "/dashboard/pairs/p1"):
        page = web.client.get(url).text
        assert "Ali Haddad" not in page, url
        assert "[erased] (s2)" in page, url
        assert "Hanna Svensson (s1)" in page, url
