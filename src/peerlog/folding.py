"""Folding many events at once, without the cyclic garbage collector's full passes.

The pause is for the whole process, so it is taken only where a process has said it
folds in one thread (:func:`pause_while_folding`): the command line and a rebuilding
process do; a server, whose other threads go on answering requests meanwhile, does
not, and there ``folding()`` changes nothing."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_folding = 0
_folding_lock = threading.Lock()
_collector_was_enabled = False
_pauses = False


def pause_while_folding(*, enabled: bool = True) -> None:
    """Let (or, with ``enabled=False``, no longer let) this process's folds hold off the
    collector."""
    global _pauses  # noqa: PLW0603 - one setting for the process
    _pauses = enabled


@contextmanager
def folding() -> Iterator[None]:
    """Hold off the cyclic garbage collector while events are folded.

    Decoded events, aggregate states and a projection's rows are structs, lists, tuples
    and dicts that never refer back to each other, so reference counting frees all they
    discard; but each full pass of the collector walks every object held, and over a
    large record or a long stream those passes took a third to a half of the fold's
    time. Nested and concurrent folds share one pause; the collector runs
    again as it did before once the last of them ends. Without
    :func:`pause_while_folding`, the collector runs as usual."""
    global _folding, _collector_was_enabled  # noqa: PLW0603 - one pause for the process
    if not _pauses:
        yield
        return
    with _folding_lock:
        if _folding == 0:
            _collector_was_enabled = gc.isenabled()
            gc.disable()
        _folding += 1
    try:
        yield
    finally:
        with _folding_lock:
            _folding -= 1
            if _folding == 0 and _collector_was_enabled:
                gc.enable()
