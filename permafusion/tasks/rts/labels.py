"""Dated slump polygons: checked, reprojected, and burnt per site and year.

Expected file (GeoPackage, GeoParquet or anything GDAL reads; any CRS, reprojected here): one polygon per
slump outline and year, with a ``year`` column (integer) or a ``date`` column (the outline's date, from
which the year is taken). A ``site`` column is optional: polygons are assigned to sites by location.
Inside a site, pixels under a polygon of the year are slumps (code 2) and all others background (code 1),
as in the seed, which treats every unmapped pixel of a labelled site as negative.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely.geometry

from permafusion.geo.grid import GridSpec
from permafusion.geo.labels import LabelError, rasterize_labels
from permafusion.tasks.rts.classes import BACKGROUND, RTS, SLUMP


def read_slump_labels(path: str | Path, *, aoi_bbox: Sequence[float]) -> gpd.GeoDataFrame:
    """Read dated slump polygons, in EPSG:4326, with an integer ``year`` column.

    Raises:
        LabelError: a missing or unreadable file, no CRS, no ``year``/``date`` column, no polygon, or
            polygons outside the AOI; each message names the file and what to change.
    """
    path = Path(path)
    if not path.is_file():
        raise LabelError(
            f"label file {path} does not exist: set `labels` in the AOI file to your slump polygons"
        )
    try:
        frame = gpd.read_parquet(path) if path.suffix == ".parquet" else gpd.read_file(path)
    except Exception as error:
        raise LabelError(
            f"label file {path} is unreadable ({error}): save it as GeoPackage or GeoParquet"
        ) from error
    if frame.crs is None:
        raise LabelError(f"label file {path} has no CRS: assign one (e.g. EPSG:4326) and save it again")
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    if frame.empty:
        raise LabelError(f"label file {path} holds no polygon: the positive set is empty; add slump outlines")
    if "year" in frame.columns:
        years = pd.to_numeric(frame["year"], errors="coerce")
    elif "date" in frame.columns:
        years = pd.to_datetime(frame["date"], errors="coerce").dt.year
    else:
        raise LabelError(
            f"label file {path} has no `year` or `date` column (columns: {list(frame.columns)}): yearly "
            "thaw-slump labels need the year of each outline; add a `year` (integer) or `date` column"
        )
    if years.isna().any():
        raise LabelError(
            f"label file {path}: {int(years.isna().sum())} polygons have no valid year/date; fix them"
        )
    frame = frame.assign(year=years.astype(int)).to_crs(4326)
    aoi = shapely.geometry.box(*aoi_bbox)
    outside = ~frame.geometry.intersects(aoi)
    if outside.all():
        raise LabelError(
            f"label file {path}: all {len(frame)} polygons lie outside the AOI bbox {list(aoi_bbox)}: check "
            "the file's CRS and the AOI's `bbox`"
        )
    if outside.any():
        raise LabelError(
            f"label file {path}: {int(outside.sum())} of {len(frame)} polygons lie outside the AOI bbox "
            f"{list(aoi_bbox)} (first at {frame.geometry[outside].iloc[0].centroid}): clip the file "
            "to the AOI "
            "or widen `bbox`"
        )
    return frame


def site_label_raster(frame: gpd.GeoDataFrame, grid: GridSpec, *, year: int) -> np.ndarray:
    """Codes on a site's grid for one year: 2 under that year's polygons, 1 elsewhere."""
    polygons = frame[frame["year"] == year].assign(class_code=SLUMP)
    if polygons.empty:
        return np.full(grid.shape, BACKGROUND, np.uint8)
    raster = rasterize_labels(polygons, grid, scheme=RTS)
    return np.where(raster == SLUMP, SLUMP, BACKGROUND).astype(np.uint8)


def label_years(frame: gpd.GeoDataFrame, sites: Mapping[str, Sequence[float]]) -> dict[str, list[int]]:
    """The years with at least one polygon in each site."""
    out = {}
    for name, bbox in sites.items():
        inside = frame[frame.geometry.intersects(shapely.geometry.box(*bbox))]
        out[name] = sorted(int(y) for y in inside["year"].unique())
    return out
