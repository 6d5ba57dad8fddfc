"""The dashboard's live updates (twice a second per open page) write no access-log line;
every other request still does. And the pages name their icon, which is served."""

from __future__ import annotations

import logging

import pytest

from peerlog.web.logs import ACCESS_LOGGER, AccessLogFilter, request_line
from tests.web.conftest import Web


def _access(path: str) -> logging.LogRecord:
    return logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", path, "1.1", 200),
        None,
    )


def test_uvicorns_access_line_of_a_live_poll_is_dropped() -> None:
    keep = AccessLogFilter()
    assert not keep.filter(_access("/dashboard/live"))
    assert not keep.filter(_access("/dashboard/live?after=12"))
    kept = _access("/dashboard/pairs/p1")
    assert keep.filter(kept)
    assert kept.getMessage() == '127.0.0.1:5000 - "GET /dashboard/pairs/p1 HTTP/1.1" 200'


def test_the_json_request_line_of_a_live_poll_is_not_written(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger=ACCESS_LOGGER):
        request_line("GET", "/dashboard/live", 200, 0.001)
        request_line("GET", "/dashboard", 200, 0.004)
    assert [r.getMessage() for r in caplog.records if r.name == ACCESS_LOGGER] == [
        "GET /dashboard 200"
    ]


def test_the_pages_have_an_icon(web: Web) -> None:
    web.login("sup1")
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in (
        web.client.get("/dashboard").text
    )
    icon = web.client.get("/static/favicon.svg")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text.startswith("<svg ")
