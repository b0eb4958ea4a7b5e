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


#: Probabilities are stored as bytes: value = byte x PROBABILITY_SCALE (0-200 for 0-1); 255 is no data.
PROBABILITY_SCALE = 0.005
PROBABILITY_NODATA = 255


def write_probabilities_cog(
    probabilities: np.ndarray, valid: np.ndarray, grid: GridSpec, path: str | Path, *, scheme: ClassScheme
) -> None:
    """Class probabilities as a COG of one uint8 band per class (band k = class code k): 0-200 for 0-1
    (``scale`` 0.005 in the bands' metadata, so GDAL reads them back as probabilities), 255 where ``valid``
    is False (nodata)."""
    if probabilities.shape != (scheme.num_classes, *grid.shape) or valid.shape != grid.shape:
        raise ValueError(
            f"probabilities {probabilities.shape} / valid {valid.shape} do not fit "
            f"{scheme.num_classes} classes on grid {grid.shape}"
        )
    clipped = np.clip(np.nan_to_num(probabilities, nan=0.0), 0, 1)
    scaled = np.round(clipped / PROBABILITY_SCALE).astype(np.uint8)
    scaled[:, ~valid] = PROBABILITY_NODATA
    profile = grid.raster_profile(dtype="uint8", count=scheme.num_classes, nodata=PROBABILITY_NODATA)
    with MemoryFile() as memory:
        with memory.open(**profile) as dataset:
            dataset.write(scaled)
            for code in scheme.codes:
                dataset.set_band_description(code, f"probability of {scheme.name_of(code)}")
            dataset.scales = (PROBABILITY_SCALE,) * scheme.num_classes
            dataset.update_tags(AREA_OR_POINT="Area")
        with memory.open() as dataset, atomic_write(path, suffix=".tif") as tmp:
            rasterio.shutil.copy(
                dataset, tmp, driver="COG", compress="DEFLATE", overview_resampling="AVERAGE"
            )


def read_probabilities(path: str | Path) -> np.ndarray:
    """(K, H, W) float32 probabilities of a :func:`write_probabilities_cog` file, NaN where no data."""
    with rasterio.open(path) as dataset:
        scaled = dataset.read()
    probabilities = scaled.astype(np.float32) * PROBABILITY_SCALE
    probabilities[scaled == PROBABILITY_NODATA] = np.nan
    return probabilities


def read_class_map(path: str | Path) -> tuple[np.ndarray, GridSpec]:
    with rasterio.open(path) as dataset:
        bounds = dataset.bounds
        grid = GridSpec(
            dataset.crs.to_epsg(), (bounds.left, bounds.bottom, bounds.right, bounds.top), dataset.res[0]
        )
        return dataset.read(1), grid


def mosaic_class_maps(paths: Sequence[str | Path], grid: GridSpec) -> np.ndarray:
    """Place tile class maps on the AOI grid; tiles in another UTM zone are reprojected (nearest)."""
    mosaic = np.zeros(grid.shape, dtype=np.uint8)
    for path in paths:
        with rasterio.open(path) as dataset:
            reproject(
                source=rasterio.band(dataset, 1),
                destination=mosaic,
                dst_transform=grid.transform,
                dst_crs=grid.crs,
                dst_nodata=NODATA,
                src_nodata=NODATA,
                resampling=Resampling.nearest,
                init_dest_nodata=False,
            )
    return mosaic


def area_by_class(classes: np.ndarray, resolution: float, *, scheme: ClassScheme) -> pd.DataFrame:
    """Pixels and km² per class code, no data included as code 0."""
    pixel_km2 = resolution * resolution / 1e6
    rows = [
        {"class_code": code, "class_name": name, "pixels": int((classes == code).sum())}
        for code, name in ((c, scheme.name_of(c)) for c in (NODATA, *scheme.codes))
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
