"""The read side: projections and read models (importable as peerlog.projections)."""
