"""How long Snakemake needs to plan a large AOI (issue target: under a minute), or to refuse it.

Writes a temporary AOI file (by default the West Siberian Lowlands box widened to 877 tiles of 102.4 km;
`--bbox` for another, e.g. the whole Arctic `--bbox -180 60 180 84`) and times
`snakemake -n --quiet rules` on it, which builds the whole DAG (searches, per-tile per-month composites,
terrain) without touching the network. An AOI over `max_jobs` stops before Snakemake builds any job,
naming its zones; `--zones` plans one or more of them, `--max-jobs` raises the limit. Prints the tiles and
jobs the run states, Snakemake's job total, the CPU seconds and the wall seconds; last line
`dry_run_seconds=<s>`.

    python benchmarks/dry_run.py
    python benchmarks/dry_run.py --bbox -180 60 180 84              # whole Arctic: refused, zones listed
    python benchmarks/dry_run.py --bbox -180 60 180 84 --zones 32633  # one zone of it: planned
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BBOX = [55.0, 45.0, 95.0, 70.0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bbox", type=float, nargs=4, default=BBOX, metavar=("W", "S", "E", "N"))
    parser.add_argument("--zones", type=int, nargs="*", default=[], help="UTM zones (EPSG) to plan")
    parser.add_argument("--max-jobs", type=int, help="the run's `max_jobs` (default: the schema's)")
    args = parser.parse_args()
    settings = yaml.safe_load((REPO / "config" / "aois" / "west_siberia.yaml").read_text())
    settings.pop("full_bbox")
    settings.update(name="large", bbox=args.bbox)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "large.yaml").write_text(yaml.safe_dump(settings))
        command = [sys.executable, "-m", "snakemake", "-n", "--quiet", "rules", "--cores", "1", "--config"]
        command += ["aoi=large", f"aoi_dir={tmp}", f"results={tmp}/results"]
        if args.zones:
            command.append(f"zones=[{','.join(str(z) for z in args.zones)}]")
        if args.max_jobs:
            command.append(f"max_jobs={args.max_jobs}")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    output = result.stdout + result.stderr
    stated = re.search(r"^AOI large: .*$", output, re.M)
    total = re.search(r"^total\s+(\d+)$", output, re.M)
    print(f"bbox={args.bbox} zones={args.zones or 'all'}")
    print(stated.group(0) if stated else "no size stated")
    if total:
        print(f"planned: {total.group(1)} jobs")
    elif "max_jobs" in output:
        print("refused: " + output.split("WorkflowError", 1)[-1].strip().splitlines()[1][:400])
    else:
        sys.exit(f"dry run failed:\n{output[-4000:]}")
    # CPU seconds tell the work apart from waiting on a busy machine's other processes
    print(f"cpu_seconds={cpu:.1f} (wall {seconds:.1f} s)")
    print(f"dry_run_seconds={seconds:.1f}")


if __name__ == "__main__":
    main()
