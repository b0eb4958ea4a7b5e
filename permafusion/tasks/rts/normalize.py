"""Normalisation to [0, 1] (seed 001 §3.2): per-channel minimum and maximum of the training tiles.

The statistics travel in the checkpoint, so prediction scales new images exactly as training did. Values
beyond the training range are clipped to [0, 1].
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class MinMax:
    """Per-channel minimum and maximum, in channel order."""

    minimum: tuple[float, ...]
    maximum: tuple[float, ...]

    @classmethod
    def fit(cls, x: np.ndarray, *, percentile: float = 0.0) -> MinMax:
        """Statistics of (N, C, H, W) inputs; ``percentile`` > 0 uses percentiles instead of extremes."""
        channels = np.moveaxis(np.asarray(x, np.float64), 1, 0).reshape(x.shape[1], -1)
        lo = np.percentile(channels, percentile, axis=1)
        hi = np.percentile(channels, 100 - percentile, axis=1)
        return cls(tuple(float(v) for v in lo), tuple(float(v) for v in hi))

    def apply(self, x: np.ndarray, *, channel_axis: int = 1) -> np.ndarray:
        """Scale to [0, 1] per channel (a constant channel becomes 0)."""
        shape = [1] * x.ndim
        shape[channel_axis] = len(self.minimum)
        lo = np.asarray(self.minimum, np.float32).reshape(shape)
        span = np.asarray(self.maximum, np.float32).reshape(shape) - lo
        scaled = (x - lo) / np.where(span > 0, span, 1.0)
        return np.clip(scaled, 0.0, 1.0).astype(np.float32)

    def to_mapping(self) -> dict[str, list[float]]:
        return {"minimum": list(self.minimum), "maximum": list(self.maximum)}

    @classmethod
    def from_mapping(cls, values: Mapping[str, Sequence[Any]]) -> MinMax:
        return cls(tuple(float(v) for v in values["minimum"]), tuple(float(v) for v in values["maximum"]))
