"""Per-pixel product rasters: fractions stored as scaled bytes, Cloud-Optimized GeoTIFFs, and the mosaic of
tile rasters onto the map grid written window by window.

Why bytes: probabilities, normalised uncertainties and gate weights all lie in 0..1, and a byte per value
in steps of 0.005 (0..200, 255 no data) keeps a 12-band AOI-wide raster a quarter of float32's size with
a resolution far below the models' calibration error. The scale is in the band metadata (GDAL
``scale``/``offset``), so GDAL, QGIS and rasterio's ``read(masked=True) * scales`` give the fraction.

Why windows: an AOI-wide map of a large area does not fit in memory, so the mosaic opens a tiled GeoTIFF on
the map grid and writes each tile into its window (reprojected only when the tile lies in another UTM
zone); GDAL's COG driver then copies that file block by block into the final COG.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.enums import Resampling
from rasterio.io import MemoryFile
from rasterio.warp import reproject, transform_bounds
from rasterio.windows import Window, from_bounds

from permafusion.core.files import atomic_write
from permafusion.geo.grid import GridSpec

#: A stored byte times SCALE is the fraction; SCALED_MAX stands for 1, SCALED_NODATA for no data.
SCALE = 0.005
SCALED_MAX = 200
SCALED_NODATA = 255


def to_scaled_bytes(fractions: np.ndarray) -> np.ndarray:
    """uint8 ``round(fraction / SCALE)`` of values clipped to 0..1; NaN becomes ``SCALED_NODATA``."""
    values = np.asarray(fractions, dtype=np.float32)
    finite = np.isfinite(values)
    scaled = np.round(np.clip(np.where(finite, values, 0), 0, 1) * SCALED_MAX).astype(np.uint8)
    scaled[~finite] = SCALED_NODATA
    return scaled


def from_scaled_bytes(scaled: np.ndarray) -> np.ndarray:
    """float32 fractions of :func:`to_scaled_bytes` bytes, NaN for no data."""
    values = scaled.astype(np.float32) * SCALE
    values[scaled == SCALED_NODATA] = np.nan
    return values


def read_fraction_cog(path: str | Path) -> np.ndarray:
    """(B, H, W) float32 fractions of a :func:`write_fraction_cog` file, NaN where no data."""
    with rasterio.open(path) as dataset:
        return from_scaled_bytes(dataset.read())


def _copy_as_cog(source: rasterio.io.DatasetReader, path: str | Path, *, resampling: str) -> None:
    with atomic_write(path, suffix=".tif") as tmp:
        rasterio.shutil.copy(
            source, tmp, driver="COG", compress="DEFLATE", overview_resampling=resampling, BIGTIFF="IF_SAFER"
        )


def write_fraction_cog(
    fractions: np.ndarray,
    grid: GridSpec,
    path: str | Path,
    *,
    descriptions: Sequence[str],
    tags: Mapping[str, str] | None = None,
) -> None:
    """Write (B, H, W) fractions in 0..1 (NaN: no data) as a uint8 COG of scaled bytes.

    Every band has nodata ``SCALED_NODATA``, GDAL scale ``SCALE`` and offset 0, a description, and the
    dataset carries ``tags`` plus ``VALUE_SCALE`` saying how to read the bytes.

    Raises:
        ValueError: if the array does not fit the grid or the descriptions do not match its bands.
    """
    if fractions.ndim != 3 or fractions.shape[1:] != grid.shape or len(descriptions) != fractions.shape[0]:
        raise ValueError(
            f"fractions {fractions.shape} with {len(descriptions)} band descriptions "
            f"do not fit grid {grid.shape}"
        )
    count = fractions.shape[0]
    profile = grid.raster_profile(dtype="uint8", count=count, nodata=SCALED_NODATA)
    with MemoryFile() as memory:
        with memory.open(**profile) as dataset:
            dataset.write(to_scaled_bytes(fractions))
            for band, text in enumerate(descriptions, start=1):
                dataset.set_band_description(band, text)
            dataset.scales = (SCALE,) * count
            dataset.offsets = (0.0,) * count
            dataset.update_tags(
                AREA_OR_POINT="Area",
                VALUE_SCALE=f"byte x {SCALE} = value in 0..1 ({SCALED_MAX} = 1); {SCALED_NODATA} = no data",
                **dict(tags or {}),
            )
        with memory.open() as dataset:
            _copy_as_cog(dataset, path, resampling="AVERAGE")


def _windows(shape: tuple[int, int], block: int) -> Iterator[Window]:
    for row in range(0, shape[0], block):
        for col in range(0, shape[1], block):
            yield Window(col, row, min(block, shape[1] - col), min(block, shape[0] - row))


def _tile_window(dataset: rasterio.io.DatasetReader, grid: GridSpec) -> Window:
    """The window of the map grid that the tile covers (in its own CRS or reprojected), clipped."""
    bounds = dataset.bounds
    if dataset.crs.to_epsg() != grid.epsg:
        bounds = transform_bounds(dataset.crs, grid.crs, *bounds, densify_pts=21)
    window = from_bounds(*bounds, transform=grid.transform)
    row0, col0 = max(0, math.floor(window.row_off)), max(0, math.floor(window.col_off))
    row1 = min(grid.shape[0], math.ceil(window.row_off + window.height))
    col1 = min(grid.shape[1], math.ceil(window.col_off + window.width))
    return Window(col0, row0, max(0, col1 - col0), max(0, row1 - row0))


def mosaic_to_cog(
    paths: Sequence[str | Path],
    grid: GridSpec,
    path: str | Path,
    *,
    resampling: Resampling = Resampling.nearest,
    block: int = 512,
) -> None:
    """Mosaic tile rasters onto ``grid`` as a COG without holding more than one tile in memory.

    The tiles share band count, data type and nodata; the first tile's band descriptions, tags, scales,
    offsets and colour table are copied. A tile on the map's CRS is written into its window as it is;
    a tile in another UTM zone is reprojected into its window's extent (``resampling``), filling only
    pixels still without data, so tiles of two zones meet without overwriting each other. Overviews use
    nearest for class maps (colour table) and average otherwise.

    Raises:
        ValueError: for no tiles, or tiles of different band count, data type or nodata.
    """
    if not paths:
        raise ValueError("no tile raster to mosaic")
    with rasterio.open(paths[0]) as first:
        meta = first.profile
        colormap = first.colormap(1) if first.count == 1 and _has_colormap(first) else None
        descriptions, scales, offsets = first.descriptions, first.scales, first.offsets
        tags = first.tags()
        band_tags = [first.tags(b) for b in range(1, first.count + 1)]
    count, dtype, nodata = meta["count"], meta["dtype"], meta["nodata"]
    fill = 0 if nodata is None else nodata
    profile = {
        **grid.raster_profile(dtype=dtype, count=count, nodata=nodata),
        "tiled": True,
        "blockxsize": block,
        "blockysize": block,
        "BIGTIFF": "IF_SAFER",
    }
    with tempfile.TemporaryDirectory(dir=Path(path).parent) as scratch:
        staging = Path(scratch) / "mosaic.tif"
        with rasterio.open(staging, "w+", **profile) as out:
            for window in _windows(grid.shape, block):
                out.write(np.full((count, int(window.height), int(window.width)), fill, dtype), window=window)
            for tile in paths:
                _place_tile(tile, out, grid, meta, resampling)
            for band in range(1, count + 1):
                out.set_band_description(band, descriptions[band - 1] or "")
                out.update_tags(band, **band_tags[band - 1])
            out.scales, out.offsets = scales, offsets
            out.update_tags(**tags)
            if colormap is not None:
                out.write_colormap(1, colormap)
        with rasterio.open(staging) as dataset:
            _copy_as_cog(dataset, path, resampling="NEAREST" if colormap is not None else "AVERAGE")


def _has_colormap(dataset: rasterio.io.DatasetReader) -> bool:
    try:
        dataset.colormap(1)
    except ValueError:
        return False
    return True


def _place_tile(
    tile: str | Path,
    out: rasterio.io.DatasetWriter,
    grid: GridSpec,
    meta: Mapping[str, object],
    resampling: Resampling,
) -> None:
    with rasterio.open(tile) as dataset:
        if (dataset.count, dataset.dtypes[0], dataset.nodata) != (
            meta["count"],
            meta["dtype"],
            meta["nodata"],
        ):
            raise ValueError(
                f"tile {tile} has {dataset.count} {dataset.dtypes[0]} bands with nodata {dataset.nodata}; "
                f"{meta['count']} {meta['dtype']} with nodata {meta['nodata']} expected: rebuild the tiles"
            )
        window = _tile_window(dataset, grid)
        if window.width == 0 or window.height == 0:
            return
        same_grid = dataset.crs.to_epsg() == grid.epsg and dataset.res == (grid.resolution, grid.resolution)
        if same_grid and (int(window.height), int(window.width)) == dataset.shape:
            out.write(dataset.read(), window=window)
            return
        current = out.read(window=window)
        nodata = dataset.nodata if dataset.nodata is not None else 0
        warped = np.full_like(current, nodata)
        reproject(
            source=dataset.read(),
            destination=warped,
            src_transform=dataset.transform,
            src_crs=dataset.crs,
            src_nodata=nodata,
            dst_transform=out.window_transform(window),
            dst_crs=grid.crs,
            dst_nodata=nodata,
            resampling=resampling,
        )
        empty = current == nodata
        current[empty] = warped[empty]
        out.write(current, window=window)


def block_windows(path: str | Path) -> Iterator[tuple[Window, np.ndarray]]:
    """Each internal block window of a raster's first band and its values, in file order."""
    with rasterio.open(path) as dataset:
        for _, window in dataset.block_windows(1):
            yield window, dataset.read(1, window=window)
