"""The paper's Tables 1–3 from one AOI's patch index and experiment metrics, as CSV and Markdown.

- Table 1: patches per class (dominant labeled class) and split (:func:`.patches.dataset_table`).
- Table 2: every method on the test split: OA, mean F1, per-class F1 and Cohen's kappa, each with its 95 %
  bootstrap interval (the ``ci95`` of :func:`.evaluate.evaluate_predictor`, over labelled regions).
- Table 3: the full model and each ablation: OA and mean F1 with intervals, and their difference to the full
  model with a paired 95 % interval: the same bootstrap draws of the evaluation's units (labelled regions,
  or patches for block splits) are applied to both models' matrices, so the interval is that of the
  difference, not of two separate figures.

CSV files hold unrounded fractions (OA too) in columns ``<metric>``, ``<metric>_ci_low``,
``<metric>_ci_high``; Markdown files are formatted like the paper: OA in % with one decimal, F1 and kappa
with three decimals, intervals in brackets, ``—`` where a figure is undefined.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from permafusion.core.files import write_text
from permafusion.learn.bootstrap import CHUNK, _interval, _scores
from permafusion.tasks.degradation.classes import DEGRADATION
from permafusion.tasks.degradation.patches import dataset_table

#: Row labels of Table 2 (the paper's names).
METHOD_LABELS: dict[str, str] = {
    "random_forest": "Random Forest",
    "sar_unet": "SAR U-Net",
    "optical_unet": "Optical U-Net",
    "ef_cnn": "EF-CNN",
    "ca_transformer": "CA-Transformer",
    "permafusionnet": "PermaFusionNet",
}

#: Row labels of Table 3.
ABLATION_LABELS: dict[str, str] = {
    "permafusionnet": "Full PermaFusionNet",
    "ablation_order_free": "w/o temporal LSTM (all months pooled, order-free)",
    "ablation_single_step": "w/o temporal LSTM (single time step, T = 1)",
    "ablation_concat": "w/o cross-modal attention (simple concat)",
    "ablation_shared_encoder": "w/o dual-branch (single shared encoder)",
    "ablation_no_skips": "w/o skip connections",
}

#: Short class names of the F1 columns (paper: F1-Stable, F1-Active, F1-Thermo, F1-Degrad.).
CLASS_SHORT: dict[int, str] = {1: "stable", 2: "active", 3: "thermo", 4: "degrad"}
_CLASS_HEADER: dict[int, str] = {1: "F1-Stable", 2: "F1-Active", 3: "F1-Thermo", 4: "F1-Degrad."}

DASH = "—"


# ------------------------------------------------------------------------------------------ formatting


def _pct(value: float | None, *, signed: bool = False) -> str:
    if value is None or not np.isfinite(value):
        return DASH
    return f"{100 * value:+.1f}" if signed else f"{100 * value:.1f}"


def _dec(value: float | None, *, signed: bool = False) -> str:
    if value is None or not np.isfinite(value):
        return DASH
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def with_ci(value: float | None, ci: Sequence[float] | None, *, percent: bool, signed: bool = False) -> str:
    """A table cell: ``value`` in percent (one decimal) or as a decimal (three), ``[low, high]`` after it."""
    fmt = _pct if percent else _dec
    text = fmt(value, signed=signed)
    if text == DASH or ci is None:
        return text
    return f"{text} [{fmt(ci[0], signed=signed)}, {fmt(ci[1], signed=signed)}]"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, first_left: bool = True) -> str:
    """A GitHub Markdown table with padded columns: the first left-aligned, the others right-aligned."""
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            str(c).ljust(w) if i == 0 and first_left else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(parts) + " |"

    rule = ["-" * (w + 2) if i == 0 and first_left else "-" * (w + 1) + ":" for i, w in enumerate(widths)]
    return "\n".join([line(header), "|" + "|".join(rule) + "|", *map(line, rows)]) + "\n"


# ------------------------------------------------------------------------------------------- metrics


def _overall_cells(model: Mapping[str, Any], record: dict[str, Any]) -> list[str]:
    """OA (%) and mean F1 cells with their intervals; their columns are added to ``record``."""
    cells = []
    for key, percent in (("overall_accuracy", True), ("mean_f1", False)):
        ci = _ci(model, key)
        record.update(_columns(key, model.get(key), ci))
        cells.append(with_ci(model.get(key), ci, percent=percent))
    return cells


def _ci(metrics: Mapping[str, Any], key: str) -> list[float] | None:
    ci95 = metrics.get("ci95") or {}
    return ci95.get(key)


def _class_f1(metrics: Mapping[str, Any], code: int) -> tuple[float | None, list[float] | None]:
    name = DEGRADATION.names[code]
    value = (metrics.get("per_class") or {}).get(name, {}).get("f1")
    ci = ((metrics.get("ci95") or {}).get("per_class_f1") or {}).get(name)
    return value, ci


def paired_difference_ci(
    cms_a: np.ndarray, cms_b: np.ndarray, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> dict[str, list[float] | None]:
    """Percentile intervals of ``metric(a) - metric(b)`` for OA and mean F1 over paired draws of units.

    Args:
        cms_a: (N, K, K) confusion matrices of model a, one per resampling unit (a labelled region, or a
            patch: the ``unit_confusion`` of :func:`.evaluate.evaluate_predictor`).
        cms_b: (N, K, K) of model b on the same units, in the same order.
        n_boot: replicates; each draws N units with replacement and scores both models on them.
        seed: seed of the draws.
        level: coverage.

    Returns:
        ``{"overall_accuracy": [lo, hi], "mean_f1": [lo, hi]}`` (None where undefined).

    Raises:
        ValueError: for stacks of different shapes, no patches or ``n_boot < 1``.
    """
    a, b = np.asarray(cms_a, dtype=np.int64), np.asarray(cms_b, dtype=np.int64)
    if a.shape != b.shape or a.ndim != 3 or a.shape[0] == 0:
        raise ValueError(f"need two non-empty (N, K, K) stacks of one shape, got {a.shape} and {b.shape}")
    if n_boot < 1:
        raise ValueError(f"n_boot={n_boot} must be >= 1")
    n, k = a.shape[0], a.shape[1]
    rng = np.random.default_rng(seed)
    flat_a, flat_b = a.reshape(n, -1), b.reshape(n, -1)
    diffs: dict[str, list[np.ndarray]] = {"overall_accuracy": [], "mean_f1": []}
    for start in range(0, n_boot, CHUNK):
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=min(CHUNK, n_boot - start))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            sa = _scores((counts @ flat_a).reshape(-1, k, k))
            sb = _scores((counts @ flat_b).reshape(-1, k, k))
        for key in diffs:
            diffs[key].append(sa[key] - sb[key])
    return {key: _interval(np.concatenate(parts), level) for key, parts in diffs.items()}


def load_metrics(paths: Mapping[str, str | Path]) -> dict[str, dict[str, Any]]:
    """Method -> metrics JSON (written by :func:`.experiments.evaluate_experiment`)."""
    return {method: json.loads(Path(path).read_text()) for method, path in paths.items()}


# -------------------------------------------------------------------------------------------- tables


def table1(index: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Table 1 (patches per class and split) as a frame and as Markdown."""
    frame = dataset_table(index)
    header = ["Class", "Training", "Validation", "Test", "Total Patches"]
    rows = [
        [str(r["class"]).capitalize() if r["class"] != "total" else "Total"]
        + [f"{int(r[c]):,}" for c in ("train", "val", "test", "total")]
        for _, r in frame.iterrows()
    ]
    return frame, markdown_table(header, rows)


