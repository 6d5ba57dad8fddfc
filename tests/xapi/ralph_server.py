"""Start ralph's LRS server with its file backend, for the tests (run by the Python of
ralph's own virtual environment: ``python ralph_server.py HOST PORT``).

ralph 5.1.0's file backend writes statements with the "create" operation, which refuses
to write a file that exists: the first POST stores its statements and every later one
fails with 500. Its "append" operation is what a store that keeps statements needs, so
the server is started with that as the file backend's default; everything else is
ralph's own ``runserver``.
"""

from __future__ import annotations

import sys

from ralph.backends.data.base import BaseOperationType
from ralph.backends.lrs.fs import FSLRSBackend
from ralph.cli import cli

FSLRSBackend.default_operation_type = BaseOperationType.APPEND

if __name__ == "__main__":
    host, port = sys.argv[1:3]
    cli(["runserver", "-b", "fs", "-h", host, "-p", port])
