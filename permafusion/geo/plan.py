"""The size of a tiled run, counted before Snakemake builds its graph of jobs.

Snakemake plans every job of a run before it starts one, at a cost of about 2 ms of CPU a job on a small
machine (docs/performance.md). A whole-Arctic box on 102.4 km tiles holds thousands of tiles and over a
hundred thousand jobs: minutes of planning before anything happens. Counting tiles and jobs is instant, so
a run states its size first, and an AOI whose plan is larger than ``max_jobs`` is run one UTM zone (one
map) at a time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from permafusion.geo.tiles import Tile


class PlanTooLarge(ValueError):
    """The run would plan more jobs than ``max_jobs``; the message says how to run it zone by zone."""


@dataclass(frozen=True)
class RunSize:
    """The jobs of a tiled run: some per tile, some per map (one map per UTM zone), a few per run.

    Args:
        tiles_by_zone: processing tiles per UTM zone (EPSG code).
        jobs_per_tile: jobs each tile adds (composites per month and sensor, terrain, labels, prediction).
        jobs_per_zone: jobs each zone's map adds (mosaic, quicklook).
        jobs_per_run: the rest (searches, item checks, patches, training, the final target).
    """

    tiles_by_zone: Mapping[int, int]
    jobs_per_tile: int
    jobs_per_zone: int = 0
    jobs_per_run: int = 0

    def __post_init__(self) -> None:
        if min(self.jobs_per_tile, self.jobs_per_zone, self.jobs_per_run) < 0:
            raise ValueError("job counts cannot be negative")

    @classmethod
    def of_tiles(cls, tiles: Sequence[Tile], **jobs: int) -> RunSize:
        """The size of a run over ``tiles``; ``jobs`` are the other fields."""
        zones = Counter(tile.grid.epsg for tile in tiles)
        return cls(tiles_by_zone=dict(sorted(zones.items())), **jobs)

    @property
    def tiles(self) -> int:
        return sum(self.tiles_by_zone.values())

    @property
    def jobs(self) -> int:
        return self.jobs_of(self.tiles_by_zone)

    def jobs_of(self, tiles_by_zone: Mapping[int, int]) -> int:
        """Jobs of a run limited to some of the zones."""
        per_tile = sum(tiles_by_zone.values()) * self.jobs_per_tile
        return per_tile + len(tiles_by_zone) * self.jobs_per_zone + self.jobs_per_run

    def summary(self, aoi: str) -> str:
        """One line for the start of a run."""
        zones = len(self.tiles_by_zone)
        return (
            f"AOI {aoi}: {self.tiles:,} processing tiles in {zones} UTM zone{'s' * (zones != 1)} "
            f"({_zone_names(list(self.tiles_by_zone))}), {self.jobs:,} jobs to plan "
            f"({self.jobs_per_tile} per tile)"
        )


def tiles_in_zones(tiles: Sequence[Tile], zones: Sequence[int], *, source: str) -> list[Tile]:
    """The tiles of the chosen UTM zones (all tiles when ``zones`` is empty).

    Raises:
        ValueError: a zone holds no tile of the AOI; the message lists the zones that do.
    """
    if not zones:
        return list(tiles)
    present = sorted({tile.grid.epsg for tile in tiles})
    missing = [zone for zone in zones if zone not in present]
    if missing:
        raise ValueError(
            f"`zones` {list(zones)}: the AOI of {source} has no tile in {missing}; its zones are "
            f"{present} (EPSG codes of WGS 84 / UTM)"
        )
    chosen = set(zones)
    return [tile for tile in tiles if tile.grid.epsg in chosen]


def check_run_size(size: RunSize, *, max_jobs: int, aoi: str, source: str) -> None:
    """Refuse a plan larger than ``max_jobs``, saying how to run the AOI one zone at a time.

    Raises:
        PlanTooLarge: with the tiles and jobs of each zone and the command for one of them.
    """
    if size.jobs <= max_jobs:
        return
    per_zone = {zone: size.jobs_of({zone: n}) for zone, n in size.tiles_by_zone.items()}
    largest = max(per_zone, key=per_zone.__getitem__)
    listing = (
        f"{len(per_zone)} zones ({_zone_names(list(per_zone))}), the largest {largest} with "
        f"{size.tiles_by_zone[largest]:,} tiles and {per_zone[largest]:,} jobs"
    )
    fits = [zone for zone, jobs in per_zone.items() if jobs <= max_jobs]
    if fits:
        advice = (
            "run it one UTM zone at a time (each zone is one map), e.g. "
            f"`snakemake --cores all --config aoi={aoi} zones=[{fits[0]}]`, then the next zone"
        )
    else:
        advice = (
            "even one zone is too large: raise `tile_size_px` or narrow `bbox` in "
            f"{source} (a zone's run needs at most {max_jobs:,} jobs)"
        )
    raise PlanTooLarge(
        f"AOI {aoi} ({source}) makes {size.jobs:,} jobs on {size.tiles:,} tiles, more than `max_jobs` "
        f"({max_jobs:,}), which Snakemake plans in about a minute: {advice}; or raise `max_jobs` to plan "
        f"every zone at once (about 2 ms of CPU a job). Zones: {listing}"
    )


def _zone_names(zones: list[int]) -> str:
    """EPSG codes for a message: all of a few, the first and last three of many."""
    if len(zones) <= 8:
        return ", ".join(str(zone) for zone in zones)
    return ", ".join(str(zone) for zone in zones[:3]) + ", ..., " + ", ".join(str(z) for z in zones[-3:])