def table2(metrics: Mapping[str, Mapping[str, Any]], methods: Sequence[str]) -> tuple[pd.DataFrame, str]:
    """Table 2: OA, mean F1, per-class F1 and kappa of every method, with 95 % intervals.

    Args:
        metrics: method -> evaluation dict (its ``"model"`` entry is used).
        methods: the rows, in order.

    Raises:
        KeyError: naming a method without metrics.
    """
    records, rows = [], []
    for method in methods:
        if method not in metrics:
            raise KeyError(f"no metrics for method {method!r}; evaluate it first")
        m = metrics[method]["model"]
        record: dict[str, Any] = {"method": method, "name": METHOD_LABELS.get(method, method)}
        cells = [record["name"], *_overall_cells(m, record)]
        for code in DEGRADATION.codes:
            value, ci = _class_f1(m, code)
            record.update(_columns(f"f1_{CLASS_SHORT[code]}", value, ci))
            cells.append(with_ci(value, ci, percent=False))
        ci = _ci(m, "kappa")
        record.update(_columns("kappa", m.get("kappa"), ci))
        cells.append(with_ci(m.get("kappa"), ci, percent=False))
        record["test_patches"] = metrics[method].get("patches")
        record["labeled_pixels"] = m.get("labeled_pixels")
        records.append(record)
        rows.append(cells)
    header = ["Method", "OA (%)", "mF1", *(_CLASS_HEADER[c] for c in DEGRADATION.codes), "Kappa"]
    return pd.DataFrame.from_records(records), markdown_table(header, rows)


