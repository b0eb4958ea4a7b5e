"""Sliding windows over the daily series, and the standardisation a checkpoint carries.

A sample is (station, day): the model sees the ``length`` days of drivers that **end on that day**
(days ``day - length + 1 .. day``, nothing later) and predicts the soil temperature of that day at every
depth. Drivers of a day are known on that day (reanalysis or observed weather), so no window reaches into
the future of its target. Samples need a full window behind them; training samples also need at least one
observed depth, and may be thinned to every ``stride``-th day (neighbouring windows overlap almost fully).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from permafusion.tasks.soiltemp.dataset import SeriesSet


def sample_index(
    series: SeriesSet,
    *,
    length: int,
    codes: np.ndarray | None = None,
    split: int | None = None,
    stride: int = 1,
    observed_only: bool = True,
) -> np.ndarray:
    """(N, 2) int64 (station, day) of the samples, in station then day order.

    Args:
        series: the series.
        length: window length in days.
        codes: (S, D) split codes; with ``split``, only samples of that split.
        split: the split code to keep.
        stride: keep every ``stride``-th day (counted from the first full window).
        observed_only: keep only days with at least one observed depth.
    """
    if length < 1 or stride < 1:
        raise ValueError(f"window length {length} and stride {stride} must be >= 1")
    s, d = series.targets.shape[:2]
    keep = np.zeros((s, d), dtype=bool)
    keep[:, length - 1 :: stride] = True
    if observed_only:
        keep &= np.isfinite(series.targets).any(axis=2)
    if split is not None:
        if codes is None:
            raise ValueError("a split needs the split codes")
        keep &= codes == split
    stations, days = np.nonzero(keep)
    return np.stack([stations, days], axis=1).astype(np.int64)


def gather_windows(dynamic: torch.Tensor, samples: torch.Tensor, length: int) -> torch.Tensor:
    """(N, length, F) windows ending at each sample's day from (S, D, F) ``dynamic``."""
    offsets = torch.arange(-length + 1, 1, device=dynamic.device)
    days = samples[:, 1:2] + offsets  # (N, length), last column is the target day
    if bool((days < 0).any()):
        raise ValueError("a window starts before the first day: samples need length - 1 days behind them")
    return dynamic[samples[:, 0:1], days]


def _f32(values: list[float]) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


@dataclass(frozen=True)
class Standardizer:
    """Means and standard deviations of features, statics and targets, from training samples only.

    Missing inputs become 0 after standardisation (the training mean); targets keep NaN (masked).
    """

    feature_mean: list[float]
    feature_std: list[float]
    static_mean: list[float]
    static_std: list[float]
    target_mean: list[float]
    target_std: list[float]

    @classmethod
    def fit(cls, series: SeriesSet, samples: np.ndarray) -> Standardizer:
        """Statistics of the stations and days of ``samples`` (the training split)."""
        stations = np.unique(samples[:, 0])
        days = series.dynamic[samples[:, 0], samples[:, 1]]  # driver values on training days
        targets = series.targets[samples[:, 0], samples[:, 1]]
        statics = series.statics[stations]

        def stats(values: np.ndarray) -> tuple[list[float], list[float]]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: handled below
                mean = np.nanmean(values, axis=0) if len(values) else np.zeros(values.shape[1])
                std = np.nanstd(values, axis=0) if len(values) else np.ones(values.shape[1])
            mean = np.where(np.isfinite(mean), mean, 0.0)
            std = np.where(np.isfinite(std) & (std > 1e-6), std, 1.0)
            return [float(v) for v in mean], [float(v) for v in std]

        fm, fs = stats(days.astype(np.float64))
        sm, ss = stats(statics.astype(np.float64))
        tm, ts = stats(targets.astype(np.float64))
        return cls(fm, fs, sm, ss, tm, ts)

    def to_mapping(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Standardizer:
        return cls(**{k: [float(v) for v in values[k]] for k in cls.__dataclass_fields__})

    def features(self, dynamic: np.ndarray) -> np.ndarray:
        out = (dynamic - _f32(self.feature_mean)) / _f32(self.feature_std)
        return np.nan_to_num(out.astype(np.float32), nan=0.0)

    def statics(self, statics: np.ndarray) -> np.ndarray:
        out = (statics - _f32(self.static_mean)) / _f32(self.static_std)
        return np.nan_to_num(out.astype(np.float32), nan=0.0)

    def targets(self, targets: np.ndarray) -> np.ndarray:
        return ((targets - _f32(self.target_mean)) / _f32(self.target_std)).astype(np.float32)

    def untarget(self, values: np.ndarray) -> np.ndarray:
        """Standardised predictions back to °C."""
        return np.asarray(values * _f32(self.target_std) + _f32(self.target_mean), dtype=np.float32)
