"""The thaw-slump task's workflow: the seed's six sites plan, bad settings stop with a message, and the tiny
synthetic scene runs end to end (scenes, tiles, models, tables, yearly masks, polygons, areas, CO2)."""

import json
import math
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import rasterio
import torch
import yaml
from workflow_support import REPO, planned_jobs, snakemake

#: seed 001 Table 1: site -> (lon, lat) of its centre.
TABLE1 = {
    "herschel_island": (-139.00, 69.60),
    "horton_01": (-126.75, 69.75),
    "horton_02": (-126.60, 69.64),
    "kolguev_01": (48.35, 69.22),
    "kolguev_02": (48.51, 69.35),
    "lena": (124.40, 69.12),
}


@pytest.mark.parametrize("aoi", sorted(TABLE1))
def test_the_six_sites_are_10_km_boxes_on_planetary_computer(aoi):
    settings = yaml.safe_load((REPO / "config" / "aois" / f"{aoi}.yaml").read_text())
    west, south, east, north = settings["bbox"]
    lon, lat = TABLE1[aoi]
    assert settings["task"] == "rts" and settings["labels"] is None
    assert math.isclose((west + east) / 2, lon, abs_tol=1e-3) and math.isclose(
        (south + north) / 2, lat, abs_tol=1e-3
    )
    km_x = (east - west) * 111.32 * math.cos(math.radians(lat))
    assert 9.5 < km_x < 10.5 and 9.5 < (north - south) * 111.32 < 10.5
    assert settings["catalog"]["url"] == "https://planetarycomputer.microsoft.com/api/stac/v1"
    assert settings["catalog"]["collections"] == {"optical": "sentinel-2-l2a", "dem": "cop-dem-glo-30"}


def test_a_site_outside_the_aoi_stops_the_plan(tmp_path):
    settings = yaml.safe_load((REPO / "config" / "aois" / "horton_01.yaml").read_text())
    settings.update(name="bad", sites={"far": [10.0, 50.0, 10.1, 50.1]})
    (tmp_path / "aois").mkdir()
    (tmp_path / "aois" / "bad.yaml").write_text(yaml.safe_dump(settings))
    result = snakemake(
        "-n", "--config", "aoi=bad", f"aoi_dir={tmp_path / 'aois'}", f"results={tmp_path}", check=False
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "site 'far'" in output and "not inside the AOI bbox" in output


def test_without_slope_no_dem_is_read(tmp_path):
    settings = yaml.safe_load((REPO / "config" / "aois" / "horton_01.yaml").read_text())
    settings.update(name="nodem", rts={"train": {"channels": ["B02", "B03", "B04", "B08"]}})
    (tmp_path / "aois").mkdir()
    (tmp_path / "aois" / "nodem.yaml").write_text(yaml.safe_dump(settings))
    args = ("-n", "--config", "aoi=nodem", f"aoi_dir={tmp_path / 'aois'}", f"results={tmp_path}")
    jobs = planned_jobs(snakemake(*args).stdout)
    assert "build_site_terrain" not in jobs and "search_dem" not in jobs and jobs["select_site_scene"] == 8


def test_tiny_rts_demo_end_to_end(tmp_path):
    snakemake("--config", "aoi=rts_tiny", f"results={tmp_path}")
    out = Path(tmp_path, "rts_tiny", "rts")
    series = pd.read_csv(out / "series.csv")
    assert sorted(series["site"].unique()) == ["east", "west"] and sorted(series["year"].unique()) == [
        2016,
        2017,
        2018,
        2019,
    ]
    skipped = series[series["year"] == 2017]
    assert (skipped["status"] == "skipped").all() and skipped["reason"].str.contains(
        "cloud cover <= 10"
    ).all()
    ok = series[series["status"] == "ok"]
    assert (ok["area_low_ha"] <= ok["area_est_ha"]).all() and (ok["true_area_ha"] > 0).all()
    co2_text = (out / "co2.csv").read_text()
    assert "# source: " in co2_text and "Turetsky" in co2_text
    co2 = pd.read_csv(out / "co2.csv", comment="#")
    assert len(co2) == len(ok) and co2["net_t_co2_per_yr"].notna().all()
    table2 = pd.read_csv(out / "tables" / "table2.csv")
    assert set(table2["model"]) == {"unet", "threshold"} and "object_f1_hi" in table2
    table3 = pd.read_csv(out / "tables" / "table3.csv")
    assert sorted(table3[table3["model"] == "unet"]["site"]) == ["all", "east", "west"]
    metrics = json.loads((out / "tables" / "metrics.json").read_text())
    assert metrics["images"]["west"] == {"label_years": [2018, 2019], "test_year": 2019}
    with rasterio.open(out / "maps" / "west" / "2018.tif") as dataset:
        assert dataset.count == 2 and dataset.tags(1)["CLASS_2"] == "slump"
    with rasterio.open(out / "maps" / "west" / "2017.tif") as dataset:
        assert (dataset.read(1) == 0).all()  # no scene: no data
    polygons = gpd.read_parquet(out / "polygons" / "west" / "2018.parquet")
    assert len(polygons) == len(gpd.read_file(out / "polygons" / "west" / "2018.gpkg"))
    checkpoint = torch.load(out / "models" / "primary.pt", weights_only=True)
    assert checkpoint["card"]["task"] == "rts" and checkpoint["channels"][-1] == "slope"
    assert (out / "series.png").stat().st_size > 10_000
