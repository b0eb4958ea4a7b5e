"""Temporal gap filling of monthly composites, with the filled pixels flagged.

High-latitude optical series have empty months (polar night, snow, persistent cloud). Filling them from
neighbouring months gives the model plausible inputs, and the ``filled`` flag keeps the record of which
values were observed and which were made up, so no-data is never silently taken for a measurement.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

GapFill = Literal["none", "nearest", "linear"]
GAP_FILL_METHODS: tuple[str, ...] = ("none", "nearest", "linear")


def fill_gaps(values: np.ndarray, observed: np.ndarray, method: GapFill) -> tuple[np.ndarray, np.ndarray]:
    """Fill unobserved months of a (time, band, y, x) series from the observed ones.

    ``nearest`` copies the closest observed month (the earlier one on ties); ``linear`` interpolates
    between the observed months before and after, and copies the nearest one at the series' ends (no
    extrapolated trend). A pixel never observed stays NaN and is not flagged.

    Args:
        values: (T, B, H, W) float composites, NaN where unobserved.
        observed: (T, H, W) bool, True where the month had a valid observation.
        method: "none", "nearest" or "linear".

    Returns:
        ``(filled_values, filled)``: a new float32 array, and (T, H, W) bool True where a value was filled.
    """
    if method not in GAP_FILL_METHODS:
        raise ValueError(f"gap_fill must be one of {GAP_FILL_METHODS}, got {method!r}")
    if values.ndim != 4 or observed.shape != values.shape[:1] + values.shape[2:]:
        raise ValueError(f"values {values.shape} and observed {observed.shape} must be (T,B,H,W) and (T,H,W)")
    steps = values.shape[0]
    if method == "none" or steps == 0:
        return values.astype(np.float32, copy=True), np.zeros(observed.shape, bool)
    t = np.arange(steps).reshape(-1, 1, 1)
    before = np.maximum.accumulate(np.where(observed, t, -1), axis=0)
    after = np.minimum.accumulate(np.where(observed, t, steps)[::-1], axis=0)[::-1]
    has_before, has_after = before >= 0, after < steps
    filled = ~observed & (has_before | has_after)

    take_before = has_before & (~has_after | ((t - before) <= (after - t)))
    nearest = np.where(take_before, before, after).clip(0, steps - 1)
    gather = np.take_along_axis(values, nearest[:, None], axis=0)
    if method == "linear":
        both = has_before & has_after & filled
        weight = np.where(both, (t - before) / np.maximum(after - before, 1), 0.0).astype(np.float32)
        low = np.take_along_axis(values, before.clip(0, steps - 1)[:, None], axis=0)
        high = np.take_along_axis(values, after.clip(0, steps - 1)[:, None], axis=0)
        gather = np.where(both[:, None], low * (1 - weight[:, None]) + high * weight[:, None], gather)
    result = np.where(filled[:, None], gather, values).astype(np.float32)
    return result, filled
