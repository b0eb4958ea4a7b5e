"""The synthetic scene: class mix, growing thermokarst, seasonal curves, terrain."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from permafusion.demo.scene import (
    build_scene,
    greenness,
    late_summer,
    smooth_noise,
    snow_probability,
    thaw_fraction,
    world_grid,
)
from permafusion.geo.grid import GridSpec


@pytest.fixture(scope="module")
def scene():
    grid = GridSpec(32646, (490000.0, 3850000.0, 496000.0, 3856000.0))
    return build_scene(
        grid=grid,
        start=dt.date(2023, 1, 1),
        end=dt.date(2023, 12, 31),
        rng=np.random.default_rng(3),
        cell_size_m=800,
    )


def test_world_grid_contains_grid_and_is_60m_aligned():
    grid = GridSpec(32646, (490010.0, 3850020.0, 492570.0, 3852580.0))
    world = world_grid(grid, 600.0)
    assert world.resolution == 10.0
    assert world.bounds[0] <= grid.bounds[0] - 600 and world.bounds[2] >= grid.bounds[2] + 600
    assert all(v % 60 == 0 for v in world.bounds)
    assert world.shape[0] % 2 == 0 and world.shape[1] % 2 == 0


def test_class_mix_follows_table_1(scene):
    shares = np.bincount(scene.class_map.ravel(), minlength=5)[1:] / scene.class_map.size
    assert set(np.unique(scene.class_map)) == {1, 2, 3, 4}
    np.testing.assert_allclose(shares, [0.40, 0.27, 0.20, 0.13], atol=0.1)


def test_thermokarst_lakes_grow_and_sit_in_class_3(scene):
    at_start = scene.water_onset <= 0
    at_end = scene.water_onset <= 1.0
    assert at_end.sum() > 1.3 * at_start.sum()
    grown = at_end & ~at_start
    assert np.mean(scene.class_map[grown] == 3) > 0.8
    assert (scene.scar_onset <= 1.0).sum() > (scene.scar_onset <= 0).sum() > 0
    # Slumps sit on slopes steeper than the scene's typical one.
    assert np.median(scene.slope_deg[scene.scar_onset <= 0]) > np.median(scene.slope_deg)


def test_plateau_elevation(scene):
    assert scene.elevation.min() > 4450 and scene.elevation.max() < 4750


def test_seasonal_curves():
    jan, jul, sep = dt.date(2023, 1, 15), dt.date(2023, 7, 20), dt.date(2023, 9, 5)
    assert thaw_fraction(jan) < 0.01 and thaw_fraction(jul) > 0.99
    assert greenness(jul) > 0.9 > 0.1 > greenness(jan)
    assert late_summer(sep) > 0.9 and late_summer(jul) < 0.3
    assert snow_probability(jan) > 0.8 and snow_probability(jul) < 0.05


def test_smooth_noise_is_normalised_and_seeded():
    a = smooth_noise(np.random.default_rng(1), (100, 120), 7)
    b = smooth_noise(np.random.default_rng(1), (100, 120), 7)
    assert a.shape == (100, 120) and a.dtype == np.float32
    assert abs(float(a.mean())) < 1e-4 and abs(float(a.std()) - 1) < 1e-3
    np.testing.assert_array_equal(a, b)


def test_order_control_classes_share_values_and_differ_in_order() -> None:
    """Classes 1 and 2 share every level parameter and their thaw dates; only the wetting peak moves, so
    their SAR land signal runs through about the same values in another order."""
    import datetime as dt

    import numpy as np

    from permafusion.demo.scene import CLASS_PARAMS, peak_map, thaw_map

    one, two = CLASS_PARAMS[1], CLASS_PARAMS[2]
    assert {k for k in one if one[k] != two[k]} == {"wet_doy"}

    def vv(params: dict[str, float], day: dt.date) -> float:
        thaw = thaw_map(day, np.float32(params["thaw_doy"]), np.float32(params["refreeze_doy"]))
        wet = peak_map(day, np.float32(params["wet_doy"]), 25.0)
        return float(params["vv_thaw"] - params["freeze_drop"] * (1 - thaw) + params["sar_wet_bump"] * wet)

    days = [dt.date(2023, m, 15) for m in range(1, 13)]
    a, b = np.array([vv(one, d) for d in days]), np.array([vv(two, d) for d in days])
    assert abs(a.mean() - b.mean()) < 0.15 and abs(a.max() - b.max()) < 0.15
    assert int(a.argmax()) == 8 and int(b.argmax()) == 5  # September against June
    assert np.abs(a - b).max() > 1.5
