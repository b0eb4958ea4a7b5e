"""The Snakemake workflow: dry runs of every shipped AOI, bad input, and the tiny demo end to end."""

import json
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import torch
import yaml
from rio_cogeo.cogeo import cog_validate
from workflow_support import REPO, planned_jobs, snakemake

from permafusion.composite import open_composite
from permafusion.core.cluster import grouped_job_count

SHIPPED_AOIS = sorted(p.stem for p in (REPO / "config" / "aois").glob("*.yaml"))


def test_shipped_aois_include_the_paper_study_areas():
    assert {"demo", "tibet", "west_siberia"} <= set(SHIPPED_AOIS)


@pytest.mark.parametrize("aoi", SHIPPED_AOIS)
def test_dry_run_of_every_shipped_aoi(aoi, tmp_path):
    import yaml

    settings = yaml.safe_load((REPO / "config" / "aois" / f"{aoi}.yaml").read_text())
    if settings.get("model"):  # mapped with another AOI's model: the dry run needs the file, not its content
        model = Path(settings["model"].replace("{results}", str(tmp_path)))
        model.parent.mkdir(parents=True)
        model.touch()
    result = snakemake("-n", "--config", f"aoi={aoi}", f"results={tmp_path}")
    jobs = planned_jobs(result.stdout + result.stderr)
    task = settings.get("task", "degradation")
    if task == "soil_temperature":
        # station AOIs: no raster stage; the demo trains, a real AOI without observations fetches drivers
        assert "composite_sar" not in jobs
        assert jobs.get("train_soil_model", 0) >= 1 or jobs.get("fetch_era5_land", 0) >= 1
        return
    if task == "rts":  # a scene per site and summer, and slope (tests/test_workflow_rts.py)
        assert jobs["select_site_scene"] >= 8 and jobs["build_site_terrain"] >= 1
        return
    assert jobs["composite_sar"] >= 1 and jobs["composite_optical"] >= 1
    if settings.get("model"):
        assert "train" not in jobs and jobs["predict_tile"] >= 1 and jobs["build_map"] == 1
    elif aoi.startswith("demo"):
        assert jobs["train"] == 1 and jobs["build_map"] == 1


def test_several_years_map_each_year_and_the_change_between_them(tmp_path):
    """The DAG of `years: [2022, 2023]` (a dry run: the two-year tiny demo takes minutes to run)."""
    model = tmp_path / "demo_tiny" / "model" / "checkpoint.pt"
    model.parent.mkdir(parents=True)
    model.touch()
    result = snakemake("-n", "--config", "aoi=demo_tiny_years", f"results={tmp_path}")
    jobs = planned_jobs(result.stdout + result.stderr)
    # 24 months of both sensors; each year's tiles predicted from its own months, then compared
    assert jobs["composite_sar"] == 24 and jobs["composite_optical"] == 24 and jobs["search_items"] == 48
    assert jobs["predict_tile_year"] == 2 and jobs["build_year_map"] == 2 and jobs["build_change_map"] == 1
    out = tmp_path / "demo_tiny_years"
    for path in (
        "map/2022/degradation.tif",
        "map/change/2022_2023.tif",
        "map/change/2022_2023_transitions.csv",
    ):
        assert str(out / path) in result.stdout
    assert "2022-01.zarr" in result.stdout and "2023-12.zarr" in result.stdout


def test_dry_run_of_the_full_tibet_extent(tmp_path):
    result = snakemake(
        "-n", "--quiet", "rules", "--config", "aoi=tibet", "extent=full", f"results={tmp_path}"
    )
    jobs = planned_jobs(result.stdout + result.stderr)
    assert jobs["composite_sar"] > 400
    # grouped as profiles/slurm says, the plateau is hundreds of submissions, not tens of thousands
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    groups = {"search_items": "search", "build_terrain": "terrain"}
    groups |= {"composite_sar": "composite", "composite_optical": "composite"}
    assert 100 < grouped_job_count(jobs, groups, profile["group-components"]) < 1000 < sum(jobs.values())


def test_real_aois_search_planetary_computer():
    import yaml

    for aoi in ("tibet", "west_siberia"):
        settings = yaml.safe_load((REPO / "config" / "aois" / f"{aoi}.yaml").read_text())
        assert settings["catalog"]["url"] == "https://planetarycomputer.microsoft.com/api/stac/v1"
        assert settings["catalog"]["signing"] == "planetary_computer"
        assert settings["catalog"]["collections"]["sar"] == "sentinel-1-rtc"
        assert settings["catalog"]["collections"]["optical"] == "sentinel-2-l2a"


