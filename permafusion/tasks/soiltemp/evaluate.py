"""Scoring every model and baseline on the test split: per depth, latitude band and season, with
station-bootstrap 95 % intervals, one comparison table, and plots of predicted against observed series.

All methods are scored on the same samples (test days with a full window behind them and an observation),
so their numbers compare. Intervals resample stations (:mod:`permafusion.learn.regression_bootstrap`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from permafusion.core.files import atomic_write, write_csv, write_text
from permafusion.learn.regression import regression_report, regression_statistics
from permafusion.learn.regression_bootstrap import bootstrap_regression
from permafusion.tasks.soiltemp import baselines
from permafusion.tasks.soiltemp.dataset import SPLIT_CODES, SeriesSet
from permafusion.tasks.soiltemp.task import depth_names, predict
from permafusion.tasks.soiltemp.windows import sample_index

SEASONS = {12: "DJF", 1: "DJF", 2: "DJF", 3: "MAM", 4: "MAM", 5: "MAM", 6: "JJA", 7: "JJA", 8: "JJA"}


def season_of(months: np.ndarray) -> np.ndarray:
    return np.array([SEASONS.get(int(m), "SON") for m in months])


def predict_all(
    series: SeriesSet,
    codes: np.ndarray,
    *,
    checkpoints: Mapping[str, str | Path],
    window: int,
    persistence_lag: int = 1,
    climatology_half_window: int = 15,
    linear_stride: int = 3,
    device: str = "auto",
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Test samples (N, 2) and each method's (N, Z) predictions (°C)."""
    samples = sample_index(series, length=window, codes=codes, split=SPLIT_CODES["test"])
    if not len(samples):
        raise ValueError("no test sample with an observation: move the split dates or hold out more stations")
    train_days = sample_index(series, length=1, codes=codes, split=SPLIT_CODES["train"])
    train_windows = sample_index(
        series, length=window, codes=codes, split=SPLIT_CODES["train"], stride=linear_stride
    )
    out: dict[str, np.ndarray] = {
        name: predict(path, series, samples, device=device) for name, path in checkpoints.items()
    }
    out["persistence"] = baselines.persistence(series, samples, lag=persistence_lag)
    out["climatology"] = baselines.climatology(
        series, train_days, samples, half_window=climatology_half_window
    )
    if all(name in series.feature_names for name in ("stl1", "stl2", "stl3", "stl4")):
        out["reanalysis"] = baselines.reanalysis(series, samples)
    out["linear"] = baselines.linear(series, train_windows, samples, window=window)
    return samples, out


def predictions_table(
    series: SeriesSet, samples: np.ndarray, predictions: Mapping[str, np.ndarray]
) -> pd.DataFrame:
    """Long table: station, date, depth_m, band, season, observed, one column per method (observed
    rows only)."""
    z_count = len(series.depths)
    dates = pd.DatetimeIndex(series.dates[samples[:, 1]])
    frame = pd.DataFrame(
        {
            "station": np.repeat(np.array(series.stations)[samples[:, 0]], z_count),
            "date": np.repeat(dates.strftime("%Y-%m-%d"), z_count),
            "depth_m": np.tile(series.depths, len(samples)),
            "band": np.repeat(np.array(series.band_labels)[series.band[samples[:, 0]]], z_count),
            "season": np.repeat(season_of(dates.month.to_numpy()), z_count),
            "observed": series.targets[samples[:, 0], samples[:, 1]].reshape(-1),
        }
    )
    for name, values in predictions.items():
        frame[name] = values.reshape(-1)
    return frame[np.isfinite(frame["observed"])].reset_index(drop=True)


