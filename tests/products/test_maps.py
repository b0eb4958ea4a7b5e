import numpy as np
import rasterio
from rio_cogeo.cogeo import cog_validate

from permafusion.geo.grid import GridSpec
from permafusion.products.maps import (
    area_by_class,
    area_of_class_map,
    mosaic_class_maps,
    write_class_cog,
)
from permafusion.products.quicklook import plot_quicklook
from permafusion.tasks.degradation.classes import DEGRADATION

GRID = GridSpec(32646, (488000.0, 3850000.0, 490560.0, 3852560.0), 10.0)


def _classes():
    classes = np.zeros(GRID.shape, np.uint8)
    classes[:, :64] = 1
    classes[:, 64:128] = 2
    classes[:100, 128:] = 3
    classes[100:200, 128:] = 4
    return classes


def test_class_cog_is_tiled_with_colormap_names_and_nodata(tmp_path):
    path = tmp_path / "map.tif"
    write_class_cog(_classes(), GRID, path, scheme=DEGRADATION)
    with rasterio.open(path) as dataset:
        assert dataset.nodata == 0 and dataset.dtypes[0] == "uint8"
        assert dataset.crs.to_epsg() == 32646 and dataset.res == (10.0, 10.0)
        assert dataset.profile["tiled"]
        assert dataset.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert dataset.colormap(1)[3][:3] == (253, 174, 97)
        assert dataset.tags(1)["CLASS_4"] == "complete degradation / talik"
        np.testing.assert_array_equal(dataset.read(1), _classes())
    assert not list(tmp_path.glob("*.tmp*"))


def test_area_by_class_counts_pixels_and_square_kilometres():
    table = area_by_class(_classes(), 10.0, scheme=DEGRADATION).set_index("class_code")
    assert table.loc[1, "pixels"] == 256 * 64
    assert table.loc[1, "area_km2"] == round(256 * 64 * 100 / 1e6, 4)
    assert table.loc[0, "pixels"] == 56 * 128
    assert table["pixels"].sum() == 256 * 256


def test_mosaic_places_tiles_on_the_aoi_grid(tmp_path):
    left = GridSpec(32646, (488000.0, 3850000.0, 489280.0, 3852560.0), 10.0)
    write_class_cog(_classes()[:, :128], left, tmp_path / "a.tif", scheme=DEGRADATION)
    right = GridSpec(32646, (489280.0, 3850000.0, 490560.0, 3852560.0), 10.0)
    write_class_cog(_classes()[:, 128:], right, tmp_path / "b.tif", scheme=DEGRADATION)
    mosaic_class_maps([tmp_path / "a.tif", tmp_path / "b.tif"], GRID, tmp_path / "map.tif")
    valid, errors, _ = cog_validate(str(tmp_path / "map.tif"))
    assert valid, errors
    with rasterio.open(tmp_path / "map.tif") as dataset:
        assert dataset.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert dataset.colormap(1)[3][:3] == (253, 174, 97)
        assert dataset.tags(1)["CLASS_4"] == "complete degradation / talik"
        np.testing.assert_array_equal(dataset.read(1), _classes())
    counted = area_of_class_map(tmp_path / "map.tif", scheme=DEGRADATION)
    assert counted.equals(area_by_class(_classes(), 10.0, scheme=DEGRADATION))


def test_mosaic_reprojects_a_tile_of_another_zone_without_overwriting(tmp_path):
    write_class_cog(_classes(), GRID, tmp_path / "a.tif", scheme=DEGRADATION)
    # the same area in the neighbouring zone (32645): reprojected, it fills only pixels still empty
    other = GridSpec(32645, (1036000.0, 3864000.0, 1041000.0, 3870000.0), 10.0)
    write_class_cog(np.full(other.shape, 2, np.uint8), other, tmp_path / "b.tif", scheme=DEGRADATION)
    mosaic_class_maps([tmp_path / "a.tif", tmp_path / "b.tif"], GRID, tmp_path / "map.tif")
    with rasterio.open(tmp_path / "map.tif") as dataset:
        mosaic = dataset.read(1)
    keep = _classes() > 0
    np.testing.assert_array_equal(mosaic[keep], _classes()[keep])
    assert (mosaic[~keep] == 2).all()


def test_quicklook_is_written(tmp_path):
    rgb = np.random.default_rng(0).random((*GRID.shape, 3))
    plot_quicklook(_classes(), rgb, tmp_path / "q.png", title="demo", scheme=DEGRADATION)
    assert (tmp_path / "q.png").stat().st_size > 10_000


def test_qgis_style_lists_every_class_with_its_colour_and_name(tmp_path):
    import xml.etree.ElementTree as ET

    from permafusion.products.maps import write_class_style

    path = tmp_path / "degradation.qml"
    write_class_style(DEGRADATION, path)
    entries = ET.parse(path).getroot().findall(".//paletteEntry")
    assert [int(e.get("value")) for e in entries] == [1, 2, 3, 4]
    assert entries[2].get("label") == "thermokarst / retrogressive thaw slump"
    assert entries[0].get("color") == "#2b83ba" and entries[0].get("alpha") == "255"
