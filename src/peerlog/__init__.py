"""peerlog: an event-sourced learning record for peer learning in clinical placements."""

from peerlog.application import CommandResult, PeerLog
from peerlog.domain.errors import CommandRejected

__all__ = ["CommandRejected", "CommandResult", "PeerLog"]
__version__ = "0.1.0"