def _bad_aoi(tmp_path: Path, **change) -> Path:
    import yaml

    settings = yaml.safe_load((REPO / "config" / "aois" / "tibet.yaml").read_text())
    settings.update(name="bad", **change)
    aoi_dir = tmp_path / "aois"
    aoi_dir.mkdir(exist_ok=True)
    (aoi_dir / "bad.yaml").write_text(yaml.safe_dump(settings))
    return aoi_dir


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bbox": [92.7, 34.7, 93.1, 95.0]}, "latitudes"),
        ({"start": "2023-06-01", "end": "2023-01-01"}, "is not after `start`"),
        ({"labels": "no/such/labels.gpkg"}, "label file no/such/labels.gpkg does not exist"),
        ({"start": "2023-06-01", "end": "2023-09-30"}, "patches.time_steps"),
        ({"train": {"epochz": 3}}, "section `train`: Additional properties are not allowed ('epochz'"),
        ({"bbox": [92.70, 34.70, 92.701, 34.701]}, "smaller than one 128 px patch"),
        ({"bbox": [170.0, 60.0, -170.0, 70.0]}, "crosses the antimeridian"),
        ({"years": [2023, 2019]}, "`years` [2023, 2019]"),
        ({"years": [2019, 2023], "end": "2024-12-31", "patches": {"time_steps": 13}}, "at most 12"),
        ({"start": "2022-01-01", "end": "2023-12-31", "patches": {"step_months": 3}}, "span 34: widen"),
        ({"vectors": {"min_area_m2": -1}}, "section `vectors`"),
    ],
)
def test_malformed_aoi_stops_with_a_message_naming_the_setting(tmp_path, change, message):
    aoi_dir = _bad_aoi(tmp_path, **change)
    result = snakemake("-n", "--config", "aoi=bad", f"aoi_dir={aoi_dir}", f"results={tmp_path}", check=False)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr


@pytest.mark.parametrize("content", ["", "just text\n", "- a\n- list\n"])
def test_empty_or_non_mapping_aoi_file_is_named(tmp_path, content):
    (tmp_path / "bad.yaml").write_text(content)
    result = snakemake("-n", "--config", "aoi=bad", f"aoi_dir={tmp_path}", f"results={tmp_path}", check=False)
    assert result.returncode != 0
    assert "is empty or not a mapping of settings" in result.stdout + result.stderr


