"""Polygons of a mask and of a class map, the minimum mapping unit, and the probability COGs."""

import geopandas as gpd
import numpy as np
import pytest
import rasterio

from permafusion.core.classes import ClassScheme
from permafusion.geo.grid import GridSpec
from permafusion.products.maps import write_class_probability_cog
from permafusion.products.rasters import read_fraction_cog, write_fraction_cog
from permafusion.products.vectors import (
    concat_vector_files,
    polygonize_classes,
    polygonize_mask,
    write_vectors,
)

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


SCHEME4 = ClassScheme(title="degradation", names={1: "stable", 2: "deepening", 3: "thermokarst", 4: "talik"})


def test_class_patches_become_polygons_with_class_area_probability_and_tile(tmp_path):
    classes = np.ones(GRID.shape, np.uint8)  # 30 x 40 px: class 1 everywhere else
    classes[0:2, :] = 0  # no data: no polygon
    classes[5:10, 5:15] = 3  # 50 px = 5000 m2
    classes[20:23, 30:33] = 3  # 9 px = 900 m2: below the unit
    classes[15:25, 0:4] = 4  # 40 px = 4000 m2
    probabilities = np.zeros((4, *GRID.shape), np.float32)
    probabilities[0] = 0.7
    probabilities[2, 5:10, 5:10] = 0.9  # the thermokarst patch: half 0.9, half 0.5 -> 0.7
    probabilities[2, 5:10, 10:15] = 0.5
    probabilities[3] = 0.6
    valid = classes > 0
    probabilities[:, ~valid] = np.nan
    write_fraction_cog(
        probabilities, GRID, tmp_path / "p.tif", descriptions=[f"class {c}" for c in range(1, 5)]
    )
    stored = read_fraction_cog(tmp_path / "p.tif")
    assert np.isnan(stored[:, 0:2]).all() and stored[2, 6, 6] == pytest.approx(0.9)

    frame = polygonize_classes(
        classes, GRID, scheme=SCHEME4, min_area_m2=1000, probabilities=stored, attributes={"tile": "t1"}
    )
    by_class = frame.set_index("class_code")
    assert list(frame["class_code"]) == [1, 3, 4] and list(frame["id"]) == [1, 2, 3]
    assert by_class.loc[3, "area_m2"] == 5000.0 and by_class.loc[3, "class_name"] == "thermokarst"
    assert by_class.loc[4, "area_m2"] == 4000.0 and by_class.loc[4, "pixels"] == 40
    # class 1: all valid pixels minus the other classes' (the 9 px thermokarst patch is a hole in it)
    assert by_class.loc[1, "area_m2"] == (28 * 40 - 50 - 9 - 40) * 100.0
    assert frame.geometry.area.tolist() == pytest.approx(frame["area_m2"].tolist())
    assert by_class.loc[3, "mean_probability"] == pytest.approx(0.7, abs=0.005)
    assert by_class.loc[4, "mean_probability"] == pytest.approx(0.6, abs=0.005)
    assert set(frame["tile"]) == {"t1"} and frame.crs.to_epsg() == 32608

    # a second tile in another UTM zone joins on the map's CRS, ids renumbered
    write_vectors(frame, parquet=tmp_path / "a.parquet")
    write_vectors(frame.to_crs(32609).assign(tile="t2"), parquet=tmp_path / "b.parquet")
    joined = concat_vector_files([tmp_path / "a.parquet", tmp_path / "b.parquet"], crs=GRID.crs)
    assert len(joined) == 6 and list(joined["id"]) == list(range(1, 7)) and joined.crs.to_epsg() == 32608
    assert joined.geometry.area.iloc[3:].tolist() == pytest.approx(frame.geometry.area.tolist(), rel=1e-3)

    unknown = polygonize_classes(classes, GRID, scheme=SCHEME4)
    assert unknown["mean_probability"].isna().all() and len(unknown) == 4  # no unit: the 9 px patch too
