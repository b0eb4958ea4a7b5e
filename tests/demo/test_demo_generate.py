"""generate_demo_data: layout, determinism, labels, truth, and the write-then-rename contract."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from demo_support import PERIOD, small_grid

import permafusion.demo.generate as generate_module
from permafusion.demo import generate_demo_data


def _arrays(root: Path) -> dict[str, np.ndarray]:
    out = {}
    for path in sorted(root.rglob("*.tif")):
        with rasterio.open(path) as ds:
            out[str(path.relative_to(root))] = ds.read(1)
    return out


def _small(out: Path, seed: int) -> None:
    generate_demo_data(
        grid=small_grid(),
        start=dt.date(2023, 7, 1),
        end=dt.date(2023, 7, 20),
        seed=seed,
        out_dir=out,
        cell_size_m=700.0,
    )


def test_same_seed_same_arrays_other_seed_differs(tmp_path):
    _small(tmp_path / "a", 11)
    _small(tmp_path / "b", 11)
    _small(tmp_path / "c", 12)
    a, b, c = _arrays(tmp_path / "a"), _arrays(tmp_path / "b"), _arrays(tmp_path / "c")
    assert a.keys() == b.keys() and len(a) > 10
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert not np.array_equal(a["truth.tif"], c["truth.tif"])


def test_layout(demo_dir):
    for name in ("truth.tif", "labels.gpkg", "demo.json"):
        assert (demo_dir / name).is_file()
    for cid in ("sentinel-1-rtc", "sentinel-2-l2a", "cop-dem-glo-30"):
        assert (demo_dir / "stac" / "collections" / f"{cid}.json").is_file()
        assert (demo_dir / "stac" / "items" / f"{cid}.json").is_file()
    assert not demo_dir.with_name(demo_dir.name + ".tmp").exists()
    settings = json.loads((demo_dir / "demo.json").read_text())
    assert settings["seed"] == 7 and settings["items"]["sentinel-1-rtc"] > 0


def test_truth_on_exactly_the_grid(demo_dir):
    grid = small_grid()
    with rasterio.open(demo_dir / "truth.tif") as ds:
        truth = ds.read(1)
        assert ds.crs.to_epsg() == grid.epsg
        assert ds.transform == grid.transform
    assert truth.shape == grid.shape and truth.dtype == np.uint8
    assert set(np.unique(truth)) <= {1, 2, 3, 4}


def test_labels_are_shrunk_lonlat_polygons(demo_dir):
    labels = gpd.read_file(demo_dir / "labels.gpkg", layer="labels")
    assert labels.crs.to_epsg() == 4326
    assert list(labels.columns) == ["class_code", "class_name", "geometry"]
    assert set(labels["class_code"]) == {1, 2, 3, 4}
    assert (labels.geom_type == "Polygon").all()
    grid = small_grid()
    utm = labels.to_crs(grid.crs)
    # Inside the grid and shrunk away from it: no label reaches the grid edge.
    minx, miny, maxx, maxy = utm.total_bounds
    assert minx >= grid.bounds[0] + 19 and maxx <= grid.bounds[2] - 19
    assert miny >= grid.bounds[1] + 19 and maxy <= grid.bounds[3] - 19
    # Only part of the land is labelled.
    assert utm.area.sum() < 0.9 * (grid.bounds[2] - grid.bounds[0]) * (grid.bounds[3] - grid.bounds[1])


def test_labels_agree_with_truth(demo_dir):
    grid = small_grid()
    labels = gpd.read_file(demo_dir / "labels.gpkg", layer="labels").to_crs(grid.crs)
    with rasterio.open(demo_dir / "truth.tif") as ds:
        truth = ds.read(1)
    from rasterio import features

    raster = features.rasterize(
        zip(labels.geometry, labels.class_code, strict=True), out_shape=grid.shape, transform=grid.transform
    )
    labelled = raster > 0
    assert np.mean(raster[labelled] == truth[labelled]) > 0.99


def test_failure_midway_leaves_no_out_dir(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(generate_module, "render_s2", boom)
    out = tmp_path / "data"
    stale = tmp_path / "data.tmp"
    stale.mkdir()
    (stale / "leftover").write_text("x")
    with pytest.raises(RuntimeError, match="simulated failure"):
        generate_demo_data(
            grid=small_grid(),
            start=PERIOD[0],
            end=dt.date(2021, 11, 10),
            seed=1,
            out_dir=out,
            cell_size_m=700.0,
        )
    assert not out.exists()
    assert not stale.exists()


def test_failure_keeps_previous_out_dir(tmp_path, monkeypatch):
    out = tmp_path / "data"
    out.mkdir()
    (out / "previous").write_text("kept")
    monkeypatch.setattr(generate_module, "render_s1", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        generate_demo_data(
            grid=small_grid(),
            start=PERIOD[0],
            end=dt.date(2021, 11, 10),
            seed=1,
            out_dir=out,
            cell_size_m=700.0,
        )
    assert (out / "previous").read_text() == "kept"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": dt.date(2023, 2, 1), "end": dt.date(2023, 1, 1)}, "period is empty"),
        ({"labeled_fraction": 0.0}, "labeled_fraction"),
        ({"sar_revisit_days": 0}, "revisit"),
    ],
)
def test_bad_settings_are_refused(tmp_path, kwargs, message):
    settings = {
        "grid": small_grid(),
        "start": dt.date(2023, 1, 1),
        "end": dt.date(2023, 1, 5),
        "seed": 0,
        "out_dir": tmp_path / "x",
    }
    with pytest.raises(ValueError, match=message):
        generate_demo_data(**{**settings, **kwargs})
    assert not (tmp_path / "x").exists()
