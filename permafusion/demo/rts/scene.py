"""The thaw-slump demo world: terrain, slumps that appear, grow and stabilise, and look-alikes.

Everything is derived from one seed on a UTM 10 m grid around the AOI:

- terrain: rolling hills (a few tens of metres over kilometres) plus valley sides; each slump carves a
  bowl of ``SLUMP_DEPTH_M`` into the DEM over its final extent, so the DEM's slope is steep at slump rims
  (the DEM is static, as the seed's single DEM is);
- slumps: placed on the steeper hillsides of each site; each appears in an onset year (some before 2016),
  grows by ``growth`` metres a year (5-30) for a few years, then stabilises; an outline is an ellipse
  stretched along the fall line. Outlines are the truth of every year, so the yearly series has a known
  answer;
- look-alikes: bare gravel and sand patches on flat ground with almost the reflectance of slump floors,
  which a spectral threshold cannot tell from slumps but slope and shape can.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import rasterio.features
import shapely
import shapely.affinity

from permafusion.demo.scene import smooth_noise
from permafusion.geo.grid import GridSpec, grid_for_bbox

SLUMP_DEPTH_M = 5.0


@dataclass(frozen=True)
class Slump:
    site: str
    x: float
    y: float
    onset: int
    initial_m: float
    growth_m: float
    active_years: int
    angle: float  # fall-line direction, degrees

    def radius(self, year: int) -> float | None:
        """Semi-major axis (m) in ``year``, None before the onset."""
        if year < self.onset:
            return None
        return self.initial_m + self.growth_m * min(year - self.onset, self.active_years)

    def regrowth(self, year: int) -> float:
        """Share of the slump floor revegetated in ``year``: 0 while active, then +15 % a stable year."""
        stable = year - self.onset - self.active_years
        return min(0.6, 0.15 * max(stable, 0))

    def outline(self, year: int) -> shapely.Polygon | None:
        r = self.radius(year)
        if r is None:
            return None
        circle = shapely.Point(self.x, self.y).buffer(1.0, quad_segs=16)
        ellipse = shapely.affinity.scale(circle, r, 0.65 * r)
        return shapely.affinity.rotate(ellipse, self.angle, origin=(self.x, self.y))


@dataclass
class RtsWorld:
    grid: GridSpec
    elevation: np.ndarray
    base_slope: np.ndarray
    tundra: np.ndarray  # (4, H, W) reflectance of vegetated ground
    bare: np.ndarray  # (H, W) bool: look-alike bare patches
    slumps: list[Slump]
    site_grids: dict[str, GridSpec]

    def slump_mask(self, year: int, slumps: Sequence[Slump] | None = None) -> np.ndarray:
        """Pixels inside the outlines of ``year`` (of ``slumps``, all by default)."""
        shapes = [s.outline(year) for s in (self.slumps if slumps is None else slumps)]
        shapes = [s for s in shapes if s is not None]
        if not shapes:
            return np.zeros(self.grid.shape, bool)
        return rasterio.features.geometry_mask(
            shapes, out_shape=self.grid.shape, transform=self.grid.transform, invert=True
        )


def _slope(elevation: np.ndarray, resolution: float) -> np.ndarray:
    dr, dc = np.gradient(elevation, resolution)
    return np.degrees(np.arctan(np.hypot(dr, dc)))


def build_world(
    *,
    aoi_bbox: Sequence[float],
    sites: Mapping[str, Sequence[float]],
    years: Sequence[int],
    seed: int,
    slumps_per_site: int = 10,
) -> RtsWorld:
    """The seeded world on the UTM grid of the AOI (with a margin, so every site's grid lies inside)."""
    rng = np.random.default_rng(seed)
    west, south, east, north = aoi_bbox
    grid = grid_for_bbox((west - 0.01, south - 0.005, east + 0.01, north + 0.005))
    height, width = grid.shape
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
    x, y = cols * grid.resolution, rows * grid.resolution
    elevation = (
        60.0
        + 25.0 * np.sin(2 * math.pi * x / 1700.0 + 0.7) * np.cos(2 * math.pi * y / 1300.0)
        + 8.0 * smooth_noise(rng, grid.shape, 40.0)
    )
    base_slope = _slope(elevation, grid.resolution)
    site_grids = {name: grid_for_bbox(tuple(bbox)) for name, bbox in sites.items()}  # type: ignore[arg-type]
    slumps: list[Slump] = []
    dr, dc = np.gradient(elevation, grid.resolution)
    for name, site_grid in site_grids.items():
        r0 = round((grid.bounds[3] - site_grid.bounds[3]) / grid.resolution)
        c0 = round((site_grid.bounds[0] - grid.bounds[0]) / grid.resolution)
        sh, sw = site_grid.shape
        margin = 20
        window = base_slope[r0 + margin : r0 + sh - margin, c0 + margin : c0 + sw - margin]
        steep = np.argwhere(window > np.quantile(window, 0.7))
        placed: list[tuple[int, int]] = []
        for _ in range(200):
            if len(placed) == slumps_per_site:
                break
            r, c = steep[rng.integers(len(steep))]
            if any(math.hypot(r - pr, c - pc) < 30 for pr, pc in placed):
                continue
            placed.append((int(r), int(c)))
            gr, gc = r0 + margin + int(r), c0 + margin + int(c)
            angle = math.degrees(math.atan2(dr[gr, gc], -dc[gr, gc]))
            slumps.append(
                Slump(
                    site=name,
                    x=grid.bounds[0] + (gc + 0.5) * grid.resolution,
                    y=grid.bounds[3] - (gr + 0.5) * grid.resolution,
                    onset=int(rng.integers(min(years) - 4, max(years) - 1)),
                    initial_m=float(rng.uniform(25, 45)),
                    growth_m=float(rng.uniform(5, 30)),
                    active_years=int(rng.integers(2, 6)),
                    angle=angle,
                )
            )
    final = np.zeros(grid.shape, bool)
    outlines = [s.outline(max(years)) for s in slumps]
    shapes = [o for o in outlines if o is not None]
    if shapes:
        final = rasterio.features.geometry_mask(
            shapes, out_shape=grid.shape, transform=grid.transform, invert=True
        )
    from scipy import ndimage

    bowl = ndimage.gaussian_filter(final.astype(np.float64), 1.0)
    elevation = elevation - SLUMP_DEPTH_M * bowl
    # look-alikes: bare patches on the flattest ground, away from slumps
    patch_field = smooth_noise(rng, grid.shape, 6.0)
    flat = base_slope < np.quantile(base_slope, 0.3)
    bare = flat & (patch_field > 1.5) & ~ndimage.binary_dilation(final, iterations=5)
    green = 1.0 + 0.12 * smooth_noise(rng, grid.shape, 15.0)
    tundra = np.stack([0.030 * green, 0.055 * green, 0.045 * green, 0.280 * (2.0 - green)]).astype(np.float32)
    return RtsWorld(
        grid, elevation.astype(np.float32), base_slope.astype(np.float32), tundra, bare, slumps, site_grids
    )
