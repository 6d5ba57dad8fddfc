"""``python -m peerlog.cli``: the same as the ``peerlog`` command."""

from peerlog.cli import main

main()
