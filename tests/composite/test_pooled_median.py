"""A pooled composite: one median over all the months' acquisitions, not a median of monthly medians."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from test_composite_read import GRID, grid_window, s2_item

from permafusion.composite import OpticalSettings, build_optical_composite


def test_pooled_median_is_the_median_of_every_scene(tmp_path):
    # June one scene at 1000, July three at 100/200/300, August one at 400: monthly medians 1000, 200,
    # 400 have the median 400; the five scenes together have 300.
    dates_and_dn = [
        (datetime(2020, 6, 20, tzinfo=UTC), 1000),
        (datetime(2020, 7, 5, tzinfo=UTC), 100),
        (datetime(2020, 7, 15, tzinfo=UTC), 200),
        (datetime(2020, 7, 25, tzinfo=UTC), 300),
        (datetime(2020, 8, 10, tzinfo=UTC), 400),
    ]
    scl = np.full((15, 15), 4)
    items = [
        s2_item(tmp_path, f"s2-{i}", when, "02.14", np.full((30, 30), dn), np.full((15, 15), dn), scl)
        for i, (when, dn) in enumerate(dates_and_dn)
    ]
    months = ["2020-06", "2020-07", "2020-08"]
    settings = OpticalSettings(bands=("B02", "B08"), chunksize=16)
    monthly = build_optical_composite(items, grid=GRID, months=months, settings=settings)
    pooled = build_optical_composite(items, grid=GRID, months=months, settings=settings, pool=True)
    assert monthly.reflectance.shape[0] == 3 and pooled.reflectance.shape[0] == 1
    median_of_months = np.nanmedian(monthly.reflectance.values, axis=0)
    np.testing.assert_allclose(median_of_months[0], 0.04)
    np.testing.assert_allclose(pooled.reflectance.values[0, 0], 0.03)
    np.testing.assert_allclose(pooled.reflectance.values[0, 1], grid_window(np.full((30, 30), 303)) / 1e4)
    assert (pooled.valid_count.values[0] == 5).all()
    assert str(pooled.time.values[0])[:7] == "2020-06"
