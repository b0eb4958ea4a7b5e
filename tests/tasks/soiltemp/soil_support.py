"""Small series built by code for the soil-temperature tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from permafusion.tasks.soiltemp.dataset import SeriesSet
from permafusion.tasks.soiltemp.drivers import (
    DERIVED,
    REANALYSIS_DEPTHS,
    VARIABLES,
    band_names,
    latitude_band,
)


def make_series(
    *, stations: int = 6, days: int = 400, depths: tuple[float, ...] = (0.1, 0.5, 1.0), seed: int = 0
) -> SeriesSet:
    """Drivers = a seasonal cycle plus noise; targets = damped copies of t2m (so a model can learn them)."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2001-01-01", periods=days, freq="D")
    angle = 2 * np.pi * np.arange(days) / 365.25
    names = [*VARIABLES, *DERIVED]
    dynamic = rng.normal(0, 1, (stations, days, len(names))).astype(np.float32)
    t2m = -5 + 15 * np.sin(angle)[None, :] + rng.normal(0, 2, (stations, days))
    dynamic[:, :, names.index("t2m")] = t2m
    dynamic[:, :, names.index("doy_sin")] = np.sin(angle)[None, :]
    dynamic[:, :, names.index("doy_cos")] = np.cos(angle)[None, :]
    for name, depth in REANALYSIS_DEPTHS.items():
        dynamic[:, :, names.index(name)] = -5 + 15 * np.exp(-depth) * np.sin(angle)[None, :]
    targets = np.stack(
        [-5 + 15 * np.exp(-d) * np.sin(angle - d)[None, :].repeat(stations, 0) for d in depths], axis=2
    )
    targets = targets.astype(np.float32)
    targets[rng.random(targets.shape) < 0.2] = np.nan
    lat = np.linspace(60.5, 70.5, stations)
    return SeriesSet(
        stations=[f"S{i}" for i in range(stations)],
        dates=dates.to_numpy().astype("datetime64[D]"),
        dynamic=dynamic,
        feature_names=names,
        targets=targets,
        depths=list(depths),
        statics=rng.normal(0, 1, (stations, 3)).astype(np.float32),
        static_names=["elevation", "lithology=sand", "lithology=silt"],
        band=latitude_band(lat, [62, 66, 69]),
        band_labels=band_names([62, 66, 69]),
        lat=lat,
        lon=np.linspace(-160, -142, stations),
        meta={"reference_years": 1},
    )
