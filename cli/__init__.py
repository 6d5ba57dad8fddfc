"""The command-line interface (importable as peerlog.cli)."""
