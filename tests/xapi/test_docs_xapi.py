"""docs/xapi.md shows a statement of each kind, as ``peerlog export xapi`` makes it of the
demo placement; its settings table names every setting the code reads."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

from peerlog import PeerLog
from peerlog.projections.source import StoreEvents
from peerlog.projections.xapi import export, settings, xapi_settings
from peerlog.projections.xapi import vocabulary as v
from tests.xapi.conftest import seed_demo
from tests.xapi.profile import templates
from tests.xapi.test_statements import forget_and_dissolve

DOC = (Path(__file__).resolve().parents[2] / "docs" / "xapi.md").read_text()
BLOCK = re.compile(r"^```json template=(\S+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
DOCS_MASTER_KEY = base64.b64encode(bytes(range(32))).decode()
"""The master key the shown statements were made with (their opaque account names
depend on it)."""


def test_docs_xapi_md_shows_each_kind_of_statement_as_it_is_made(tmp_path: Path) -> None:
    env = {
        "PEERLOG_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "PEERLOG_MASTER_KEY": DOCS_MASTER_KEY,
        "PEERLOG_XAPI_HOMEPAGE": "https://lms.example.edu",
    }
    app = PeerLog(env)
    try:
        seed_demo(app)
        forget_and_dissolve(app)
        made = {p.id: p for p in export(StoreEvents(app), xapi_settings(StoreEvents(app)))}
    finally:
        app.close()
    shown = BLOCK.findall(DOC)
    assert {f"{v.TEMPLATES}/{name}" for name, _ in shown} == set(templates())
    for name, text in shown:
        statement = json.loads(text)
        produced = made.get(statement["id"])
        assert produced is not None, f"docs/xapi.md shows a {name} statement the demo does not make"
        assert produced.template == f"{v.TEMPLATES}/{name}"
        assert statement == produced.statement, (
            f"the {name} statement in docs/xapi.md is not as made"
        )


def test_docs_xapi_md_lists_every_setting() -> None:
    names = {
        value
        for key, value in vars(settings).items()
        if key.isupper() and isinstance(value, str) and value.startswith("PEERLOG_XAPI_")
    }
    names |= {"PEERLOG_XAPI_LRS_URL", "PEERLOG_XAPI_LRS_USERNAME", "PEERLOG_XAPI_LRS_PASSWORD"}
    table = DOC.split("## Settings", 1)[1].split("\n## ", 1)[0]
    assert names == set(re.findall(r"`(PEERLOG_XAPI_[A-Z_]+)`", table))
