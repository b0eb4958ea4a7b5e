"""Scores of slump masks (seed 001 §3.4, §4): pixel precision, recall, F1 (Tables 2 and 3), object scores
(a slump found when a predicted object overlaps a true one by IoU >= 0.5), and bootstrap intervals.

Intervals: the evaluated images are cut into blocks (the 64-pixel tiles); each block holds its pixel
counts (tp, fp, fn) and the objects whose centroids fall in it (matched or not). Blocks are resampled with
replacement (``n_boot`` times, seeded) and every figure is recomputed; the interval is the percentile
range. Blocks rather than pixels keep the spatial correlation of errors inside a resampled unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import ndimage

from permafusion.tasks.rts.classes import SLUMP
from permafusion.tasks.rts.objects import label_objects, matched

#: Columns of a block's counts.
UNIT_COLUMNS = ("tp", "fp", "fn", "obj_tp", "obj_fp", "obj_fn")


def _centroid_blocks(labels: np.ndarray, count: int, block: int, n_cols: int) -> np.ndarray:
    if count == 0:
        return np.zeros(0, np.int64)
    centres = np.asarray(ndimage.center_of_mass(labels > 0, labels, range(1, count + 1)))
    return (centres[:, 0] // block).astype(np.int64) * n_cols + (centres[:, 1] // block).astype(np.int64)


def score_units(
    truth: np.ndarray, predicted: np.ndarray, *, block: int = 64, min_iou: float = 0.5, min_pixels: int = 1
) -> np.ndarray:
    """Per-block counts (n_blocks, 6) of one image: pixel tp/fp/fn over labelled pixels, object tp/fp/fn.

    Args:
        truth: label codes (0 unlabelled, 1 background, 2 slump).
        predicted: bool slump mask.
        block: block side in pixels.
        min_iou, min_pixels: object matching (:func:`permafusion.tasks.rts.objects.match_objects`).
    """
    height, width = truth.shape
    n_rows, n_cols = -(-height // block), -(-width // block)
    labelled = truth > 0
    t, p = (truth == SLUMP) & labelled, predicted & labelled
    block_id = (np.arange(height)[:, None] // block) * n_cols + np.arange(width)[None, :] // block
    n = n_rows * n_cols
    units = np.zeros((n, len(UNIT_COLUMNS)), np.float64)
    for column, mask in enumerate((t & p, ~t & p & labelled, t & ~p)):
        units[:, column] = np.bincount(block_id[mask], minlength=n)
    t_lab, n_true = label_objects(t)
    p_lab, n_pred = label_objects(p, min_pixels=min_pixels)
    matched_t, matched_p = matched(t_lab, n_true, p_lab, n_pred, min_iou=min_iou)
    t_blocks = _centroid_blocks(t_lab, n_true, block, n_cols)
    p_blocks = _centroid_blocks(p_lab, n_pred, block, n_cols)
    units[:, 3] = np.bincount(t_blocks[matched_t], minlength=n)
    units[:, 4] = np.bincount(p_blocks[~matched_p], minlength=n)
    units[:, 5] = np.bincount(t_blocks[~matched_t], minlength=n)
    return units


def _prf(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        return tp / (tp + fp), tp / (tp + fn), 2 * tp / (2 * tp + fp + fn)


def _value(x: Any) -> float | None:
    return None if not np.isfinite(x) else float(x)


def summarize_units(
    units: np.ndarray, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> dict[str, Any]:
    """Pixel and object precision, recall and F1 with bootstrap intervals from block counts (n, 6)."""
    units = np.asarray(units, np.float64).reshape(-1, len(UNIT_COLUMNS))
    totals = units.sum(axis=0)
    names = ("precision", "recall", "f1")
    point = dict(zip(names, _prf(*totals[:3]), strict=True)) | {
        f"object_{k}": v for k, v in zip(names, _prf(*totals[3:]), strict=True)
    }
    out: dict[str, Any] = {k: _value(v) for k, v in point.items()}
    out |= {c: float(totals[i]) for i, c in enumerate(UNIT_COLUMNS)}
    out["blocks"] = len(units)
    if len(units):
        rng = np.random.default_rng(seed)
        counts = rng.multinomial(len(units), np.full(len(units), 1.0 / len(units)), size=n_boot)
        boot = counts @ units
        reps = dict(zip(names, _prf(*boot[:, :3].T), strict=True)) | {
            f"object_{k}": v for k, v in zip(names, _prf(*boot[:, 3:].T), strict=True)
        }
        for key, values in reps.items():
            finite = values[np.isfinite(values)]
            lo, hi = (
                np.quantile(finite, [(1 - level) / 2, (1 + level) / 2]) if finite.size else (np.nan, np.nan)
            )
            out[f"{key}_lo"], out[f"{key}_hi"] = _value(lo), _value(hi)
    return out


def evaluation_rows(
    results: Sequence[tuple[str, str, np.ndarray]], *, n_boot: int, seed: int
) -> list[dict[str, Any]]:
    """Rows (model, site, figures) for each (model, site, units), plus an ``all`` row per model."""
    rows = []
    models = list(dict.fromkeys(model for model, _, _ in results))
    for model in models:
        mine = [(site, units) for m, site, units in results if m == model]
        for site, units in mine:
            rows.append({"model": model, "site": site, **summarize_units(units, n_boot=n_boot, seed=seed)})
        if len(mine) > 1:
            stacked = np.concatenate([u for _, u in mine])
            rows.append({"model": model, "site": "all", **summarize_units(stacked, n_boot=n_boot, seed=seed)})
    return rows
