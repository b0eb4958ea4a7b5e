"""Per-pixel uncertainty of class probabilities."""

from __future__ import annotations

import math

import numpy as np


def predictive_entropy(probabilities: np.ndarray, *, axis: int = 0, normalise: bool = True) -> np.ndarray:
    """Shannon entropy (nats) of class probabilities along ``axis``; NaN stays NaN.

    With ``normalise`` it is divided by ``log K`` (K classes), so 0 is a certain prediction and 1 the
    uniform distribution, whatever the number of classes.

    Raises:
        ValueError: for fewer than two classes along ``axis``.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    k = p.shape[axis]
    if k < 2:
        raise ValueError(f"entropy needs at least two classes along axis {axis}, got {k}")
    terms = np.where(p > 0, -p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    entropy = terms.sum(axis=axis)
    entropy[np.isnan(p).any(axis=axis)] = np.nan
    return (entropy / math.log(k) if normalise else entropy).astype(np.float32)
