"""Progress on stderr for long runs: on a terminal, or when asked for.

On a terminal the line is redrawn in place; elsewhere (a log, a test) a line is written
now and then. Updates are cheap: the clock is read every few hundred steps only.
"""

from __future__ import annotations

import sys
import time
from typing import Final, TextIO

import click

from peerlog.cli.output import F

REDRAW_SECONDS: Final = 0.1
LOG_SECONDS: Final = 2.0
CHECK_EVERY: Final = 256


def wanted(*, asked: bool | None) -> bool:
    """``--progress``/``--no-progress``, or by default: whether stderr is a terminal."""
    if asked is not None:
        return asked
    return sys.stderr.isatty()


def progress_option(function: F) -> F:
    return click.option(
        "--progress/--no-progress",
        default=None,
        help="Show progress on stderr. [default: when stderr is a terminal]",
    )(function)


class Progress:
    """Counts steps towards a total (which may be unknown) and shows the rate."""

    def __init__(self, label: str, total: int | None, *, enabled: bool) -> None:
        self.label = label
        self.total = total
        self.enabled = enabled
        self.done = 0
        self.started = time.monotonic()
        self._last = self.started
        self._stream: TextIO = sys.stderr
        self._terminal = self._stream.isatty()
        self._pending = 0

    def advance(self, steps: int = 1, amount: int | None = None) -> None:
        """Count ``steps`` done; ``amount`` is progress towards the total if it is not
        counted in steps (bytes of a file)."""
        if not self.enabled:
            return
        self.done += amount if amount is not None else steps
        self._pending += steps
        if self._pending < CHECK_EVERY:
            return
        self._pending = 0
        now = time.monotonic()
        if now - self._last >= (REDRAW_SECONDS if self._terminal else LOG_SECONDS):
            self._last = now
            self._show(now, final=False)

    def reached(self, done: int) -> None:
        """Progress reported now and then (a batch at a time): ``done`` so far."""
        if not self.enabled:
            return
        self.done = done
        now = time.monotonic()
        if now - self._last >= (REDRAW_SECONDS if self._terminal else LOG_SECONDS):
            self._last = now
            self._show(now, final=False)

    def finish(self, steps: int | None = None) -> None:
        if self.enabled:
            self._show(time.monotonic(), final=True, steps=steps)

    def _show(self, now: float, *, final: bool, steps: int | None = None) -> None:
        if self.total:
            share = min(1.0, self.done / self.total)
            filled = int(share * 24)
            shown = f"[{'#' * filled}{'-' * (24 - filled)}] {share:4.0%}"
        else:
            shown = f"{self.done:,}"
        if steps is not None:
            elapsed = max(now - self.started, 1e-9)
            shown += f"  {steps:,} in {elapsed:.1f} s ({steps / elapsed:,.0f}/s)"
        line = f"{self.label} {shown}"
        if self._terminal:
            self._stream.write("\r" + line + ("\n" if final else ""))
        else:
            self._stream.write(line + "\n")
        self._stream.flush()
