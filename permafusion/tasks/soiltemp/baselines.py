"""Baselines a user needs to judge the sequence models, all predicting (samples, depths) in °C.

- **persistence**: the observation at the same depth ``lag`` days earlier (NaN where there is none). It
  reads the station's own loggers, which the models never see: with ``lag = 1`` it is what a running logger
  gives for free, an upper bound for a nowcast rather than a competitor for a model without observations.
- **climatology**: per station and depth, the mean observed temperature of each day of the year over the
  training samples (a ±``half_window``-day circular window); a station without training observations (a
  held-out station) takes that of the nearest station that has them.
- **reanalysis**: ERA5-Land's own soil temperature (``stl1``-``stl4`` at 3.5, 17.5, 64 and 194.5 cm)
  interpolated linearly to each depth, held constant below the deepest level.
- **linear**: ridge regression on the same inputs summarised per window (last day, means over the last 7
  and 30 days and the whole window), the statics and the band (one-hot), one model per depth.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge

from permafusion.tasks.soiltemp.dataset import SeriesSet
from permafusion.tasks.soiltemp.drivers import REANALYSIS_DEPTHS
from permafusion.tasks.soiltemp.windows import Standardizer

BASELINES = ("persistence", "climatology", "reanalysis", "linear")


def persistence(series: SeriesSet, samples: np.ndarray, *, lag: int = 1) -> np.ndarray:
    days = samples[:, 1] - lag
    out = np.full((len(samples), len(series.depths)), np.nan, np.float32)
    ok = days >= 0
    out[ok] = series.targets[samples[ok, 0], days[ok]]
    return out


def climatology(
    series: SeriesSet, train_samples: np.ndarray, samples: np.ndarray, *, half_window: int = 15
) -> np.ndarray:
    doy_all = pd.DatetimeIndex(series.dates).dayofyear.to_numpy() - 1  # 0..365
    s_count, z_count = len(series.stations), len(series.depths)
    sums = np.zeros((s_count, 366, z_count))
    counts = np.zeros((s_count, 366, z_count))
    values = series.targets[train_samples[:, 0], train_samples[:, 1]]
    valid = np.isfinite(values)
    np.add.at(sums, (train_samples[:, 0], doy_all[train_samples[:, 1]]), np.where(valid, values, 0.0))
    np.add.at(counts, (train_samples[:, 0], doy_all[train_samples[:, 1]]), valid)
    kernel_sums, kernel_counts = np.zeros_like(sums), np.zeros_like(counts)
    for shift in range(-half_window, half_window + 1):
        kernel_sums += np.roll(sums, shift, axis=1)
        kernel_counts += np.roll(counts, shift, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        table = np.where(kernel_counts > 0, kernel_sums / kernel_counts, np.nan)
    has = counts.sum(axis=(1, 2)) > 0
    if not has.any():
        raise ValueError("no training observation: climatology needs some")
    donors = np.flatnonzero(has)
    for s in np.flatnonzero(~has):  # held-out station: the nearest station with a climatology
        distance = (series.lat[donors] - series.lat[s]) ** 2 + (
            (series.lon[donors] - series.lon[s]) * np.cos(np.radians(series.lat[s]))
        ) ** 2
        table[s] = table[donors[np.argmin(distance)]]
    return table[samples[:, 0], doy_all[samples[:, 1]]].astype(np.float32)


def reanalysis(series: SeriesSet, samples: np.ndarray) -> np.ndarray:
    """Raises ValueError when the drivers lack ``stl1``-``stl4``."""
    missing = [name for name in REANALYSIS_DEPTHS if name not in series.feature_names]
    if missing:
        raise ValueError(f"the drivers have no {missing}: the reanalysis baseline needs stl1-stl4")
    levels = np.array(list(REANALYSIS_DEPTHS.values()))
    profile = np.stack(
        [series.feature(name)[samples[:, 0], samples[:, 1]] for name in REANALYSIS_DEPTHS], axis=1
    )
    out = np.empty((len(samples), len(series.depths)), np.float32)
    for z, depth in enumerate(series.depths):
        upper = np.clip(np.searchsorted(levels, depth) - 1, 0, len(levels) - 2)
        frac = np.clip((depth - levels[upper]) / (levels[upper + 1] - levels[upper]), 0.0, 1.0)
        out[:, z] = profile[:, upper] * (1 - frac) + profile[:, upper + 1] * frac
    return out


def window_summaries(series: SeriesSet, samples: np.ndarray, *, window: int, st: Standardizer) -> np.ndarray:
    """(N, P) features of the linear model: per feature, last day and means of the last 7, 30 and
    ``window`` days; then statics and the one-hot band."""
    dynamic = st.features(series.dynamic)
    cumulative = np.concatenate([np.zeros_like(dynamic[:, :1]), np.cumsum(dynamic, axis=1)], axis=1)
    s, d = samples[:, 0], samples[:, 1]
    parts = [dynamic[s, d]]
    for days in (7, 30, window):
        days = min(days, window)
        parts.append((cumulative[s, d + 1] - cumulative[s, d + 1 - days]) / days)
    parts.append(st.statics(series.statics)[s])
    parts.append(np.eye(len(series.band_labels), dtype=np.float32)[series.band[s]])
    return np.concatenate(parts, axis=1)


def linear(
    series: SeriesSet,
    train_samples: np.ndarray,
    samples: np.ndarray,
    *,
    window: int,
    alpha: float = 1.0,
) -> np.ndarray:
    st = Standardizer.fit(series, train_samples)
    x_train = window_summaries(series, train_samples, window=window, st=st)
    x = window_summaries(series, samples, window=window, st=st)
    y_train = series.targets[train_samples[:, 0], train_samples[:, 1]]
    out = np.full((len(samples), len(series.depths)), np.nan, np.float32)
    for z in range(len(series.depths)):
        ok = np.isfinite(y_train[:, z])
        if ok.sum() < x_train.shape[1]:
            continue  # too few observations at this depth to fit
        out[:, z] = Ridge(alpha=alpha).fit(x_train[ok], y_train[ok, z]).predict(x)
    return out
