"""The model's time steps out of a period: the latest months, or steps spread over several years."""

from __future__ import annotations

import numpy as np
import pytest

from permafusion.composite.dataset import make_dataset
from permafusion.composite.store import write_composite
from permafusion.geo.grid import GridSpec
from permafusion.series.stack import latest_months, model_months

PERIOD = [f"{y}-{m:02d}" for y in (2020, 2021, 2022, 2023) for m in range(1, 13)]


def test_consecutive_steps_are_the_latest_months() -> None:
    assert model_months(PERIOD, steps=12) == PERIOD[-12:]


def test_steps_spread_over_years_end_at_the_last_month() -> None:
    steps = model_months(PERIOD, steps=12, every=4)
    assert steps[0] == "2020-04" and steps[-1] == "2023-12" and len(steps) == 12
    assert steps[:3] == ["2020-04", "2020-08", "2020-12"]


@pytest.mark.parametrize(
    ("steps", "every", "message"), [(13, 4, "a span of 49 months"), (49, 1, "fewer than the 49")]
)
def test_a_period_too_short_for_the_steps_is_refused(steps: int, every: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        model_months(PERIOD, steps=steps, every=every)


def test_the_stores_read_are_those_of_the_steps(tmp_path) -> None:
    grid = GridSpec(32646, (500000.0, 3999920.0, 500080.0, 4000000.0), 10.0)
    paths = []
    for t, month in enumerate(PERIOD[-24:]):
        values = np.full((1, 2, 8, 8), float(t), dtype=np.float32)  # each month's value is its position
        counts = np.ones((1, 8, 8), dtype=np.uint16)
        times = np.array([np.datetime64(f"{month}-01")])
        ds = make_dataset("backscatter", values, counts, grid=grid, times=times, bands=("vv", "vh"))
        paths.append(write_composite(ds, tmp_path / f"{month}.zarr"))
    series = latest_months(paths, "sar", steps=4, every=6)
    assert series.sizes["time"] == 4
    np.testing.assert_array_equal(series.isel(band=0, y=0, x=0).values, [5.0, 11.0, 17.0, 23.0])
