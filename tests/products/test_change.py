"""The transition map and table of two class maps, on hand-made maps."""

import numpy as np
import pytest
import rasterio

from permafusion.core.classes import ClassScheme
from permafusion.geo.grid import GridSpec
from permafusion.products.change import (
    transition_codes,
    transition_scheme,
    transition_table,
    write_change_products,
)
from permafusion.products.maps import write_class_cog

SCHEME = ClassScheme(
    title="state", names={1: "stable", 2: "deepening", 3: "thaw"}, colors={2: (0, 100, 0, 255)}
)


def test_codes_and_table_count_every_transition():
    before = np.array([[1, 1, 2, 3], [0, 2, 2, 3]], np.uint8)
    after = np.array([[1, 2, 2, 1], [1, 0, 3, 3]], np.uint8)
    codes = transition_codes(before, after, num_classes=3)
    # (a - 1) * 3 + b: 1->1 = 1, 1->2 = 2, 2->2 = 5, 3->1 = 7, 2->3 = 6, 3->3 = 9; no data either side -> 0
    np.testing.assert_array_equal(codes, [[1, 2, 5, 7], [0, 0, 6, 9]])
    table = transition_table(before, after, resolution=10.0, scheme=SCHEME)
    assert len(table) == 9 and table["pixels"].sum() == 6
    pairs = {(r.from_code, r.to_code): r for r in table.itertuples()}
    assert pairs[(1, 2)].pixels == 1 and pairs[(1, 2)].area_km2 == pytest.approx(1e-4)
    assert pairs[(1, 2)].from_class == "stable" and pairs[(1, 2)].to_class == "deepening"
    assert pairs[(3, 3)].pixels == 1 and not pairs[(3, 3)].changed and pairs[(3, 1)].changed
    assert pairs[(2, 1)].pixels == 0


def test_bad_maps_are_refused():
    with pytest.raises(ValueError, match="differ in shape"):
        transition_codes(np.ones((2, 2), np.uint8), np.ones((2, 3), np.uint8), num_classes=3)
    with pytest.raises(ValueError, match="second map holds code 4"):
        transition_codes(np.ones((2, 2), np.uint8), np.full((2, 2), 4, np.uint8), num_classes=3)


def test_the_change_map_is_a_class_map_with_names_and_colours(tmp_path):
    scheme = transition_scheme(SCHEME, title="change 2019 -> 2023")
    assert scheme.num_classes == 9 and scheme.name_of(2) == "stable -> deepening"
    assert scheme.colors[2] == (0, 100, 0, 255)  # changed: the colour of the class it became
    assert scheme.colors[5] == (127, 177, 127, 255)  # unchanged: paler
    grid = GridSpec(32646, (500000.0, 3850000.0, 500040.0, 3850020.0), 10.0)
    codes = transition_codes(
        np.array([[1, 1, 2, 3], [0, 2, 2, 3]], np.uint8),
        np.array([[1, 2, 2, 1], [1, 0, 3, 3]], np.uint8),
        num_classes=3,
    )
    write_class_cog(codes, grid, tmp_path / "change.tif", scheme=scheme)
    with rasterio.open(tmp_path / "change.tif") as dataset:
        np.testing.assert_array_equal(dataset.read(1), codes)
        assert dataset.tags(1)["CLASS_7"] == "thaw -> stable" and dataset.nodata == 0


def test_change_products_of_two_map_files(tmp_path):
    grid = GridSpec(32646, (500000.0, 3850000.0, 500040.0, 3850020.0), 10.0)
    write_class_cog(np.array([[1, 1, 2, 3], [0, 2, 2, 3]], np.uint8), grid, tmp_path / "a.tif", scheme=SCHEME)
    write_class_cog(np.array([[1, 2, 2, 1], [1, 0, 3, 3]], np.uint8), grid, tmp_path / "b.tif", scheme=SCHEME)
    paths = {
        "map_path": tmp_path / "c.tif",
        "style_path": tmp_path / "c.qml",
        "table_path": tmp_path / "c.csv",
    }
    table = write_change_products(tmp_path / "a.tif", tmp_path / "b.tif", scheme=SCHEME, title="t", **paths)
    assert table.loc[table["changed"], "pixels"].sum() == 3
    assert "stable -&gt; deepening" in (tmp_path / "c.qml").read_text()
    with rasterio.open(tmp_path / "c.tif") as dataset:
        assert dataset.read(1)[0, 3] == 7
    other = GridSpec(32646, (500010.0, 3850000.0, 500050.0, 3850020.0), 10.0)
    write_class_cog(np.ones((2, 4), np.uint8), other, tmp_path / "shifted.tif", scheme=SCHEME)
    with pytest.raises(ValueError, match="a.tif and .*shifted.tif are on different grids"):
        write_change_products(tmp_path / "a.tif", tmp_path / "shifted.tif", scheme=SCHEME, title="t", **paths)
