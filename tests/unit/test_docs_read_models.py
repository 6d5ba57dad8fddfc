"""docs/read-models.md documents every read-model table and column."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from peerlog.projections import TABLES as READ_TABLES
from peerlog.projections.tables import Table

DOC = (Path(__file__).resolve().parents[2] / "docs" / "read-models.md").read_text()
TABLES = list(READ_TABLES.values())


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_every_table_and_column_is_documented(table: Table[Any]) -> None:
    match = re.search(rf"^### {table.name}\n(.*?)(?=^##|\Z)", DOC, re.MULTILINE | re.DOTALL)
    assert match, f"docs/read-models.md has no section for {table.name}"
    documented = re.findall(r"^\| `(\w+)` \| ([a-z]+)", match.group(1), re.MULTILINE)
    assert documented == [(c.name, c.type) for c in table.columns]
