"""A synthetic station network for the soil-temperature task, physically shaped and deterministic.

Stations across latitude bands get daily weather (an annual cycle colder and wider to the north, AR(1)
weather, a slow warming trend), a snowpack (accumulation below 0 °C, degree-day melt), and a ground column
solved by 1-D heat conduction (:func:`conduct`): an explicit enthalpy scheme, so freezing and thawing pass
through a latent-heat plateau at 0 °C (the zero curtain), the surface boundary is the air temperature
insulated by snow in winter (and by organic soil in summer), the bottom has no flux. Static properties
change the physics: lithology sets the thermal diffusivity, ground ice the latent heat, soil organic carbon
the summer insulation.

The ERA5-Land-like drivers come from the same weather with reanalysis-like flaws: soil temperature levels
1-4 are a second conduction run with one generic set of ground properties and a thinner snow insulation,
plus noise, so the reanalysis baseline is informative but imperfect. Observations are the true column at
the logger depths with sensor noise and gaps (whole missing stretches, missing deep sensors, days lost).

Outputs are the task's tidy tables (:mod:`permafusion.tasks.soiltemp.tables`): the demo runs through the
same reader as a user's data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from permafusion.core.files import write_csv

#: Thermal diffusivity (m2/day) per lithology class.
LITHOLOGY_DIFFUSIVITY = {"bedrock": 0.09, "gravel": 0.07, "sand": 0.055, "silt": 0.04}
#: Latent heat of the ground ice (as °C of sensible heat: L theta / C) per ground-ice class.
GROUND_ICE_LATENT = {"low": 15.0, "medium": 35.0, "high": 60.0}
#: Width (°C) of the freezing interval below 0 °C.
FREEZING_WIDTH = 0.5


@dataclass(frozen=True)
class Column:
    """The ground column: node spacing and depth (m), the surface node at 0 m."""

    dz: float = 0.15
    depth: float = 12.0

    @property
    def z(self) -> np.ndarray:
        return np.arange(0.0, self.depth + 1e-9, self.dz)


def _temperature(enthalpy: np.ndarray, latent: np.ndarray) -> np.ndarray:
    """Temperature from enthalpy H = T + L f(T), f the unfrozen fraction rising linearly over [-w, 0]."""
    w = FREEZING_WIDTH
    frozen = enthalpy < -w
    thawed = enthalpy > latent
    mushy = (enthalpy - latent) / (1.0 + latent / w)
    return np.where(frozen, enthalpy, np.where(thawed, enthalpy - latent, mushy))


def _enthalpy(temperature: np.ndarray, latent: np.ndarray) -> np.ndarray:
    unfrozen = np.clip((temperature + FREEZING_WIDTH) / FREEZING_WIDTH, 0.0, 1.0)
    return temperature + latent * unfrozen


def conduct(
    air: np.ndarray,
    *,
    diffusivity: np.ndarray | float,
    latent: np.ndarray | float = 0.0,
    snow_depth: np.ndarray | None = None,
    snow_scale: float = 0.15,
    summer_factor: np.ndarray | float = 1.0,
    column: Column = Column(),
    spinup_years: int = 3,
) -> np.ndarray:
    """Daily ground temperature profiles driven by daily air temperature.

    Surface node: ``air`` where there is no snow; under ``snow_depth`` s it relaxes to the ground below it,
    ``T0 = Tg + (Tair - Tg) exp(-s / snow_scale)``; above 0 °C it is ``air * summer_factor``.

    Args:
        air: (S, D) daily air temperature (°C) of S columns.
        diffusivity: thermal diffusivity (m2/day), scalar or (S,).
        latent: latent heat ratio L theta / C (°C), scalar or (S,); 0 switches phase change off.
        snow_depth: (S, D) snow depth (m), None for no snow.
        snow_scale: e-folding snow depth of the insulation (m).
        summer_factor: multiplies positive air temperatures at the surface (organic layer), scalar or (S,).
        column: the node grid.
        spinup_years: the first year's forcing is run this often before day 0, to start in equilibrium.

    Returns:
        (S, D, N) temperature at the nodes ``column.z`` at the end of each day.
    """
    air = np.asarray(air, dtype=np.float64)
    stations, days = air.shape
    z = column.z
    kappa = np.broadcast_to(np.asarray(diffusivity, dtype=np.float64), (stations,))[:, None]
    latent_s = np.broadcast_to(np.asarray(latent, dtype=np.float64), (stations,))[:, None]
    summer = np.broadcast_to(np.asarray(summer_factor, dtype=np.float64), (stations,))
    snow = np.zeros_like(air) if snow_depth is None else np.asarray(snow_depth, dtype=np.float64)
    substeps = max(1, int(np.ceil(2.2 * kappa.max() / column.dz**2)))
    dt = 1.0 / substeps
    rate = kappa * dt / column.dz**2
    first = air[:, : min(365, days)].mean(axis=1)
    temperature = np.repeat(first[:, None], len(z), axis=1)
    enthalpy = _enthalpy(temperature, latent_s)
    out = np.empty((stations, days, len(z)), dtype=np.float32)
    spin = min(365, days)
    schedule = [*(list(range(spin)) * spinup_years), *range(days)]
    for step, day in enumerate(schedule):
        t_air = air[:, day]
        insulation = np.exp(-snow[:, day] / snow_scale)
        ground = temperature[:, 1]
        surface = np.where(t_air > 0, t_air * summer, ground + (t_air - ground) * insulation)
        for _ in range(substeps):
            temperature[:, 0] = surface
            lap = np.empty_like(temperature)
            lap[:, 1:-1] = temperature[:, 2:] - 2 * temperature[:, 1:-1] + temperature[:, :-2]
            lap[:, -1] = 2 * (temperature[:, -2] - temperature[:, -1])  # no flux at the bottom
            lap[:, 0] = 0.0
            enthalpy = enthalpy + rate * lap
            temperature = _temperature(enthalpy, latent_s)
        temperature[:, 0] = surface
        if step >= spinup_years * spin:
            out[:, day] = temperature
    return out


def at_depths(profiles: np.ndarray, depths: Sequence[float], column: Column = Column()) -> np.ndarray:
    """(S, D, Z) temperatures at ``depths`` (m), linear between nodes."""
    z = column.z
    idx = np.clip(np.searchsorted(z, depths) - 1, 0, len(z) - 2)
    frac = (np.asarray(depths) - z[idx]) / column.dz
    return (profiles[..., idx] * (1 - frac) + profiles[..., idx + 1] * frac).astype(np.float32)


def _stations(count: int, rng: np.random.Generator) -> pd.DataFrame:
    lat = np.linspace(60.5, 70.5, count) + rng.uniform(-0.4, 0.4, count)
    lon = rng.uniform(-162.0, -142.0, count)
    lithology = rng.choice(list(LITHOLOGY_DIFFUSIVITY), count)
    ice = rng.choice(list(GROUND_ICE_LATENT), count)
    return pd.DataFrame(
        {
            "station": [f"ST{i:03d}" for i in range(count)],
            "lat": lat.round(4),
            "lon": lon.round(4),
            "elevation": rng.uniform(20, 900, count).round(1),
            "lithology": lithology,
            "soil_organic_carbon": rng.uniform(2.0, 40.0, count).round(2),
            "ground_ice": ice,
        }
    )


def _weather(
    stations: pd.DataFrame, dates: pd.DatetimeIndex, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    s, d = len(stations), len(dates)
    lat = stations["lat"].to_numpy()[:, None]
    elevation = stations["elevation"].to_numpy()[:, None]
    doy = dates.dayofyear.to_numpy()[None, :]
    years = ((dates - dates[0]).days.to_numpy() / 365.25)[None, :]
    mean = 0.5 - 0.75 * (lat - 60.0) - 0.005 * elevation
    amplitude = 13.0 + 0.5 * (lat - 60.0)
    cycle = -np.cos(2 * np.pi * (doy - 20) / 365.25)
    noise = np.zeros((s, d))
    shocks = rng.normal(0.0, 2.2, (s, d))
    for day in range(1, d):
        noise[:, day] = 0.8 * noise[:, day - 1] + shocks[:, day]
    t2m = mean + amplitude * cycle + noise + 0.06 * years
    d2m = t2m - 2.0 - np.abs(rng.normal(0.0, 1.5, (s, d)))
    wet = 0.8 + 0.8 * np.clip(cycle, 0, None)
    tp = rng.gamma(0.6, wet / 0.6 * 1.2, (s, d)) * (rng.random((s, d)) < 0.55)
    swe = np.zeros((s, d))
    for day in range(d):
        previous = swe[:, day - 1] if day else np.zeros(s)
        snowfall = np.where(t2m[:, day] < 0.5, tp[:, day], 0.0)
        melt = np.clip(3.0 * t2m[:, day], 0.0, None)
        swe[:, day] = np.clip(previous + snowfall - melt, 0.0, None)
    sde = swe / 250.0
    snowc = 100.0 * np.clip(sde / 0.1, 0.0, 1.0)
    declination = 23.44 * np.sin(2 * np.pi * (doy - 81) / 365.25)
    sun = np.clip(np.cos(np.radians(lat - declination)), 0.02, None)
    ssrd = 30.0 * sun * (0.45 + 0.5 * rng.random((s, d)))
    return {"t2m": t2m, "d2m": d2m, "tp": tp, "sde": sde, "snowc": snowc, "ssrd": ssrd}


def _gaps(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Logger gaps: stretches of 30-200 days, a missing deep sensor at some stations, lost days."""
    out = values.copy()
    s, d, z = out.shape
    for station in range(s):
        for _ in range(rng.integers(1, 4)):
            start, length = rng.integers(0, d), rng.integers(30, 200)
            out[station, start : start + length, rng.integers(0, z) :] = np.nan
        if rng.random() < 0.25:
            out[station, :, -1] = np.nan
    out[rng.random(out.shape) < 0.03] = np.nan
    return out


