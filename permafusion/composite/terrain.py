"""Terrain on the processing grid: Copernicus DEM GLO-30 mosaicked and reprojected, and slope.

The DEM tiles (1° x 1°, EPSG:4326, ~30 m) are warped bilinearly onto the tile's UTM 10 m grid; where
neighbouring DEM tiles overlap by their shared edge row they hold the same heights, so the mosaic is
their mean. Slope uses the grid's metric spacing, so it is in true degrees, not per-degree-of-latitude.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pystac
import rasterio
import rasterio.shutil
from rasterio.io import MemoryFile

from permafusion.composite.read import Signer, compute, stack_assets
from permafusion.core.files import atomic_write
from permafusion.geo.grid import GridSpec

TERRAIN_BANDS: tuple[str, ...] = ("elevation", "slope")


def slope_degrees(elevation: np.ndarray, resolution: float) -> np.ndarray:
    """Slope in degrees from a (y, x) elevation grid with square ``resolution`` pixels (central differences).

    NaN elevations give NaN slope at and next to them.
    """
    d_row, d_col = np.gradient(elevation.astype(np.float64), resolution)
    return np.degrees(np.arctan(np.hypot(d_row, d_col))).astype(np.float32)


def boxcar_smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of each pixel's ``window`` x ``window`` neighbourhood (a boxcar filter), edges reflected.

    NaN pixels are left out of their neighbours' means and stay NaN. ``window`` 1 returns a copy.

    Raises:
        ValueError: a window below 1.
    """
    if window < 1:
        raise ValueError(f"boxcar window {window} must be >= 1 pixel")
    values = np.asarray(values, np.float64)
    if window == 1:
        return values.astype(np.float32)
    from scipy.ndimage import uniform_filter

    finite = np.isfinite(values)
    total = uniform_filter(np.where(finite, values, 0.0), size=window, mode="reflect")
    weight = uniform_filter(finite.astype(np.float64), size=window, mode="reflect")
    with np.errstate(invalid="ignore", divide="ignore"):
        out = total / weight
    out[~finite] = np.nan
    return out.astype(np.float32)


def build_terrain(
    items: Sequence[pystac.Item], *, grid: GridSpec, sign: Signer | None = None, threads: int = 1
) -> np.ndarray:
    """Elevation (m) and slope (degrees) on ``grid`` as a float32 (2, y, x) array, NaN where no DEM.

    Raises:
        ValueError: no DEM item, or the DEM leaves part of the grid uncovered.
        AssetReadError: a DEM file could not be read.
    """
    if not items:
        raise ValueError("no DEM item covers the tile: check the `dem` collection of the AOI's catalog")
    stack = stack_assets(items, grid=grid, assets=["data"], resampling="bilinear", sign=sign)
    if 0 in stack.data.shape[:2]:  # stackstac drops items whose footprint misses the grid
        raise ValueError(f"the {len(items)} DEM item(s) leave 100% of the tile without elevation")
    tiles = compute(stack.data.isel(band=0), signed_to_unsigned=stack.signed_to_unsigned, threads=threads)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels outside every DEM tile
        elevation = np.nanmean(np.asarray(tiles), axis=0).astype(np.float32)
    missing = float(np.isnan(elevation).mean())
    if missing > 0:
        raise ValueError(
            f"the DEM items leave {missing:.1%} of the tile without elevation: the DEM search found "
            f"{len(items)} item(s); check that the `dem` collection covers the AOI"
        )
    return np.stack([elevation, slope_degrees(elevation, grid.resolution)])


def write_terrain(
    terrain: np.ndarray,
    grid: GridSpec,
    path: str | Path,
    *,
    bands: Sequence[tuple[str, str]] = (("elevation", "m"), ("slope", "degree")),
) -> None:
    """Write terrain layers (elevation and slope by default; ``bands`` names each layer and its unit) as a
    float32 Cloud-Optimized GeoTIFF (atomically)."""
    path = Path(path)
    if len(bands) != len(terrain):
        raise ValueError(f"{len(terrain)} terrain layers but {len(bands)} band names")
    profile = grid.raster_profile(dtype="float32", count=len(bands), nodata=float("nan"))
    with MemoryFile() as memory:
        with memory.open(**profile) as dataset:
            dataset.write(terrain.astype(np.float32))
            for band, (name, unit) in enumerate(bands, start=1):
                dataset.set_band_description(band, name)
                dataset.update_tags(band, units=unit)
        with memory.open() as dataset, atomic_write(path, suffix=".tif") as tmp:
            rasterio.shutil.copy(dataset, tmp, driver="COG", compress="DEFLATE", predictor="3")
