"""Vector products: the objects of a class mask as polygons, written as GeoPackage and GeoParquet."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import rasterio.features
import shapely.geometry
from scipy import ndimage

from permafusion.core.files import atomic_write
from permafusion.geo.grid import GridSpec


def polygonize_mask(
    mask: np.ndarray,
    grid: GridSpec,
    *,
    min_area_m2: float = 0.0,
    attributes: Mapping[str, Any] | None = None,
    values: np.ndarray | None = None,
) -> gpd.GeoDataFrame:
    """The 8-connected objects of a bool mask as polygons in the grid's CRS.

    Args:
        mask: bool (H, W) on ``grid``.
        grid: where the mask lies.
        min_area_m2: objects smaller than this are dropped (the minimum mapping unit).
        attributes: constant columns added to every row (e.g. site and year).
        values: optional (H, W) float array; each polygon gets its objects' ``mean_value``
            (e.g. the mean probability).

    Returns:
        One row per object: ``id``, ``area_m2``, ``pixels``, optionally ``mean_value``, the attributes.
    """
    if mask.shape != grid.shape:
        raise ValueError(f"mask {mask.shape} does not fit grid {grid.shape}")
    labels, count = ndimage.label(mask.astype(bool), structure=np.ones((3, 3), bool))
    pixel_area = grid.resolution**2
    rows = []
    if count:
        sizes = np.bincount(labels.ravel(), minlength=count + 1)
        means = (
            np.asarray(ndimage.mean(values, labels, range(1, count + 1)), np.float64)
            if values is not None
            else np.full(count, np.nan)
        )
        shapes: dict[int, list[Any]] = {}
        for geometry, value in rasterio.features.shapes(
            labels.astype(np.int32), mask=labels > 0, transform=grid.transform, connectivity=8
        ):
            shapes.setdefault(int(value), []).append(shapely.geometry.shape(geometry))
        for label in range(1, count + 1):
            area = float(sizes[label]) * pixel_area
            if area < min_area_m2:
                continue
            polygon = shapely.union_all(shapes[label])
            row: dict[str, Any] = {"area_m2": area, "pixels": int(sizes[label]), "geometry": polygon}
            if values is not None:
                row["mean_value"] = float(means[label - 1])
            rows.append(row)
    frame = gpd.GeoDataFrame(
        rows,
        columns=["area_m2", "pixels", *(["mean_value"] if values is not None else []), "geometry"],
        geometry="geometry",
        crs=grid.crs,
    )
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    for key, value in (attributes or {}).items():
        frame[key] = value
    return frame


def write_vectors(
    frame: gpd.GeoDataFrame,
    *,
    gpkg: str | Path | None = None,
    parquet: str | Path | None = None,
    layer: str = "objects",
) -> None:
    """Write polygons as GeoPackage and/or GeoParquet, atomically (an empty frame writes an empty layer)."""
    if gpkg is not None:
        with atomic_write(gpkg, suffix=".gpkg") as tmp:
            frame.to_file(tmp, layer=layer, driver="GPKG")
    if parquet is not None:
        with atomic_write(parquet, suffix=".parquet") as tmp:
            frame.to_parquet(tmp)
