"""Progress lines: done/total, share, elapsed and ETA, throttled, one plain line each (no carriage return)."""

import logging

import pytest

from permafusion.core.progress import Progress, duration, eta


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_lines_every_interval_and_at_the_end(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    log = logging.getLogger("test.progress")
    progress = Progress(8, label="tile 2/5 windows", log=log, every_s=30, clock=clock)
    with caplog.at_level(logging.INFO, logger="test.progress"):
        for _ in range(8):
            clock.now += 10  # 10 s a window: a line after the 3rd and the 6th window, and the last
            progress.advance()
    lines = [record.getMessage() for record in caplog.records]
    assert lines == [
        "tile 2/5 windows: 3/8 (38%), 30 s, ETA 50 s",
        "tile 2/5 windows: 6/8 (75%), 1 min 0 s, ETA 20 s",
        "tile 2/5 windows: 8/8 (100%), 1 min 20 s, done",
    ]
    assert not any("\r" in line for line in lines)


def test_no_final_line_when_the_caller_summarises(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    progress = Progress(2, label="rows", log=logging.getLogger("test.quiet"), final=False, clock=clock)
    with caplog.at_level(logging.INFO, logger="test.quiet"):
        progress.advance(5)  # more than the total is capped
    assert progress.done == 2 and caplog.records == []
    with pytest.raises(ValueError, match="rows: total must be >= 0"):
        Progress(-1, label="rows", log=logging.getLogger("x"))


def test_durations_and_eta_read_plainly() -> None:
    assert duration(7.4) == "7 s" and duration(200) == "3 min 20 s" and duration(7500) == "2 h 5 min"
    assert eta(30.0, 3, 6) == "ETA 1 min 0 s" and eta(5.0, 5, 0) == "done"
