"""The composite Dataset contract shared by SAR and optical composites.

``<variable>`` float32 (time, band, y, x), NaN where a month had no valid observation;
``valid_count`` uint16 (time, y, x); coords ``time`` (month starts, datetime64[ns]), ``band``, ``y``,
``x`` (pixel centres of the grid); attrs ``epsg`` (int), ``transform`` (6 floats, GDAL/affine order
a, b, c, d, e, f), ``resolution``; the CRS written with rioxarray.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

from permafusion.composite.read import grid_coords
from permafusion.geo.grid import GridSpec

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def month_starts(months: Sequence[str]) -> np.ndarray:
    """datetime64[ns] month starts of "YYYY-MM" strings (validated, duplicates rejected)."""
    bad = [m for m in months if not isinstance(m, str) or not _MONTH.match(m)]
    if bad:
        raise ValueError(f"months must be 'YYYY-MM' strings, got {bad}")
    if len(set(months)) != len(months):
        raise ValueError(f"months contain duplicates: {list(months)}")
    return pd.to_datetime([f"{m}-01" for m in months]).values.astype("datetime64[ns]")


def make_dataset(
    name: str,
    values: np.ndarray | Sequence[np.ndarray],
    counts: np.ndarray | Sequence[np.ndarray],
    *,
    grid: GridSpec,
    times: np.ndarray,
    bands: Sequence[str],
    suffixes: Sequence[str] = ("",),
) -> xr.Dataset:
    """Wrap (time, band, y, x) values and (time, y, x) counts into the composite contract.

    With several ``suffixes`` (e.g. ``("", "_ascending", "_descending")``), ``values`` and ``counts``
    are sequences, one per suffix, stored as ``<name><suffix>`` and ``valid_count<suffix>``.
    """
    if isinstance(values, np.ndarray) or hasattr(values, "chunks"):
        values, counts = [values], [counts]  # type: ignore[list-item]
    xs, ys = grid_coords(grid)
    expected = (len(times), len(bands), *grid.shape)
    if len(values) != len(suffixes) or len(counts) != len(suffixes):
        raise ValueError(f"need one values and one counts array per suffix {list(suffixes)}")
    variables: dict[str, tuple[tuple[str, ...], Any]] = {}
    for suffix, value, count in zip(suffixes, values, counts, strict=True):
        if value.shape != expected or count.shape != (expected[0], *expected[2:]):
            raise ValueError(f"values {value.shape} / counts {count.shape} do not match {expected}")
        variables[f"{name}{suffix}"] = (("time", "band", "y", "x"), value.astype(np.float32, copy=False))
        variables[f"valid_count{suffix}"] = (("time", "y", "x"), count.astype(np.uint16, copy=False))
    ds = xr.Dataset(variables, coords={"time": times, "band": list(bands), "y": ys, "x": xs})
    for suffix in suffixes:
        which = f" ({suffix.strip('_')} passes)" if suffix else ""
        ds[f"valid_count{suffix}"].attrs["long_name"] = f"number of valid acquisitions in the month{which}"
    # write_transform stores the GeoTransform on ``spatial_ref`` and drops any ``transform`` attr, so the
    # contract attrs are set after it. In place: by default rioxarray deep-copies the data.
    ds = ds.rio.write_crs(f"EPSG:{grid.epsg}", inplace=True).rio.write_transform(grid.transform, inplace=True)
    ds.attrs.update(
        {
            "epsg": int(grid.epsg),
            "transform": [float(v) for v in tuple(grid.transform)[:6]],
            "resolution": float(grid.resolution),
        }
    )
    return ds


def tile_grid(ds: xr.Dataset) -> GridSpec:
    """The grid a composite lies on, from its ``epsg`` and ``transform`` attrs and its shape."""
    return GridSpec.from_transform(
        int(ds.attrs["epsg"]), ds.attrs["transform"], (ds.sizes["y"], ds.sizes["x"])
    )
