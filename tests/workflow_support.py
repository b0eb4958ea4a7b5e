"""What the workflow tests share: the repository, running Snakemake in it, and reading a dry run's plan."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from permafusion.core.cluster import planned_jobs

__all__ = ["REPO", "planned_jobs", "snakemake"]

REPO = Path(__file__).resolve().parents[1]


def snakemake(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "snakemake", "--cores", "2", *args]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=1200)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}")
    return result
