"""The read side: projections and read models (importable as peerlog.projections).

* :mod:`~peerlog.projections.progression` and :mod:`~peerlog.projections.participation`:
  projections, each a pure function of events over a set of tables;
* :mod:`~peerlog.projections.ledger`: the entries as corrections and retractions leave
  them, which the projections count from;
* :mod:`~peerlog.projections.source`: the narrow event source the read side reads the
  record through;
* :mod:`~peerlog.projections.runner`: keeps their tables up to date in SQL;
* :mod:`~peerlog.projections.asof`: the same projections folded in memory as of a time
  (the audit and balance reports);
* :mod:`~peerlog.projections.overview`: the supervisor overview, from the read models.

The names below (but the overview's) are loaded when first asked for, so that a module
of the read side (the time zones, the names) can be imported without loading all of it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Imported now, not when first asked for: the function ``overview`` has the name of its
# module, which the import system would set here when the module is first imported.
from peerlog.projections.overview import InMemory, Thresholds, overview

if TYPE_CHECKING:
    from peerlog.projections.asof import (
        AsOf,
        NotInRecord,
        audit,
        balance_report,
        fold,
        fold_all,
    )
    from peerlog.projections.runner import (
        PROJECTIONS,
        TABLES,
        ProjectionStatus,
        RebuildFailed,
        Runner,
    )
    from peerlog.projections.source import EventSource, StoreEvents

_WHERE = {
    **dict.fromkeys(
        ("AsOf", "NotInRecord", "audit", "balance_report", "fold", "fold_all"),
        "peerlog.projections.asof",
    ),
    **dict.fromkeys(
        ("PROJECTIONS", "TABLES", "ProjectionStatus", "RebuildFailed", "Runner"),
        "peerlog.projections.runner",
    ),
    **dict.fromkeys(("EventSource", "StoreEvents"), "peerlog.projections.source"),
}

__all__ = [
    "PROJECTIONS",
    "TABLES",
    "AsOf",
    "EventSource",
    "InMemory",
    "NotInRecord",
    "ProjectionStatus",
    "RebuildFailed",
    "Runner",
    "StoreEvents",
    "Thresholds",
    "audit",
    "balance_report",
    "fold",
    "fold_all",
    "overview",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        msg = f"module 'peerlog.projections' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