def table3(
    metrics: Mapping[str, Mapping[str, Any]],
    ablations: Sequence[str],
    *,
    full: str = "permafusionnet",
    n_boot: int = 1000,
    seed: int = 0,
) -> tuple[pd.DataFrame, str]:
    """Table 3: the full model and each ablation: OA, mean F1 and their paired difference to the full model.

    The difference intervals need the per-unit matrices (``unit_confusion``, ``patch_ids``) of both
    models over the same patches; without them the difference is given without an interval.

    Raises:
        KeyError: naming a method without metrics.
    """
    for method in (full, *ablations):
        if method not in metrics:
            raise KeyError(f"no metrics for method {method!r}; evaluate it first")
    base = metrics[full]
    records, rows = [], []
    for method in (full, *ablations):
        m = metrics[method]["model"]
        record: dict[str, Any] = {"method": method, "name": ABLATION_LABELS.get(method, method)}
        cells = [record["name"], *_overall_cells(m, record)]
        diff_ci: Mapping[str, list[float] | None] = {}
        if method != full and _paired(metrics[method], base):
            diff_ci = paired_difference_ci(
                np.asarray(metrics[method]["unit_confusion"]),
                np.asarray(base["unit_confusion"]),
                n_boot=n_boot,
                seed=seed,
            )
        for key, percent in (("overall_accuracy", True), ("mean_f1", False)):
            mine, theirs = m.get(key), base["model"].get(key)
            delta = None if method == full or mine is None or theirs is None else mine - theirs
            record.update(_columns(f"delta_{key}", delta, diff_ci.get(key)))
            cells.append(with_ci(delta, diff_ci.get(key), percent=percent, signed=True))
        records.append(record)
        rows.append(cells)
    header = ["Configuration", "OA (%)", "mF1", "Δ OA", "Δ mF1"]
    return pd.DataFrame.from_records(records), markdown_table(header, rows)


def _paired(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return bool(
        a.get("unit_confusion") is not None
        and b.get("unit_confusion") is not None
        and a.get("patch_ids") == b.get("patch_ids")
    )


def _columns(key: str, value: float | None, ci: Sequence[float] | None) -> dict[str, float | None]:
    return {
        key: value,
        f"{key}_ci_low": None if ci is None else ci[0],
        f"{key}_ci_high": None if ci is None else ci[1],
    }


def write_tables(
    *,
    index: Path,
    metrics: Mapping[str, str | Path],
    methods: Sequence[str],
    ablations: Sequence[str],
    out_dir: Path,
    full: str = "permafusionnet",
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Path]:
    """Write ``table{1,2,3}.{csv,md}`` into ``out_dir``.

    Args:
        index: the patch index CSV (``dominant_class``, ``split``).
        metrics: method -> metrics JSON path, for every method of Table 2 and 3.
        methods: rows of Table 2.
        ablations: rows of Table 3 after the full model.
        out_dir: output folder.
        full: the full model of Table 3.
        n_boot: replicates of the paired difference intervals.
        seed: their seed.

    Returns:
        File name (e.g. ``"table2.md"``) -> path written.
    """
    out_dir = Path(out_dir)
    loaded = load_metrics(metrics)
    frames = {
        "table1": table1(pd.read_csv(index)),
        "table2": table2(loaded, methods),
        "table3": table3(loaded, ablations, full=full, n_boot=n_boot, seed=seed),
    }
    written = {}
    for name, (frame, markdown) in frames.items():
        write_text(frame.to_csv(index=False), out_dir / f"{name}.csv")
        write_text(markdown, out_dir / f"{name}.md")
        written[f"{name}.csv"] = out_dir / f"{name}.csv"
        written[f"{name}.md"] = out_dir / f"{name}.md"
    return written


# --------------------------------------------------------------------------- leave-one-region-out


def fold_table(metrics: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """One row per held-out region (OA, mean F1 with its interval, kappa, test patches), then the mean.

    The mean row averages OA, mean F1, kappa and the baseline over regions (each region weighs the
    same); it has no interval and no patch count.
    """
    rows = []
    for region, scores in metrics.items():
        model = scores["model"]
        low, high = model.get("ci95", {}).get("mean_f1", [np.nan, np.nan])
        rows.append(
            {
                "held_out_region": region,
                "test_patches": scores.get("patches", np.nan),
                "overall_accuracy": model["overall_accuracy"],
                "mean_f1": model["mean_f1"],
                "mean_f1_ci_low": low,
                "mean_f1_ci_high": high,
                "kappa": model.get("kappa", np.nan),
                "majority_mean_f1": scores["majority_baseline"]["mean_f1"],
            }
        )
    table = pd.DataFrame(rows)
    mean = table.drop(columns="held_out_region").mean(numeric_only=True)
    # the regions' intervals do not average into an interval of the mean, nor patch counts into one
    mean[["test_patches", "mean_f1_ci_low", "mean_f1_ci_high"]] = np.nan
    mean["held_out_region"] = "mean over regions"
    table.loc[len(table)] = mean  # (aligned by column; pd.concat warns about the all-NaN cells)
    return table


def fold_markdown(table: pd.DataFrame) -> str:
    """:func:`fold_table` as a Markdown table: OA and mean F1 in percent, with the interval."""
    rows = [
        [
            str(row.held_out_region),
            DASH if pd.isna(row.test_patches) else f"{float(row.test_patches):g}",
            with_ci(row.overall_accuracy, None, percent=True),
            with_ci(
                row.mean_f1,
                None if pd.isna(row.mean_f1_ci_low) else [row.mean_f1_ci_low, row.mean_f1_ci_high],
                percent=True,
            ),
            with_ci(row.kappa, None, percent=False),
            with_ci(row.majority_mean_f1, None, percent=True),
        ]
        for row in table.itertuples()
    ]
    header = ["held-out region", "test patches", "OA %", "mean F1 % [95 % CI]", "kappa", "majority mF1 %"]
    return markdown_table(header, rows)
