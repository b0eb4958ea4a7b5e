"""Projections to 2100 under forcing scenarios: delta-changed drivers, the scenario signal, a trained model.

Future drivers repeat the last ``base_years`` years of the record (so weather, snow and radiation keep their
observed variability) and add a change that grows linearly from 0 in the middle of those years to the
scenario's value in 2100 (``deltas``, per scenario):

- ``t2m`` (°C): added to 2 m air and dewpoint temperature and to the reanalysis soil levels stl1-stl4;
- ``tp`` (fraction): precipitation multiplied by ``1 + tp``;
- snow depth shrinks by ``snow_per_degree`` (fraction per °C of warming) and snow cover follows it.

The scenario signal feature is recomputed over the record and the future together, so it rises with the
forcing as it did with the observed warming. The default deltas are round numbers of the CMIP5 multi-model
median change of annual mean temperature and precipitation for Alaska/NW Canada, 2081-2100 against
1986-2005, in IPCC AR5 WG1 Annex I (Atlas of Global and Regional Climate Projections, ALA region): about
+3 °C and +15 % for RCP4.5, +6 °C and +30 % for RCP8.5. They are settings: put in bias-corrected deltas of
the user's own CMIP ensemble for real work.

Outputs: daily predictions of the projection years at every station and depth, summarised as annual mean
temperature per depth, and the active-layer thickness implied by each year's profile: the deepest depth
whose warmest temperature of the year is above 0 °C, the 0 °C crossing found by linear interpolation
between depths (0 when even the shallowest depth stays frozen; the deepest depth, flagged, when all thaw).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from permafusion.core.files import atomic_write, write_csv, write_json
from permafusion.tasks.soiltemp.dataset import SeriesSet
from permafusion.tasks.soiltemp.drivers import DERIVED, derived_features
from permafusion.tasks.soiltemp.task import predict

#: Default scenario deltas at 2100 (see the module docstring for their source).
DEFAULT_DELTAS: dict[str, dict[str, float]] = {
    "rcp45": {"t2m": 3.0, "tp": 0.15},
    "rcp85": {"t2m": 6.0, "tp": 0.30},
}
TEMPERATURES = ("t2m", "d2m", "stl1", "stl2", "stl3", "stl4")


def future_series(
    series: SeriesSet,
    *,
    delta: Mapping[str, float],
    end_year: int = 2100,
    base_years: int = 10,
    snow_per_degree: float = 0.08,
) -> SeriesSet:
    """The record followed by delta-changed drivers up to 31 December ``end_year`` (targets all NaN).

    Raises:
        ValueError: for a record shorter than ``base_years`` or ending after ``end_year``.
    """
    names = series.feature_names
    raw = [i for i, name in enumerate(names) if name not in DERIVED]
    last = pd.Timestamp(series.dates[-1])
    if last.year >= end_year:
        raise ValueError(f"the record ends in {last.year}, not before the projection's end {end_year}")
    days_base = 365 * base_years
    if len(series.dates) < days_base:
        raise ValueError(
            f"the record has {len(series.dates)} days; base_years={base_years} needs {days_base}"
        )
    future_dates = pd.date_range(last + pd.Timedelta(days=1), f"{end_year}-12-31", freq="D")
    base = series.dynamic[:, -days_base:, :][:, :, raw]
    repeats = int(np.ceil(len(future_dates) / days_base))
    future = np.tile(base, (1, repeats, 1))[:, : len(future_dates)].astype(np.float64)
    middle = pd.Timestamp(series.dates[-days_base]) + (last - pd.Timestamp(series.dates[-days_base])) / 2
    ramp = np.clip(
        (future_dates - middle).days.to_numpy() / (pd.Timestamp(f"{end_year}-12-31") - middle).days, 0, 1
    )
    warming = float(delta.get("t2m", 0.0)) * ramp[None, :]
    raw_names = [names[i] for i in raw]
    for name in TEMPERATURES:
        if name in raw_names:
            future[:, :, raw_names.index(name)] += warming
    if "tp" in raw_names:
        future[:, :, raw_names.index("tp")] *= 1.0 + float(delta.get("tp", 0.0)) * ramp[None, :]
    if "sde" in raw_names:
        shrink = np.clip(1.0 - snow_per_degree * warming, 0.0, 1.0)
        future[:, :, raw_names.index("sde")] *= shrink
        if "snowc" in raw_names:
            future[:, :, raw_names.index("snowc")] *= shrink
    dynamic_raw = np.concatenate([series.dynamic[:, :, raw].astype(np.float64), future], axis=1)
    dates = pd.DatetimeIndex(np.concatenate([series.dates, future_dates.to_numpy().astype("datetime64[D]")]))
    reference_days = 365 * int(series.meta.get("reference_years", 10))
    derived = np.stack(
        [
            derived_features(dates, dynamic_raw[s, :, raw_names.index("t2m")], reference_days=reference_days)
            for s in range(len(series.stations))
        ]
    )
    order = [*raw_names, *DERIVED]
    combined = np.concatenate([dynamic_raw, derived], axis=2)[:, :, [order.index(n) for n in names]]
    return replace(
        series,
        dates=dates.to_numpy().astype("datetime64[D]"),
        dynamic=combined.astype(np.float32),
        targets=np.full((len(series.stations), len(dates), len(series.depths)), np.nan, np.float32),
    )


def projection_years(first: int, last: int, step: int) -> list[int]:
    return list(range(first, last + 1, step)) if step > 0 else [last]


def active_layer_thickness(annual_max: np.ndarray, depths: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """ALT (m) and an "all depths thaw" flag from (..., Z) annual maximum temperatures at ``depths``."""
    depths_arr = np.asarray(depths, dtype=np.float64)
    warm = annual_max > 0.0
    out = np.zeros(annual_max.shape[:-1])
    all_thaw = warm.all(axis=-1)
    flat_max = annual_max.reshape(-1, len(depths_arr))
    flat_out = out.reshape(-1)
    for i, profile in enumerate(flat_max):
        thawed = np.flatnonzero(profile > 0.0)
        if not len(thawed):
            flat_out[i] = 0.0
            continue
        k = int(thawed.max())
        if k == len(depths_arr) - 1:
            flat_out[i] = depths_arr[-1]
            continue
        upper, lower = profile[k], profile[k + 1]
        flat_out[i] = depths_arr[k] + (depths_arr[k + 1] - depths_arr[k]) * upper / (upper - lower)
    return flat_out.reshape(out.shape), np.asarray(all_thaw)


def project(
    series: SeriesSet,
    *,
    checkpoint: str | Path,
    deltas: Mapping[str, Mapping[str, float]],
    end_year: int = 2100,
    year_step: int = 10,
    base_years: int = 10,
    snow_per_degree: float = 0.08,
    device: str = "auto",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Annual means per station, depth and scenario, and the active-layer thickness per station and year.

    Returns:
        (annual, alt): ``scenario, station, band, year, depth_m, mean_c, max_c`` and ``scenario, station,
        band, year, alt_m, all_depths_thaw``. Years: the record's last full year, then every ``year_step``
        years to ``end_year``.
    """
    first_year = int(pd.Timestamp(series.dates[-1]).year) - (
        0 if pd.Timestamp(series.dates[-1]).dayofyear >= 365 else 1
    )
    years = projection_years(first_year, end_year, year_step)
    if years[-1] != end_year:
        years.append(end_year)
    annual_rows: list[pd.DataFrame] = []
    alt_rows: list[pd.DataFrame] = []
    for scenario, delta in deltas.items():
        future = future_series(
            series, delta=delta, end_year=end_year, base_years=base_years, snow_per_degree=snow_per_degree
        )
        index = pd.DatetimeIndex(future.dates)
        day_in = np.flatnonzero(index.year.isin(years))
        samples = np.stack(
            np.meshgrid(np.arange(len(series.stations)), day_in, indexing="ij"), axis=-1
        ).reshape(-1, 2)
        values = predict(checkpoint, future, samples, device=device)
        frame = pd.DataFrame(values, columns=[f"{d:g}" for d in series.depths])
        frame["station"] = np.array(series.stations)[samples[:, 0]]
        frame["year"] = index.year.to_numpy()[samples[:, 1]]
        grouped = frame.groupby(["station", "year"])
        means, maxima = grouped.mean(), grouped.max()
        long = means.stack().rename("mean_c").to_frame().join(maxima.stack().rename("max_c"))
        long.index.names = ["station", "year", "depth_m"]
        long = long.reset_index()
        long["depth_m"] = long["depth_m"].astype(float)
        long.insert(0, "scenario", scenario)
        annual_rows.append(long)
        alt, all_thaw = active_layer_thickness(maxima.to_numpy(), series.depths)
        alt_rows.append(
            pd.DataFrame(
                {
                    "scenario": scenario,
                    "station": maxima.index.get_level_values("station"),
                    "year": maxima.index.get_level_values("year"),
                    "alt_m": alt,
                    "all_depths_thaw": all_thaw,
                }
            )
        )
    band_of = dict(zip(series.stations, np.array(series.band_labels)[series.band], strict=True))
    annual, alt_table = pd.concat(annual_rows, ignore_index=True), pd.concat(alt_rows, ignore_index=True)
    for table in (annual, alt_table):
        table.insert(2, "band", table["station"].map(band_of))
    return annual, alt_table


