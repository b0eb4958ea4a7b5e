import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from permafusion.geo.grid import GridSpec
from permafusion.geo.labels import LabelError, rasterize_labels, read_labels
from permafusion.tasks.degradation.classes import DEGRADATION

GRID = GridSpec(32646, (488000, 3850000, 489280, 3851280), 10)  # 128 x 128


def _write(tmp_path, codes, geoms, crs="EPSG:32646", column="class_code"):
    path = tmp_path / "labels.gpkg"
    gpd.GeoDataFrame({column: codes}, geometry=geoms, crs=crs).to_file(path, layer="labels")
    return path


def test_polygons_burn_their_codes_and_overlaps_stay_unlabeled(tmp_path):
    path = _write(
        tmp_path,
        [1, 3, 2],
        [
            box(488000, 3850640, 488640, 3851280),  # top-left quarter
            box(488640, 3850000, 489280, 3850640),  # bottom-right quarter
            box(488320, 3850640, 488960, 3850960),
        ],
    )  # overlaps class 1
    raster = rasterize_labels(read_labels(path, scheme=DEGRADATION), GRID, scheme=DEGRADATION)
    assert raster.dtype == np.uint8 and raster.shape == (128, 128)
    assert raster[0, 0] == 1 and raster[127, 127] == 3 and raster[127, 0] == 0
    assert raster[40, 40] == 0  # claimed by classes 1 and 2: ambiguous, ignored
    assert raster[40, 80] == 2


def test_lonlat_labels_are_reprojected(tmp_path):
    path = _write(tmp_path, [4], [box(92.8, 34.7, 93.0, 34.9)], crs="EPSG:4326")
    assert (rasterize_labels(read_labels(path, scheme=DEGRADATION), GRID, scheme=DEGRADATION) == 4).all()


def test_missing_unreadable_and_wrong_label_files_say_what_to_change(tmp_path):
    with pytest.raises(LabelError, match="does not exist.*labels"):
        read_labels(tmp_path / "nope.gpkg", scheme=DEGRADATION)
    broken = tmp_path / "broken.gpkg"
    broken.write_bytes(b"not a geopackage")
    with pytest.raises(LabelError, match="unreadable"):
        read_labels(broken, scheme=DEGRADATION)
    with pytest.raises(LabelError, match="row 0: 7, not a class"):
        read_labels(_write(tmp_path, [7], [box(0, 0, 1, 1)]), scheme=DEGRADATION)
    with pytest.raises(LabelError, match="no `class_code` column"):
        read_labels(_write(tmp_path, [1], [box(0, 0, 1, 1)], column="kind"), scheme=DEGRADATION)


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        ([1, 2.7], r"row 1: 2.7, not a whole number"),
        ([1, float("nan")], r"row 1: nan, empty or not a number"),
        (["1", "talik"], r"row 1: 'talik', empty or not a number"),
        ([4, 9], r"row 1: 9, not a class"),
    ],
)
def test_class_values_that_are_not_codes_name_the_file_column_and_rows(tmp_path, codes, message):
    path = _write(tmp_path, codes, [box(0, 0, 1, 1), box(1, 1, 2, 2)])
    with pytest.raises(LabelError, match=message) as error:
        read_labels(path, scheme=DEGRADATION)
    assert str(path) in str(error.value) and "column `class_code`" in str(error.value)
    assert "allowed (permafrost degradation class): [1, 2, 3, 4]" in str(error.value)


def test_whole_floats_and_numeric_text_are_read_as_codes(tmp_path):
    path = _write(tmp_path, [1.0, 4.0], [box(0, 0, 1, 1), box(1, 1, 2, 2)])
    assert read_labels(path, scheme=DEGRADATION)["class_code"].tolist() == [1, 4]
