import datetime

import numpy as np
import pystac
import pytest
import rasterio
from rasterio.transform import from_origin

from permafusion.composite.terrain import build_terrain, slope_degrees, write_terrain
from permafusion.geo.grid import GridSpec


def test_slope_of_a_plane_matches_its_gradient():
    rows, cols = np.mgrid[0:20, 0:30]
    # rises 1 m per 10 m pixel eastwards: slope atan(0.1)
    elevation = (cols * 1.0).astype(np.float32)
    np.testing.assert_allclose(slope_degrees(elevation, 10.0), np.degrees(np.arctan(0.1)), rtol=1e-6)
    flat = np.full((5, 5), 4600.0, np.float32)
    assert (slope_degrees(flat, 10.0) == 0).all()


def _dem_item(tmp_path, name, west, north, values):
    path = tmp_path / f"{name}.tif"
    res = 1 / 3600
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        dtype="float32",
        count=1,
        height=values.shape[0],
        width=values.shape[1],
        crs="EPSG:4326",
        transform=from_origin(west, north, res, res),
    ) as ds:
        ds.write(values, 1)
    bbox = [west, north - values.shape[0] * res, west + values.shape[1] * res, north]
    item = pystac.Item(
        name,
        {
            "type": "Polygon",
            "coordinates": [
                [
                    [bbox[0], bbox[1]],
                    [bbox[2], bbox[1]],
                    [bbox[2], bbox[3]],
                    [bbox[0], bbox[3]],
                    [bbox[0], bbox[1]],
                ]
            ],
        },
        bbox,
        datetime.datetime(2021, 4, 22, tzinfo=datetime.UTC),
        {
            "proj:epsg": 4326,
            "proj:shape": list(values.shape),
            "proj:transform": [res, 0, west, 0, -res, north],
        },
    )
    item.add_asset("data", pystac.Asset(str(path), media_type="image/tiff; application=geotiff"))
    return item


def test_two_dem_tiles_are_mosaicked_onto_the_utm_grid(tmp_path):
    # two 1-arcsecond DEM tiles side by side at 92.9 E: a plane rising northwards
    rows = np.arange(360, dtype=np.float32)[:, None]
    west = _dem_item(tmp_path, "w", 92.85, 34.85, np.repeat(4700 - rows, 180, axis=1))
    east = _dem_item(tmp_path, "e", 92.90, 34.85, np.repeat(4700 - rows, 180, axis=1))
    grid = GridSpec(32646, (487000.0, 3846000.0, 495000.0, 3853000.0), 10.0)
    terrain = build_terrain([west, east], grid=grid)
    assert terrain.shape == (2, *grid.shape) and not np.isnan(terrain).any()
    # northward rise of 1 m per arcsecond (about 30.8 m): slope about atan(1/30.8), 1.86 degrees
    assert np.median(terrain[1]) == pytest.approx(1.86, abs=0.05)
    assert terrain[0, 0, 0] > terrain[0, -1, 0]  # higher in the north
    write_terrain(terrain, grid, tmp_path / "terrain.tif")
    with rasterio.open(tmp_path / "terrain.tif") as ds:
        assert ds.descriptions == ("elevation", "slope") and ds.crs.to_epsg() == 32646
        np.testing.assert_allclose(ds.read(), terrain)


def test_uncovered_tile_is_an_error_not_no_data(tmp_path):
    item = _dem_item(tmp_path, "w", 92.85, 34.85, np.full((100, 100), 4600, np.float32))
    grid = GridSpec(32646, (487000.0, 3846000.0, 495000.0, 3853000.0), 10.0)
    with pytest.raises(ValueError, match="without elevation"):
        build_terrain([item], grid=grid)
    with pytest.raises(ValueError, match="no DEM item"):
        build_terrain([], grid=grid)
