import pytest

from permafusion.geo.grid import GridSpec, grid_for_bbox, utm_epsg
from permafusion.geo.tiles import map_grid, processing_tiles, zone_grids


def test_gridspec_derives_transform_and_shape():
    grid = GridSpec(32646, (488000, 3850000, 490560, 3851280), 10)
    assert grid.shape == (128, 256)
    assert tuple(grid.transform)[:6] == (10, 0, 488000, 0, -10, 3851280)
    assert grid.window_bounds(64, 128, 64, 128) == (489280, 3850000, 490560, 3850640)
    assert GridSpec.from_transform(32646, tuple(grid.transform)[:6], grid.shape) == grid
    assert GridSpec.from_mapping(grid.to_mapping()) == grid


@pytest.mark.parametrize("bounds", [(0, 0, 0, 10), (0, 0, 10, -10), (0, 0, 15, 10)])
def test_gridspec_rejects_empty_or_unsnapped_bounds(bounds):
    with pytest.raises(ValueError):
        GridSpec(32646, bounds, 10)


def test_utm_zone_of_study_areas():
    assert utm_epsg(92.9, 34.8) == 32646  # Beiluhe, Tibet
    assert utm_epsg(72.6, 65.3) == 32643  # Nadym, West Siberia
    assert utm_epsg(-150, -10) == 32706
    with pytest.raises(ValueError):
        utm_epsg(10, 85)


def test_grid_for_bbox_encloses_the_bbox_on_whole_pixels():
    grid = grid_for_bbox((92.848, 34.793, 92.960, 34.886))
    assert grid.epsg == 32646
    assert 1000 < grid.shape[0] < 1100 and 1000 < grid.shape[1] < 1100


def test_tiles_stay_in_one_zone_have_stable_names_and_cover_the_aoi():
    small = processing_tiles((92.848, 34.793, 92.960, 34.886), tile_size_px=512)
    names = {tile.name for tile in small}
    assert all(name.startswith("32646_") for name in names)
    area = sum(t.grid.shape[0] * t.grid.shape[1] for t in small)
    assert area == pytest.approx(grid_for_bbox((92.848, 34.793, 92.960, 34.886)).shape[0] * 1044, rel=0.02)
    # a larger AOI keeps the tiles it shares with the smaller one, under the same names
    larger = {t.name: t for t in processing_tiles((92.5, 34.5, 93.2, 35.0), tile_size_px=512)}
    interior = [t for t in small if t.grid.shape == (512, 512)]
    assert all(larger[t.name].grid == t.grid for t in interior)


def test_tiles_split_at_utm_zone_boundaries_and_each_zone_gets_its_own_map_grid():
    tiles = processing_tiles((89.9, 34.0, 90.1, 34.1), tile_size_px=10240)
    assert {t.grid.epsg for t in tiles} == {32645, 32646}
    grids = zone_grids(tiles)
    assert list(grids) == [32645, 32646]
    for epsg, grid in grids.items():
        assert grid == map_grid([t for t in tiles if t.grid.epsg == epsg])
    with pytest.raises(ValueError, match=r"2 UTM zones \(32645, 32646\).*zone_grids"):
        map_grid(tiles)


def test_whole_arctic_tiles_only_where_the_aoi_is_and_maps_stay_in_their_zone():
    bbox = (-180.0, 60.0, 180.0, 84.0)
    tiles = processing_tiles(bbox, tile_size_px=10240)
    # the zones' bounding rectangles hold 6,720 tiles; 5,100 of them meet the AOI's trapezoids
    assert len(tiles) == 5100
    grids = zone_grids(tiles)
    assert len(grids) == 60
    # a zone's map is its own 6 degrees: ~335 km wide at 60 N, not a grid stretched over the pole
    widest = max(grid.shape[1] for grid in grids.values())
    assert widest * 10 < 400_000
    # every pixel of the AOI is in some tile: a point on the AOI's southern edge and one near the pole
    from pyproj import Transformer

    for lon, lat in ((14.5, 60.0), (15.0, 83.99)):
        epsg = 32633
        x, y = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True).transform(lon, lat)
        assert any(
            t.grid.epsg == epsg
            and t.grid.bounds[0] <= x <= t.grid.bounds[2]
            and t.grid.bounds[1] <= y <= t.grid.bounds[3]
            for t in tiles
        )


def test_full_tibet_tiling_is_fast_enough_for_a_dry_run():
    tiles = processing_tiles((73.0, 26.0, 105.0, 40.0), tile_size_px=10240)
    assert 400 < len(tiles) < 1000
    assert len({t.name for t in tiles}) == len(tiles)


def test_items_over_grid_keeps_items_meeting_the_tile():
    import pystac

    from permafusion.geo.tiles import items_over_grid

    def item(name, west, south, east, north):
        ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
        return pystac.Item(
            name,
            {"type": "Polygon", "coordinates": [ring]},
            [west, south, east, north],
            __import__("datetime").datetime(2023, 7, 1),
            {},
        )

    tile = processing_tiles((92.848, 34.793, 92.960, 34.886), tile_size_px=10240)[0]
    items = [item("over", 92.0, 34.0, 93.0, 35.0), item("beside", 95.0, 34.0, 96.0, 35.0)]
    assert [it.id for it in items_over_grid(items, tile.grid)] == ["over"]
