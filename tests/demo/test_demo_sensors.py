"""Sensor quirks of the demo imagery: S1 nodata and border noise, S2 offsets, SCL, empty months, DEM."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio
from demo_support import small_grid

from permafusion.demo.sentinel2 import SCL_VALUES, dn_offset, mgrs_tile, processing_baseline


def _items(demo_dir: Path, cid: str) -> list[pystac.Item]:
    features = json.loads((demo_dir / "stac" / "items" / f"{cid}.json").read_text())["features"]
    return [pystac.Item.from_dict(f, migrate=False) for f in features]


def _read(href: str) -> np.ndarray:
    with rasterio.open(href) as ds:
        return ds.read(1)


def test_s1_rasters_are_offset_larger_and_linear(demo_dir):
    grid = small_grid()
    items = _items(demo_dir, "sentinel-1-rtc")
    for item in items:
        t = item.properties["proj:transform"]
        h, w = item.properties["proj:shape"]
        # Larger than the grid, origin offset by whole 10 m pixels (readers must window).
        assert t[2] < grid.bounds[0] and t[5] > grid.bounds[3]
        assert (grid.bounds[0] - t[2]) % 10 == 0 and (t[5] - grid.bounds[3]) % 10 == 0
        assert h > grid.shape[0] and w > grid.shape[1]
    vv = _read(items[0].assets["vv"].href)
    assert vv.dtype == np.float32
    valid = vv[(vv > 0)]
    # Linear gamma0 power, not dB.
    assert 0.005 < float(np.median(valid)) < 0.3


def test_s1_nodata_and_border_noise_present(demo_dir):
    items = _items(demo_dir, "sentinel-1-rtc")
    nodata = zeros = 0
    for item in items:
        vv = _read(item.assets["vv"].href)
        nodata += int((vv == -32768).any())
        zeros += int((vv == 0).any())
        with rasterio.open(item.assets["vv"].href) as ds:
            assert ds.nodata == -32768
    assert nodata > 0 and zeros > 0
    assert zeros < len(items)  # a few scenes, not all


def test_s1_revisit_and_orbit_alternation(demo_dir):
    items = sorted(_items(demo_dir, "sentinel-1-rtc"), key=lambda i: i.datetime)
    gaps = np.diff([i.datetime.date().toordinal() for i in items])
    assert gaps.min() >= 6 - 1 and np.median(gaps) <= 7
    states = [i.properties["sat:orbit_state"] for i in items]
    assert states.count("ascending") > 2 and states.count("descending") > 2


def test_s1_freeze_thaw_cycle_in_a_year(tmp_path):
    from permafusion.demo.generate import _rng
    from permafusion.demo.scene import build_scene
    from permafusion.demo.sentinel1 import plan_s1_acquisitions, render_s1

    grid = small_grid()
    scene = build_scene(
        grid=grid, start=dt.date(2023, 1, 1), end=dt.date(2023, 12, 31), rng=_rng(5, 0), cell_size_m=700.0
    )
    plan = plan_s1_acquisitions(
        start=dt.date(2023, 1, 1), end=dt.date(2023, 12, 31), revisit_days=6, lon=92.9, rng=_rng(5, 3)
    )
    by_month: dict[int, list[float]] = {}
    stable = None
    for acq in plan:
        vv, _, raster = render_s1(scene, acq, _rng(5, 4, acq.index))
        classes = scene.class_map[raster.rows, raster.cols]
        stable = (classes == 1) & (vv > 0)
        by_month.setdefault(acq.start.month, []).append(float(vv[stable].mean()))
    winter = 10 * np.log10(np.mean(by_month[2]))
    summer = 10 * np.log10(np.mean(by_month[7]))
    assert summer - winter > 3.0  # frozen ground is several dB darker


def test_s2_dn_offset_rule_around_baseline_04(demo_dir):
    items = _items(demo_dir, "sentinel-2-l2a")
    before = [i for i in items if i.datetime.date() < dt.date(2022, 1, 25)]
    after = [i for i in items if i.datetime.date() >= dt.date(2022, 1, 25)]
    assert before and after
    medians: dict[str, list[float]] = {"before": [], "after": []}
    for group, subset in (("before", before), ("after", after)):
        for item in subset:
            baseline = item.properties["s2:processing_baseline"]
            assert (baseline >= "04.00") == (group == "after")
            offset = dn_offset(baseline)
            scl = _read(item.assets["SCL"].href)
            b11 = _read(item.assets["B11"].href).astype(float)
            clear = np.isin(scl, [4, 5])
            if clear.mean() < 0.05:
                continue
            if group == "after":
                assert b11[scl > 0].min() >= 1000 - 100  # reflectance >= ~0 plus the +1000 offset
            medians[group].append(float(np.median((b11[clear] - offset) / 10000)))
    assert medians["before"] and medians["after"]
    # Once harmonised, bare/vegetated SWIR reflectance is the same on both sides of the change.
    assert abs(np.median(medians["before"]) - np.median(medians["after"])) < 0.05


def test_processing_baseline_schedule():
    assert processing_baseline(dt.date(2022, 1, 24)) < "04.00" <= processing_baseline(dt.date(2022, 1, 25))
    assert dn_offset("05.09") == 1000 and dn_offset("02.14") == 0
    # Checked against real PC items (T46XER, T58VFJ): the 100 km square letters of the tile centres.
    assert mgrs_tile(95.4, 81.4, 32646, 554880.0, 9045120.0) == "46XER"
    assert mgrs_tile(168.3, 57.2, 32658, 654900.0, 6345120.0) == "58VFJ"


def test_no_optical_scenes_in_december_or_january(demo_dir):
    months = {i.datetime.month for i in _items(demo_dir, "sentinel-2-l2a")}
    assert months.isdisjoint({12, 1})
    assert months == {11, 2}


def test_scl_values_and_consistency(demo_dir):
    seen: set[int] = set()
    for item in _items(demo_dir, "sentinel-2-l2a"):
        offset = dn_offset(item.properties["s2:processing_baseline"])
        scl = _read(item.assets["SCL"].href)
        values = set(np.unique(scl).tolist())
        assert values <= SCL_VALUES
        seen |= values
        b02 = _read(item.assets["B02"].href)
        b02_20 = (b02.reshape(scl.shape[0], 2, scl.shape[1], 2).mean(axis=(1, 3)) - offset) / 10000
        b11 = (_read(item.assets["B11"].href).astype(float) - offset) / 10000
        b03 = (
            _read(item.assets["B03"].href).reshape(scl.shape[0], 2, scl.shape[1], 2).mean(axis=(1, 3))
            - offset
        ) / 1e4
        assert (b02[_up(scl == 0)] == 0).all()  # nodata DN where SCL says nodata
        if (scl == 9).any():
            assert b02_20[scl == 9].min() > 0.3  # thick clouds are bright
        if (scl == 8).any():
            assert np.median(b02_20[scl == 8]) > 0.15
        if (scl == 11).any():
            snow = scl == 11
            ndsi = (b03[snow] - b11[snow]) / (b03[snow] + b11[snow])
            assert ndsi.min() > 0.4 - 1e-3 and b03[snow].min() > 0.25 - 1e-3  # DNs round to 1e-4
        if (scl == 6).any():
            assert np.median(b02_20[scl == 6]) < 0.1  # open water is dark
        # eo:cloud_cover is recomputed from the SCL written.
        valid = scl > 0
        cover = 100 * np.isin(scl, [8, 9, 10]).sum() / max(valid.sum(), 1)
        assert item.properties["eo:cloud_cover"] == pytest.approx(cover, abs=1e-3)
    assert {3, 5, 8, 9, 11} <= seen


def test_cloud_shadows_are_dark_and_displaced():
    from permafusion.demo.generate import _rng
    from permafusion.demo.scene import build_scene
    from permafusion.demo.sentinel2 import plan_s2_acquisitions, render_s2

    start, end = dt.date(2023, 7, 1), dt.date(2023, 8, 31)
    scene = build_scene(grid=small_grid(), start=start, end=end, rng=_rng(2, 0), cell_size_m=700.0)
    plan = plan_s2_acquisitions(start=start, end=end, revisit_days=5, lon=92.9, rng=_rng(2, 5))
    checked = 0
    for acq in plan:
        r = render_s2(scene, acq, _rng(2, 6, acq.index), lat=34.8)
        shadow, clear = r.scl == 3, np.isin(r.scl, [4, 5])
        if shadow.sum() < 50 or clear.sum() < 50:
            continue
        swir = (r.dn["B11"].astype(float) - dn_offset(r.baseline)) / 10000  # 20 m, like SCL
        assert np.median(swir[shadow]) < 0.75 * np.median(swir[clear])
        clouds = np.isin(r.scl, [8, 9])
        assert not (shadow & clouds).any()
        checked += 1
    assert checked >= 2


def _up(mask: np.ndarray) -> np.ndarray:
    return np.repeat(np.repeat(mask, 2, axis=0), 2, axis=1)


def test_dem_is_a_plateau_in_lonlat(demo_dir):
    items = _items(demo_dir, "cop-dem-glo-30")
    for item in items:
        with rasterio.open(item.assets["data"].href) as ds:
            assert ds.crs.to_epsg() == 4326 and ds.dtypes[0] == "float32"
            assert ds.res[1] == pytest.approx(1 / 3600)
            z = ds.read(1)
        assert z.min() > 4450 and z.max() < 4750
        west, south, east, north = item.bbox
        grid_lonlat = (
            pystac.ItemCollection.from_file(str(demo_dir / "stac" / "items" / "sentinel-1-rtc.json"))
            .items[0]
            .bbox
        )
        assert west < grid_lonlat[2] and east > grid_lonlat[0]
