"""Ground-truth polygons to a class raster on the processing grid.

Unlabeled pixels get code 0 and are ignored by training and metrics; they are never a class. Pixels
claimed by polygons of two different classes are ambiguous and also left at 0.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.features

from permafusion.core.classes import NODATA, ClassScheme
from permafusion.core.files import atomic_write
from permafusion.geo.grid import GridSpec


class LabelError(ValueError):
    """A label file that cannot be used; the message names the file and what to change."""


def read_labels(
    path: str | Path, *, scheme: ClassScheme, class_column: str = "class_code"
) -> gpd.GeoDataFrame:
    """Read and check a ground-truth vector file (GeoPackage or anything GDAL reads).

    Raises:
        LabelError: missing, unreadable, no CRS, no class column, or values of the class column that are
            not class codes of ``scheme`` (text, NaN, 2.7, 7).
    """
    path = Path(path)
    if not path.is_file():
        raise LabelError(f"label file {path} does not exist: set `labels` in the AOI file to a GeoPackage")
    try:
        frame = gpd.read_file(path)
    except Exception as error:  # pyogrio raises several types; all mean the same to the user
        raise LabelError(
            f"label file {path} is unreadable ({error}): replace it with a valid GeoPackage"
        ) from error
    if frame.crs is None:
        raise LabelError(f"label file {path} has no CRS: assign one (e.g. EPSG:4326) and save it again")
    if class_column not in frame.columns:
        raise LabelError(f"label file {path} has no `{class_column}` column (columns: {list(frame.columns)})")
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    if frame.empty:
        raise LabelError(f"label file {path} holds no geometry")
    _check_codes(frame, path=path, column=class_column, scheme=scheme)
    return frame


def _check_codes(frame: gpd.GeoDataFrame, *, path: Path, column: str, scheme: ClassScheme) -> None:
    """Every value of the class column is a class code of ``scheme``: an integer, not text, NaN or 2.7.

    Raises:
        LabelError: naming the file, the column, the offending values and the first rows (feature ids)
            holding them, and the codes allowed.
    """
    values = pd.to_numeric(frame[column], errors="coerce")
    allowed = set(scheme.codes)
    bad = values.isna() | ~values.isin(allowed)
    if not bad.any():
        frame[column] = values.astype(int)
        return

    def why(value: float) -> str:
        if pd.isna(value):
            return "empty or not a number"
        return "not a whole number" if value % 1 else "not a class"

    rows = frame.index[bad.to_numpy()][:5]

    def shown(value: object) -> str:
        value = value.item() if isinstance(value, np.generic) else value
        return repr(value) if isinstance(value, str) else str(value)

    examples = "; ".join(f"row {row}: {shown(frame.at[row, column])}, {why(values.at[row])}" for row in rows)
    raise LabelError(
        f"label file {path}, column `{column}`: {int(bad.sum())} of {len(frame)} features hold values that "
        f"are not class codes ({examples}); allowed ({scheme.title}): {sorted(allowed)}. Fix those rows (or "
        "drop them) and save the file again"
    )


def rasterize_labels(
    frame: gpd.GeoDataFrame, grid: GridSpec, *, scheme: ClassScheme, class_column: str = "class_code"
) -> np.ndarray:
    """Burn labels onto a grid: uint8 class codes of ``scheme``, 0 where unlabeled or ambiguous."""
    projected = frame.to_crs(grid.crs)
    claims = np.zeros(grid.shape, dtype=np.uint8)  # how many classes claim each pixel
    raster = np.zeros(grid.shape, dtype=np.uint8)
    for code in scheme.codes:
        shapes = list(projected.geometry[projected[class_column].astype(int) == code])
        if not shapes:
            continue
        mask = rasterio.features.geometry_mask(
            shapes, out_shape=grid.shape, transform=grid.transform, invert=True
        )
        claims += mask
        raster[mask] = code
    raster[claims > 1] = NODATA
    return raster


def write_label_raster(raster: np.ndarray, grid: GridSpec, path: str | Path) -> None:
    """Write a class raster (uint8, 0 unlabeled) as a tiled, compressed GeoTIFF on ``grid``, atomically."""
    profile = {**grid.raster_profile(dtype="uint8", nodata=NODATA), "compress": "deflate", "tiled": True}
    with atomic_write(path, suffix=".tif") as tmp, rasterio.open(tmp, "w", **profile) as dataset:
        dataset.write(raster.astype(np.uint8), 1)
