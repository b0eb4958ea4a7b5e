"""How long Snakemake needs to plan an AOI of 1,000+ processing tiles (issue target: under a minute).

Writes a temporary AOI file (the West Siberian Lowlands box widened to ~1,000 tiles of 102.4 km) and
times `snakemake -n --quiet rules` on it, which builds the whole DAG (searches, per-tile per-month
composites, terrain) without touching the network. Prints tiles, jobs and seconds; last line
`dry_run_seconds=<s>`.

    python benchmarks/dry_run.py
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from permafusion.geo.tiles import processing_tiles

REPO = Path(__file__).resolve().parents[1]
BBOX = [55.0, 45.0, 95.0, 70.0]


def main() -> None:
    settings = yaml.safe_load((REPO / "config" / "aois" / "west_siberia.yaml").read_text())
    settings.update(name="thousand_tiles", bbox=BBOX)
    tiles = len(processing_tiles(tuple(BBOX), tile_size_px=10240))
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "thousand_tiles.yaml").write_text(yaml.safe_dump(settings))
        command = [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "--quiet",
            "rules",
            "--cores",
            "1",
            "--config",
            "aoi=thousand_tiles",
            f"aoi_dir={tmp}",
            f"results={tmp}/results",
        ]
        start = time.perf_counter()
        result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True)
        seconds = time.perf_counter() - start
    jobs = re.search(r"^total\s+(\d+)$", result.stdout, re.M)
    print(
        f"tiles={tiles} jobs={jobs.group(1) if jobs else '?'} (12 months, SAR + optical + terrain per tile)"
    )
    print(f"dry_run_seconds={seconds:.1f}")


if __name__ == "__main__":
    main()
