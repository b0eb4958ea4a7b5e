"""Progress of long loops as plain log lines: ``label: 12/48 (25%), 1 min 3 s, ETA 3 min 9 s``.

One line every ``every_s`` seconds (and one when the work is done), never a carriage return: a cluster
job's log file stays readable line by line, and a terminal shows the same lines through the step's stderr
handler. Progress bars (tqdm) redraw one line with ``\\r``, which a log file keeps as one very long line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


def duration(seconds: float) -> str:
    """'3 min 20 s', '2 h 5 min' or '7 s'."""
    seconds = round(seconds)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def eta(elapsed_s: float, done: int, left: int) -> str:
    """'ETA 3 min 20 s' for ``left`` more units at the mean pace of the ``done`` ones; 'done' when none is
    left."""
    if left <= 0:
        return "done"
    return f"ETA {duration(elapsed_s / max(done, 1) * left)}"


class Progress:
    """Counts units of work done out of ``total`` and logs where it stands at most every ``every_s``.

    Args:
        total: units of work (tiles, windows, rows, epochs).
        label: what is counted, e.g. ``"tile 3/16 windows"``.
        log: where the lines go (INFO).
        every_s: least seconds between two lines (0: a line per :meth:`advance`).
        final: also log a line when the last unit is done.
        clock: seconds, monotonic (tests pass their own).
    """

    def __init__(
        self,
        total: int,
        *,
        label: str,
        log: logging.Logger,
        every_s: float = 30.0,
        final: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if total < 0:
            raise ValueError(f"progress of {label}: total must be >= 0, got {total}")
        self.total, self.label, self.log, self.every_s, self.final = total, label, log, every_s, final
        self.clock = clock
        self.done = 0
        self.started = self.last = clock()

    def advance(self, units: int = 1) -> None:
        """Count ``units`` more as done; log a line if ``every_s`` passed since the last (or at the end)."""
        self.done = min(self.total, self.done + units)
        now = self.clock()
        finished = self.done >= self.total
        if (finished and self.final) or (not finished and now - self.last >= self.every_s):
            self.last = now
            self.log.info("%s", self.line(now))

    def line(self, now: float | None = None) -> str:
        """Where the work stands: done/total, share, elapsed time and ETA."""
        elapsed = (self.clock() if now is None else now) - self.started
        share = 100 * self.done / self.total if self.total else 100.0
        return (
            f"{self.label}: {self.done}/{self.total} ({share:.0f}%), {duration(elapsed)}, "
            f"{eta(elapsed, self.done, self.total - self.done)}"
        )
