"""Baselines and the metric arithmetic (per depth, band, season; station-bootstrap intervals)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from soil_support import make_series

from permafusion.learn.regression_bootstrap import bootstrap_regression
from permafusion.tasks.soiltemp import baselines
from permafusion.tasks.soiltemp.drivers import REANALYSIS_DEPTHS
from permafusion.tasks.soiltemp.evaluate import comparison_table, metrics_table, season_of
from permafusion.tasks.soiltemp.windows import sample_index


def test_persistence_repeats_the_observation_lag_days_before():
    series = make_series(stations=2, days=40)
    samples = np.array([[0, 10], [1, 0]])
    out = baselines.persistence(series, samples, lag=3)
    np.testing.assert_array_equal(out[0], series.targets[0, 7])
    assert np.isnan(out[1]).all()


def test_climatology_is_the_day_of_year_mean_and_borrows_for_held_out_stations():
    series = make_series(stations=3, days=3 * 365, depths=(0.5,))
    series.targets[:] = np.nan
    doy = pd.DatetimeIndex(series.dates).dayofyear.to_numpy()
    years = pd.DatetimeIndex(series.dates).year.to_numpy()
    series.targets[0, :, 0] = doy + (years - 2001)  # mean over the years: doy + 1
    series.targets[1, :, 0] = 5.0
    train = sample_index(series, length=1, codes=np.zeros((3, len(doy)), np.int8), split=0)
    samples = np.array([[0, 100], [1, 50], [2, 50]])
    out = baselines.climatology(series, train, samples, half_window=0)
    assert out[0, 0] == pytest.approx(doy[100] + 1)
    assert out[1, 0] == pytest.approx(5.0)
    assert out[2, 0] == pytest.approx(5.0)  # station 2 has no training data: station 1 is nearest


def test_reanalysis_is_interpolated_between_levels_and_held_below_the_last():
    series = make_series(stations=1, days=5, depths=(0.035, 0.4075, 3.0))
    for i, name in enumerate(REANALYSIS_DEPTHS):
        series.dynamic[:, :, series.feature_names.index(name)] = float(i)
    out = baselines.reanalysis(series, np.array([[0, 2]]))
    np.testing.assert_allclose(out[0], [0.0, 1.5, 3.0])


def test_linear_baseline_learns_a_linear_target():
    series = make_series(stations=4, days=500, depths=(0.1,))
    t2m = series.feature("t2m")
    series.targets[:, :, 0] = 0.5 * t2m + 2.0
    samples = sample_index(series, length=30, observed_only=False)
    out = baselines.linear(series, samples, samples, window=30, alpha=1e-6)
    np.testing.assert_allclose(out[:, 0], series.targets[samples[:, 0], samples[:, 1], 0], atol=0.05)


def test_seasons():
    assert list(season_of(np.array([12, 1, 3, 6, 9, 11]))) == ["DJF", "DJF", "MAM", "JJA", "SON", "SON"]


def _frame() -> pd.DataFrame:
    rows = []
    for station, error in (("a", 1.0), ("b", -1.0), ("c", 3.0)):
        for day in range(4):
            rows.append(
                {
                    "station": station,
                    "date": f"2001-0{1 + 3 * (day % 2)}-01",
                    "depth_m": 0.5,
                    "band": "62-66N",
                    "season": "DJF" if day % 2 == 0 else "MAM",
                    "observed": float(day),
                    "model": day + error,
                    "flat": 1.5,
                }
            )
    return pd.DataFrame(rows)


def test_metric_arithmetic_per_depth_and_group():
    metrics = metrics_table(_frame(), methods=["model", "flat"], depths=[0.5], n_boot=200)
    row = metrics[
        (metrics["method"] == "model") & (metrics["grouping"] == "all") & (metrics["depth"] == "0.5m")
    ]
    errors = np.repeat([1.0, -1.0, 3.0], 4)
    assert row["rmse"].item() == pytest.approx(np.sqrt((errors**2).mean()))
    assert row["mae"].item() == pytest.approx(np.abs(errors).mean())
    assert row["bias"].item() == pytest.approx(errors.mean())
    observed = np.tile(np.arange(4.0), 3)
    r2 = 1 - (errors**2).sum() / ((observed - observed.mean()) ** 2).sum()
    assert row["r2"].item() == pytest.approx(r2)
    assert row["rmse_lo"].item() <= row["rmse"].item() <= row["rmse_hi"].item()
    season = metrics[
        (metrics["method"] == "model") & (metrics["group"] == "DJF") & (metrics["depth"] == "0.5m")
    ]
    assert season["n"].item() == 6
    table = comparison_table(metrics)
    assert list(table["method"]) == ["flat", "model"] and "0.5m" in table.columns


def test_station_bootstrap_intervals():
    stats = np.zeros((3, 1, 6))
    for g, error in enumerate([1.0, 1.0, 1.0]):
        stats[g, 0] = [10, 10 * error, 10 * error**2, 10 * abs(error), 10 * g, 10 * g**2 + 1]
    boot = bootstrap_regression(stats, n_boot=100, seed=1)
    assert boot["per_output"][0]["rmse"] == [
        pytest.approx(1.0),
        pytest.approx(1.0),
    ]  # no spread among stations
    stats[2, 0, 2] = 10 * 9.0  # one station with errors of 3
    wide = bootstrap_regression(stats, n_boot=500, seed=1)["per_output"][0]["rmse"]
    assert wide[0] == pytest.approx(1.0) and wide[1] == pytest.approx(3.0)
    assert bootstrap_regression(stats, n_boot=50, seed=4) == bootstrap_regression(stats, n_boot=50, seed=4)
    with pytest.raises(ValueError, match="no groups"):
        bootstrap_regression(np.zeros((0, 1, 6)))
