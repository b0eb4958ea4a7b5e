"""Processing tiles: an AOI cut into pieces of one UTM zone each, on a fixed per-zone lattice.

Tiles sit on a lattice anchored at the zone's origin, so a tile's name and grid do not change when the AOI
grows: rerunning with a larger AOI reuses every tile already computed. Only tiles meeting the AOI are kept:
at high latitudes a zone's piece of a lon/lat box is a narrow trapezoid, and the tiles of its bounding
rectangle outside it would hold no pixel of the AOI. A map covers one zone (:func:`zone_grids`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pystac
import shapely
import shapely.geometry
from pyproj import Transformer

from permafusion.geo.grid import GridSpec, project_bbox, snap_bounds, utm_epsg


@dataclass(frozen=True)
class Tile:
    name: str
    grid: GridSpec


def _zone_pieces(
    bbox: tuple[float, float, float, float],
) -> list[tuple[int, tuple[float, float, float, float]]]:
    """Split a lon/lat bbox at UTM zone boundaries (6° of longitude)."""
    west, south, east, north = bbox
    pieces: list[tuple[int, tuple[float, float, float, float]]] = []
    lat = (south + north) / 2
    edge = west
    while edge < east:
        zone_west = math.floor((edge + 180) / 6) * 6 - 180
        piece_east = min(east, zone_west + 6)
        epsg = utm_epsg((edge + piece_east) / 2, lat)
        pieces.append((epsg, (edge, south, piece_east, north)))
        edge = piece_east
    return pieces


def processing_tiles(
    bbox: tuple[float, float, float, float], *, tile_size_px: int, resolution: float = 10.0
) -> list[Tile]:
    """Tiles covering a lon/lat bbox, each clipped to the AOI and named ``<epsg>_<col>_<row>``.

    Args:
        bbox: (west, south, east, north) in degrees.
        tile_size_px: side of a full tile in pixels.
        resolution: pixel size in metres.
    """
    if tile_size_px < 128:
        raise ValueError(f"tile_size_px={tile_size_px} is smaller than one 128-pixel patch; use >= 128")
    step = tile_size_px * resolution
    tiles: list[Tile] = []
    for epsg, piece in _zone_pieces(bbox):
        minx, miny, maxx, maxy = snap_bounds(project_bbox(piece, epsg), resolution)
        footprint = _projected_footprint(piece, epsg)
        candidates = []
        for col in range(math.floor(minx / step), math.ceil(maxx / step)):
            for row in range(math.floor(miny / step), math.ceil(maxy / step)):
                bounds = (
                    max(minx, col * step),
                    max(miny, row * step),
                    min(maxx, (col + 1) * step),
                    min(maxy, (row + 1) * step),
                )
                if bounds[2] - bounds[0] < resolution or bounds[3] - bounds[1] < resolution:
                    continue
                candidates.append((f"{epsg}_{col:04d}_{row:04d}", bounds))
        boxes = shapely.box(*np.array([b for _, b in candidates]).T) if candidates else []
        meets = shapely.intersects(footprint, boxes) if candidates else []
        tiles.extend(
            Tile(name, GridSpec(epsg, bounds, resolution))
            for (name, bounds), keep in zip(candidates, meets, strict=True)
            if keep
        )
    return tiles


def _projected_footprint(
    piece: tuple[float, float, float, float], epsg: int
) -> shapely.geometry.base.BaseGeometry:
    """A zone's piece of the AOI in the zone's CRS, its edges densified (parallels project to curves)."""
    transformer = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
    outline = shapely.segmentize(shapely.box(*piece), max_segment_length=0.05)
    footprint = shapely.transform(
        outline, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
    )
    shapely.prepare(footprint)
    return footprint


def zone_grids(tiles: Sequence[Tile]) -> dict[int, GridSpec]:
    """The map grid of each UTM zone the tiles fall in: the rectangle covering that zone's tiles.

    One map per zone: an AOI spanning zones gets one map each, on its own zone's grid, and never one
    grid stretched over zones it was not designed for (a whole-Arctic box would need 668,553 x 698,634 px).
    """
    bounds: dict[int, list[tuple[float, float, float, float]]] = defaultdict(list)
    for tile in tiles:
        bounds[tile.grid.epsg].append(tile.grid.bounds)
    resolution = tiles[0].grid.resolution if tiles else 10.0
    return {
        epsg: GridSpec(
            epsg,
            (
                min(b[0] for b in zone),
                min(b[1] for b in zone),
                max(b[2] for b in zone),
                max(b[3] for b in zone),
            ),
            resolution,
        )
        for epsg, zone in sorted(bounds.items())
    }


def map_grid(tiles: Sequence[Tile]) -> GridSpec:
    """The grid of an AOI-wide map: the rectangle covering every tile, which must all be in one UTM zone.

    Raises:
        ValueError: the tiles span several zones; such an AOI gets one map per zone (:func:`zone_grids`).
    """
    grids = zone_grids(tiles)
    if len(grids) != 1:
        zones = ", ".join(str(epsg) for epsg in grids) or "none"
        raise ValueError(
            f"the tiles fall in {len(grids)} UTM zones ({zones}), not one: map each zone on its own "
            "grid (permafusion.geo.tiles.zone_grids), or narrow the AOI's bbox to one zone"
        )
    return next(iter(grids.values()))


def items_over_grid(items: Sequence[pystac.Item], grid: GridSpec) -> list[pystac.Item]:
    """The items whose footprint meets the grid: a search covers the whole AOI, a tile only part of it."""
    transformer = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    tile = shapely.geometry.box(*transformer.transform_bounds(*grid.bounds, densify_pts=21))
    return [
        item
        for item in items
        if item.geometry is None or shapely.geometry.shape(item.geometry).intersects(tile)
    ]


def zone_extent(tile: Tile, tiles: Sequence[Tile]) -> GridSpec:
    """The grid covering every tile of ``tile``'s UTM zone: the frame in which map windows are laid out."""
    same = [t.grid.bounds for t in tiles if t.grid.epsg == tile.grid.epsg]
    bounds = (
        min(b[0] for b in same),
        min(b[1] for b in same),
        max(b[2] for b in same),
        max(b[3] for b in same),
    )
    return GridSpec(tile.grid.epsg, bounds, tile.grid.resolution)


def context_tiles(tile: Tile, tiles: Sequence[Tile], *, margin_px: int) -> list[Tile]:
    """The other tiles of ``tile``'s zone within ``margin_px`` pixels of it (their pixels give context)."""
    pad = margin_px * tile.grid.resolution
    minx, miny, maxx, maxy = tile.grid.bounds
    return [
        t
        for t in tiles
        if t.name != tile.name
        and t.grid.epsg == tile.grid.epsg
        and t.grid.bounds[0] < maxx + pad
        and t.grid.bounds[2] > minx - pad
        and t.grid.bounds[1] < maxy + pad
        and t.grid.bounds[3] > miny - pad
    ]
