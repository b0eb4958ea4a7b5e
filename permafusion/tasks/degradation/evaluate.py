"""Test-split evaluation of a checkpoint (or of any per-patch classifier, see :func:`evaluate_predictor`)
against a majority-class baseline, with bootstrap intervals over labelled regions (truth cells) when the
patches are split by region, over patches otherwise."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch

from permafusion.core.classes import NODATA
from permafusion.learn.bootstrap import bootstrap_ci
from permafusion.learn.metrics import metrics_report, unit_confusion
from permafusion.tasks.degradation.classes import DEGRADATION
from permafusion.tasks.degradation.patch_store import (
    PatchArrays,
    read_labels,
    read_patches,
    read_split_ids,
    region_units,
)
from permafusion.tasks.degradation.predict import load_model, predict_patches

#: Patches read and classified at a time (bounds memory on large splits).
CHUNK = 64


def majority_class(patches: Path, ids: list[int]) -> int:
    """Most frequent labeled class code in the given patches (ties: the lower code)."""
    k = DEGRADATION.num_classes
    counts = np.zeros(k + 1, dtype=np.int64)
    for start in range(0, len(ids), CHUNK):
        labels = read_labels(patches, ids[start : start + CHUNK])  # the imagery is not needed
        counts += np.bincount(labels.ravel(), minlength=k + 1)[: k + 1]
    counts[NODATA] = 0
    if counts.sum() == 0:
        raise ValueError("the train split has no labeled pixel, so there is no majority-class baseline")
    return int(np.argmax(counts))


def _checked_split_ids(index: Path, split: str, n_boot: int) -> dict[str, list[int]]:
    ids = read_split_ids(index)
    if split not in ids:
        raise ValueError(f"split must be one of {sorted(ids)}, got {split!r}")
    if not ids[split]:
        raise ValueError(f"the {split!r} split of {index} is empty: nothing to evaluate")
    if n_boot < 0:
        raise ValueError(f"n_boot={n_boot} must be >= 0 (0 disables the bootstrap intervals)")
    return ids


#: A classifier of patch arrays: (N, K, P, P) class probabilities, channel k = class code k + 1.
Predictor = Callable[[PatchArrays], np.ndarray]


def evaluate_predictor(
    predict: Predictor,
    *,
    patches: Path,
    index: Path,
    split: Literal["train", "val", "test"] = "test",
    n_boot: int = 1000,
    seed: int = 0,
    keep_unit_confusion: bool = False,
) -> dict[str, Any]:
    """Metrics of any patch classifier on one split, next to the majority-class baseline.

    The same scoring as :func:`evaluate` (which calls it for a checkpoint): a confusion matrix per
    resampling unit (labelled region, or patch for block splits), their sum for the metrics, a bootstrap
    over the units for the intervals.

    Args:
        predict: maps the split's patch arrays (a chunk at a time) to class probabilities.
        patches: the Zarr patch store.
        index: the patch index CSV.
        split: which split to score.
        n_boot: bootstrap replicates over the split's units (0: no intervals).
        seed: seed of the bootstrap.
        keep_unit_confusion: also return ``"patch_ids"`` and the model's per-unit matrices
            (``"unit_confusion"``, U x K x K nested lists), e.g. for paired differences between models
            scored on the same patches.

    Returns:
        The dict of :func:`evaluate` without ``checkpoint`` and ``best_epoch``.

    Raises:
        ValueError: for an unknown, empty or unlabeled split or a negative ``n_boot``.
    """
    patches, index = Path(patches), Path(index)
    ids = _checked_split_ids(index, split, n_boot)
    baseline_code = majority_class(patches, ids["train"])

    units = region_units(pd.read_csv(index), ids[split], read_labels(patches, ids[split]))
    count = len(ids[split]) if units is None else int(units.max()) + 1
    k = DEGRADATION.num_classes

    def confusion(label: np.ndarray, predicted: np.ndarray, start: int) -> np.ndarray:
        if units is None:  # each patch is its own unit
            unit = np.broadcast_to(np.arange(start, start + len(label))[:, None, None], label.shape)
        else:
            unit = units[start : start + len(label)]
        return unit_confusion(unit, label, predicted, count=count, num_classes=k)

    cms_model = np.zeros((count, k, k), dtype=np.int64)
    cms_base = np.zeros_like(cms_model)
    pixels = 0
    for start in range(0, len(ids[split]), CHUNK):
        data = read_patches(patches, ids[split][start : start + CHUNK])
        cms_model += confusion(data.label, np.argmax(predict(data), axis=1) + 1, start)
        cms_base += confusion(data.label, np.full_like(data.label, baseline_code), start)
        pixels += data.label.size
    cm_model = cms_model.sum(axis=0)
    if cm_model.sum() == 0:
        raise ValueError(f"the {split!r} split of {index} has no labeled pixel: nothing to score")

    def scored(cms: np.ndarray) -> dict[str, Any]:
        ci = bootstrap_ci(cms, n_boot=n_boot, seed=seed, scheme=DEGRADATION) if n_boot > 0 else None
        return {**metrics_report(cms.sum(axis=0), scheme=DEGRADATION), "ci95": ci}

    result: dict[str, Any] = {
        "split": split,
        "patches": len(ids[split]),
        "pixels": int(pixels),
        "labeled_pixels": int(cm_model.sum()),
        "bootstrap": {
            "n_boot": n_boot,
            "seed": seed,
            "unit": "patch" if units is None else "labelled region",
            "units": count,
            "level": 0.95,
        },
        "model": scored(cms_model),
        "majority_baseline": {
            "name": "majority class of the train split",
            "class_code": baseline_code,
            "class_name": DEGRADATION.names[baseline_code],
            **scored(cms_base),
        },
    }
    if keep_unit_confusion:
        result["patch_ids"] = list(ids[split])
        result["unit_confusion"] = cms_model.astype(int).tolist()
    return result


def evaluate(
    *,
    checkpoint: Path,
    patches: Path,
    index: Path,
    split: Literal["train", "val", "test"] = "test",
    device: str = "cpu",
    batch_size: int = 8,
    n_boot: int = 1000,
    seed: int = 0,
    keep_unit_confusion: bool = False,
) -> dict[str, Any]:
    """Metrics of the checkpoint's model on one split, next to a majority-class baseline.

    The baseline predicts, everywhere, the class with the most labeled pixels in the TRAIN split.

    Args:
        checkpoint: file written by :func:`permafusion.tasks.degradation.train.train_model`.
        patches: the Zarr patch store.
        index: the patch index CSV.
        split: which split to score.
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.
        batch_size: patches per forward pass.
        n_boot: bootstrap replicates over the split's units (0: no intervals).
        seed: seed of the bootstrap.
        keep_unit_confusion: also return ``"patch_ids"`` and ``"unit_confusion"`` (see
            :func:`evaluate_predictor`).

    Returns:
        JSON-ready ``{"split", "checkpoint", "best_epoch", "patches", "pixels", "labeled_pixels",
        "bootstrap", "model": metrics, "majority_baseline": {"name", "class_code", "class_name",
        **metrics}}`` where metrics is :func:`permafusion.learn.metrics.metrics_report` (OA, kappa, mean F1,
        mean IoU, per-class F1/IoU, confusion matrix) plus ``"ci95"``: 95 % percentile intervals of OA,
        kappa, mean F1, mean IoU and per-class F1 from :func:`permafusion.learn.bootstrap.bootstrap_ci`
        (``None`` when ``n_boot`` is 0). ``bootstrap`` records ``n_boot``, ``seed`` and the unit.

    Raises:
        ValueError: for an empty split or one without labeled pixels.
    """
    checkpoint = Path(checkpoint)
    _checked_split_ids(Path(index), split, n_boot)  # fail on a bad split before loading the model
    model, stats = load_model(checkpoint, device)
    meta = torch.load(checkpoint, map_location="cpu", weights_only=True)

    def predict(data: PatchArrays) -> np.ndarray:
        return predict_patches(model, stats, data.sar, data.optical, batch_size=batch_size)

    scores = evaluate_predictor(
        predict,
        patches=patches,
        index=index,
        split=split,
        n_boot=n_boot,
        seed=seed,
        keep_unit_confusion=keep_unit_confusion,
    )
    return {
        "split": scores.pop("split"),
        "checkpoint": str(checkpoint),
        "best_epoch": int(meta.get("best_epoch", 0)),
        **scores,
    }
