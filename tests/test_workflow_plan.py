"""Planning at scale: a run states its tiles and jobs first, plans in work linear in tiles, refuses a plan
larger than `max_jobs` at once, and maps an AOI of several UTM zones one map per zone."""

from __future__ import annotations

import pstats
import re
import subprocess
import sys
from pathlib import Path

import yaml
from workflow_support import REPO, planned_jobs, snakemake

STATED = re.compile(r"AOI \w+: ([\d,]+) processing tiles in (\d+) UTM zones? \(.*\), ([\d,]+) jobs to plan")


def _write_aoi(folder: Path, name: str, **settings: object) -> None:
    base = yaml.safe_load((REPO / "config" / "aois" / "west_siberia.yaml").read_text())
    base.pop("full_bbox")
    (folder / f"{name}.yaml").write_text(yaml.safe_dump({**base, "name": name, **settings}))


def _stated(output: str) -> tuple[int, int, int]:
    match = STATED.search(output)
    assert match, output[-2000:]
    tiles, zones, jobs = match.groups()
    return int(tiles.replace(",", "")), int(zones), int(jobs.replace(",", ""))


def test_whole_arctic_is_stated_and_refused_at_once_and_one_zone_plans_what_was_stated(tmp_path):
    _write_aoi(tmp_path, "arctic", bbox=[-180, 60, 180, 84])
    config = ["--config", "aoi=arctic", f"aoi_dir={tmp_path}", f"results={tmp_path}/results"]
    refused = snakemake("-n", *config, check=False)
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0
    assert _stated(output) == (5100, 60, 127_528)
    assert "more than `max_jobs` (25,000)" in output and "zones=[32601]" in output
    assert "Job stats" not in output  # refused before Snakemake built any job

    zone = snakemake("-n", "--quiet", "rules", *config, "zones=[32633]")
    output = zone.stdout + zone.stderr
    tiles, zones, jobs = _stated(output)
    assert (tiles, zones) == (85, 1)
    assert sum(planned_jobs(output).values()) == jobs


def test_an_aoi_of_two_zones_gets_one_map_per_zone(tmp_path):
    labels = tmp_path / "labels.gpkg"
    labels.touch()  # a dry run needs the file to exist, not its content
    _write_aoi(tmp_path, "twozones", bbox=[89.9, 34.0, 90.1, 34.1], labels=str(labels))
    result = snakemake("-n", "--config", "aoi=twozones", f"aoi_dir={tmp_path}", f"results={tmp_path}/results")
    output = result.stdout + result.stderr
    jobs = planned_jobs(output)
    assert jobs["build_zone_map"] == 2 and jobs["plot_zone_quicklook"] == 2 and "build_map" not in jobs
    for epsg in (32645, 32646):
        assert f"twozones/map/{epsg}/degradation.tif" in output
    assert sum(jobs.values()) == _stated(output)[2]
    # a run of some zones would train on their patches only: refused, naming the way to map them
    config = ["--config", "aoi=twozones", f"aoi_dir={tmp_path}", f"results={tmp_path}/results"]
    refused = snakemake("-n", *config, "zones=[32645]", check=False)
    message = refused.stdout + refused.stderr
    assert refused.returncode != 0
    assert "`zones` [32645] with `labels`" in message and "model=" in message


def _profiled_dry_run(folder: Path, name: str, bbox: list[float]) -> tuple[int, int]:
    """Tiles of the AOI and Python function calls of its dry run (a count, unlike time, load-proof)."""
    _write_aoi(folder, name, bbox=bbox, start="2023-06-01", end="2023-07-31", patches={"time_steps": 2})
    profile = folder / f"{name}.prof"
    command = [
        sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "snakemake", "-n", "--quiet", "rules",
        "--cores", "1", "--config", f"aoi={name}", f"aoi_dir={folder}", f"results={folder}/results",
        "tile_size_px=128",
    ]  # fmt: skip
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600, check=True)
    tiles, _, jobs = _stated(result.stdout + result.stderr)
    assert sum(planned_jobs(result.stdout + result.stderr).values()) == jobs
    return tiles, pstats.Stats(str(profile)).total_calls  # type: ignore[attr-defined]


def test_planning_work_grows_linearly_with_tiles(tmp_path):
    """Each added tile costs the same number of calls: an input function scanning every tile per job
    (quadratic) doubles the calls per added tile from one step to the next and fails this."""
    runs = [
        _profiled_dry_run(tmp_path, f"strip{width}", [72.40, 65.20, 72.40 + 0.1 * width, 65.25])
        for width in (1, 2, 4)
    ]
    (t1, c1), (t2, c2), (t3, c3) = runs
    assert t1 < t2 < t3 and t3 - t2 >= t2 - t1 > 10
    first_step, second_step = (c2 - c1) / (t2 - t1), (c3 - c2) / (t3 - t2)
    assert second_step < 1.3 * first_step, (runs, first_step, second_step)


def test_time_steps_spread_over_years_plan_every_month_of_the_period(tmp_path):
    labels = tmp_path / "labels.gpkg"
    labels.touch()
    _write_aoi(tmp_path, "years3", bbox=[72.40, 65.20, 72.45, 65.25], labels=str(labels), start="2021-01-01",
               end="2023-12-31", patches={"time_steps": 12, "step_months": 3})  # fmt: skip
    result = snakemake("-n", "--config", "aoi=years3", f"aoi_dir={tmp_path}", f"results={tmp_path}/results")
    output = result.stdout + result.stderr
    tiles, _, stated = _stated(output)
    jobs = planned_jobs(output)
    assert jobs["composite_optical"] == 36 * tiles and sum(jobs.values()) == stated
