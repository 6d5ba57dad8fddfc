"""The command-line interface (importable as peerlog.cli): ``peerlog COMMAND``.

Each command lives in a module of its own and is a thin skin over the application
(``peerlog.PeerLog``) and the read side (``peerlog.projections``).
"""

from peerlog.cli.main import cli, main

__all__ = ["cli", "main"]
