"""Map products of an AOI: the class map COG, its mosaic from tiles, the area table, preview grids."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd
import rasterio
import rasterio.shutil
from rasterio.enums import Resampling
from rasterio.io import MemoryFile
from rasterio.warp import reproject

from permafusion.core.classes import NODATA, ClassScheme
from permafusion.core.files import atomic_write, write_text
from permafusion.geo.grid import GridSpec
from permafusion.products.rasters import block_windows, mosaic_to_cog


def write_class_cog(classes: np.ndarray, grid: GridSpec, path: str | Path, *, scheme: ClassScheme) -> None:
    """Write a uint8 class map as a Cloud-Optimized GeoTIFF with nodata 0, a colormap and class names.

    Class names go into the band's GDAL metadata (``CLASS_1=...``), which lives inside the TIFF; the
    colour table is the band's palette, so GIS tools show the legend without a sidecar file.
    """
    if classes.shape != grid.shape or classes.dtype != np.uint8:
        raise ValueError(f"class map {classes.shape} {classes.dtype} does not fit grid {grid.shape} uint8")
    path = Path(path)
    profile = grid.raster_profile(dtype="uint8", nodata=NODATA)
    tags = {f"CLASS_{code}": scheme.name_of(code) for code in (*scheme.codes, NODATA)}
    with MemoryFile() as memory:
        with memory.open(**profile) as dataset:
            dataset.write(classes, 1)
            dataset.write_colormap(1, scheme.colormap())
            dataset.update_tags(1, **tags)
            dataset.set_band_description(1, scheme.title)
            dataset.update_tags(AREA_OR_POINT="Area")
        with memory.open() as dataset, atomic_write(path, suffix=".tif") as tmp:
            rasterio.shutil.copy(
                dataset, tmp, driver="COG", compress="DEFLATE", overview_resampling="NEAREST"
            )


def class_style_qml(scheme: ClassScheme) -> str:
    """A QGIS layer style (``.qml``) for a class map: a paletted renderer with the scheme's colours and
    class names, so the legend shows names. QGIS loads ``<map>.qml`` beside ``<map>.tif`` by itself."""
    entries = "\n".join(
        f'        <paletteEntry value="{code}" color="#{r:02x}{g:02x}{b:02x}" alpha="{a}" '
        f'label="{escape(name, {chr(34): "&quot;"})}"/>'
        for code, name in scheme.names.items()
        for r, g, b, a in [scheme.colors[code]]
    )
    return f"""<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.28.0" styleCategories="Symbology">
  <pipe>
    <rasterrenderer type="paletted" band="1" opacity="1" alphaBand="-1" nodataColor="">
      <rasterTransparency/>
      <colorPalette>
{entries}
      </colorPalette>
    </rasterrenderer>
  </pipe>
</qgis>
"""


def write_class_style(scheme: ClassScheme, path: str | Path) -> None:
    """Write :func:`class_style_qml` to ``path`` (``.qml`` beside the class map), atomically."""
    write_text(class_style_qml(scheme), path)


def write_class_probability_cog(
    classes: np.ndarray, probability: np.ndarray, grid: GridSpec, path: str | Path, *, scheme: ClassScheme
) -> None:
    """A two-band COG: band 1 the uint8 class map (nodata 0, class names in its metadata), band 2 the
    probability of the map's positive class as a byte (0-200 for 0-1 in steps of 0.005, 255 no data).

    GeoTIFF bands share one data type and nodata value, so the probability is stored as scaled bytes with
    ``scale_factor`` 0.005 in the band's metadata (GDAL's ``scale``: value = byte x 0.005) rather than as
    float32 beside a uint8 class band.
    """
    if classes.shape != grid.shape or probability.shape != grid.shape or classes.dtype != np.uint8:
        raise ValueError(
            f"class map {classes.shape} {classes.dtype} / probability {probability.shape} "
            f"do not fit {grid.shape}"
        )
    scaled = np.where(np.isfinite(probability), np.round(np.clip(probability, 0, 1) * 200), 255).astype(
        np.uint8
    )
    scaled[classes == NODATA] = 255
    profile = grid.raster_profile(dtype="uint8", count=2, nodata=None)
    tags = {f"CLASS_{code}": scheme.name_of(code) for code in (*scheme.codes, NODATA)}
    with MemoryFile() as memory:
        with memory.open(**profile) as dataset:
            dataset.write(classes, 1)
            dataset.write(scaled, 2)
            dataset.update_tags(1, **tags, NODATA_VALUE=str(NODATA))
            dataset.update_tags(2, NODATA_VALUE="255", UNITS="probability x 200")
            dataset.set_band_description(1, scheme.title)
            dataset.set_band_description(2, f"probability of {scheme.names[max(scheme.codes)]}")
            dataset.scales = (1.0, 0.005)
            dataset.update_tags(AREA_OR_POINT="Area")
        with memory.open() as dataset, atomic_write(path, suffix=".tif") as tmp:
            rasterio.shutil.copy(
                dataset, tmp, driver="COG", compress="DEFLATE", overview_resampling="NEAREST"
            )


def read_class_map(path: str | Path) -> tuple[np.ndarray, GridSpec]:
    with rasterio.open(path) as dataset:
        bounds = dataset.bounds
        grid = GridSpec(
            dataset.crs.to_epsg(), (bounds.left, bounds.bottom, bounds.right, bounds.top), dataset.res[0]
        )
        return dataset.read(1), grid


def mosaic_class_maps(paths: Sequence[str | Path], grid: GridSpec, path: str | Path) -> None:
    """Mosaic tile class maps onto the AOI grid as a COG, window by window (see
    :func:`permafusion.products.rasters.mosaic_to_cog`); tiles in another UTM zone are reprojected
    (nearest). The first tile's colour table and class names are kept."""
    mosaic_to_cog(paths, grid, path, resampling=Resampling.nearest)


