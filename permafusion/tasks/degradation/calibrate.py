"""Temperature scaling of a degradation checkpoint: fitted on the validation patches, scored on the test.

The map rules read the fitted temperature from ``model/calibration.json`` beside the checkpoint, so the
map's probabilities (and their entropy) are the calibrated ones; the class map does not change (a
temperature keeps every argmax).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from permafusion.core.classes import NODATA
from permafusion.learn.calibration import fit_temperature, negative_log_likelihood, reliability, softmax
from permafusion.tasks.degradation.normalize import NormStats, network_inputs
from permafusion.tasks.degradation.patch_store import read_patches, read_split_ids
from permafusion.tasks.degradation.predict import load_model

#: Patches per forward pass while collecting logits.
CHUNK = 16


@torch.inference_mode()
def labelled_logits(
    model: torch.nn.Module,
    norm_stats: NormStats,
    patches: Path,
    ids: list[int],
    *,
    max_pixels: int,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Logits (N, K) float32 and class indices (N,) of the labelled pixels of some patches.

    At most ``max_pixels`` pixels are kept, drawn uniformly (seeded) from each chunk in proportion, so
    large splits stay within memory.
    """
    device = next(model.parameters()).device
    rng = np.random.default_rng(seed)
    chunks: list[tuple[np.ndarray, np.ndarray]] = []
    for start in range(0, len(ids), CHUNK):
        data = read_patches(patches, ids[start : start + CHUNK])
        s, o = network_inputs(
            model,
            torch.as_tensor(data.sar, device=device),
            torch.as_tensor(data.optical, device=device),
            norm_stats,
        )
        logits = model(s, o).float().cpu().numpy()  # (B, K, P, P)
        labelled = data.label != NODATA
        chunks.append((np.moveaxis(logits, 1, -1)[labelled], data.label[labelled].astype(np.int64) - 1))
    total = sum(len(labels) for _, labels in chunks)
    if total == 0:
        raise ValueError(f"patches {ids[:5]}... of {patches} hold no labelled pixel: nothing to calibrate on")
    keep_fraction = min(1.0, max_pixels / total)
    logits_out, labels_out = [], []
    for logits, labels in chunks:
        keep = rng.random(len(labels)) < keep_fraction
        logits_out.append(logits[keep])
        labels_out.append(labels[keep])
    return np.concatenate(logits_out), np.concatenate(labels_out)


def calibrate(
    *,
    checkpoint: Path,
    patches: Path,
    index: Path,
    device: str = "auto",
    bins: int = 15,
    max_pixels: int = 2_000_000,
) -> dict[str, Any]:
    """Fit the temperature on the val split and score the calibration on the test split.

    Returns:
        ``{"temperature", "fitted_on", "val_nll_before", "val_nll_after", "test_pixels", "test": {"before",
        "after"}}`` where ``before``/``after`` are :func:`permafusion.learn.calibration.reliability` tables
        (with ``ece``) at T = 1 and at the fitted T.

    Raises:
        ValueError: for an empty val or test split or splits without labelled pixels.
    """
    ids = read_split_ids(index)
    for split in ("val", "test"):
        if not ids[split]:
            raise ValueError(
                f"the {split!r} split of {index} is empty: calibration needs val and test patches"
            )
    model, stats = load_model(checkpoint, device)
    val_logits, val_labels = labelled_logits(model, stats, patches, ids["val"], max_pixels=max_pixels)
    temperature = fit_temperature(val_logits, val_labels)
    test_logits, test_labels = labelled_logits(model, stats, patches, ids["test"], max_pixels=max_pixels)
    return {
        "temperature": temperature,
        "fitted_on": "val",
        "val_pixels": len(val_labels),
        "val_nll_before": negative_log_likelihood(val_logits, val_labels),
        "val_nll_after": negative_log_likelihood(val_logits, val_labels, temperature=temperature),
        "test_pixels": len(test_labels),
        "test": {
            "before": reliability(softmax(test_logits), test_labels, bins=bins),
            "after": reliability(softmax(test_logits, temperature=temperature), test_labels, bins=bins),
        },
    }
