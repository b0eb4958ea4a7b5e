"""Daily drivers per station as model inputs: the variables, their units, and the derived features.

Drivers are ERA5-Land-like daily values per station (from :mod:`permafusion.tasks.soiltemp.era5` or a
user's table, :func:`permafusion.tasks.soiltemp.tables.read_drivers`). To them the task adds

- the day of the year as sine and cosine (the season),
- the **scenario signal** (seed 002's feature for long-term forcing): the trailing 365-day mean of the 2 m
  temperature minus the station's mean over its first ``reference_years`` years. It is 0 on average in the
  reference period and grows with warming, in the past record as in delta-changed scenario drivers, so a
  model sees the slow forcing explicitly rather than only through a 90-day window.

Gaps in the drivers are filled by linear interpolation in time (at most ``max_gap_days``), and what is left
is set to the training mean by the standardisation (:mod:`permafusion.tasks.soiltemp.windows`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: Daily driver variables, ERA5-Land short names, with the units the task works in.
VARIABLES: dict[str, str] = {
    "t2m": "2 m temperature, daily mean, °C",
    "d2m": "2 m dewpoint temperature, daily mean, °C",
    "tp": "total precipitation, daily total, mm",
    "sde": "snow depth, daily mean, m",
    "snowc": "snow cover, daily mean, %",
    "ssrd": "surface solar radiation downwards, daily total, MJ m-2",
    "stl1": "soil temperature level 1 (0-7 cm), daily mean, °C",
    "stl2": "soil temperature level 2 (7-28 cm), daily mean, °C",
    "stl3": "soil temperature level 3 (28-100 cm), daily mean, °C",
    "stl4": "soil temperature level 4 (100-289 cm), daily mean, °C",
    "swvl1": "volumetric soil water layer 1 (0-7 cm), daily mean, m3 m-3",
}

#: Depths (m) of the middle of ERA5-Land's four soil layers, for the reanalysis baseline.
REANALYSIS_DEPTHS: dict[str, float] = {"stl1": 0.035, "stl2": 0.175, "stl3": 0.64, "stl4": 1.945}

#: Features added to the drivers.
DERIVED = ("doy_sin", "doy_cos", "scenario_signal")


def latitude_band(lat: float | np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """The latitude band of each latitude: 0 below ``edges[0]``, ..., ``len(edges)`` from the last edge on."""
    return np.digitize(np.asarray(lat, dtype=np.float64), np.asarray(edges, dtype=np.float64)).astype(
        np.int64
    )


def band_names(edges: Sequence[float]) -> list[str]:
    """Readable names of the bands of :func:`latitude_band`."""
    edges = [float(e) for e in edges]
    bounds = [-90.0, *edges, 90.0]
    return [f"{lo:g}-{hi:g}N" for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]


def daily_frame(
    drivers: pd.DataFrame,
    *,
    station: str,
    dates: pd.DatetimeIndex,
    variables: Sequence[str],
    max_gap_days: int = 10,
) -> pd.DataFrame:
    """One station's drivers on every day of ``dates`` (gaps up to ``max_gap_days`` interpolated)."""
    rows = drivers[drivers["station"] == station].set_index("date")
    frame = rows.reindex(dates)[list(variables)].astype(np.float64)
    return frame.interpolate(limit=max_gap_days, limit_area="inside")


def scenario_signal(t2m: np.ndarray, *, reference_days: int) -> np.ndarray:
    """Trailing 365-day mean of daily ``t2m`` minus its mean over the first ``reference_days`` days.

    Days with less than half a year behind them use what there is (at least 30 days); NaN days are skipped.
    """
    series = pd.Series(np.asarray(t2m, dtype=np.float64))
    trailing = series.rolling(365, min_periods=30).mean()
    reference = (
        float(np.nanmean(series.iloc[:reference_days])) if series.iloc[:reference_days].notna().any() else 0.0
    )
    return (trailing - reference).to_numpy()


def derived_features(dates: pd.DatetimeIndex, t2m: np.ndarray, *, reference_days: int) -> np.ndarray:
    """(days, 3): day-of-year sine and cosine, and the scenario signal."""
    angle = 2 * np.pi * (dates.dayofyear.to_numpy() - 1) / 365.25
    return np.stack(
        [np.sin(angle), np.cos(angle), scenario_signal(t2m, reference_days=reference_days)], axis=1
    )
