"""The collector's pause while folding: only in a process that has said it folds in one
thread, and given back when the last fold ends."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from peerlog.folding import folding, pause_while_folding


@pytest.fixture
def collector() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    try:
        yield
    finally:
        pause_while_folding(enabled=False)
        if not was:
            gc.disable()


@pytest.mark.usefixtures("collector")
def test_without_being_asked_a_fold_leaves_the_collector_running() -> None:
    pause_while_folding(enabled=False)
    with folding():
        assert gc.isenabled()
    assert gc.isenabled()


@pytest.mark.usefixtures("collector")
def test_a_process_that_asks_holds_the_collector_off_until_the_last_fold_ends() -> None:
    pause_while_folding()
    with folding():
        assert not gc.isenabled()
        with folding():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
