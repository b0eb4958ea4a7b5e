"""Dated slump polygons: reprojection, and errors that name the file and the fix."""

import geopandas as gpd
import pytest
import shapely

from permafusion.geo.grid import grid_for_bbox
from permafusion.geo.labels import LabelError
from permafusion.tasks.rts.labels import read_slump_labels, site_label_raster

AOI = (-133.40, 69.40, -133.30, 69.44)


def _write(tmp_path, frame, name="labels.gpkg"):
    path = tmp_path / name
    frame.to_file(path, driver="GPKG")
    return path


def _slump_utm():
    grid = grid_for_bbox(AOI)
    x, y = grid.bounds[0] + 1000, grid.bounds[1] + 1000
    return grid, shapely.box(x, y, x + 100, y + 50)


def test_polygons_in_another_crs_are_reprojected_and_burnt_per_year(tmp_path):
    grid, box = _slump_utm()
    frame = gpd.GeoDataFrame({"year": [2018, 2019]}, geometry=[box, box.buffer(20)], crs=grid.crs)
    labels = read_slump_labels(_write(tmp_path, frame), aoi_bbox=AOI)
    assert labels.crs.to_epsg() == 4326
    r2018 = site_label_raster(labels, grid, year=2018)
    r2019 = site_label_raster(labels, grid, year=2019)
    assert (r2018 == 2).sum() == 50 and (r2019 == 2).sum() > 50
    assert set(site_label_raster(labels, grid, year=2020).ravel()) == {1}


def test_a_date_column_gives_the_year(tmp_path):
    grid, box = _slump_utm()
    frame = gpd.GeoDataFrame({"date": ["2019-08-01"]}, geometry=[box], crs=grid.crs)
    assert read_slump_labels(_write(tmp_path, frame), aoi_bbox=AOI)["year"].tolist() == [2019]


def test_undated_labels_outside_polygons_and_empty_files_are_refused(tmp_path):
    grid, box = _slump_utm()
    undated = _write(tmp_path, gpd.GeoDataFrame({"id": [1]}, geometry=[box], crs=grid.crs), "undated.gpkg")
    with pytest.raises(LabelError, match=r"undated.gpkg has no `year` or `date` column.*add a `year`"):
        read_slump_labels(undated, aoi_bbox=AOI)
    far = shapely.box(10.0, 50.0, 10.1, 50.1)
    outside = _write(tmp_path, gpd.GeoDataFrame({"year": [2018]}, geometry=[far], crs=4326), "outside.gpkg")
    with pytest.raises(LabelError, match=r"outside.gpkg.*outside the AOI bbox.*CRS"):
        read_slump_labels(outside, aoi_bbox=AOI)
    mixed = gpd.GeoDataFrame({"year": [2018, 2018]}, geometry=[box, far], crs=grid.crs)
    with pytest.raises(LabelError, match="1 of 2 polygons lie outside"):
        read_slump_labels(_write(tmp_path, mixed.to_crs(4326), "mixed.gpkg"), aoi_bbox=AOI)
    empty = _write(tmp_path, gpd.GeoDataFrame({"year": []}, geometry=[], crs=4326), "empty.gpkg")
    with pytest.raises(LabelError, match="empty.gpkg holds no polygon"):
        read_slump_labels(empty, aoi_bbox=AOI)
    with pytest.raises(LabelError, match="does not exist"):
        read_slump_labels(tmp_path / "missing.gpkg", aoi_bbox=AOI)
