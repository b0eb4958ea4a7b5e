"""Processing tiles: an AOI cut into pieces of one UTM zone each, on a fixed per-zone lattice.

Tiles sit on a lattice anchored at the zone's origin, so a tile's name and grid do not change when the AOI
grows: rerunning with a larger AOI reuses every tile already computed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pystac
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
    tiles = []
    for epsg, piece in _zone_pieces(bbox):
        minx, miny, maxx, maxy = snap_bounds(project_bbox(piece, epsg), resolution)
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
                tiles.append(Tile(f"{epsg}_{col:04d}_{row:04d}", GridSpec(epsg, bounds, resolution)))
    return tiles


def map_grid(tiles: list[Tile], bbox: tuple[float, float, float, float]) -> GridSpec:
    """The grid of the AOI-wide map: the UTM zone of the AOI's centre, covering every tile.

    Tiles in other zones are reprojected onto it when the map is mosaicked.
    """
    lon, lat = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
    epsg = utm_epsg(lon, lat)
    resolution = tiles[0].grid.resolution
    same_zone = [t.grid.bounds for t in tiles if t.grid.epsg == epsg]
    if len(same_zone) == len(tiles):
        bounds = (
            min(b[0] for b in same_zone),
            min(b[1] for b in same_zone),
            max(b[2] for b in same_zone),
            max(b[3] for b in same_zone),
        )
    else:
        bounds = project_bbox(bbox, epsg)
    return GridSpec(epsg, snap_bounds(bounds, resolution), resolution)


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
