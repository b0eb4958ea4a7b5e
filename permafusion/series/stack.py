"""A tile's monthly composite stores opened as one time series, for patches and prediction."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import xarray as xr

from permafusion.composite.store import open_composite

VARIABLES = {"sar": "backscatter", "optical": "reflectance"}


def open_series(paths: Sequence[str | Path]) -> xr.Dataset:
    """Monthly stores of one tile and sensor, lazily concatenated along time (in the given order).

    Raises:
        ValueError: the stores do not share one grid, or their months are not strictly increasing.
    """
    if not paths:
        raise ValueError("no composite store given")
    months = [open_composite(path) for path in paths]
    first = months[0]
    for path, month in zip(paths, months, strict=True):
        if month.attrs["transform"] != first.attrs["transform"] or month.sizes["x"] != first.sizes["x"]:
            raise ValueError(f"{path} is not on the grid of {paths[0]}: rebuild the tile's composites")
    series = xr.concat(months, dim="time", combine_attrs="override")
    if not series.indexes["time"].is_monotonic_increasing or series.indexes["time"].has_duplicates:
        raise ValueError(f"the composites {[str(p) for p in paths]} are not in strictly increasing months")
    return series
