"""A threshold baseline: slump where NDVI is low and the surface bright, thresholds tuned on training images.

Thaw slumps expose bare, wet mineral soil in green tundra, so the simplest detector is "NDVI at most t_ndvi
and visible brightness (mean of B02 B03 B04) at least t_bright". The two thresholds are chosen on a grid to
maximise the pixel F1 of the training images' labelled pixels; the baseline sees no slope and no context,
which is what the network adds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from permafusion.tasks.rts.classes import BACKGROUND, SLUMP


def ndvi_brightness(image: np.ndarray, channels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """NDVI and visible brightness of an image (C, H, W) or tiles (N, C, H, W), bands named ``channels``."""
    axis = image.ndim - 3
    band = {name: np.take(image, i, axis=axis) for i, name in enumerate(channels)}
    red, nir = band["B04"], band["B08"]
    with np.errstate(invalid="ignore", divide="ignore"):
        ndvi = (nir - red) / (nir + red)
    return ndvi, (band["B02"] + band["B03"] + band["B04"]) / 3.0


@dataclass(frozen=True)
class ThresholdBaseline:
    """Slump where ``ndvi <= ndvi_max`` and ``brightness >= brightness_min``."""

    ndvi_max: float
    brightness_min: float

    def predict(self, image: np.ndarray, channels: Sequence[str]) -> np.ndarray:
        """Label codes (1 background, 2 slump) of an image or tiles; invalid pixels are background."""
        ndvi, bright = ndvi_brightness(image, channels)
        return np.where((ndvi <= self.ndvi_max) & (bright >= self.brightness_min), SLUMP, BACKGROUND).astype(
            np.uint8
        )


def tune_threshold(
    image: np.ndarray, labels: np.ndarray, channels: Sequence[str], *, steps: int = 41
) -> ThresholdBaseline:
    """The thresholds with the best pixel F1 on labelled pixels of tiles (N, C, H, W) and labels (N, H, W).

    Raises:
        ValueError: no labelled slump pixel.
    """
    ndvi, bright = ndvi_brightness(image, channels)
    labelled = (labels > 0) & np.isfinite(ndvi) & np.isfinite(bright)
    truth = labels[labelled] == SLUMP
    if not truth.any():
        raise ValueError("no labelled slump pixel to tune the threshold baseline on")
    ndvi, bright = ndvi[labelled], bright[labelled]
    best, best_f1 = ThresholdBaseline(0.0, 0.0), -1.0
    for t_ndvi in np.quantile(ndvi[truth], np.linspace(0.5, 1.0, steps)):
        low = ndvi <= t_ndvi
        for t_bright in np.quantile(bright[truth], np.linspace(0.0, 0.5, steps)):
            predicted = low & (bright >= t_bright)
            tp = np.count_nonzero(predicted & truth)
            f1 = 2 * tp / (np.count_nonzero(predicted) + np.count_nonzero(truth))
            if f1 > best_f1:
                best, best_f1 = ThresholdBaseline(float(t_ndvi), float(t_bright)), f1
    return best