def class_pixel_counts(path: str | Path, codes: Sequence[int]) -> dict[int, int]:
    """Pixels per class code of a class map, counted block by block (the map is never read whole)."""
    counts = dict.fromkeys(codes, 0)
    top = max(codes) + 1
    for _, values in block_windows(path):
        found = np.bincount(values.ravel(), minlength=top)
        for code in codes:
            counts[code] += int(found[code])
    return counts


def area_of_class_map(path: str | Path, *, scheme: ClassScheme) -> pd.DataFrame:
    """:func:`area_by_class` of a class map file, counted block by block."""
    with rasterio.open(path) as dataset:
        resolution = dataset.res[0]
    counts = class_pixel_counts(path, (NODATA, *scheme.codes))
    return _area_table(counts, resolution, scheme=scheme)


def area_by_class(classes: np.ndarray, resolution: float, *, scheme: ClassScheme) -> pd.DataFrame:
    """Pixels and km² per class code, no data included as code 0."""
    counts = {code: int((classes == code).sum()) for code in (NODATA, *scheme.codes)}
    return _area_table(counts, resolution, scheme=scheme)


def _area_table(counts: dict[int, int], resolution: float, *, scheme: ClassScheme) -> pd.DataFrame:
    pixel_km2 = resolution * resolution / 1e6
    rows = [
        {"class_code": code, "class_name": scheme.name_of(code), "pixels": counts[code]}
        for code in (NODATA, *scheme.codes)
    ]
    table = pd.DataFrame(rows)
    table["area_km2"] = (table["pixels"] * pixel_km2).round(4)
    return table


def preview_grid(grid: GridSpec, *, max_side: int = 1600) -> GridSpec:
    """A coarser grid over the same area whose longer side has at most ``max_side`` pixels."""
    factor = max(1, -(-max(grid.shape) // max_side))
    resolution = grid.resolution * factor
    minx, miny, maxx, maxy = grid.bounds
    snapped = (
        np.floor(minx / resolution) * resolution,
        np.floor(miny / resolution) * resolution,
        np.ceil(maxx / resolution) * resolution,
        np.ceil(maxy / resolution) * resolution,
    )
    return GridSpec(grid.epsg, tuple(float(v) for v in snapped), resolution)  # type: ignore[arg-type]


def resample_to_grid(
    source: np.ndarray, source_grid: GridSpec, grid: GridSpec, *, resampling: Resampling, nodata: float
) -> np.ndarray:
    """Reproject a (bands, H, W) or (H, W) array from one grid to another."""
    shape = (*source.shape[:-2], *grid.shape)
    destination = np.full(shape, nodata, dtype=source.dtype)
    reproject(
        source=source,
        destination=destination,
        src_transform=source_grid.transform,
        src_crs=source_grid.crs,
        src_nodata=nodata,
        dst_transform=grid.transform,
        dst_crs=grid.crs,
        dst_nodata=nodata,
        resampling=resampling,
    )
    return destination