def _group_statistics(frame: pd.DataFrame, method: str, depths: Sequence[float]) -> np.ndarray:
    """(stations, depths, 6) statistics of one method."""
    stations = sorted(frame["station"].unique())
    out = np.zeros((len(stations), len(depths), 6))
    for i, station in enumerate(stations):
        rows = frame[frame["station"] == station]
        for z, depth in enumerate(depths):
            at = rows[rows["depth_m"] == depth]
            pred, obs = at[method].to_numpy()[:, None], at["observed"].to_numpy()[:, None]
            valid = np.isfinite(pred)  # a baseline without a value there (persistence after a gap) skips it
            out[i, z] = regression_statistics(np.where(valid, pred, 0.0), obs, valid=valid)[0]
    return out


def metrics_table(
    frame: pd.DataFrame, *, methods: Sequence[str], depths: Sequence[float], n_boot: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """One row per method, grouping (all / band / season), group and depth (plus ``mean`` over depths):
    n, RMSE, MAE, bias, R² and their bootstrap intervals (``*_lo``, ``*_hi``)."""
    rows: list[dict[str, Any]] = []
    groupings: list[tuple[str, str, pd.DataFrame]] = [("all", "all", frame)]
    for kind in ("band", "season"):
        groupings += [(kind, str(g), part) for g, part in frame.groupby(kind)]
    names = depth_names(list(depths))
    for method in methods:
        for kind, group, part in groupings:
            stats = _group_statistics(part, method, depths)
            report = regression_report(stats.sum(axis=0), names=names)
            boot = bootstrap_regression(stats, n_boot=n_boot, seed=seed)
            entries = [
                (name, report["per_output"][name], boot["per_output"][z]) for z, name in enumerate(names)
            ]
            entries.append(
                (
                    "mean",
                    {**{k: report[k] for k in ("rmse", "mae", "bias", "r2")}, "count": report["count"]},
                    boot["mean"],
                )
            )
            for depth, values, interval in entries:
                row: dict[str, Any] = {
                    "method": method,
                    "grouping": kind,
                    "group": group,
                    "depth": depth,
                    "n": values["count"],
                }
                for metric in ("rmse", "mae", "bias", "r2"):
                    row[metric] = values[metric]
                    lo_hi = interval[metric] or [None, None]
                    row[f"{metric}_lo"], row[f"{metric}_hi"] = lo_hi
                rows.append(row)
    return pd.DataFrame(rows)


def comparison_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """Method x depth RMSE with its interval over the whole test split (``all``), best mean first."""
    overall = metrics[metrics["grouping"] == "all"].copy()

    def cell(row: pd.Series) -> str:
        if row["rmse"] is None or not np.isfinite(row["rmse"]):
            return "n/a"
        return f"{row['rmse']:.2f} [{row['rmse_lo']:.2f}, {row['rmse_hi']:.2f}]"

    overall["cell"] = overall.apply(cell, axis=1)
    table = overall.pivot(index="method", columns="depth", values="cell")
    order = overall[overall["depth"] == "mean"].set_index("method")["rmse"].astype(float).sort_values()
    depth_order = [c for c in overall["depth"].drop_duplicates() if c != "mean"] + ["mean"]
    return table.loc[order.index, depth_order].reset_index()


def write_tables(metrics: pd.DataFrame, *, split: str, out_dir: str | Path) -> dict[str, Path]:
    """metrics_<split>.csv (every grouping) and comparison_<split>.csv/.md (RMSE [95 % CI] per depth, °C)."""
    out_dir = Path(out_dir)
    paths = {
        "metrics": out_dir / f"metrics_{split}.csv",
        "comparison": out_dir / f"comparison_{split}.csv",
        "markdown": out_dir / f"comparison_{split}.md",
    }
    write_csv(metrics, paths["metrics"])
    table = comparison_table(metrics)
    write_csv(table, paths["comparison"])
    write_text(
        markdown(
            table, title=f"Test RMSE (°C) per depth, {split} split, with station-bootstrap 95 % intervals"
        ),
        paths["markdown"],
    )
    return paths


def plot_series(
    frame: pd.DataFrame, *, methods: Sequence[str], stations: Sequence[str], path: str | Path, title: str
) -> None:
    """Observed and predicted series per depth (rows) for a few stations (columns)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    depths = sorted(frame["depth_m"].unique())
    fig, axes = plt.subplots(
        len(depths),
        len(stations),
        figsize=(4.5 * len(stations), 1.9 * len(depths)),
        sharex="col",
        squeeze=False,
    )
    for c, station in enumerate(stations):
        rows = frame[frame["station"] == station]
        for r, depth in enumerate(depths):
            ax = axes[r, c]
            at = rows[rows["depth_m"] == depth]
            when = pd.to_datetime(at["date"])
            ax.plot(when, at["observed"], ".", color="black", markersize=1.5, label="observed")
            for method in methods:
                ax.plot(when, at[method], linewidth=0.8, label=method)
            ax.axhline(0.0, color="grey", linewidth=0.5)
            if c == 0:
                ax.set_ylabel(f"{depth:g} m (°C)")
            if r == 0:
                ax.set_title(f"{station}")
    axes[0, -1].legend(fontsize=6, loc="upper right")
    fig.suptitle(title)
    fig.tight_layout()
    with atomic_write(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=90)
    plt.close(fig)


def combine_comparisons(paths: Mapping[str, str | Path]) -> pd.DataFrame:
    """One table of every split's comparison (``split`` first), from comparison_<split>.csv files."""
    frames = []
    for split, path in paths.items():
        frame = pd.read_csv(path)
        frame.insert(0, "split", split)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def markdown(table: pd.DataFrame, *, title: str) -> str:
    header = "| " + " | ".join(str(c) for c in table.columns) + " |\n|" + "---|" * len(table.columns) + "\n"
    body = "".join("| " + " | ".join(str(v) for v in row) + " |\n" for row in table.itertuples(index=False))
    return f"{title}\n\n{header}{body}"


def evaluate_split(
    *,
    series_path: str | Path,
    split: str,
    split_settings: Mapping[str, Any],
    checkpoints: Mapping[str, str | Path],
    window: int,
    baselines: Mapping[str, Any],
    evaluate: Mapping[str, Any],
    device: str,
    predictions_path: str | Path,
    tables_dir: str | Path,
    plot_path: str | Path,
    log: logging.Logger,
) -> pd.DataFrame:
    """Predict, score and plot one split (the ``evaluate_soil_models`` rule); returns the metrics."""
    from permafusion.tasks.soiltemp.dataset import split_for

    series = SeriesSet.load(series_path)
    codes = split_for(series, split, split_settings)  # type: ignore[arg-type]
    samples, predictions = predict_all(
        series,
        codes,
        checkpoints=checkpoints,
        window=window,
        persistence_lag=int(baselines.get("persistence_lag", 1)),
        climatology_half_window=int(baselines.get("climatology_half_window", 15)),
        linear_stride=int(baselines.get("linear_stride", 3)),
        device=device,
    )
    frame = predictions_table(series, samples, predictions)
    write_csv(frame.round(4), predictions_path)
    log.info("%s split: %d test observations at %d stations", split, len(frame), frame["station"].nunique())
    metrics = metrics_table(
        frame, methods=list(predictions), depths=series.depths, n_boot=int(evaluate.get("n_boot", 1000))
    )
    write_tables(metrics, split=split, out_dir=tables_dir)
    overall = metrics[(metrics["grouping"] == "all") & (metrics["depth"] == "mean")]
    for row in overall.sort_values("rmse").itertuples():
        log.info("%-12s mean RMSE %.3f [%.3f, %.3f] °C", row.method, row.rmse, row.rmse_lo, row.rmse_hi)
    counts = frame.groupby("station").size().sort_values(ascending=False)
    shown = list(counts.index[: int(evaluate.get("plot_stations", 3))])
    best = list(overall.sort_values("rmse")["method"])
    models = [m for m in best if m in checkpoints][:2]
    plot_series(
        frame,
        methods=[*models, "climatology", *(["reanalysis"] if "reanalysis" in predictions else [])],
        stations=shown,
        path=plot_path,
        title=f"test period, {split} split: observed (dots) and predicted",
    )
    return metrics
