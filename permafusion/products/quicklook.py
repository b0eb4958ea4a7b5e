"""The quicklook: an AOI's class map with its legend beside a true-colour optical composite, as a PNG."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from rasterio.enums import Resampling

from permafusion.composite import tile_grid
from permafusion.core.classes import NODATA, ClassScheme
from permafusion.core.files import atomic_write
from permafusion.geo.grid import GridSpec
from permafusion.products.maps import preview_grid, read_class_map, resample_to_grid
from permafusion.series.stack import open_series


def optical_rgb(reflectance: np.ndarray) -> np.ndarray:
    """A true-colour image (H, W, 3) in 0..1 from B04/B03/B02 reflectance (3, H, W), 2–98 % stretched."""
    rgb = np.moveaxis(reflectance, 0, -1).astype(np.float32)
    valid = np.isfinite(rgb).all(axis=-1)
    if not valid.any():
        return np.zeros(rgb.shape, np.float32)
    low, high = np.percentile(rgb[valid], [2, 98])
    stretched = np.clip((rgb - low) / max(high - low, 1e-6), 0, 1)
    stretched[~valid] = 0
    return stretched


def plot_quicklook(
    classes: np.ndarray, rgb: np.ndarray, path: str | Path, *, scheme: ClassScheme, title: str
) -> None:
    """The class map with its legend beside an optical composite of the same area, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    colormap = scheme.colormap()
    colors = [(r / 255, g / 255, b / 255, a / 255) for r, g, b, a in (colormap[c] for c in sorted(colormap))]
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 6), constrained_layout=True)
    left.imshow(rgb, interpolation="nearest")
    left.set_title("Sentinel-2 median composite (B04 B03 B02)")
    right.imshow(classes, cmap=ListedColormap(colors), vmin=0, vmax=len(colors) - 1, interpolation="nearest")
    right.set_title(scheme.title[:1].upper() + scheme.title[1:])
    for axis in (left, right):
        axis.set_xticks([])
        axis.set_yticks([])
    handles = [Patch(color=colors[code], label=f"{code} {name}") for code, name in scheme.names.items()]
    right.legend(handles=handles, loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    figure.suptitle(title)
    with atomic_write(path, suffix=".png") as tmp:
        figure.savefig(tmp, dpi=110)
    plt.close(figure)


def true_colour_preview(optical_by_tile: Sequence[Sequence[str | Path]], grid: GridSpec) -> np.ndarray:
    """B04/B03/B02 reflectance (3, H, W) on ``grid``: per tile, the median over its months with data.

    The median over the months is a cloud- and snow-free view of the summer surface; tiles are averaged
    onto the (coarser) preview grid, the later tile winning where tiles overlap.
    """
    rgb = np.full((3, *grid.shape), np.nan, dtype=np.float32)
    for paths in optical_by_tile:
        optical = open_series(paths)
        true_colour = (
            optical["reflectance"].sel(band=["B04", "B03", "B02"]).median("time", skipna=True).values
        )
        tile_rgb = resample_to_grid(
            true_colour.astype(np.float32),
            tile_grid(optical),
            grid,
            resampling=Resampling.average,
            nodata=np.nan,
        )
        rgb = np.where(np.isfinite(tile_rgb), tile_rgb, rgb)
    return rgb


def write_quicklook(
    map_path: str | Path,
    optical_by_tile: Sequence[Sequence[str | Path]],
    path: str | Path,
    *,
    scheme: ClassScheme,
    title: str,
) -> None:
    """The quicklook of a class map COG beside the optical composites of its tiles, on a preview grid."""
    classes, map_grid = read_class_map(map_path)
    grid = preview_grid(map_grid)
    classes = resample_to_grid(classes, map_grid, grid, resampling=Resampling.mode, nodata=NODATA)
    rgb = true_colour_preview(optical_by_tile, grid)
    plot_quicklook(classes, optical_rgb(rgb), path, scheme=scheme, title=title)
