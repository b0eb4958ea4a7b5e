"""Objects: connected slump regions of a mask, matched one to one by IoU.

A predicted slump counts as found (a true positive object) when it overlaps a true slump with an
intersection over union of at least ``min_iou`` (0.5); matching is greedy by decreasing IoU, each object
used once. Objects smaller than ``min_pixels`` are dropped from predictions before matching (the
minimum object size of the products).

:func:`object_breakdown` says why predicted objects outnumber true ones: each unmatched prediction is a
fragment (one of several predictions on one true slump), a merge (one prediction over several touching
slumps), spurious (over no slump at all) or mis-sized (over one slump, IoU under ``min_iou``).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

EIGHT = np.ones((3, 3), dtype=bool)


def label_objects(mask: np.ndarray, *, min_pixels: int = 1) -> tuple[np.ndarray, int]:
    """8-connected components of a bool mask, those under ``min_pixels`` removed; (labels, count)."""
    labels, count = ndimage.label(mask, structure=EIGHT)
    if min_pixels > 1 and count:
        sizes = np.bincount(labels.ravel(), minlength=count + 1)
        small = sizes < min_pixels
        small[0] = False
        labels[small[labels]] = 0
        labels, count = ndimage.label(labels > 0, structure=EIGHT)
    return labels, int(count)


def overlaps(t_lab: np.ndarray, n_true: int, p_lab: np.ndarray, n_pred: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel intersections and IoU of every true (rows) and predicted (columns) object; row/column 0 is 0."""
    both = (t_lab > 0) & (p_lab > 0)
    pairs = t_lab[both].astype(np.int64) * (n_pred + 1) + p_lab[both]
    inter = np.bincount(pairs, minlength=(n_true + 1) * (n_pred + 1)).reshape(n_true + 1, n_pred + 1)
    inter[0, :], inter[:, 0] = 0, 0
    t_size = np.bincount(t_lab.ravel(), minlength=n_true + 1)[:, None]
    p_size = np.bincount(p_lab.ravel(), minlength=n_pred + 1)[None, :]
    union = t_size + p_size - inter
    iou = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
    iou[0, :], iou[:, 0] = 0, 0
    return inter, iou


def matched(
    t_lab: np.ndarray, n_true: int, p_lab: np.ndarray, n_pred: int, *, min_iou: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Whether each true and each predicted object (labels 1..n) is in a matched pair, greedy by IoU."""
    matched_t, matched_p = np.zeros(n_true, bool), np.zeros(n_pred, bool)
    if n_true == 0 or n_pred == 0:
        return matched_t, matched_p
    iou = overlaps(t_lab, n_true, p_lab, n_pred)[1]
    for flat in np.argsort(iou, axis=None, kind="stable")[::-1]:
        i, j = divmod(int(flat), n_pred + 1)
        if iou[i, j] < min_iou:
            break
        if matched_t[i - 1] or matched_p[j - 1]:
            continue
        matched_t[i - 1] = matched_p[j - 1] = True
    return matched_t, matched_p


def match_objects(
    truth: np.ndarray, predicted: np.ndarray, *, min_iou: float = 0.5, min_pixels: int = 1
) -> dict[str, int]:
    """Object true positives, false positives and false negatives of two bool masks.

    Returns:
        ``{"tp", "fp", "fn", "true", "predicted"}``: matched pairs, unmatched predictions, unmatched truths,
        and the object counts.
    """
    t_lab, n_true = label_objects(truth)
    p_lab, n_pred = label_objects(predicted, min_pixels=min_pixels)
    matched_t, _ = matched(t_lab, n_true, p_lab, n_pred, min_iou=min_iou)
    tp = int(matched_t.sum())
    return {"tp": tp, "fp": n_pred - tp, "fn": n_true - tp, "true": n_true, "predicted": n_pred}


KINDS = ("matched", "fragment", "merged", "spurious", "missized")


def object_kinds(
    truth: np.ndarray, predicted: np.ndarray, *, min_iou: float = 0.5, min_pixels: int = 1
) -> tuple[np.ndarray, np.ndarray, int]:
    """What each predicted object of two bool masks is, one of :data:`KINDS`.

    ``fragment``: unmatched and sharing its true slump with another prediction; ``merged``: over two or
    more true slumps; ``spurious``: over none; ``missized``: the rest (alone on one slump, IoU under
    ``min_iou``).

    Returns:
        ``(kinds, labels, n_true)``: the kind of predicted objects 1..n, their label image, the true count.
    """
    t_lab, n_true = label_objects(truth)
    p_lab, n_pred = label_objects(predicted, min_pixels=min_pixels)
    _, matched_p = matched(t_lab, n_true, p_lab, n_pred, min_iou=min_iou)
    touches = overlaps(t_lab, n_true, p_lab, n_pred)[0][1:, 1:] > 0  # (true, predicted)
    slumps_under = touches.sum(axis=0)
    shared = touches.sum(axis=1) > 1  # true slumps under several predictions
    kinds = np.full(n_pred, "matched", dtype=object)
    for j in np.flatnonzero(~matched_p):
        if slumps_under[j] == 0:
            kinds[j] = "spurious"
        elif slumps_under[j] > 1:
            kinds[j] = "merged"
        elif shared[np.flatnonzero(touches[:, j])[0]]:
            kinds[j] = "fragment"
        else:
            kinds[j] = "missized"
    return kinds, p_lab, n_true


def object_breakdown(
    truth: np.ndarray, predicted: np.ndarray, *, min_iou: float = 0.5, min_pixels: int = 1
) -> dict[str, int]:
    """How many predicted objects are of each of :data:`KINDS` (:func:`object_kinds`); they sum to
    ``predicted``. Returns ``{"true", "predicted", "matched", "fragment", "merged", "spurious",
    "missized"}``.
    """
    kinds, _, n_true = object_kinds(truth, predicted, min_iou=min_iou, min_pixels=min_pixels)
    out = {"true": n_true, "predicted": len(kinds)}
    out.update({kind: int((kinds == kind).sum()) for kind in KINDS})
    return out
