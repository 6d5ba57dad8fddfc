"""docs/events.md documents every event and every field, so the document stays true."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest

from peerlog.domain.events import ALL_EVENTS, DomainEvent

DOC = (Path(__file__).resolve().parents[2] / "docs" / "events.md").read_text()
COMMON = {f.name for f in msgspec.structs.fields(DomainEvent)}


def _section(name: str) -> str:
    match = re.search(rf"^### {name}\n(.*?)(?=^##|\Z)", DOC, re.MULTILINE | re.DOTALL)
    assert match, f"docs/events.md has no section for {name}"
    return match.group(1)


@pytest.mark.parametrize("cls", ALL_EVENTS, ids=lambda c: c.__name__)
def test_every_event_and_field_is_documented(cls: type[DomainEvent]) -> None:
    section = _section(cls.__name__)
    documented = set(re.findall(r"^\| `(\w+)` \|", section, re.MULTILINE))
    fields = {f.name for f in msgspec.structs.fields(cls)} - COMMON
    assert documented == fields


def test_the_common_fields_are_documented() -> None:
    common = DOC.split("## Course stream")[0]
    for name in COMMON:
        assert f"| `{name}` |" in common
