"""Test-split evaluation of a checkpoint against a majority-class baseline."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from permafusion.classes import CLASS_NAMES, NODATA, NUM_CLASSES
from permafusion.metrics import confusion_matrix, metrics_report
from permafusion.patch_store import read_patches
from permafusion.predict import load_model, predict_patches
from permafusion.train import read_split_ids

#: Patches read and classified at a time (bounds memory on large splits).
CHUNK = 64


def majority_class(patches: Path, ids: list[int]) -> int:
    """Most frequent labeled class code in the given patches (ties: the lower code)."""
    counts = np.zeros(NUM_CLASSES + 1, dtype=np.int64)
    for start in range(0, len(ids), CHUNK):
        labels = read_patches(patches, ids[start : start + CHUNK]).label
        counts += np.bincount(labels.ravel(), minlength=NUM_CLASSES + 1)[: NUM_CLASSES + 1]
    counts[NODATA] = 0
    if counts.sum() == 0:
        raise ValueError("the train split has no labeled pixel, so there is no majority-class baseline")
    return int(np.argmax(counts))


def evaluate(
    *,
    checkpoint: Path,
    patches: Path,
    index: Path,
    split: Literal["train", "val", "test"] = "test",
    device: str = "cpu",
    batch_size: int = 8,
) -> dict[str, Any]:
    """Metrics of the checkpoint's model on one split, next to a majority-class baseline.

    The baseline predicts, everywhere, the class with the most labeled pixels in the TRAIN split.

    Args:
        checkpoint: file written by :func:`permafusion.train.train_model`.
        patches: the Zarr patch store.
        index: the patch index CSV.
        split: which split to score.
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.
        batch_size: patches per forward pass.

    Returns:
        JSON-ready ``{"split", "checkpoint", "best_epoch", "patches", "pixels", "labeled_pixels",
        "model": metrics, "majority_baseline": {"name", "class_code", "class_name", **metrics}}``
        where metrics is
        :func:`permafusion.metrics.metrics_report` (OA, mean F1, mean IoU, per-class F1/IoU, confusion
        matrix).

    Raises:
        ValueError: for an empty split or one without labeled pixels.
    """
    checkpoint, patches, index = Path(checkpoint), Path(patches), Path(index)
    ids = read_split_ids(index)
    if split not in ids:
        raise ValueError(f"split must be one of {sorted(ids)}, got {split!r}")
    if not ids[split]:
        raise ValueError(f"the {split!r} split of {index} is empty: nothing to evaluate")
    model, stats = load_model(checkpoint, device)
    meta = torch.load(checkpoint, map_location="cpu", weights_only=True)
    baseline_code = majority_class(patches, ids["train"])

    cm_model = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    cm_base = np.zeros_like(cm_model)
    pixels = 0
    for start in range(0, len(ids[split]), CHUNK):
        data = read_patches(patches, ids[split][start : start + CHUNK])
        probs = predict_patches(model, stats, data.sar, data.optical, batch_size=batch_size)
        cm_model += confusion_matrix(data.label, np.argmax(probs, axis=1) + 1)
        cm_base += confusion_matrix(data.label, np.full_like(data.label, baseline_code))
        pixels += data.label.size
    if cm_model.sum() == 0:
        raise ValueError(f"the {split!r} split of {index} has no labeled pixel: nothing to score")
    return {
        "split": split,
        "checkpoint": str(checkpoint),
        "best_epoch": int(meta.get("best_epoch", 0)),
        "patches": len(ids[split]),
        "pixels": int(pixels),
        "labeled_pixels": int(cm_model.sum()),
        "model": metrics_report(cm_model),
        "majority_baseline": {
            "name": "majority class of the train split",
            "class_code": baseline_code,
            "class_name": CLASS_NAMES[baseline_code],
            **metrics_report(cm_base),
        },
    }
