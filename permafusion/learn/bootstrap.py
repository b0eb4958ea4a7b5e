"""Bootstrap confidence intervals of the metrics, from one confusion matrix per resampling unit.

Pixels near each other are correlated, so whole units are resampled: patches, or the labelled regions
(truth cells) of a split by region, whose pixels may lie in several patches. Each replicate draws N units
with replacement (multinomial counts, seeded) and sums their confusion matrices. Working on the (N, K, K)
matrices makes 1000 replicates cost milliseconds. Intervals are percentile intervals; a metric
undefined in a replicate (e.g. the F1 of a class absent from it) is left out of that metric's quantiles.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from permafusion.core.classes import ClassScheme

#: Replicates processed at once (bounds memory to CHUNK x N counts).
CHUNK = 256


def _scores(cms: np.ndarray) -> dict[str, np.ndarray]:
    """OA, kappa, mean F1, mean IoU (B,) and per-class F1 (B, K) of a stack of (B, K, K) matrices."""
    cms = cms.astype(np.float64)
    total = cms.sum(axis=(1, 2))
    tp = np.diagonal(cms, axis1=1, axis2=2)
    rows, cols = cms.sum(axis=2), cms.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        oa = np.where(total > 0, tp.sum(axis=1) / total, np.nan)
        expected = np.where(total > 0, (rows * cols).sum(axis=1) / total**2, np.nan)
        kappa = np.where(expected < 1.0, (oa - expected) / (1.0 - expected), np.nan)
        f1_den = 2 * tp + (cols - tp) + (rows - tp)
        f1 = np.where(f1_den > 0, 2 * tp / f1_den, np.nan)
        iou_den = tp + (cols - tp) + (rows - tp)
        iou = np.where(iou_den > 0, tp / iou_den, np.nan)
        mean_f1 = np.nanmean(f1, axis=1)
        mean_iou = np.nanmean(iou, axis=1)
    return {"overall_accuracy": oa, "kappa": kappa, "mean_f1": mean_f1, "mean_iou": mean_iou, "f1": f1}


def _interval(values: np.ndarray, level: float) -> list[float] | None:
    finite = values[np.isfinite(values)]
    if not finite.size:
        return None
    lo, hi = np.quantile(finite, [(1 - level) / 2, (1 + level) / 2])
    return [float(lo), float(hi)]


def bootstrap_ci(
    patch_cms: np.ndarray,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    scheme: ClassScheme,
) -> dict[str, Any]:
    """Percentile bootstrap intervals of OA, kappa, mean F1, mean IoU and per-class F1.

    Args:
        patch_cms: (N, K, K) confusion matrices, one per unit
            (:func:`permafusion.learn.metrics.unit_confusion`).
        n_boot: number of replicates.
        seed: seed of the resampling (same seed, same intervals).
        level: coverage of the intervals.
        scheme: the classes of the matrices.

    Returns:
        JSON-ready ``{"level", "n_boot", "seed", "units", "overall_accuracy": [lo, hi],
        "kappa", "mean_f1", "mean_iou", "per_class_f1": {name: [lo, hi]}}``; ``None`` where a metric is
        undefined in every replicate.

    Raises:
        ValueError: for no units, a bad shape, ``n_boot < 1`` or a level outside (0, 1).
    """
    cms = np.asarray(patch_cms)
    names, codes = scheme.names, list(scheme.codes)
    if cms.ndim != 3 or cms.shape[1:] != (len(codes), len(codes)):
        raise ValueError(f"expected (N, {len(codes)}, {len(codes)}) per-unit matrices, got {cms.shape}")
    n = cms.shape[0]
    if n == 0:
        raise ValueError("no units to bootstrap: the split is empty")
    if n_boot < 1 or not 0 < level < 1:
        raise ValueError(f"n_boot={n_boot} must be >= 1 and level={level} in (0, 1)")
    rng = np.random.default_rng(seed)
    flat = cms.reshape(n, -1).astype(np.int64)
    parts = []
    for start in range(0, n_boot, CHUNK):
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=min(CHUNK, n_boot - start))
        parts.append((counts @ flat).reshape(-1, len(codes), len(codes)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows of nanmean
        scores = _scores(np.concatenate(parts))
    return {
        "level": level,
        "n_boot": n_boot,
        "seed": seed,
        "units": n,
        "overall_accuracy": _interval(scores["overall_accuracy"], level),
        "kappa": _interval(scores["kappa"], level),
        "mean_f1": _interval(scores["mean_f1"], level),
        "mean_iou": _interval(scores["mean_iou"], level),
        "per_class_f1": {names[c]: _interval(scores["f1"][:, i], level) for i, c in enumerate(codes)},
    }
