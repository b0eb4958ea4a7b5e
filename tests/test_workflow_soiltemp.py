"""The soil_temperature workflow: dry runs of its AOIs, bad input, and the tiny preset end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from workflow_support import REPO, snakemake


def test_alaska_dry_run_fetches_era5_land_per_station(tmp_path):
    output = snakemake("-n", "--config", "aoi=alaska", f"results={tmp_path}").stdout
    stations = pd.read_csv(REPO / "config" / "stations" / "alaska.csv")
    assert output.count("rule fetch_era5_land:") == len(stations)
    assert "build_era5_drivers" in output and "train_soil_model" not in output


def _station_aoi(tmp_path: Path, stations_text: str, **extra: object) -> Path:
    aoi_dir = tmp_path / "aois"
    aoi_dir.mkdir()
    (tmp_path / "stations.csv").write_text(stations_text)
    settings = {
        "name": "bad",
        "task": "soil_temperature",
        "start": "2000-01-01",
        "end": "2010-12-31",
        "stations": str(tmp_path / "stations.csv"),
        **extra,
    }
    (aoi_dir / "bad.yaml").write_text(yaml.safe_dump(settings))
    return aoi_dir


@pytest.mark.parametrize(
    ("stations", "extra", "message"),
    [
        ("station,lat,lon\nA,64,-147\nB,64,abc\n", {}, "line 3, column 3 ('lon'): 'abc' is not a longitude"),
        (
            "station,lat,lon\nA,64,-147\n",
            {"observations": "no/such.csv"},
            "observations file no/such.csv does not",
        ),
        ("station,lat,lon\nA,64,-147\n", {"end": "2002-12-31"}, "no training year"),
    ],
)
def test_malformed_station_aoi_stops_with_the_place_to_fix(tmp_path, stations, extra, message):
    aoi_dir = _station_aoi(tmp_path, stations, **extra)
    result = snakemake("-n", "--config", "aoi=bad", f"aoi_dir={aoi_dir}", f"results={tmp_path}", check=False)
    assert result.returncode != 0 and message in result.stdout + result.stderr


@pytest.mark.workflow
def test_tiny_soil_temperature_preset_end_to_end(tmp_path):
    results = tmp_path / "results"
    config = ["--config", "aoi=soiltemp_tiny", f"results={results}"]
    snakemake(*config)
    out = results / "soiltemp_tiny"
    comparison = pd.read_csv(out / "tables" / "comparison.csv")
    assert set(comparison["split"]) == {"time", "station"}
    assert {"gru", "tcn", "persistence", "climatology", "reanalysis", "linear"} <= set(comparison["method"])
    assert {"0.1m", "0.5m", "1m", "2m", "3m", "mean"} <= set(comparison.columns)
    metrics = pd.read_csv(out / "tables" / "metrics_time.csv")
    assert {"all", "band", "season"} == set(metrics["grouping"])
    assert (metrics["rmse_lo"] <= metrics["rmse"] + 1e-9).all() and (
        metrics["rmse"] <= metrics["rmse_hi"] + 1e-9
    ).all()
    predictions = pd.read_csv(out / "eval" / "station" / "predictions.csv")
    held_out = set(predictions["station"])
    codes = pd.read_csv(out / "source" / "stations.csv")["station"]
    assert held_out < set(codes)  # the station split tests on stations it did not train on
    for plot in ("series_time.png", "series_station.png", "scenarios.png"):
        assert (out / "plots" / plot).stat().st_size > 10_000
    annual = pd.read_csv(out / "scenarios" / "annual.csv")
    assert set(annual["scenario"]) == {"rcp45", "rcp85"} and annual["year"].max() == 2100
    alt = pd.read_csv(out / "scenarios" / "alt.csv")
    assert (alt["alt_m"] >= 0).all() and (alt["alt_m"] <= 3.0).all()
    summary = json.loads((out / "scenarios" / "summary.json").read_text())
    warm = summary["rcp85"]["mean_c"]["0.1m"][1] - summary["rcp45"]["mean_c"]["0.1m"][1]
    assert warm > 0  # the stronger forcing ends warmer
    assert "Nothing to be done" in (lambda r: r.stdout + r.stderr)(snakemake("-n", *config))
