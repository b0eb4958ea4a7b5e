"""Logging for workflow steps: to the rule's log file and to stderr, with timestamps."""

from __future__ import annotations

import logging
import sys
from pathlib import Path


def setup_step_logging(log_file: str | Path | None) -> logging.Logger:
    """Send package and step logs to ``log_file`` (and stderr); returns the step's logger."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="w"))
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    for noisy in ("rasterio", "urllib3", "fiona", "pyogrio", "matplotlib", "numcodecs"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return logging.getLogger("permafusion.step")
