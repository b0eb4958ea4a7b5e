"""Classification metrics over labeled pixels: confusion matrix, OA, Cohen's kappa, per-class F1 and IoU.

Conventions: rows of the confusion matrix are reference classes, columns predictions, both in class-code
order 1..K. Pixels whose reference code is 0 (unlabeled) are left out. A class that is neither in the
reference nor predicted has an undefined F1/IoU (0/0): it is NaN (``None`` in JSON) and is left out of the
macro means, so a split without, say, talik pixels is not scored as if the model failed on them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from permafusion.core.classes import NODATA, ClassScheme


def confusion_matrix(reference: np.ndarray, predicted: np.ndarray, *, num_classes: int) -> np.ndarray:
    """(K, K) int64 counts over labeled pixels; ``[i, j]`` = reference code i+1 predicted as code j+1.

    Args:
        reference: class codes, 0 = unlabeled (skipped).
        predicted: class codes 1..K, same shape as ``reference``.

    Raises:
        ValueError: on a shape mismatch or codes outside 0..K / 1..K at labeled pixels.
    """
    reference = np.asarray(reference)
    predicted = np.asarray(predicted)
    if reference.shape != predicted.shape:
        raise ValueError(f"reference {reference.shape} and prediction {predicted.shape} differ in shape")
    labeled = reference != NODATA
    ref, pred = _labeled_codes(reference[labeled], predicted[labeled], num_classes)
    flat = (ref - 1) * num_classes + (pred - 1)
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def _labeled_codes(ref: np.ndarray, pred: np.ndarray, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    ref, pred = ref.astype(np.int64), pred.astype(np.int64)
    if ref.size and (ref.min() < 1 or ref.max() > num_classes):
        raise ValueError(f"reference codes must be 0..{num_classes}, found {ref.min()}..{ref.max()}")
    if pred.size and (pred.min() < 1 or pred.max() > num_classes):
        raise ValueError(
            f"predicted codes at labeled pixels must be 1..{num_classes}, found {pred.min()}..{pred.max()}"
        )
    return ref, pred


def unit_confusion(
    units: np.ndarray, reference: np.ndarray, predicted: np.ndarray, *, count: int, num_classes: int
) -> np.ndarray:
    """(count, K, K) int64 confusion matrices, one per resampling unit: ``units`` gives every pixel's unit
    (0..count-1, -1 for none: e.g. its patch, or the labelled region it lies in), same conventions as above
    otherwise. Their sum is :func:`confusion_matrix` of the pixels with a unit; kept apart they let
    :mod:`permafusion.learn.bootstrap` resample units without touching pixels again. Pixels of one unit may
    lie in several patches: the matrices of calls over chunks of patches add up to those of the whole.
    """
    units, reference, predicted = np.asarray(units), np.asarray(reference), np.asarray(predicted)
    if not units.shape == reference.shape == predicted.shape:
        raise ValueError(
            f"units {units.shape}, reference {reference.shape}, prediction {predicted.shape} differ"
        )
    k2 = num_classes * num_classes
    scored = (reference != NODATA) & (units >= 0)
    ref, pred = _labeled_codes(reference[scored], predicted[scored], num_classes)
    flat = units[scored].astype(np.int64) * k2 + (ref - 1) * num_classes + (pred - 1)
    return np.bincount(flat, minlength=count * k2).reshape(count, num_classes, num_classes)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.maximum(den, 1), np.nan)


def overall_accuracy(cm: np.ndarray) -> float:
    """Share of labeled pixels classified correctly (NaN when there are none)."""
    total = cm.sum()
    return float(np.trace(cm) / total) if total else math.nan


def cohen_kappa(cm: np.ndarray) -> float:
    """Cohen's kappa (p_o - p_e) / (1 - p_e), p_e from the row and column totals.

    NaN without labeled pixels, or when chance agreement is already 1 (one class in both reference and
    prediction), where kappa is 0/0.
    """
    total = float(cm.sum())
    if not total:
        return math.nan
    observed = float(np.trace(cm)) / total
    expected = float(np.dot(cm.sum(axis=1), cm.sum(axis=0))) / total**2
    return (observed - expected) / (1.0 - expected) if expected < 1.0 else math.nan


def f1_per_class(cm: np.ndarray) -> np.ndarray:
    """F1 = 2TP / (2TP + FP + FN) per class; NaN when the class is neither present nor predicted."""
    tp = np.diag(cm).astype(np.float64)
    return _ratio(2 * tp, 2 * tp + (cm.sum(axis=0) - tp) + (cm.sum(axis=1) - tp))


def iou_per_class(cm: np.ndarray) -> np.ndarray:
    """IoU = TP / (TP + FP + FN) per class; NaN when the class is neither present nor predicted."""
    tp = np.diag(cm).astype(np.float64)
    return _ratio(tp, tp + (cm.sum(axis=0) - tp) + (cm.sum(axis=1) - tp))


def _nanmean(values: np.ndarray) -> float:
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else math.nan


def mean_f1(cm: np.ndarray) -> float:
    """Macro F1 over the classes with a defined F1."""
    return _nanmean(f1_per_class(cm))


def mean_iou(cm: np.ndarray) -> float:
    """Macro IoU over the classes with a defined IoU."""
    return _nanmean(iou_per_class(cm))


def _json_float(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def metrics_report(cm: np.ndarray, *, scheme: ClassScheme) -> dict[str, Any]:
    """JSON-ready metrics of a confusion matrix.

    Returns:
        ``{"overall_accuracy", "kappa", "mean_f1", "mean_iou", "labeled_pixels", "per_class": {name: {"code",
        "f1", "iou", "precision", "recall", "support"}}, "confusion_matrix": [[...]], "class_codes",
        "class_names"}``; undefined values are ``None``.
    """
    names, codes = scheme.names, list(scheme.codes)
    if cm.shape != (len(codes), len(codes)):
        raise ValueError(f"confusion matrix {cm.shape} does not match {len(codes)} classes")
    tp = np.diag(cm).astype(np.float64)
    precision = _ratio(tp, cm.sum(axis=0).astype(np.float64))
    recall = _ratio(tp, cm.sum(axis=1).astype(np.float64))
    f1, iou = f1_per_class(cm), iou_per_class(cm)
    per_class = {
        names[code]: {
            "code": code,
            "f1": _json_float(f1[i]),
            "iou": _json_float(iou[i]),
            "precision": _json_float(precision[i]),
            "recall": _json_float(recall[i]),
            "support": int(cm[i].sum()),
        }
        for i, code in enumerate(codes)
    }
    return {
        "overall_accuracy": _json_float(overall_accuracy(cm)),
        "kappa": _json_float(cohen_kappa(cm)),
        "mean_f1": _json_float(mean_f1(cm)),
        "mean_iou": _json_float(mean_iou(cm)),
        "labeled_pixels": int(cm.sum()),
        "per_class": per_class,
        "confusion_matrix": cm.astype(int).tolist(),
        "class_codes": codes,
        "class_names": [names[c] for c in codes],
    }
