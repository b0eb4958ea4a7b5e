"""Vector products: the objects of a class mask, or the patches of every class of a class map, as polygons,
written as GeoPackage and GeoParquet."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio.features
import shapely.geometry
from scipy import ndimage

from permafusion.core.classes import ClassScheme
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
        # objects under the unit are dropped before tracing: most of a class map's objects are small
        kept = sizes * pixel_area >= min_area_m2
        kept[0] = False
        traced = np.where(kept[labels], labels, 0).astype(np.int32)
        shapes: dict[int, list[Any]] = {}
        for geometry, value in rasterio.features.shapes(
            traced, mask=traced > 0, transform=grid.transform, connectivity=8
        ):
            shapes.setdefault(int(value), []).append(shapely.geometry.shape(geometry))
        for label in map(int, np.flatnonzero(kept)):
            area = float(sizes[label]) * pixel_area
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


def polygonize_classes(
    classes: np.ndarray,
    grid: GridSpec,
    *,
    scheme: ClassScheme,
    min_area_m2: float = 0.0,
    probabilities: np.ndarray | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> gpd.GeoDataFrame:
    """The 8-connected patches of every class of a class map as polygons (no data, code 0, is left out).

    Args:
        classes: uint8 (H, W) class codes on ``grid``.
        grid: where the map lies.
        scheme: the map's classes (names of the codes).
        min_area_m2: patches smaller than this are dropped (the minimum mapping unit).
        probabilities: optional (K, H, W) class probabilities in 0..1 (channel k = code k + 1, NaN where
            unknown); each polygon gets the mean probability of its own class over its pixels.
        attributes: constant columns added to every row (e.g. the tile).

    Returns:
        One row per patch: ``id``, ``class_code``, ``class_name``, ``area_m2``, ``pixels``,
        ``mean_probability`` (NaN without ``probabilities``), the attributes, ``geometry``.
    """
    if probabilities is not None and probabilities.shape != (scheme.num_classes, *grid.shape):
        raise ValueError(
            f"probabilities {probabilities.shape} do not fit {scheme.num_classes} classes "
            f"on grid {grid.shape}"
        )
    frames = []
    for code in scheme.codes:
        frame = polygonize_mask(
            classes == code,
            grid,
            min_area_m2=min_area_m2,
            values=None if probabilities is None else probabilities[code - 1],
        )
        frame = frame.rename(columns={"mean_value": "mean_probability"})
        if probabilities is None:
            frame["mean_probability"] = np.nan
        frame.insert(0, "class_code", np.full(len(frame), code, np.uint8))
        frame.insert(1, "class_name", scheme.name_of(code))
        frames.append(frame.drop(columns="id"))
    columns = ["class_code", "class_name", "area_m2", "pixels", "mean_probability", "geometry"]
    kept = [f[columns] for f in frames if len(f)] or [frames[0][columns]]  # concat warns on empty frames
    result = gpd.GeoDataFrame(pd.concat(kept, ignore_index=True), geometry="geometry", crs=grid.crs)
    result.insert(0, "id", np.arange(1, len(result) + 1))
    for key, value in (attributes or {}).items():
        result.insert(len(result.columns) - 1, key, value)
    return result


def concat_vector_files(paths: Sequence[str | Path], *, crs: Any) -> gpd.GeoDataFrame:
    """Polygons of several GeoParquet files (e.g. one per tile) in one frame in ``crs``, ids renumbered.

    Tiles of another UTM zone are reprojected. Raises a ValueError naming a file without a CRS.
    """
    frames = []
    for path in paths:
        frame = gpd.read_parquet(path)
        if frame.crs is None:
            raise ValueError(f"vector file {path} has no CRS: rebuild it (delete it and rerun)")
        frames.append(frame.to_crs(crs))
    if not frames:
        raise ValueError("no vector files to join")
    joined = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=crs)
    joined["id"] = np.arange(1, len(joined) + 1)
    return joined
