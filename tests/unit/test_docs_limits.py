"""docs/cli.md and docs/http.md state the limits the code enforces."""

from __future__ import annotations

from pathlib import Path

from peerlog.json_text import MAX_COMMAND_BYTES, MAX_DEPTH
from peerlog.web.api import MAX_BODY_BYTES
from peerlog.web.schemas import BatchIn

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_documented_limits_are_the_enforced_ones() -> None:
    cli = (DOCS / "cli.md").read_text()
    http = (DOCS / "http.md").read_text()
    command = f"at most 1 MiB ({MAX_COMMAND_BYTES:,} bytes)"
    assert MAX_COMMAND_BYTES == 1 << 20
    assert command in cli
    assert command in http
    depth = f"at most {MAX_DEPTH} levels deep"
    assert depth in cli
    assert depth in http
    assert MAX_BODY_BYTES == 8 << 20
    assert f"at most 8 MiB ({MAX_BODY_BYTES:,} bytes)" in http
    items = BatchIn.model_json_schema()["properties"]["commands"]
    assert f"{items['minItems']} to {items['maxItems']:,} commands" in http