def plot_projections(annual: pd.DataFrame, alt: pd.DataFrame, *, path: str | Path, title: str) -> None:
    """Network-mean annual temperature per depth (left) and mean active-layer thickness (right), per
    scenario."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    styles = ["-", "--", ":", "-."]
    for i, (scenario, rows) in enumerate(annual.groupby("scenario")):
        mean = rows.groupby(["depth_m", "year"])["mean_c"].mean()
        for depth in sorted(rows["depth_m"].unique()):
            series = mean.loc[depth]
            left.plot(series.index, series.to_numpy(), styles[i % 4], label=f"{scenario} {depth:g} m")
        alt_mean = alt[alt["scenario"] == scenario].groupby("year")["alt_m"].mean()
        right.plot(alt_mean.index, alt_mean.to_numpy(), styles[i % 4], marker="o", label=scenario)
    left.axhline(0.0, color="grey", linewidth=0.5)
    left.set_ylabel("annual mean soil temperature (°C)")
    left.legend(fontsize=6, ncol=2)
    right.set_ylabel("active-layer thickness (m)")
    right.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    with atomic_write(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=90)
    plt.close(fig)


def scenario_summary(annual: pd.DataFrame, alt: pd.DataFrame) -> dict[str, Any]:
    """Network means of the first and last projected year per scenario (for logs and docs)."""
    out: dict[str, Any] = {}
    for scenario, rows in annual.groupby("scenario"):
        first, last = int(rows["year"].min()), int(rows["year"].max())
        per = rows.groupby(["year", "depth_m"])["mean_c"].mean()
        a = alt[alt["scenario"] == scenario].groupby("year")["alt_m"].mean()
        out[str(scenario)] = {
            "years": [first, last],
            "mean_c": {
                f"{d:g}m": [float(per.loc[(first, d)]), float(per.loc[(last, d)])]
                for d in sorted(rows["depth_m"].unique())
            },
            "alt_m": [float(a.loc[first]), float(a.loc[last])],
        }
    return out


def run_projections(
    *,
    series_path: str | Path,
    checkpoint: str | Path,
    settings: Mapping[str, Any],
    device: str,
    outputs: Mapping[str, str | Path],
    log: logging.Logger,
) -> dict[str, Any]:
    """The ``project_scenarios`` rule: tables ``annual``/``alt``, ``summary`` JSON and ``plot``."""
    series = SeriesSet.load(series_path)
    deltas = settings.get("deltas") or DEFAULT_DELTAS
    annual, alt = project(
        series,
        checkpoint=checkpoint,
        deltas=deltas,
        end_year=int(settings.get("end_year", 2100)),
        year_step=int(settings.get("year_step", 10)),
        base_years=int(settings.get("base_years", 10)),
        snow_per_degree=float(settings.get("snow_per_degree", 0.08)),
        device=device,
    )
    write_csv(annual.round(4), outputs["annual"])
    write_csv(alt.round(4), outputs["alt"])
    summary = {
        "model": str(settings.get("model")),
        "deltas": {k: dict(v) for k, v in deltas.items()},
        **scenario_summary(annual, alt),
    }
    write_json(summary, outputs["summary"])
    plot_projections(
        annual,
        alt,
        path=outputs["plot"],
        title=f"{settings.get('model')}: projections under {', '.join(deltas)}",
    )
    for scenario, values in summary.items():
        if isinstance(values, dict) and "alt_m" in values:
            log.info(
                "%s: mean active layer %.2f m in %d -> %.2f m in %d",
                scenario,
                values["alt_m"][0],
                values["years"][0],
                values["alt_m"][1],
                values["years"][1],
            )
    return summary
