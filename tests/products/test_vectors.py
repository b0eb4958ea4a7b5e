"""Polygons of a mask, the minimum mapping unit, and the two-band class + probability COG."""

import geopandas as gpd
import numpy as np
import pytest
import rasterio

from permafusion.core.classes import ClassScheme
from permafusion.geo.grid import GridSpec
from permafusion.products.maps import write_class_probability_cog
from permafusion.products.vectors import polygonize_mask, write_vectors

GRID = GridSpec(32608, (500000.0, 7700000.0, 500400.0, 7700300.0), 10.0)
SCHEME = ClassScheme(title="slump", names={1: "background", 2: "slump"})


def test_objects_become_polygons_with_area_and_the_small_ones_are_dropped(tmp_path):
    mask = np.zeros(GRID.shape, bool)
    mask[2:6, 3:8] = True  # 20 px = 2000 m2
    mask[10, 10] = True  # 100 m2
    mask[20:22, 20:22] = True
    mask[22, 22] = True  # touches diagonally: the same object (8-connected), 5 px
    values = np.full(GRID.shape, 0.8, np.float32)
    frame = polygonize_mask(
        mask, GRID, min_area_m2=200, attributes={"site": "a", "year": 2019}, values=values
    )
    assert sorted(frame["area_m2"]) == [500.0, 2000.0]
    assert frame.crs.to_epsg() == 32608 and set(frame["site"]) == {"a"}
    assert frame.geometry.area.sum() == pytest.approx(2500.0)
    assert frame["mean_value"].tolist() == pytest.approx([0.8, 0.8])
    write_vectors(frame, gpkg=tmp_path / "p.gpkg", parquet=tmp_path / "p.parquet", layer="slumps")
    assert len(gpd.read_file(tmp_path / "p.gpkg")) == 2 and len(gpd.read_parquet(tmp_path / "p.parquet")) == 2
    empty = polygonize_mask(np.zeros(GRID.shape, bool), GRID)
    write_vectors(empty, gpkg=tmp_path / "e.gpkg", parquet=tmp_path / "e.parquet")
    assert len(gpd.read_parquet(tmp_path / "e.parquet")) == 0


def test_class_and_probability_cog(tmp_path):
    classes = np.ones(GRID.shape, np.uint8)
    classes[:3] = 0
    classes[5:8, 5:8] = 2
    probability = np.full(GRID.shape, 0.1, np.float32)
    probability[5:8, 5:8] = 0.9
    write_class_probability_cog(classes, probability, GRID, tmp_path / "m.tif", scheme=SCHEME)
    with rasterio.open(tmp_path / "m.tif") as dataset:
        assert dataset.count == 2 and dataset.tags(1)["CLASS_2"] == "slump"
        assert dataset.scales == (1.0, 0.005)
        np.testing.assert_array_equal(dataset.read(1), classes)
        prob = dataset.read(2)
    assert prob[6, 6] == 180 and prob[10, 10] == 20 and (prob[:3] == 255).all()
