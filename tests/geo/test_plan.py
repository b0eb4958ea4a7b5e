"""The size of a tiled run: tiles and jobs per zone, the zone filter and the refusal of a plan too large."""

from __future__ import annotations

import pytest

from permafusion.geo.grid import GridSpec
from permafusion.geo.plan import PlanTooLarge, RunSize, check_run_size, tiles_in_zones
from permafusion.geo.tiles import Tile, processing_tiles


def _tiles(zones: dict[int, int]) -> list[Tile]:
    return [
        Tile(f"{epsg}_{i:04d}_0000", GridSpec(epsg, (i * 1280.0, 0.0, (i + 1) * 1280.0, 1280.0)))
        for epsg, n in zones.items()
        for i in range(n)
    ]


def test_jobs_are_counted_per_tile_per_zone_and_per_run():
    size = RunSize.of_tiles(_tiles({32633: 3, 32634: 2}), jobs_per_tile=25, jobs_per_zone=2, jobs_per_run=28)
    assert size.tiles_by_zone == {32633: 3, 32634: 2}
    assert size.tiles == 5
    assert size.jobs == 5 * 25 + 2 * 2 + 28
    assert size.jobs_of({32634: 2}) == 2 * 25 + 2 + 28
    assert size.summary("x") == (
        "AOI x: 5 processing tiles in 2 UTM zones (32633, 32634), 157 jobs to plan (25 per tile)"
    )
    with pytest.raises(ValueError, match="negative"):
        RunSize({32633: 1}, jobs_per_tile=-1)


def test_a_plan_within_max_jobs_passes():
    size = RunSize.of_tiles(_tiles({32633: 4}), jobs_per_tile=25, jobs_per_run=28)
    check_run_size(size, max_jobs=128, aoi="x", source="x.yaml")
    with pytest.raises(PlanTooLarge):
        check_run_size(size, max_jobs=127, aoi="x", source="x.yaml")


def test_the_whole_arctic_is_refused_with_the_command_for_one_zone():
    tiles = processing_tiles((-180.0, 60.0, 180.0, 84.0), tile_size_px=10240)
    size = RunSize.of_tiles(tiles, jobs_per_tile=25, jobs_per_run=28)
    assert (size.tiles, size.jobs) == (5100, 127_528)
    with pytest.raises(PlanTooLarge) as error:
        check_run_size(size, max_jobs=25_000, aoi="arctic", source="config/aois/arctic.yaml")
    message = str(error.value)
    assert "127,528 jobs on 5,100 tiles, more than `max_jobs` (25,000)" in message
    assert "--config aoi=arctic zones=[32601]" in message
    assert "60 zones (32601, 32602, 32603, ..., 32658, 32659, 32660)" in message
    assert "85 tiles and 2,153 jobs" in message


def test_a_zone_too_large_on_its_own_asks_for_larger_tiles():
    size = RunSize.of_tiles(_tiles({32633: 10}), jobs_per_tile=25)
    too_large = r"even one zone is too large: raise `tile_size_px` or narrow `bbox` in a\.yaml"
    with pytest.raises(PlanTooLarge, match=too_large):
        check_run_size(size, max_jobs=100, aoi="a", source="a.yaml")


def test_zones_choose_tiles_and_a_zone_outside_the_aoi_is_named():
    tiles = _tiles({32633: 3, 32634: 2})
    assert tiles_in_zones(tiles, [], source="a.yaml") == tiles
    assert [t.grid.epsg for t in tiles_in_zones(tiles, [32634], source="a.yaml")] == [32634, 32634]
    with pytest.raises(ValueError, match=r"a\.yaml has no tile in \[32640\]; its zones are \[32633, 32634\]"):
        tiles_in_zones(tiles, [32640], source="a.yaml")
