"""A tile's model input with a margin of context read from its neighbours' composites.

The windows that meet a tile reach up to one window side beyond it (see
:mod:`permafusion.tasks.degradation.windows`). This module places the tile and its neighbours in the
pixel frame of their UTM zone's extent, reads from each only the rows and columns inside the tile's box
grown by that margin, and returns the assembled arrays with their :class:`Placement`. Tiles of another
zone are not read (their pixels are on another grid): at a zone border the input is mirrored as at the
AOI's edge.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from permafusion.geo.grid import GridSpec
from permafusion.series.gaps import GapFill, fill_gaps
from permafusion.tasks.degradation.windows import Placement

#: Reads (sar (T, 2, h, w), optical (T, 6, h, w)) float32 of a tile's rows and columns, NaN unobserved.
TileReader = Callable[[slice, slice], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class ContextSource:
    """A tile whose composites can be read: its grid and a reader of pixel windows."""

    grid: GridSpec
    read: TileReader


def pixel_offset(grid: GridSpec, extent: GridSpec) -> tuple[int, int]:
    """(row, col) of ``grid``'s first pixel in ``extent`` (same CRS and resolution).

    Raises:
        ValueError: if the grids differ in CRS or resolution or do not share the pixel lattice.
    """
    if grid.epsg != extent.epsg or grid.resolution != extent.resolution:
        raise ValueError(f"tile grid {grid} and extent {extent} differ in CRS or resolution")
    row = (extent.bounds[3] - grid.bounds[3]) / grid.resolution
    col = (grid.bounds[0] - extent.bounds[0]) / grid.resolution
    if abs(row - round(row)) > 1e-6 or abs(col - round(col)) > 1e-6:
        raise ValueError(f"tile grid {grid} is not on the pixel lattice of extent {extent}")
    return round(row), round(col)


def composite_reader(
    sar: Sequence[str | Path], optical: Sequence[str | Path], *, steps: int, every: int = 1
) -> TileReader:
    """A :data:`TileReader` over a tile's monthly composite stores (``steps`` months, ``every`` apart, up to
    the last)."""
    from permafusion.series.stack import latest_months

    series = {
        name: latest_months(paths, name, steps=steps, every=every)
        for name, paths in (("sar", sar), ("optical", optical))
    }

    def read(rows: slice, cols: slice) -> tuple[np.ndarray, np.ndarray]:
        sar_values, optical_values = (
            np.asarray(series[name].isel(y=rows, x=cols).values, dtype=np.float32)
            for name in ("sar", "optical")
        )
        return sar_values, optical_values

    return read


def gather_context(
    tile: ContextSource,
    neighbours: Sequence[ContextSource],
    extent: GridSpec,
    *,
    margin: int,
    gap_fill: Mapping[str, GapFill],
) -> tuple[np.ndarray, np.ndarray, Placement]:
    """The tile's input grown by ``margin`` pixels into its neighbours (within the extent), gap-filled.

    Pixels of the grown box that no source covers are NaN (no observation).

    Returns:
        ``(sar, optical, placement)`` with ``placement.box`` the tile.
    """
    height, width = tile.grid.shape
    row, col = pixel_offset(tile.grid, extent)
    top, left = max(0, row - margin), max(0, col - margin)
    bottom = min(extent.shape[0], row + height + margin)
    right = min(extent.shape[1], col + width + margin)
    arrays: dict[str, np.ndarray] = {}
    for source in (tile, *neighbours):
        r0, c0 = pixel_offset(source.grid, extent)
        r1, c1 = r0 + source.grid.shape[0], c0 + source.grid.shape[1]
        y0, y1, x0, x1 = max(r0, top), min(r1, bottom), max(c0, left), min(c1, right)
        if y0 >= y1 or x0 >= x1:
            continue
        values = source.read(slice(y0 - r0, y1 - r0), slice(x0 - c0, x1 - c0))
        for name, part in zip(("sar", "optical"), values, strict=True):
            if name not in arrays:
                arrays[name] = np.full((*part.shape[:2], bottom - top, right - left), np.nan, np.float32)
            arrays[name][..., y0 - top : y1 - top, x0 - left : x1 - left] = part
    for name in ("sar", "optical"):
        observed = np.isfinite(arrays[name]).all(axis=1)
        arrays[name] = fill_gaps(arrays[name], observed, gap_fill.get(name, "none"))[0]
    placement = Placement(extent=extent.shape, offset=(top, left), box=(row, col, height, width))
    return arrays["sar"], arrays["optical"], placement
