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
"""

from peerlog.projections.asof import AsOf, NotInRecord, audit, balance_report, fold, fold_all
from peerlog.projections.overview import InMemory, Thresholds, overview
from peerlog.projections.runner import (
    PROJECTIONS,
    TABLES,
    ProjectionStatus,
    RebuildFailed,
    Runner,
)
from peerlog.projections.source import EventSource, StoreEvents

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
