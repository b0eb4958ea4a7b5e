"""Scenario drivers (deltas, signal) and the active-layer arithmetic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from soil_support import make_series

from permafusion.tasks.soiltemp.drivers import DERIVED
from permafusion.tasks.soiltemp.scenarios import active_layer_thickness, future_series


def test_active_layer_is_the_zero_crossing_of_the_warmest_profile():
    depths = [0.1, 0.5, 1.0, 2.0]
    maxima = np.array(
        [
            [5.0, 2.0, -2.0, -4.0],  # crosses 0 halfway between 0.5 and 1.0
            [-1.0, -2.0, -3.0, -4.0],  # frozen all year
            [5.0, 4.0, 3.0, 1.0],  # every depth thaws
        ]
    )
    alt, all_thaw = active_layer_thickness(maxima, depths)
    np.testing.assert_allclose(alt, [0.75, 0.0, 2.0])
    assert list(all_thaw) == [False, False, True]


def test_future_drivers_carry_the_delta_and_the_signal_rises():
    series = make_series(stations=2, days=3 * 365 + 1)
    series.meta["reference_years"] = 1
    future = future_series(series, delta={"t2m": 4.0, "tp": 0.5}, end_year=2030, base_years=2)
    dates = pd.DatetimeIndex(future.dates)
    assert dates[-1] == pd.Timestamp("2030-12-31") and np.isnan(future.targets).all()
    raw = [i for i, name in enumerate(series.feature_names) if name not in DERIVED]
    np.testing.assert_array_equal(future.dynamic[:, : len(series.dates), raw], series.dynamic[:, :, raw])
    t2m, signal = future.feature("t2m"), future.feature("scenario_signal")
    n = len(series.dates)
    base = series.feature("t2m")[:, -2 * 365 :]
    # the last day of 2030 is the base weather plus (almost) the whole delta
    last = len(dates) - 1
    cycle_day = (last - n) % (2 * 365)
    assert t2m[0, last] == pytest.approx(base[0, cycle_day] + 4.0, abs=0.05)
    assert signal[:, -1].mean() > signal[:, n - 1].mean() + 3.0
    tp = future.feature_names.index("tp")
    assert future.dynamic[0, last, tp] == pytest.approx(
        series.dynamic[0, n - 2 * 365 + cycle_day, tp] * 1.5, rel=0.02
    )
    with pytest.raises(ValueError, match="base_years"):
        future_series(series, delta={"t2m": 1.0}, base_years=10)
