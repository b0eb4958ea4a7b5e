"""Does a trained network use the order of the months? Two diagnostics printed beside Table 3.

- **Permuted months**: the test patches' months are shuffled (one fixed permutation, the same for SAR and
  optical and for every patch) and the mean F1 is scored again. A network that ignores the order (the
  order-free pooling ablation, exactly) loses nothing; one that reads the sequence loses what the order
  told it.
- **Zeroed recurrence**: the temporal path's output (the ConvLSTM readout, or the pooled per-step block of
  the ablations) is replaced by zeros before the decoder. A network whose decoder takes everything from the
  skips loses nothing.

Both are reported as the change of test mean F1 against the unaltered inputs (negative: the network
needed what was taken away). A model without a temporal path (the baselines) gets ``None`` for the second.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import numpy as np
import torch

from permafusion.learn.metrics import confusion_matrix, metrics_report
from permafusion.tasks.degradation.classes import DEGRADATION
from permafusion.tasks.degradation.normalize import NormStats
from permafusion.tasks.degradation.patch_store import PatchArrays
from permafusion.tasks.degradation.predict import predict_patches


@contextmanager
def zeroed_temporal(model: torch.nn.Module) -> Iterator[bool]:
    """Within the block, the model's temporal output is zeros; yields False for a model without one."""
    if not hasattr(model, "temporal_zeroed"):
        yield False
        return
    net = cast(Any, model)
    before = bool(net.temporal_zeroed)
    net.temporal_zeroed = True
    try:
        yield True
    finally:
        net.temporal_zeroed = before


def month_permutation(steps: int, *, seed: int = 0) -> np.ndarray:
    """A permutation of ``range(steps)`` that moves every month (a derangement), from ``seed``."""
    if steps < 2:
        return np.arange(steps)
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(steps)
        if not (order == np.arange(steps)).any():
            return order


def _mean_f1(probabilities: np.ndarray, label: np.ndarray) -> float:
    predicted = probabilities.argmax(axis=1) + 1
    cm = confusion_matrix(label, predicted, num_classes=DEGRADATION.num_classes)
    return float(metrics_report(cm, scheme=DEGRADATION)["mean_f1"])


def temporal_diagnostics(
    model: torch.nn.Module,
    stats: NormStats,
    data: PatchArrays,
    *,
    seed: int = 0,
    batch_size: int = 8,
) -> dict[str, Any]:
    """Test mean F1 of ``model`` on ``data`` as it is, with months permuted, and with the recurrence zeroed.

    Args:
        model: a trained network of the comparison.
        stats: its normalisation statistics.
        data: labelled patches (the test split).
        seed: seed of the month permutation.
        batch_size: patches per forward pass.

    Returns:
        ``{"mean_f1", "permuted_mean_f1", "permuted_delta", "zeroed_mean_f1", "zeroed_delta",
        "permutation"}``; the ``zeroed_*`` entries are None for a model without a temporal path.
    """
    base = _mean_f1(predict_patches(model, stats, data.sar, data.optical, batch_size=batch_size), data.label)
    order = month_permutation(data.sar.shape[1], seed=seed)
    permuted = _mean_f1(
        predict_patches(model, stats, data.sar[:, order], data.optical[:, order], batch_size=batch_size),
        data.label,
    )
    zeroed: float | None = None
    with zeroed_temporal(model) as has_temporal:
        if has_temporal:
            probs = predict_patches(model, stats, data.sar, data.optical, batch_size=batch_size)
            zeroed = _mean_f1(probs, data.label)
    return {
        "mean_f1": base,
        "permuted_mean_f1": permuted,
        "permuted_delta": permuted - base,
        "zeroed_mean_f1": zeroed,
        "zeroed_delta": None if zeroed is None else zeroed - base,
        "permutation": [int(i) for i in order],
    }