def generate_soiltemp_demo(
    *,
    out_dir: str | Path,
    start: str,
    end: str,
    stations: int = 18,
    depths: Sequence[float] = (0.1, 0.5, 1.0, 2.0, 3.0),
    seed: int = 42,
) -> dict[str, Path]:
    """Write ``stations.csv``, ``observations.csv`` and ``drivers.csv`` of a synthetic network.

    Returns:
        The paths by table name.
    """
    from permafusion.tasks.soiltemp.drivers import REANALYSIS_DEPTHS

    rng = np.random.default_rng(seed)
    table = _stations(stations, rng)
    dates = pd.date_range(start, end, freq="D")
    weather = _weather(table, dates, rng)
    diffusivity = table["lithology"].map(LITHOLOGY_DIFFUSIVITY).to_numpy()
    latent = table["ground_ice"].map(GROUND_ICE_LATENT).to_numpy()
    summer = 1.0 - 0.008 * table["soil_organic_carbon"].to_numpy()
    truth = conduct(
        weather["t2m"],
        diffusivity=diffusivity,
        latent=latent,
        snow_depth=weather["sde"],
        summer_factor=summer,
    )
    # the reanalysis: one generic ground everywhere, thinner snow insulation, noise
    generic = conduct(
        weather["t2m"], diffusivity=0.06, latent=30.0, snow_depth=weather["sde"], snow_scale=0.08
    )
    stl = at_depths(generic, list(REANALYSIS_DEPTHS.values())) + rng.normal(
        0.0, 0.3, (stations, len(dates), 4)
    )
    near_surface = at_depths(truth, [0.05])[..., 0]
    swvl1 = 0.12 + 0.22 * (near_surface > 0) + 0.002 * weather["tp"] + rng.normal(0, 0.01, near_surface.shape)
    observed = _gaps(
        at_depths(truth, depths) + rng.normal(0.0, 0.1, (stations, len(dates), len(depths))), rng
    )

    out_dir = Path(out_dir)
    paths = {name: out_dir / f"{name}.csv" for name in ("stations", "observations", "drivers")}
    write_csv(table, paths["stations"])
    ids = np.repeat(table["station"].to_numpy(), len(dates))
    day_text = np.tile(dates.strftime("%Y-%m-%d").to_numpy(), stations)
    drivers = pd.DataFrame({"station": ids, "date": day_text})
    for name, values in weather.items():
        drivers[name] = values.reshape(-1).round(3)
    for i, name in enumerate(REANALYSIS_DEPTHS):
        drivers[name] = stl[..., i].reshape(-1).round(3)
    drivers["swvl1"] = swvl1.reshape(-1).round(4)
    write_csv(drivers, paths["drivers"])
    frames = []
    for z, depth in enumerate(depths):
        frames.append(
            pd.DataFrame(
                {
                    "station": ids,
                    "date": day_text,
                    "depth_m": depth,
                    "temperature_c": observed[..., z].reshape(-1).round(3),
                }
            )
        )
    observations = pd.concat(frames, ignore_index=True)
    # stretches where a logger was not installed at all are absent rows; isolated gaps stay as empty cells
    observations = observations[
        ~(observations["temperature_c"].isna() & (rng.random(len(observations)) < 0.5))
    ]
    write_csv(observations, paths["observations"])
    return paths
