"""A tile's monthly composite stores opened as one time series, for patches, prediction and previews.

Rules hand over the composite stores of every tile of an AOI as one flat list, tile after tile and month
after month within a tile (:func:`per_tile` splits it again); the model's inputs are the latest
``time_steps`` months of the period, or ``time_steps`` months spread over several years
(:func:`model_months`), the same for patches and prediction.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import xarray as xr

from permafusion.composite.store import open_composite

VARIABLES = {"sar": "backscatter", "optical": "reflectance"}

T = TypeVar("T")


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


def per_tile(paths: Sequence[str | Path], tiles: Sequence[str]) -> dict[str, list[str | Path]]:
    """Split a flat list of stores, tile after tile with the same number of months each, by tile.

    Raises:
        ValueError: when the list does not divide evenly among the tiles.
    """
    if not tiles or len(paths) % len(tiles):
        raise ValueError(f"{len(paths)} composite stores do not divide among {len(tiles)} tiles")
    months = len(paths) // len(tiles)
    return {tile: list(paths[i * months : (i + 1) * months]) for i, tile in enumerate(tiles)}


def model_months(months: Sequence[T], *, steps: int, every: int = 1) -> list[T]:
    """The time steps the model takes out of a period's months (in time order): the last month and each
    ``every``-th month before it, ``steps`` in all, oldest first.

    ``every=1`` gives the latest ``steps`` months; ``steps=12, every=4`` gives 12 steps over four years, so a
    model sees multi-year change as well as the seasons (at the cost of the seasonal detail).

    Raises:
        ValueError: for ``steps`` or ``every`` below 1, or a period too short for them.
    """
    if steps < 1 or every < 1:
        raise ValueError(f"steps ({steps}) and every ({every}) must be at least 1")
    span = 1 + (steps - 1) * every
    if len(months) < span:
        apart = "" if every == 1 else f" {every} months apart (a span of {span} months)"
        raise ValueError(
            f"{len(months)} monthly stores are fewer than the {steps} time steps{apart} the model takes"
        )
    return list(months[len(months) - span :: every])


def latest_months(paths: Sequence[str | Path], sensor: str, *, steps: int, every: int = 1) -> xr.DataArray:
    """The sensor's values (time, band, y, x) over the model's time steps of one tile's stores.

    Args:
        paths: the tile's monthly stores of one sensor, in time order.
        sensor: ``"sar"`` or ``"optical"``.
        steps: how many time steps the model takes (``patches.time_steps``).
        every: months between consecutive steps (``patches.step_months``, :func:`model_months`).

    Raises:
        ValueError: for an unknown sensor, or fewer months than the steps span.
    """
    if sensor not in VARIABLES:
        raise ValueError(f"sensor must be one of {sorted(VARIABLES)}, got {sensor!r}")
    return open_series(model_months(paths, steps=steps, every=every))[VARIABLES[sensor]]
