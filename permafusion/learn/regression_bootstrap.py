"""Bootstrap confidence intervals of regression metrics, resampling whole groups (e.g. stations).

Errors of one station are correlated in time, so the resampling unit is the group: each replicate draws G
groups with replacement (multinomial counts, seeded) and sums their additive statistics
(:func:`permafusion.learn.regression.regression_statistics`), from which RMSE, MAE, bias and R² follow
per output. Percentile intervals; a metric undefined in a replicate is left out of its quantiles.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from permafusion.learn.regression import STATISTICS

#: Replicates processed at once.
CHUNK = 256
METRICS = ("rmse", "mae", "bias", "r2")


def _metrics(stats: np.ndarray) -> dict[str, np.ndarray]:
    """Metrics of (..., 6) summed statistics, NaN where undefined."""
    n, err, sq, ab, ysum, ysq = (stats[..., i] for i in range(len(STATISTICS)))
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = ysq - np.where(n > 0, ysum**2 / n, np.nan)
        r2 = np.where(spread > 1e-12 * np.abs(ysq), 1.0 - sq / spread, np.nan)
        return {
            "rmse": np.where(n > 0, np.sqrt(sq / n), np.nan),
            "mae": np.where(n > 0, ab / n, np.nan),
            "bias": np.where(n > 0, err / n, np.nan),
            "r2": np.where(n > 0, r2, np.nan),
        }


def bootstrap_regression(
    group_statistics: np.ndarray, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> dict[str, Any]:
    """Percentile intervals of RMSE, MAE, bias and R² per output, resampling groups.

    Args:
        group_statistics: (G, O, 6) statistics per group and output.
        n_boot: replicates.
        seed: seed of the resampling.
        level: coverage of the intervals.

    Returns:
        ``{"level", "n_boot", "groups", "per_output": [{metric: [lo, hi] or None}, ...]}``, one dict per
        output, and ``"mean"``: intervals of the unweighted mean over outputs of each metric.

    Raises:
        ValueError: for no groups, a bad shape, ``n_boot < 1`` or a level outside (0, 1).
    """
    stats = np.asarray(group_statistics, dtype=np.float64)
    if stats.ndim != 3 or stats.shape[2] != len(STATISTICS):
        raise ValueError(f"expected (groups, outputs, {len(STATISTICS)}) statistics, got {stats.shape}")
    groups, outputs = stats.shape[:2]
    if groups == 0:
        raise ValueError("no groups to bootstrap")
    if n_boot < 1 or not 0 < level < 1:
        raise ValueError(f"n_boot={n_boot} must be >= 1 and level={level} in (0, 1)")
    rng = np.random.default_rng(seed)
    flat = stats.reshape(groups, -1)
    parts = []
    for start in range(0, n_boot, CHUNK):
        counts = rng.multinomial(groups, np.full(groups, 1.0 / groups), size=min(CHUNK, n_boot - start))
        parts.append((counts @ flat).reshape(-1, outputs, len(STATISTICS)))
    replicates = _metrics(np.concatenate(parts))
    quantiles = [(1 - level) / 2, (1 + level) / 2]

    def interval(values: np.ndarray) -> list[float] | None:
        finite = values[np.isfinite(values)]
        return [float(v) for v in np.quantile(finite, quantiles)] if finite.size else None

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # replicates where no output is defined
        means = {m: np.nanmean(replicates[m], axis=1) for m in METRICS}
    return {
        "level": level,
        "n_boot": n_boot,
        "groups": groups,
        "per_output": [{m: interval(replicates[m][:, o]) for m in METRICS} for o in range(outputs)],
        "mean": {m: interval(means[m]) for m in METRICS},
    }
