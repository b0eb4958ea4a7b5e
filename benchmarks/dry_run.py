"""How long Snakemake needs to plan a large AOI (issue target: under a minute), or to refuse it.

Writes a temporary AOI file (by default the West Siberian Lowlands box widened to 877 tiles of 102.4 km;
`--bbox` for another, e.g. the whole Arctic `--bbox -180 60 180 84`) and times
`snakemake -n --quiet rules` on it, which builds the whole DAG (searches, per-tile per-month composites,
terrain) without touching the network. An AOI over `max_jobs` stops before Snakemake builds any job,
naming its zones; `--zones` plans one or more of them, `--max-jobs` raises the limit. Prints the tiles and
jobs the run states, Snakemake's job total, the CPU seconds and the wall seconds; last line
`dry_run_seconds=<s>`.

With `--aoi` it plans that shipped AOI (`--extent full` for its whole study area) and prints the jobs per
rule, then the submissions once grouped with the `group-components` of `--profile` (default
profiles/slurm): each rule's `group:` in workflow/rules puts its jobs in a group, and that many
independent jobs of a group go in one submission (`permafusion.core.cluster.grouped_job_count`). Last line
`jobs_after_grouping=<n>`.

    python benchmarks/dry_run.py
    python benchmarks/dry_run.py --bbox -180 60 180 84              # whole Arctic: refused, zones listed
    python benchmarks/dry_run.py --bbox -180 60 180 84 --zones 32633  # one zone of it: planned
    python benchmarks/dry_run.py --aoi tibet --extent full           # jobs before and after grouping
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

from permafusion.core.cluster import grouped_job_count, planned_jobs

REPO = Path(__file__).resolve().parents[1]
BBOX = [55.0, 45.0, 95.0, 70.0]


def rule_groups() -> dict[str, str]:
    """Rule -> group, from the `group:` entries of the workflow's rule files."""
    groups = {}
    for path in sorted((REPO / "workflow" / "rules").rglob("*.smk")):
        for block in re.split(r"^rule ", path.read_text(), flags=re.M)[1:]:
            name = block.split(":", 1)[0].strip()
            found = re.search(r"^    group:\s*\n\s+\"([^\"]+)\"", block, re.M)
            if found:
                groups[name] = found.group(1)
    return groups


def group_components(profile: Path) -> dict[str, int]:
    """A profile's `group-components` (group -> independent jobs per submission)."""
    settings = yaml.safe_load(profile.read_text()) or {}
    return {group: int(n) for group, n in (settings.get("group-components") or {}).items()}


def dry_run(*config: str) -> tuple[str, float]:
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
        *config,
    ]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True)
    return result.stdout + result.stderr, time.perf_counter() - start


def large_aoi(args: argparse.Namespace) -> None:
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


def grouped(aoi: str, extent: str, profile: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        output, seconds = dry_run(f"aoi={aoi}", f"extent={extent}", f"results={tmp}/results")
    jobs = planned_jobs(output)
    groups, components = rule_groups(), group_components(profile)
    for rule, n in sorted(jobs.items(), key=lambda item: -item[1]):
        group = groups.get(rule)
        print(
            f"{rule:20s} {n:7d}"
            + (f"  group {group}: {components.get(group, 1)} a submission" if group else "")
        )
    print(f"AOI {aoi} ({extent}), planned in {seconds:.0f} s: {sum(jobs.values())} jobs before grouping")
    print(f"jobs_after_grouping={grouped_job_count(jobs, groups, components)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bbox", type=float, nargs=4, default=BBOX, metavar=("W", "S", "E", "N"))
    parser.add_argument("--zones", type=int, nargs="*", default=[], help="UTM zones (EPSG) to plan")
    parser.add_argument("--max-jobs", type=int, help="the run's `max_jobs` (default: the schema's)")
    parser.add_argument("--aoi", default=None, help="a shipped AOI: count its jobs before and after grouping")
    parser.add_argument("--extent", default="default", choices=["default", "full"])
    parser.add_argument("--profile", type=Path, default=REPO / "profiles" / "slurm" / "config.yaml")
    args = parser.parse_args()
    if args.aoi:
        grouped(args.aoi, args.extent, args.profile)
    else:
        large_aoi(args)


if __name__ == "__main__":
    main()
