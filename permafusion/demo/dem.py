"""Synthetic Copernicus DEM GLO-30 tiles (float32, EPSG:4326, 1 arc-second rows) over the scene.

Real GLO-30 comes in 1x1 degree tiles whose pixel centres sit on whole arc-seconds (so the tile's edges are
half a pixel outside the degree lines) and whose column spacing widens towards the poles. The demo writes,
for every degree tile the area touches, the window of that tile covering the area (a full tile would be
3600x3600 pixels for a 10 km scene), with the tile's own id, grid and pixel spacing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from affine import Affine
from pyproj import Transformer
from scipy import ndimage

from permafusion.demo.scene import DemoScene

#: Row spacing of GLO-30 (degrees).
ARCSEC = 1.0 / 3600.0


def _lon_spacing_arcsec(lat0: int) -> float:
    """Column spacing of a GLO-30 tile by the latitude of its southern edge (Copernicus DEM spec)."""
    a = max(abs(lat0), abs(lat0 + 1))
    for limit, spacing in ((50, 1.0), (60, 1.5), (70, 2.0), (80, 3.0), (85, 5.0)):
        if a <= limit:
            return spacing
    return 10.0


@dataclass(frozen=True)
class DemTile:
    """A window of one GLO-30 degree tile.

    Attributes:
        item_id: the tile's id, e.g. ``Copernicus_DSM_COG_10_N34_00_E092_00_DEM``.
        data: float32 elevations (m).
        transform: affine transform of ``data`` (EPSG:4326).
    """

    item_id: str
    data: np.ndarray
    transform: Affine

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        h, w = self.data.shape
        t = self.transform
        return (t.c, t.f + h * t.e, t.c + w * t.a, t.f)


def _tile_id(lat0: int, lon0: int) -> str:
    ns = f"N{lat0:02d}" if lat0 >= 0 else f"S{-lat0:02d}"
    ew = f"E{lon0:03d}" if lon0 >= 0 else f"W{-lon0:03d}"
    return f"Copernicus_DSM_COG_10_{ns}_00_{ew}_00_DEM"


def render_dem(
    scene: DemoScene, bbox_lonlat: tuple[float, float, float, float], rng: np.random.Generator
) -> list[DemTile]:
    """Sample the scene's surface onto the GLO-30 tiles (windows) covering ``bbox_lonlat``.

    Args:
        scene: the synthetic scene (its ``elevation`` is sampled bilinearly).
        bbox_lonlat: area to cover (min lon, min lat, max lon, max lat); keep it inside the scene.
        rng: random generator (consumed): adds the ~1 m noise of a radar DSM.

    Returns:
        One window per degree tile touched, west to east, north to south.
    """
    to_utm = Transformer.from_crs("EPSG:4326", scene.world.crs, always_xy=True)
    inverse = ~scene.world.transform
    west, south, east, north = bbox_lonlat
    tiles: list[DemTile] = []
    for lat0 in range(math.floor(north), math.floor(south) - 1, -1):
        for lon0 in range(math.floor(west), math.floor(east) + 1):
            dx = _lon_spacing_arcsec(lat0) * ARCSEC
            x0, y0 = lon0 - 0.5 * ARCSEC, lat0 + 1 + 0.5 * ARCSEC
            ncols, nrows = round(1.0 / dx), 3600
            c0 = max(math.floor((max(west, lon0) - x0) / dx), 0)
            c1 = min(math.ceil((min(east, lon0 + 1) - x0) / dx), ncols)
            r0 = max(math.floor((y0 - min(north, lat0 + 1)) / ARCSEC), 0)
            r1 = min(math.ceil((y0 - max(south, lat0)) / ARCSEC), nrows)
            if c1 <= c0 or r1 <= r0:
                continue
            transform = Affine(dx, 0.0, x0 + c0 * dx, 0.0, -ARCSEC, y0 - r0 * ARCSEC)
            cols, rows = np.meshgrid(np.arange(c1 - c0) + 0.5, np.arange(r1 - r0) + 0.5)
            lon, lat = transform @ (cols, rows)
            x, y = to_utm.transform(lon, lat)
            pc, pr = inverse @ (x, y)
            # Pixel (col, row) coordinates are corner-based; map_coordinates wants centre-based indices.
            z = ndimage.map_coordinates(scene.elevation, [pr - 0.5, pc - 0.5], order=1, mode="nearest")
            z = z + rng.normal(0.0, 0.8, size=z.shape)
            tiles.append(DemTile(_tile_id(lat0, lon0), z.astype(np.float32), transform))
    return tiles
