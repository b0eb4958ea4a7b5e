"""Regression metrics and loss for several outputs at once, over valid targets only.

A regression task (soil temperature at several depths, say) predicts ``O`` outputs per sample; its targets
have gaps. Conventions:

- the **last axis** of predictions and targets is the output axis (a single output keeps an axis of 1);
- a target is valid where it is finite (NaN marks a gap) and, if a mask is given, where the mask is true;
  invalid targets contribute to neither the metrics nor the loss;
- error = prediction - target, so a positive bias means the model predicts too high.

Validation scores come from additive statistics (:func:`regression_statistics`): sums that add over
batches and processes, as the training loop (:func:`permafusion.learn.loop.validate`) requires, and that
:func:`regression_report` turns into RMSE, MAE, bias and R² per output and their means over outputs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

#: The additive statistics per output, in the column order of :func:`regression_statistics`.
STATISTICS = (
    "count",
    "error_sum",
    "squared_error_sum",
    "absolute_error_sum",
    "target_sum",
    "target_squared_sum",
)

#: Relative size below which the spread of the targets counts as none (R² is then undefined): the spread
#: is Σy² - (Σy)²/n, a difference in which rounding leaves a tiny non-zero rest for constant targets.
_FLAT_TARGETS = 1e-12


def _as_float64(values: np.ndarray | torch.Tensor) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().to(device="cpu", dtype=torch.float64).numpy()
    return np.asarray(values, dtype=np.float64)


def regression_statistics(
    predictions: np.ndarray | torch.Tensor,
    targets: np.ndarray | torch.Tensor,
    *,
    valid: np.ndarray | torch.Tensor | None = None,
) -> np.ndarray:
    """Additive per-output statistics of predictions against targets, over the valid targets.

    Args:
        predictions: (..., O) predictions, numpy or torch (any device and float dtype).
        targets: (..., O) targets, same shape; NaN (any non-finite value) marks a missing target.
        valid: optional boolean mask of the same shape; False also marks a target as missing.

    Returns:
        (O, 6) float64, one row per output with the columns of :data:`STATISTICS`: count of valid
        targets, Σ error, Σ error², Σ |error|, Σ target, Σ target². Summing the arrays of several batches
        (or processes) gives the statistics of all of them, and an empty batch gives zeros.
        A non-finite prediction at a valid target is not hidden: it makes the sums NaN (and the output's
        metrics in the report None).

    Raises:
        ValueError: when the shapes differ or there is no output axis.
    """
    pred, target = _as_float64(predictions), _as_float64(targets)
    if pred.shape != target.shape or pred.ndim < 1:
        raise ValueError(
            f"predictions {pred.shape} and targets {target.shape} must have one shape (..., outputs)"
        )
    mask = np.isfinite(target)
    if valid is not None:
        extra = valid.detach().cpu().numpy() if isinstance(valid, torch.Tensor) else np.asarray(valid)
        if extra.shape != target.shape:
            raise ValueError(f"valid {extra.shape} does not match targets {target.shape}")
        mask &= extra.astype(bool)
    outputs = target.shape[-1]
    pred, target, mask = (a.reshape(-1, outputs) for a in (pred, target, mask))
    # zeros where the target is missing, so that the sums skip it (where, not a product: NaN * 0 is NaN)
    target = np.where(mask, target, 0.0)
    error = np.where(mask, pred - target, 0.0)
    return np.stack(
        [
            mask.sum(axis=0).astype(np.float64),
            error.sum(axis=0),
            (error**2).sum(axis=0),
            np.abs(error).sum(axis=0),
            target.sum(axis=0),
            (target**2).sum(axis=0),
        ],
        axis=1,
    )


def _json_float(value: float) -> float | None:
    # None rather than NaN or inf: JSON has neither, and the loop reads None as an undefined score
    return float(value) if math.isfinite(value) else None


def _mean_defined(values: Sequence[float | None]) -> float | None:
    defined = [v for v in values if v is not None]
    return float(np.mean(defined)) if defined else None


def regression_report(statistics: np.ndarray, *, names: Sequence[str] | None = None) -> dict[str, Any]:
    """JSON-ready metrics from summed :func:`regression_statistics`.

    Per output: RMSE, MAE, bias (mean of prediction - target) and R² = 1 - SSE / SST, where SST is the
    targets' sum of squared deviations from their mean (from Σy and Σy²). A value is None when undefined:
    every metric of an output without valid targets, and R² of an output whose valid targets do not vary.
    The means over outputs (``rmse``, ``mae``, ``bias``, ``r2``) are unweighted means over the outputs where
    the metric is defined (each depth counts alike however many targets it has), None when it is defined
    for none; an output with no valid target does not pull them towards anything.

    Args:
        statistics: (O, 6) summed statistics.
        names: a name per output (e.g. the depths); ``output_0``, ``output_1`` ... by default.

    Returns:
        ``{"rmse", "mae", "bias", "r2", "count", "per_output": {name: {"rmse", "mae", "bias", "r2",
        "count"}}, "output_names"}``; ``count`` is the number of valid targets.

    Raises:
        ValueError: for statistics of another shape, or names that do not match the outputs.
    """
    stats = np.asarray(statistics, dtype=np.float64)
    if stats.ndim != 2 or stats.shape[1] != len(STATISTICS):
        raise ValueError(f"statistics must be (outputs, {len(STATISTICS)}), got {stats.shape}")
    names = list(names) if names is not None else [f"output_{i}" for i in range(stats.shape[0])]
    if len(names) != stats.shape[0] or len(set(names)) != len(names):
        raise ValueError(f"need {stats.shape[0]} distinct output names, got {names}")
    per_output: dict[str, dict[str, Any]] = {}
    for name, (n, err, sq, ab, ysum, ysq) in zip(names, stats, strict=True):
        # counts were summed as floats (over batches and processes); they are whole numbers
        count = int(np.rint(n))
        if count == 0:
            per_output[name] = {"rmse": None, "mae": None, "bias": None, "r2": None, "count": 0}
            continue
        spread = ysq - ysum**2 / n
        r2 = 1.0 - sq / spread if spread > _FLAT_TARGETS * ysq else math.nan
        per_output[name] = {
            "rmse": _json_float(math.sqrt(sq / n)),
            "mae": _json_float(ab / n),
            "bias": _json_float(err / n),
            "r2": _json_float(r2),
            "count": count,
        }
    report: dict[str, Any] = {
        key: _mean_defined([m[key] for m in per_output.values()]) for key in ("rmse", "mae", "bias", "r2")
    }
    report["count"] = sum(m["count"] for m in per_output.values())
    report["per_output"] = per_output
    report["output_names"] = names
    return report


def masked_mse(
    predictions: torch.Tensor, targets: torch.Tensor, valid: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean squared error over the valid targets: finite ones, and where ``valid`` (if given) is true.

    Missing targets get no gradient (they are selected away before the subtraction's result is used, so
    a NaN target cannot turn gradients into NaN the way a ``torch.where`` over the squared error would).

    Args:
        predictions: (..., O) predictions.
        targets: (..., O) targets, NaN for missing.
        valid: optional boolean mask of the same shape.

    Returns:
        The scalar mean over all valid targets of all outputs, or a differentiable 0 (connected to
        ``predictions``) when none is valid, so that a batch of gaps only trains nothing.

    Raises:
        ValueError: when the shapes differ.
    """
    if predictions.shape != targets.shape:
        raise ValueError(f"predictions {tuple(predictions.shape)} and targets {tuple(targets.shape)} differ")
    mask = torch.isfinite(targets)
    if valid is not None:
        if valid.shape != targets.shape:
            raise ValueError(f"valid {tuple(valid.shape)} does not match targets {tuple(targets.shape)}")
        mask = mask & valid.bool()
    if not bool(mask.any()):
        return predictions.sum() * 0.0
    return ((predictions[mask] - targets[mask]) ** 2).mean()
