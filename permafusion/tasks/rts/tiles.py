"""Training tiles: 64 x 64 windows of a site's image stack, split into positive and negative, undersampled.

Seed 001 §3.2: images are cut into 64 x 64 arrays, split into arrays holding at least one slump pixel
(positive) and arrays holding none (negative), and the negatives are undersampled to a 1:1 ratio. Tiles
whose pixels are mostly invalid (cloud, snow, outside the scene) are dropped before the split; invalid
pixels left in a kept tile are labelled 0 (ignored by loss and metrics).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from permafusion.tasks.rts.classes import SLUMP


@dataclass(frozen=True)
class Tiles:
    """Tiles of one image: inputs (N, C, S, S) float32, labels (N, S, S) uint8 codes, and their origins."""

    x: np.ndarray
    y: np.ndarray
    rows: np.ndarray
    cols: np.ndarray

    @property
    def positive(self) -> np.ndarray:
        """Whether each tile holds at least one slump pixel."""
        return (self.y == SLUMP).reshape(len(self.y), -1).any(axis=1)


def cut_tiles(image: np.ndarray, labels: np.ndarray, *, size: int = 64, min_valid: float = 0.5) -> Tiles:
    """Cut an image (C, H, W; NaN invalid) and its label codes (H, W) into non-overlapping tiles.

    Tiles at the right and bottom edges that would stick out are left out; tiles with less than
    ``min_valid`` of their pixels valid in every channel are dropped. Invalid pixels of kept tiles get
    label 0 and input 0.

    Raises:
        ValueError: shapes that disagree, or a tile size larger than the image.
    """
    if image.ndim != 3 or image.shape[1:] != labels.shape:
        raise ValueError(f"image {image.shape} and labels {labels.shape} must be (C, H, W) and (H, W)")
    height, width = labels.shape
    if size < 1 or size > min(height, width):
        raise ValueError(f"tile size {size} does not fit an image of {height} x {width} pixels")
    valid = np.isfinite(image).all(axis=0)
    xs, ys, rows, cols = [], [], [], []
    for row in range(0, height - size + 1, size):
        for col in range(0, width - size + 1, size):
            window = (slice(row, row + size), slice(col, col + size))
            ok = valid[window]
            if ok.mean() < min_valid:
                continue
            xs.append(np.where(ok, image[(slice(None), *window)], 0.0))
            ys.append(np.where(ok, labels[window], 0))
            rows.append(row)
            cols.append(col)
    channels = image.shape[0]
    return Tiles(
        x=np.asarray(xs, np.float32).reshape(-1, channels, size, size),
        y=np.asarray(ys, np.uint8).reshape(-1, size, size),
        rows=np.asarray(rows, np.int64),
        cols=np.asarray(cols, np.int64),
    )


def undersample(positive: np.ndarray, *, ratio: float = 1.0, seed: int = 0) -> np.ndarray:
    """Indices of all positive tiles and ``ratio`` negatives per positive, drawn without replacement.

    Args:
        positive: bool per tile.
        ratio: negatives kept per positive (1.0 is the seed's 1:1); all negatives if there are fewer.
        seed: seed of the draw.

    Returns:
        Sorted indices of the kept tiles.

    Raises:
        ValueError: no positive tile (nothing to learn slumps from), or a negative ratio.
    """
    positive = np.asarray(positive, bool)
    if ratio < 0:
        raise ValueError(f"undersampling ratio {ratio} must be >= 0")
    pos = np.flatnonzero(positive)
    if pos.size == 0:
        raise ValueError("no tile holds a slump pixel: the positive set is empty")
    neg = np.flatnonzero(~positive)
    keep = min(neg.size, int(round(ratio * pos.size)))
    drawn = np.random.default_rng(seed).choice(neg, size=keep, replace=False)
    return np.sort(np.concatenate([pos, drawn]))
