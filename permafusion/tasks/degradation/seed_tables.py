"""Tables 2 and 3 over several training seeds: mean ± sd per method, paired per-seed differences to the
full model, and the temporal diagnostics of :mod:`permafusion.tasks.degradation.diagnostics`.

One seed's bootstrap interval describes the test sample, not the training run: two seeds of the same model
on the same patches can differ by more than the interval is wide. So every method is trained with each seed
of ``experiments.seeds`` and scored on the same test patches; Table 3's difference to the full model is taken
per seed (same seed, same patches) and summarised by its mean, sd and the count of seeds where it is
positive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from permafusion.core.files import write_text
from permafusion.tasks.degradation.classes import DEGRADATION
from permafusion.tasks.degradation.tables import (
    ABLATION_LABELS,
    CLASS_SHORT,
    DASH,
    METHOD_LABELS,
    load_metrics,
    markdown_table,
)

#: Per-seed scalar scores read from a metrics file's ``"model"`` entry.
_SCORES = ("overall_accuracy", "mean_f1", "kappa")


def _value(metrics: Mapping[str, Any], key: str) -> float:
    model = metrics["model"]
    if key.startswith("f1_"):
        code = {v: k for k, v in CLASS_SHORT.items()}[key[3:]]
        value = (model.get("per_class") or {}).get(DEGRADATION.names[code], {}).get("f1")
    else:
        value = model.get(key)
    return float("nan") if value is None else float(value)


def _diagnostic(metrics: Mapping[str, Any], key: str) -> float:
    value = (metrics.get("temporal_diagnostics") or {}).get(key)
    return float("nan") if value is None else float(value)


def mean_sd(values: Sequence[float], *, percent: bool = False, signed: bool = False) -> str:
    """``mean ± sd`` of the finite values (sd with n - 1; only the mean for one value), or a dash."""
    x = np.asarray([v for v in values if np.isfinite(v)], dtype=float) * (100.0 if percent else 1.0)
    if x.size == 0:
        return DASH
    digits = 1 if percent else 3
    head = f"{x.mean():+.{digits}f}" if signed else f"{x.mean():.{digits}f}"
    return head if x.size == 1 else f"{head} ± {x.std(ddof=1):.{digits}f}"


def seed_table2(
    metrics: Mapping[str, Sequence[Mapping[str, Any]]], methods: Sequence[str]
) -> tuple[pd.DataFrame, str]:
    """Table 2 over seeds: one row per method and seed in the frame; mean ± sd per method in Markdown."""
    keys = (*_SCORES, *(f"f1_{CLASS_SHORT[c]}" for c in DEGRADATION.codes))
    records, rows = [], []
    for method in methods:
        runs = metrics[method]
        for seed, run in enumerate(runs):
            records.append({"method": method, "seed_index": seed, **{k: _value(run, k) for k in keys}})
        cells = [METHOD_LABELS.get(method, method), str(len(runs))]
        for key in keys:
            cells.append(mean_sd([_value(r, key) for r in runs], percent=key == "overall_accuracy"))
        rows.append(cells)
    classes = [f"F1-{CLASS_SHORT[c]}" for c in DEGRADATION.codes]
    header = ["Method", "seeds", "OA (%)", "mF1", "Kappa", *classes]
    return pd.DataFrame.from_records(records), markdown_table(header, rows)


def seed_table3(
    metrics: Mapping[str, Sequence[Mapping[str, Any]]],
    ablations: Sequence[str],
    *,
    full: str = "permafusionnet",
) -> tuple[pd.DataFrame, str]:
    """Table 3 over seeds: mean F1, the paired per-seed difference to the full model, and the diagnostics
    (change of mean F1 with months permuted, with the recurrence zeroed), each as mean ± sd.

    Raises:
        ValueError: when a method has another number of seeds than the full model (no pairing).
    """
    base = metrics[full]
    records, rows = [], []
    for method in (full, *ablations):
        runs = metrics[method]
        if len(runs) != len(base):
            raise ValueError(f"{method} has {len(runs)} seeds, {full} {len(base)}: they cannot be paired")
        f1 = [_value(r, "mean_f1") for r in runs]
        diff = [a - _value(b, "mean_f1") for a, b in zip(f1, base, strict=True)]
        perm = [_diagnostic(r, "permuted_delta") for r in runs]
        zero = [_diagnostic(r, "zeroed_delta") for r in runs]
        for seed in range(len(runs)):
            records.append(
                {
                    "method": method,
                    "seed_index": seed,
                    "mean_f1": f1[seed],
                    "delta_mean_f1": None if method == full else diff[seed],
                    "permuted_delta": perm[seed],
                    "zeroed_delta": zero[seed],
                }
            )
        better = DASH if method == full else f"{sum(d > 0 for d in diff)}/{len(diff)}"
        per_seed = DASH if method == full else " ".join(f"{d:+.3f}" for d in diff)
        rows.append(
            [
                ABLATION_LABELS.get(method, method),
                mean_sd(f1),
                DASH if method == full else mean_sd(diff, signed=True),
                better,
                per_seed,
                mean_sd(perm, signed=True),
                mean_sd(zero, signed=True),
            ]
        )
    header = [
        "Configuration",
        "mF1",
        "Δ mF1 (paired)",
        "seeds better",
        "Δ mF1 per seed",
        "Δ mF1, months permuted",
        "Δ mF1, recurrence zeroed",
    ]
    return pd.DataFrame.from_records(records), markdown_table(header, rows)


def write_seed_tables(
    *,
    metrics: Mapping[str, Sequence[str | Path]],
    methods: Sequence[str],
    ablations: Sequence[str],
    out_dir: Path,
    full: str = "permafusionnet",
) -> dict[str, Path]:
    """Write ``table2_seeds.{csv,md}`` and ``table3_seeds.{csv,md}``; metrics: method -> one file per seed."""
    loaded = {m: [load_metrics({"x": p})["x"] for p in paths] for m, paths in metrics.items()}
    frames = {
        "table2_seeds": seed_table2(loaded, methods),
        "table3_seeds": seed_table3(loaded, ablations, full=full),
    }
    written = {}
    for name, (frame, markdown) in frames.items():
        for ext, text in (("csv", frame.to_csv(index=False)), ("md", markdown)):
            write_text(text, Path(out_dir) / f"{name}.{ext}")
            written[f"{name}.{ext}"] = Path(out_dir) / f"{name}.{ext}"
    return written