def test_unknown_aoi_lists_the_known_ones(tmp_path):
    result = snakemake("-n", "--config", "aoi=atlantis", f"results={tmp_path}", check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "AOI 'atlantis' not found" in output and "tibet" in output


def _assert_pixel_products(out, classes):
    """Every per-pixel product is a valid COG on the class map's grid, with its values where the map has
    a class; the calibration and the modality-weight plot are written."""
    with rasterio.open(out / "map" / "degradation.tif") as reference:
        grid = (reference.crs, reference.transform, reference.shape)
    mapped = classes > 0
    for name, bands in (
        ("probabilities", 4),
        ("uncertainty", 2),
        ("modality_weight", 12),
        ("degradation", 1),
    ):
        path = out / "map" / f"{name}.tif"
        valid, errors, _ = cog_validate(str(path))
        assert valid, f"{path}: {errors}"
        with rasterio.open(path) as dataset:
            assert (dataset.crs, dataset.transform, dataset.shape) == grid and dataset.count == bands
            assert dataset.nodata is not None
            values, scales = dataset.read(), dataset.scales
        if name == "degradation":
            continue
        assert scales[0] == 0.005 and (values[:, mapped] <= 200).all()
        if name == "probabilities":
            # bytes of 0.005 each: the bands sum to 1 within rounding
            assert np.abs(values[:, mapped].astype(int).sum(axis=0) - 200).max() <= 2
            # the mapped class holds the largest probability; bytes of 0.005 may tie it with another class
            # where the model is unsure, so the bytes' argmax need not name it
            chosen = np.take_along_axis(values[:, mapped], classes[mapped][None].astype(int) - 1, axis=0)
            assert (chosen[0] >= values[:, mapped].max(axis=0)).all()
    calibration = json.loads((out / "eval" / "calibration.json").read_text())
    assert calibration["temperature"] > 0 and 0 <= calibration["test"]["after"]["ece"] <= 1
    assert (
        json.loads((out / "model" / "calibration.json").read_text())["temperature"]
        == calibration["temperature"]
    )
    assert (out / "eval" / "reliability.png").stat().st_size > 10_000
    assert (out / "map" / "modality_weight_by_class.png").stat().st_size > 10_000


@pytest.mark.workflow
def test_tiny_demo_end_to_end_then_nothing_to_do_then_forcerun(tiny_demo_results, tmp_path):
    results = tiny_demo_results  # the whole run, made by the fixture
    config = ["--config", "aoi=demo_tiny", f"results={results}"]
    out = results / "demo_tiny"

    with rasterio.open(out / "map" / "degradation.tif") as dataset:
        assert dataset.dtypes[0] == "uint8" and dataset.nodata == 0
        assert dataset.crs.to_epsg() == 32646 and dataset.res == (10.0, 10.0)
        assert dataset.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert dataset.colormap(1)[1][:3] != (0, 0, 0)
        assert dataset.tags(1)["CLASS_3"] == "thermokarst / retrogressive thaw slump"
        classes = dataset.read(1)
        map_bounds = dataset.bounds
    with rasterio.open(out / "source" / "truth.tif") as truth:
        # the map covers the whole AOI grid, not just the patches
        assert classes.shape == truth.shape and map_bounds == truth.bounds
    assert set(np.unique(classes)) <= {0, 1, 2, 3, 4}
    assert (classes > 0).mean() > 0.95

    assert "stable permafrost" in (out / "map" / "degradation.qml").read_text()
    areas = pd.read_csv(out / "map" / "area_by_class.csv")
    assert list(areas.columns) == ["class_code", "class_name", "pixels", "area_km2"]
    assert areas["pixels"].sum() == classes.size
    assert (out / "map" / "quicklook.png").stat().st_size > 20_000
    _assert_pixel_products(out, classes)

    # the map's polygons: per class above the minimum mapping unit, with their mean probability and tile
    polygons = gpd.read_parquet(out / "map" / "degradation.parquet")
    assert len(polygons) == len(gpd.read_file(out / "map" / "degradation.gpkg")) > 0
    assert polygons.crs.to_epsg() == 32646 and set(polygons["tile"]) == {
        p.stem for p in (out / "terrain").glob("*.tif")
    }
    assert set(polygons["class_code"]) <= set(np.unique(classes)) - {0}
    assert polygons["area_m2"].min() >= 5000 and polygons["mean_probability"].between(0, 1).all()
    assert polygons.geometry.area.to_numpy() == pytest.approx(polygons["area_m2"].to_numpy())
    assert polygons["area_m2"].sum() <= (classes > 0).sum() * 100.0
    assert "windows: " in (out / "logs" / "predict_tile" / f"{polygons['tile'].iloc[0]}.log").read_text()

    # the report of the finished run holds its figures and tables, with their captions
    report = tmp_path / "report.html"
    snakemake("--report", str(report), *config)
    html = report.read_text()
    for name in (
        "quicklook.png",
        "training_curves.png",
        "confusion_matrix.png",
        "table1.csv",
        "area_by_class.csv",
    ):
        assert f'"filename": "{name}"' in html
    for caption in (
        "Quicklook of the permafrost degradation map of demo_tiny",
        "Training of the model of demo_tiny",
        "Confusion matrix of the model of demo_tiny",
        "Table 1: the labelled patches of demo_tiny",
        "Area of each degradation class in the map of demo_tiny",
        "permafusion run of AOI <strong>demo_tiny",
    ):
        assert caption in html

    metrics = json.loads((out / "eval" / "metrics.json").read_text())
    for method in ("model", "majority_baseline"):
        assert 0 <= metrics[method]["overall_accuracy"] <= 1
        assert 0 <= metrics[method]["mean_f1"] <= 1
        assert len(metrics[method]["per_class"]) == 4
        assert np.array(metrics[method]["confusion_matrix"]).shape == (4, 4)
    # the tiny model learns something: a broken model would score the majority class's figures
    assert metrics["model"]["mean_f1"] > metrics["majority_baseline"]["mean_f1"]
    assert metrics["model"]["overall_accuracy"] > metrics["majority_baseline"]["overall_accuracy"]
    table = pd.read_csv(out / "patches" / "table1.csv")
    assert {"train", "val", "test", "total"} <= set(table.columns)
    assert not any("sig=" in path.read_text() for path in (out / "items").rglob("*.json"))
    assert len(list((out / "terrain").glob("*.tif"))) == 1

    rerun = snakemake("-n", *config)
    assert "Nothing to be done" in rerun.stdout + rerun.stderr

    forced = planned_jobs(snakemake("-n", "--forcerun", "composite_optical", *config).stdout)
    assert {
        "composite_optical",
        "build_patches",
        "train",
        "evaluate",
        "predict_tile",
        "build_map",
        "plot_quicklook",
        "vectorize_tile",
        "build_vectors",
    } <= set(forced)
    assert forced["composite_optical"] == 12  # one job per month
    untouched = {"generate_demo_data", "search_items", "check_items", "composite_sar", "rasterize_labels"}
    assert not untouched & set(forced)

    # new imagery for one month: that month's search and composites, and what depends on them, only
    july = out / "items" / "optical" / "2023-07.json"
    month_only = planned_jobs(snakemake("-n", "--forcerun", str(july), *config).stdout)
    assert month_only["search_items"] == 1 and month_only["composite_optical"] == 1
    assert "composite_sar" not in month_only and "build_terrain" not in month_only

    # a train job started again finds its finished state and rewrites the same checkpoint
    before = torch.load(out / "model" / "checkpoint.pt", weights_only=True)
    snakemake("--forcerun", "train", "--until", "train", *config)
    assert "resuming from" in (out / "logs" / "train.log").read_text()
    after = torch.load(out / "model" / "checkpoint.pt", weights_only=True)
    assert after["best_epoch"] == before["best_epoch"]
    assert all(torch.equal(value, after["state_dict"][key]) for key, value in before["state_dict"].items())

    # an AOI without labels is mapped with this model: no labels, patches or training of its own
    other = ["--config", "aoi=demo_tiny_unlabeled", f"results={results}"]
    plan = snakemake("-n", "--quiet", "rules", *other)
    planned = planned_jobs(plan.stdout + plan.stderr)
    assert {"predict_tile", "build_map", "build_pixel_map", "plot_modality_weight"} <= set(planned)
    assert not {"train", "build_patches", "rasterize_labels", "evaluate"} & set(planned)

    # leave-one-region-out over the AOI's two halves, on the same patches
    snakemake("loro", *config)
    table = pd.read_csv(out / "loro" / "table.csv")
    assert list(table["held_out_region"]) == ["west", "east", "mean over regions"]
    assert table["overall_accuracy"].between(0, 1).all()
    regions = pd.read_csv(out / "patches" / "index.csv", keep_default_na=False)["region"]
    for region in ("west", "east"):
        fold = pd.read_csv(out / "loro" / region / "index.csv", keep_default_na=False)
        assert set(fold.loc[fold["split"] == "test", "region"]) == {region}
        assert (fold["split"] == "test").sum() == (regions == region).sum()


def test_snakemake_lint_is_clean():
    result = snakemake("--lint")
    assert "Congratulations" in result.stdout + result.stderr


@pytest.mark.workflow
def test_separate_orbit_composites_in_the_workflow(tiny_demo_results, tmp_path):
    """July's SAR composite with the orbits apart, from the local run's demo data and item lists."""
    results = tmp_path / "results"
    local, out = tiny_demo_results / "demo_tiny", results / "demo_tiny"
    for stage in ("source", "items"):
        shutil.copytree(local / stage, out / stage)  # copy2: modification times kept, nothing reruns
    july = sorted((local / "composites").glob("*/sar/2023-07.zarr"))
    assert len(july) == 1
    store = out / july[0].relative_to(local)
    snakemake(str(store), "--config", "aoi=demo_tiny", f"results={results}", "sar={orbit_state: separate}")
    ds = open_composite(store)
    counts = [ds[f"valid_count{suffix}"].values for suffix in ("", "_ascending", "_descending")]
    assert (counts[0] == counts[1] + counts[2]).all() and counts[1].max() > 0 and counts[2].max() > 0
    assert {"backscatter_ascending", "backscatter_descending"} <= set(ds.data_vars)
