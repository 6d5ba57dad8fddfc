"""The record as xAPI statements, for a learning record store (``docs/xapi.md``).

* :mod:`~peerlog.projections.xapi.statements`: events in, statements out (a fold);
* :mod:`~peerlog.projections.xapi.vocabulary`: the verbs, activity types, extensions
  and templates they use, described in ``docs/xapi/profile.jsonld``;
* :mod:`~peerlog.projections.xapi.settings`: how a deployment shapes them;
* :mod:`~peerlog.projections.xapi.source`: where they read the record;
* :mod:`~peerlog.projections.xapi.forwarder`, :mod:`~peerlog.projections.xapi.lrs`,
  :mod:`~peerlog.projections.xapi.tracking`: sending them to a store, exactly once.
"""

from __future__ import annotations

from collections.abc import Iterator

from peerlog.domain.vocabulary import pair_stream
from peerlog.projections.source import EventSource
from peerlog.projections.xapi.forwarder import (
    Forwarder,
    ForwarderBusy,
    ForwardingFailed,
    ForwardReport,
    fold_up_to,
    statements_of,
)
from peerlog.projections.xapi.lrs import LrsClient, LrsError
from peerlog.projections.xapi.settings import XapiSettings
from peerlog.projections.xapi.statements import Produced, StatementFold
from peerlog.projections.xapi.tracking import ForwardingStore, Refusal


def xapi_settings(source: EventSource) -> XapiSettings:
    """The deployment's statement settings, from the record's settings."""
    return XapiSettings.from_settings(source.settings, source.pseudonym_key)


def export(
    source: EventSource, settings: XapiSettings, pair_id: str | None = None
) -> Iterator[Produced]:
    """Every statement the record makes, in order: what a forwarder sends. With
    ``pair_id``, those stating the pair's events, and the voiding of them."""
    fold, record = fold_up_to(source, settings, 0)
    prefix = f"{pair_stream(pair_id)}@" if pair_id is not None else None
    kept: set[str] = set()
    for _, produced in statements_of(record, fold, 0, None):
        for statement in produced:
            if prefix is not None:
                target = statement.statement["object"]
                voids = target.get("objectType") == "StatementRef" and target["id"] in kept
                if not (statement.event.startswith(prefix) or voids):
                    continue
                kept.add(statement.id)
            yield statement


__all__ = [
    "ForwardReport",
    "Forwarder",
    "ForwarderBusy",
    "ForwardingFailed",
    "ForwardingStore",
    "LrsClient",
    "LrsError",
    "Produced",
    "Refusal",
    "StatementFold",
    "XapiSettings",
    "export",
    "xapi_settings",
]
