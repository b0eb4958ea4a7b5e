"""Training augmentation (seed 001 §3.2): Gaussian blur, the one the paper kept; flips and 90° rotations
as options.

Each tile of a batch is blurred with probability ``blur_probability`` by a Gaussian of a sigma drawn
uniformly from ``blur_sigma``; labels are never blurred. Flips and rotations move labels with the inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter


@dataclass(frozen=True)
class Augmentation:
    """What to apply to training tiles."""

    blur_probability: float = 0.5
    blur_sigma: tuple[float, float] = (0.5, 1.5)
    flips: bool = False
    rotations: bool = False

    def __post_init__(self) -> None:
        lo, hi = self.blur_sigma
        if not 0 <= self.blur_probability <= 1 or not 0 < lo <= hi:
            raise ValueError(
                f"blur_probability {self.blur_probability} must be in [0, 1] and 0 < sigma {lo} <= {hi}"
            )


def augment(
    x: np.ndarray, y: np.ndarray, *, settings: Augmentation, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """An augmented copy of a batch: x (B, C, H, W) float32, y (B, H, W) label codes."""
    x, y = x.copy(), y.copy()
    for i in range(len(x)):
        if rng.random() < settings.blur_probability:
            sigma = rng.uniform(*settings.blur_sigma)
            x[i] = gaussian_filter(x[i], sigma=(0, sigma, sigma), mode="reflect")
        if settings.flips:
            if rng.random() < 0.5:
                x[i], y[i] = x[i][:, :, ::-1], y[i][:, ::-1]
            if rng.random() < 0.5:
                x[i], y[i] = x[i][:, ::-1, :], y[i][::-1, :]
        if settings.rotations:
            k = int(rng.integers(4))
            x[i], y[i] = np.rot90(x[i], k, axes=(1, 2)), np.rot90(y[i], k)
    return np.ascontiguousarray(x), np.ascontiguousarray(y)
