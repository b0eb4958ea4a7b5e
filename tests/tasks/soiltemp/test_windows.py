"""Windows end on their target day (no future leaks); splits by station share no station."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from soil_support import make_series

from permafusion.tasks.soiltemp.dataset import SPLIT_CODES, split_codes, time_split_dates
from permafusion.tasks.soiltemp.windows import Standardizer, gather_windows, sample_index


def test_a_window_holds_exactly_the_days_up_to_its_target_day():
    series = make_series(stations=3, days=50)
    days = series.dynamic.shape[1]
    # feature value = day number, so a window shows which days it holds
    dynamic = np.broadcast_to(np.arange(days, dtype=np.float32)[None, :, None], (3, days, 2)).copy()
    samples = sample_index(series, length=7, observed_only=False)
    windows = gather_windows(torch.from_numpy(dynamic), torch.from_numpy(samples), 7).numpy()
    assert windows.shape == (len(samples), 7, 2)
    for (_station, day), window in zip(samples, windows, strict=True):
        assert window[:, 0].max() == day  # nothing after the target day
        np.testing.assert_array_equal(window[:, 0], np.arange(day - 6, day + 1))
    assert samples[:, 1].min() == 6  # a full window behind every sample


def test_a_window_reaching_before_the_record_is_refused():
    dynamic = torch.zeros(1, 10, 1)
    with pytest.raises(ValueError, match="starts before the first day"):
        gather_windows(dynamic, torch.tensor([[0, 3]]), 5)


def test_changing_the_future_does_not_change_a_window():
    series = make_series(stations=2, days=60)
    samples = sample_index(series, length=10, observed_only=False)
    before = gather_windows(torch.from_numpy(series.dynamic), torch.from_numpy(samples), 10)
    changed = series.dynamic.copy()
    changed[:, 40:] += 100.0  # the future of day 39
    after = gather_windows(torch.from_numpy(changed), torch.from_numpy(samples), 10)
    early = samples[:, 1] < 40
    assert torch.equal(before[early], after[early]) and not torch.equal(before[~early], after[~early])


def test_samples_need_an_observation_and_follow_stride_and_split():
    series = make_series(stations=4, days=100)
    series.targets[0, 50] = np.nan
    samples = sample_index(series, length=10)
    assert not ((samples[:, 0] == 0) & (samples[:, 1] == 50)).any()
    thinned = sample_index(series, length=10, stride=5, observed_only=False)
    assert set(np.unique((thinned[:, 1] - 9) % 5)) == {0}
    codes = np.zeros((4, 100), np.int8)
    codes[2:] = SPLIT_CODES["test"]
    assert set(sample_index(series, length=10, codes=codes, split=SPLIT_CODES["test"])[:, 0]) == {2, 3}


def test_station_split_shares_no_station_between_splits():
    series = make_series(stations=12, days=30)
    codes = split_codes(series, kind="station", block_deg=1.0, seed=3)
    per_station = [set(np.unique(row)) for row in codes]
    assert all(len(s) == 1 for s in per_station)  # a station is whole in one split
    assert {next(iter(s)) for s in per_station} == {0, 1, 2}


def test_station_split_needs_three_blocks():
    series = make_series(stations=4, days=30)
    with pytest.raises(ValueError, match="block_deg"):
        split_codes(series, kind="station", block_deg=50.0)


def test_time_split_tests_on_the_last_years():
    assert time_split_dates(start="2000-01-01", end="2013-12-31", test_years=2, val_years=2) == (
        "2010-01-01",
        "2012-01-01",
    )
    with pytest.raises(ValueError, match="no training year"):
        time_split_dates(start="2010-01-01", end="2012-12-31", test_years=2, val_years=1)
    series = make_series(stations=2, days=800)
    codes = split_codes(series, kind="time", val_start="2002-01-01", test_start="2002-06-01")
    first_test = np.flatnonzero(codes[0] == SPLIT_CODES["test"])[0]
    assert str(series.dates[first_test]) == "2002-06-01" and (codes[:, :first_test] != 2).all()


def test_standardizer_uses_training_samples_only_and_round_trips():
    series = make_series(stations=4, days=100)
    train = np.array([[0, d] for d in range(100)])
    st = Standardizer.fit(series, train)
    t2m = series.feature_names.index("t2m")
    assert st.feature_mean[t2m] == pytest.approx(float(np.nanmean(series.dynamic[0, :, t2m])), rel=1e-5)
    targets = series.targets[:1]
    np.testing.assert_allclose(st.untarget(st.targets(targets)), targets, atol=1e-4)
    assert Standardizer.from_mapping(st.to_mapping()) == st
    assert np.isfinite(st.features(np.full_like(series.dynamic, np.nan))).all()
