"""End to end on small local GeoTIFFs: items -> stackstac -> composite on an offset grid."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio
import zarr
from rasterio.transform import from_origin
from zarr.codecs import BloscCodec

from permafusion.composite import (
    AssetReadError,
    OpticalSettings,
    SarSettings,
    build_optical_composite,
    build_sar_composite,
    open_composite,
    write_composite,
)
from permafusion.geo.grid import GridSpec

EPSG = 32633
X0, Y0 = 500000.0, 7000200.0  # top-left corner of every file
# Grid: 10 m, origin 30 m east / 10 m south of the files, i.e. off the 20 m grid by half a pixel.
GRID = GridSpec(EPSG, (X0 + 30, Y0 - 170, X0 + 190, Y0 - 10), 10.0)
ROW0, COL0 = 1, 3  # grid pixel (0, 0) is file pixel (1, 3) at 10 m


def write_tif(path: Path, data: np.ndarray, res: float, nodata: float | None, tile: int | None = None) -> str:
    tiling = {} if tile is None else {"tiled": True, "blockxsize": tile, "blockysize": tile}
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=data.shape[0],
        width=data.shape[1],
        count=1,
        dtype=data.dtype,
        crs=f"EPSG:{EPSG}",
        transform=from_origin(X0, Y0, res, res),
        nodata=nodata,
        **tiling,
    ) as ds:
        ds.write(data, 1)
    return str(path)


def s1_item(tmp: Path, name: str, when: datetime, orbit: int, vv: np.ndarray, vh: np.ndarray) -> pystac.Item:
    props = {
        "platform": "SENTINEL-1A",
        "sat:relative_orbit": orbit,
        "proj:epsg": EPSG,
        "proj:shape": list(vv.shape),
        "proj:transform": [10.0, 0.0, X0, 0.0, -10.0, Y0, 0.0, 0.0, 1.0],
    }
    item = pystac.Item(name, None, [15.0, 63.0, 15.1, 63.1], when, props)
    for key, arr in (("vv", vv), ("vh", vh)):
        href = write_tif(tmp / f"{name}-{key}.tif", arr.astype(np.float32), 10.0, -32768.0)
        item.add_asset(
            key,
            pystac.Asset(
                href,
                media_type=pystac.MediaType.COG,
                extra_fields={"raster:bands": [{"nodata": -32768, "data_type": "float32"}]},
            ),
        )
    return item


def s2_item(
    tmp: Path,
    name: str,
    when: datetime,
    baseline: str,
    dn10: np.ndarray,
    dn20: np.ndarray,
    scl: np.ndarray,
    tile: int | None = None,
) -> pystac.Item:
    props = {
        "platform": "Sentinel-2A",
        "sat:relative_orbit": 22,
        "proj:epsg": EPSG,
        "s2:processing_baseline": baseline,
    }
    item = pystac.Item(name, None, [15.0, 63.0, 15.1, 63.1], when, props)
    bands = {
        "B02": (dn10, 10.0),
        "B03": (dn10 + 1, 10.0),
        "B04": (dn10 + 2, 10.0),
        "B08": (dn10 + 3, 10.0),
        "B11": (dn20, 20.0),
        "B12": (dn20 + 1, 20.0),
        "SCL": (scl, 20.0),
    }
    for key, (arr, res) in bands.items():
        href = write_tif(
            tmp / f"{name}-{key}.tif", arr.astype(np.uint16 if key != "SCL" else np.uint8), res, 0, tile
        )
        item.add_asset(
            key,
            pystac.Asset(
                href,
                media_type=pystac.MediaType.COG,
                extra_fields={"proj:shape": list(arr.shape), "proj:transform": [res, 0.0, X0, 0.0, -res, Y0]},
            ),
        )
    return item


def grid_window(arr: np.ndarray) -> np.ndarray:
    h, w = GRID.shape
    return arr[ROW0 : ROW0 + h, COL0 : COL0 + w]


def on_grid_20m(arr: np.ndarray) -> np.ndarray:
    """Nearest 20 m value at each grid pixel centre."""
    h, w = GRID.shape
    rows = ((ROW0 + np.arange(h) + 0.5) * 10 // 20).astype(int)
    cols = ((COL0 + np.arange(w) + 0.5) * 10 // 20).astype(int)
    return arr[np.ix_(rows, cols)]


def check_grid(ds):
    h, w = GRID.shape
    assert ds.sizes["y"] == h and ds.sizes["x"] == w
    np.testing.assert_array_equal(ds.x.values, GRID.bounds[0] + 5 + 10 * np.arange(w))
    np.testing.assert_array_equal(ds.y.values, GRID.bounds[3] - 5 - 10 * np.arange(h))
    assert ds.attrs["epsg"] == EPSG and ds.attrs["resolution"] == 10.0
    assert ds.attrs["transform"] == [10.0, 0.0, GRID.bounds[0], 0.0, -10.0, GRID.bounds[3]]
    assert ds.rio.crs.to_epsg() == EPSG
    assert ds.valid_count.dtype == np.uint16 and ds.valid_count.dims == ("time", "y", "x")


def test_sar_composite_lands_on_the_grid(sar_items, tmp_path):
    items, a, b = sar_items
    before = [it.to_dict() for it in items]
    calls = []

    def sign(item):
        calls.append(item.id)
        return item

    months = ["2024-01", "2024-02", "2024-03"]
    ds = build_sar_composite(
        items,
        grid=GRID,
        months=months,
        settings=SarSettings(speckle_filter="none", chunksize=16),
        sign=sign,
        threads=2,
    )
    check_grid(ds)
    assert [it.to_dict() for it in items] == before and sorted(calls) == ["s1-a", "s1-b", "s1-c"]
    assert list(ds.band.values) == ["vv", "vh"] and ds.backscatter.dtype == np.float32
    np.testing.assert_array_equal(
        ds.time.values, np.array(["2024-01-01", "2024-02-01", "2024-03-01"], dtype="datetime64[ns]")
    )
    wa, wb = grid_window(a), grid_window(b)
    valid_a, valid_b = wa > 0, wb > 0
    count = valid_a.astype(int) + valid_b
    mean = (np.where(valid_a, wa, 0) + np.where(valid_b, wb, 0)) / count
    np.testing.assert_array_equal(ds.valid_count[0], count)
    np.testing.assert_allclose(ds.backscatter.sel(band="vv")[0], 10 * np.log10(mean), rtol=1e-5)
    np.testing.assert_allclose(ds.backscatter.sel(band="vh")[0], 10 * np.log10(mean / 4), rtol=1e-5)
    assert count.min() == 1  # the nodata and zero pixels fell inside the grid
    # empty February: all NaN, count 0
    assert np.isnan(ds.backscatter[1]).all() and (ds.valid_count[1] == 0).all()
    np.testing.assert_allclose(
        ds.backscatter.sel(band="vv")[2], 10 * np.log10(np.where(valid_a, 2 * wa, np.nan)), rtol=1e-5
    )

    store = write_composite(ds, tmp_path / "sar.zarr")
    assert not (tmp_path / "sar.zarr.tmp").exists()
    back = open_composite(store)
    check_grid(back)
    np.testing.assert_array_equal(back.backscatter.values, ds.backscatter.values)
    np.testing.assert_array_equal(back.valid_count.values, ds.valid_count.values)
    for name in ("backscatter", "valid_count"):  # LZ4 over shuffled bytes: a fifth of Zstandard's CPU
        (codec,) = zarr.open_array(store / name, mode="r").compressors
        assert isinstance(codec, BloscCodec)
        assert (codec.cname.value, codec.shuffle.value) == ("lz4", "shuffle")


def test_sar_lee_filter_runs_on_the_month(sar_items):
    items, _, _ = sar_items
    ds = build_sar_composite(items, grid=GRID, months=["2024-01"], settings=SarSettings(window=3))
    assert np.isfinite(ds.backscatter).all()


def test_optical_composite_harmonizes_masks_and_resamples(tmp_path):
    rng = np.random.default_rng(2)
    dn10 = rng.integers(200, 5000, (30, 30))
    dn20 = rng.integers(200, 5000, (15, 15))
    scl_old = np.full((15, 15), 4)
    scl_old[2, 3] = 9  # cloud over one 20 m cell -> four 10 m pixels
    scl_new = np.full((15, 15), 5)
    scl_new[2, 3] = 9
    scl_new[4, 4] = 11  # snow
    old = s2_item(tmp_path, "s2-old", datetime(2021, 7, 3, tzinfo=UTC), "02.14", dn10, dn20, scl_old)
    new = s2_item(
        tmp_path, "s2-new", datetime(2022, 7, 3, tzinfo=UTC), "04.00", dn10 + 1000, dn20 + 1000, scl_new
    )
    months = ["2021-07", "2021-08", "2022-07"]
    ds = build_optical_composite([new, old], grid=GRID, months=months, settings=OpticalSettings(chunksize=16))
    check_grid(ds)
    assert list(ds.band.values) == ["B02", "B03", "B04", "B08", "B11", "B12"]

    cloud = on_grid_20m(scl_old) == 9
    snow = on_grid_20m(scl_new) == 11
    assert cloud.sum() == 4 and snow.sum() == 4  # one 20 m cell = four 10 m pixels
    for t, masked in ((0, cloud), (2, cloud | snow)):
        refl = ds.reflectance[t]
        # the 2022 scene has DN + 1000 and baseline 04.00: same reflectance after harmonizing
        expected_b02 = np.where(masked, np.nan, grid_window(dn10) / 10000)
        np.testing.assert_allclose(refl.sel(band="B02"), expected_b02, rtol=1e-6)
        np.testing.assert_allclose(refl.sel(band="B08"), expected_b02 + 3e-4, rtol=1e-6)
        expected_b11 = np.where(masked, np.nan, on_grid_20m(dn20) / 10000)
        np.testing.assert_allclose(refl.sel(band="B11"), expected_b11, rtol=1e-6)
        np.testing.assert_allclose(refl.sel(band="B12"), expected_b11 + 1e-4, rtol=1e-6)
    assert np.isnan(ds.reflectance[2].values[:, snow]).all()
    np.testing.assert_array_equal(ds.valid_count[0], (~cloud).astype(int))
    np.testing.assert_array_equal(ds.valid_count[2], (~cloud & ~snow).astype(int))
    assert np.isnan(ds.reflectance[1]).all() and (ds.valid_count[1] == 0).all()

    # keeping snow: drop class 11 from the mask
    keep_snow = OpticalSettings(mask_classes=(0, 1, 3, 8, 9, 10), chunksize=16)
    ds2 = build_optical_composite([new], grid=GRID, months=["2022-07"], settings=keep_snow)
    assert np.isfinite(ds2.reflectance[0].values[:, snow]).all()


def test_missing_file_raises_naming_it(sar_items, tmp_path):
    items, _, _ = sar_items
    missing = tmp_path / "s1-a-vv.tif"
    missing.unlink()
    with pytest.raises(AssetReadError, match=r"'vv' of item 's1-a'.*s1-a-vv\.tif"):
        build_sar_composite(items, grid=GRID, months=["2024-01"], settings=SarSettings())


def test_corrupt_file_raises_and_signed_href_stays_secret(sar_items, tmp_path):
    items, _, _ = sar_items
    (tmp_path / "s1-b-vh.tif").write_bytes(b"II*\x00 not really a tiff")

    def sign(item):
        for asset in item.assets.values():
            asset.href = asset.href + "?sig=SECRET"  # a SAS token: must never reach a message
        return item

    with pytest.raises(AssetReadError) as info:
        build_sar_composite(items[:2], grid=GRID, months=["2024-01"], settings=SarSettings(), sign=sign)
    assert "SECRET" not in str(info.value) and "s1-" in str(info.value)
    assert "SECRET" not in items[0].assets["vv"].href


def test_optical_bilinear_20m_and_proj_code_items(tmp_path):
    dn10 = np.full((30, 30), 1500)
    dn20 = np.full((15, 15), 2500)
    item = s2_item(
        tmp_path, "s2", datetime(2021, 7, 3, tzinfo=UTC), "02.14", dn10, dn20, np.full((15, 15), 4)
    )
    del item.properties["proj:epsg"]
    item.properties["proj:code"] = f"EPSG:{EPSG}"  # projection extension v2 spelling
    settings = OpticalSettings(resampling_20m="bilinear", chunksize=16)
    ds = build_optical_composite([item], grid=GRID, months=["2021-07"], settings=settings, threads=2)
    np.testing.assert_allclose(ds.reflectance.sel(band="B11")[0], 0.25, rtol=1e-6)
    np.testing.assert_allclose(ds.reflectance.sel(band="B02")[0], 0.15, rtol=1e-6)
    assert (ds.valid_count[0] == 1).all()


def test_overlapping_slices_of_one_pass_count_once(tmp_path):
    a = np.full((30, 30), 0.1)
    when = datetime(2024, 1, 5, 4, 57, tzinfo=UTC)
    items = [
        s1_item(tmp_path, "slice-27", when, 51, a, a),
        s1_item(tmp_path, "slice-28", when.replace(minute=58), 51, 3 * a, 3 * a),
    ]
    ds = build_sar_composite(
        items, grid=GRID, months=["2024-01"], settings=SarSettings(speckle_filter="none")
    )
    assert (ds.valid_count[0] == 1).all()  # one acquisition, not two
    np.testing.assert_allclose(ds.backscatter[0], -10.0, rtol=1e-6)  # first slice in time order wins
