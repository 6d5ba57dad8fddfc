"""peerlog: an event-sourced learning record for peer learning in clinical placements.

``PeerLog``, ``CommandResult`` and ``CommandRejected`` are loaded when first asked for,
so that a command that only prints its version or its help starts at once.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from peerlog.application import CommandResult, PeerLog
    from peerlog.domain.errors import CommandRejected

__all__ = ["CommandRejected", "CommandResult", "PeerLog"]
__version__ = "0.1.0"

_WHERE = {
    "PeerLog": "peerlog.application",
    "CommandResult": "peerlog.application",
    "CommandRejected": "peerlog.domain.errors",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        msg = f"module 'peerlog' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
