"""Planning an AOI: how long Snakemake needs to plan 1,000+ processing tiles (issue target: under a
minute), and how many jobs a run submits before and after the profile's grouping.

Without arguments it writes a temporary AOI file (the West Siberian Lowlands box widened to ~1,000 tiles
of 102.4 km) and times `snakemake -n --quiet rules` on it, which builds the whole DAG (searches, per-tile
per-month composites, terrain) without touching the network. Prints tiles, jobs and seconds; last line
`dry_run_seconds=<s>`.

With `--aoi` it plans that shipped AOI (`--extent full` for its whole study area) and prints the jobs per
rule, then the submissions once grouped with the `group-components` of `--profile` (default
profiles/slurm): each rule's `group:` in workflow/rules puts its jobs in a group, and that many
independent jobs of a group go in one submission (`permafusion.core.cluster.grouped_job_count`). Last line
`jobs_after_grouping=<n>`.

    python benchmarks/dry_run.py
    python benchmarks/dry_run.py --aoi tibet --extent full
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from permafusion.core.cluster import grouped_job_count
from permafusion.geo.tiles import processing_tiles

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


def planned_jobs(output: str) -> dict[str, int]:
    """Rule -> job count from a dry run's 'Job stats' table."""
    table = output.split("Job stats:")[1].split("\n\n")[0]
    return {
        m.group(1): int(m.group(2))
        for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)
        if m.group(1) != "total"
    }


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


def thousand_tiles() -> None:
    settings = yaml.safe_load((REPO / "config" / "aois" / "west_siberia.yaml").read_text())
    settings.update(name="thousand_tiles", bbox=BBOX)
    tiles = len(processing_tiles(tuple(BBOX), tile_size_px=10240))
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "thousand_tiles.yaml").write_text(yaml.safe_dump(settings))
        output, seconds = dry_run("aoi=thousand_tiles", f"aoi_dir={tmp}", f"results={tmp}/results")
    jobs = re.search(r"^total\s+(\d+)$", output, re.M)
    print(
        f"tiles={tiles} jobs={jobs.group(1) if jobs else '?'} (12 months, SAR + optical + terrain per tile)"
    )
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
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--aoi", default=None, help="a shipped AOI: count its jobs before and after grouping")
    parser.add_argument("--extent", default="default", choices=["default", "full"])
    parser.add_argument("--profile", type=Path, default=REPO / "profiles" / "slurm" / "config.yaml")
    args = parser.parse_args()
    if args.aoi:
        grouped(args.aoi, args.extent, args.profile)
    else:
        thousand_tiles()


if __name__ == "__main__":
    main()
