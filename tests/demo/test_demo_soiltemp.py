"""The synthetic soil-temperature network: heat conduction against its analytic solution, the
zero curtain, snow insulation, and the tables it writes."""

from __future__ import annotations

import numpy as np
import pytest

from permafusion.demo.soiltemp import Column, at_depths, conduct, generate_soiltemp_demo
from permafusion.tasks.soiltemp import tables
from permafusion.tasks.soiltemp.drivers import VARIABLES

PERIOD = 365.0


def _sinusoid(years: int, *, mean: float = 0.0, amplitude: float = 10.0) -> np.ndarray:
    days = np.arange(int(PERIOD * years))
    return (mean + amplitude * np.sin(2 * np.pi * days / PERIOD))[None, :]


@pytest.mark.parametrize("kappa", [0.04, 0.08])
def test_annual_wave_is_damped_and_lagged_as_the_analytic_solution(kappa):
    """Without phase change, T(z, t) = A exp(-z/d) sin(wt - z/d), d = sqrt(2 kappa / w)."""
    column = Column(dz=0.1, depth=15.0)
    profiles = conduct(_sinusoid(4), diffusivity=kappa, latent=0.0, column=column, spinup_years=3)
    last_year = profiles[0, -365:]
    omega = 2 * np.pi / PERIOD
    d = np.sqrt(2 * kappa / omega)
    for depth in (0.5, 1.0, 2.0):
        series = at_depths(last_year[None], [depth], column)[0, :, 0]
        amplitude = (series.max() - series.min()) / 2
        assert amplitude == pytest.approx(10.0 * np.exp(-depth / d), rel=0.05), depth
        lag_days = (np.argmax(series) - (PERIOD / 4)) % PERIOD
        assert lag_days == pytest.approx(depth / d / omega, abs=3.0), depth


def test_latent_heat_holds_the_ground_near_zero_while_it_freezes():
    air = _sinusoid(3, mean=-2.0, amplitude=12.0)
    dry = conduct(air, diffusivity=0.05, latent=0.0)
    icy = conduct(air, diffusivity=0.05, latent=60.0)
    at_1m_dry, at_1m_icy = (at_depths(p, [1.0])[0, -365:, 0] for p in (dry, icy))
    near_zero = lambda s: int((np.abs(s) < 0.5).sum())  # noqa: E731
    assert near_zero(at_1m_icy) > near_zero(at_1m_dry) + 30  # a zero curtain of weeks
    assert np.ptp(at_1m_icy) < np.ptp(at_1m_dry)


def test_snow_insulates_the_ground_in_winter():
    air = _sinusoid(3, mean=-5.0, amplitude=15.0)
    snow = np.where(air < 0, 0.5, 0.0)
    bare = at_depths(conduct(air, diffusivity=0.05, latent=20.0), [0.5])[0, -365:, 0]
    covered = at_depths(conduct(air, diffusivity=0.05, latent=20.0, snow_depth=snow), [0.5])[0, -365:, 0]
    assert covered.min() > bare.min() + 3.0


def test_generated_tables_pass_the_readers_with_gaps_and_are_deterministic(tmp_path):
    paths = generate_soiltemp_demo(
        out_dir=tmp_path / "a", start="2000-01-01", end="2001-12-31", stations=4, seed=3
    )
    again = generate_soiltemp_demo(
        out_dir=tmp_path / "b", start="2000-01-01", end="2001-12-31", stations=4, seed=3
    )
    for name in paths:
        assert paths[name].read_bytes() == again[name].read_bytes(), name
    stations = tables.read_stations(paths["stations"])
    observations = tables.read_observations(paths["observations"], stations=list(stations.index))
    drivers = tables.read_drivers(paths["drivers"], stations=list(stations.index), variables=list(VARIABLES))
    assert len(stations) == 4 and {"lithology", "soil_organic_carbon", "ground_ice"} <= set(stations.columns)
    assert sorted(observations["depth_m"].unique()) == [0.1, 0.5, 1.0, 2.0, 3.0]
    assert observations["temperature_c"].isna().any()  # gaps as empty cells
    assert len(observations) < 4 * 731 * 5  # and as absent rows
    assert len(drivers) == 4 * 731 and drivers[list(VARIABLES)].notna().all().all()
    # deeper is damped: the spread of daily values shrinks with depth
    spread = observations.groupby("depth_m")["temperature_c"].std()
    assert spread.is_monotonic_decreasing
