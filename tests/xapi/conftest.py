"""Fixtures of the xAPI tests: a real learning record store, and the demo placement."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from peerlog import CommandRejected, PeerLog
from peerlog.cli.demo import placement
from tests.xapi.lrs import Lrs, running_lrs

DEMO_START = date(2026, 3, 2)


@pytest.fixture
def lrs(tmp_path: Path) -> Iterator[Lrs]:
    with running_lrs(tmp_path / "lrs") as store:
        yield store


def seed_demo(app: PeerLog, **kwargs: int) -> int:
    """Record the demo placement (the one ``peerlog demo --start 2026-03-02`` seeds);
    returns the head of the record."""
    commands = list(placement(start=DEMO_START, **kwargs))
    rejected = [r for r in app.execute_many(commands) if isinstance(r, CommandRejected)]
    assert rejected == []
    head = app.store.max_notification_id()
    assert head is not None
    return head
