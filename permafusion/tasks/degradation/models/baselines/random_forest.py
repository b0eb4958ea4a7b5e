"""Random-forest baseline on hand-crafted per-pixel temporal features (paper §5.1, "Random Forest").

Not a torch module: it takes the physical patch arrays of :mod:`permafusion.tasks.degradation.patch_store`
(SAR in dB, optical reflectance, NaN where a month had no valid observation), not normalised tensors, and is
fitted by scikit-learn rather than by the training loop. Per pixel, over the valid months only:

- VV and VH (dB): temporal mean, standard deviation, minimum, maximum and amplitude (max - min);
- NDVI = (B08 - B04) / (B08 + B04) and MNDWI = (B03 - B11) / (B03 + B11): mean, maximum, minimum, std;
- the number of valid months of SAR (both polarisations finite) and of optical (the four bands of the
  indices finite, non-zero sum);
- two flags, 1 where SAR or optical has no valid month at all; the statistics of that modality are then
  the constant ``fill_value`` (the forest can split them off; no NaN ever reaches scikit-learn).

Missing months are ignored, not imputed; a pixel with one valid month has std 0 and amplitude 0.
scikit-learn is imported only when a :class:`RandomForestBaseline` is created.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from permafusion.tasks.degradation.classes import DEGRADATION

logger = logging.getLogger(__name__)

#: Names of the feature columns returned by :func:`pixel_features`, in order.
FEATURE_NAMES: tuple[str, ...] = (
    *(f"{band}_{stat}" for band in ("vv", "vh") for stat in ("mean", "std", "min", "max", "amplitude")),
    *(f"{index}_{stat}" for index in ("ndvi", "mndwi") for stat in ("mean", "max", "min", "std")),
    "sar_valid_months",
    "optical_valid_months",
    "sar_missing",
    "optical_missing",
)

#: Positions of the bands used for the indices in the optical stack B02 B03 B04 B08 B11 B12.
OPTICAL_BAND_INDEX: dict[str, int] = {"B02": 0, "B03": 1, "B04": 2, "B08": 3, "B11": 4, "B12": 5}


def _temporal_stats(values: np.ndarray, valid: np.ndarray) -> dict[str, np.ndarray]:
    """NaN-free mean, std, min, max over axis 1 of (N, T, H, W) where ``valid``; NaN where none valid."""
    count = valid.sum(axis=1)
    x = np.where(valid, values, 0.0).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = x.sum(axis=1) / count
        var = np.where(valid, (x - mean[:, None]) ** 2, 0.0).sum(axis=1) / count
    none = count == 0
    vmin = np.where(valid, values, np.inf).min(axis=1)
    vmax = np.where(valid, values, -np.inf).max(axis=1)
    out = {"mean": mean, "std": np.sqrt(var), "min": vmin, "max": vmax}
    return {k: np.where(none, np.nan, v) for k, v in out.items()}


def _normalized_difference(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(a - b) / (a + b)`` and where it is defined (both finite, non-zero sum)."""
    total = a + b
    valid = np.isfinite(a) & np.isfinite(b) & (total != 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        index = np.where(valid, (a - b) / np.where(valid, total, 1.0), np.nan)
    return index, valid


def pixel_features(sar: np.ndarray, optical: np.ndarray, *, fill_value: float = -999.0) -> np.ndarray:
    """Hand-crafted features of every pixel of a batch of patches.

    Args:
        sar: (N, T, 2, H, W) VV, VH in dB, NaN where unobserved.
        optical: (N, T, 6, H, W) B02 B03 B04 B08 B11 B12 reflectance, NaN where unobserved.
        fill_value: value of the statistics of a modality without any valid month.

    Returns:
        (N, H, W, F) float32 features, columns named by :data:`FEATURE_NAMES`; never NaN.

    Raises:
        ValueError: for arrays that are not (N, T, 2, H, W) and (N, T, 6, H, W) on one grid.
    """
    sar = np.asarray(sar, dtype=np.float32)
    optical = np.asarray(optical, dtype=np.float32)
    if (
        sar.ndim != 5
        or optical.ndim != 5
        or sar.shape[2] != 2
        or optical.shape[2] != len(OPTICAL_BAND_INDEX)
        or sar.shape[:2] != optical.shape[:2]
        or sar.shape[3:] != optical.shape[3:]
    ):
        raise ValueError(
            f"expected sar (N, T, 2, H, W) and optical (N, T, 6, H, W) on one grid, "
            f"got {sar.shape} and {optical.shape}"
        )
    columns: list[np.ndarray] = []
    sar_valid = np.isfinite(sar).all(axis=2)  # (N, T, H, W)
    for band in range(2):
        s = _temporal_stats(sar[:, :, band], np.isfinite(sar[:, :, band]))
        columns += [s["mean"], s["std"], s["min"], s["max"], s["max"] - s["min"]]
    b = OPTICAL_BAND_INDEX
    ndvi, ndvi_valid = _normalized_difference(optical[:, :, b["B08"]], optical[:, :, b["B04"]])
    mndwi, mndwi_valid = _normalized_difference(optical[:, :, b["B03"]], optical[:, :, b["B11"]])
    for index, valid in ((ndvi, ndvi_valid), (mndwi, mndwi_valid)):
        s = _temporal_stats(index, valid)
        columns += [s["mean"], s["max"], s["min"], s["std"]]
    optical_valid = ndvi_valid & mndwi_valid
    sar_count = sar_valid.sum(axis=1)
    optical_count = optical_valid.sum(axis=1)
    columns += [sar_count, optical_count, sar_count == 0, optical_count == 0]
    features = np.stack([c.astype(np.float32) for c in columns], axis=-1)
    return np.where(np.isfinite(features), features, np.float32(fill_value)).astype(np.float32)


class RandomForestBaseline:
    """Per-pixel random forest (scikit-learn) on :func:`pixel_features`.

    Labels use the class codes of :mod:`permafusion.tasks.degradation.classes` (1..4, 0 = unlabeled and
    ignored); :meth:`predict_proba` returns channel ``k`` = class code ``k + 1`` like the networks' softmax,
    with probability 0 for a class absent from the training pixels.
    """

    def __init__(
        self,
        *,
        n_estimators: int = 200,
        max_depth: int | None = None,
        min_samples_leaf: int = 1,
        max_pixels_per_class: int = 50_000,
        class_weight: str | None = "balanced",
        num_classes: int = DEGRADATION.num_classes,
        fill_value: float = -999.0,
        n_jobs: int | None = None,
        seed: int = 0,
    ) -> None:
        """Configure the forest.

        Args:
            n_estimators: number of trees.
            max_depth: tree depth limit (None: grow until pure or ``min_samples_leaf``).
            min_samples_leaf: minimum pixels per leaf.
            max_pixels_per_class: labeled pixels drawn per class for fitting (all when fewer).
            class_weight: scikit-learn ``class_weight`` (``"balanced"`` by default: classes are rare).
            num_classes: output channels of :meth:`predict_proba` (class codes 1..num_classes).
            fill_value: feature value for a modality without any valid month.
            n_jobs: parallel jobs of scikit-learn (None: 1, -1: all cores).
            seed: seed of the pixel subsampling and of the forest.
        """
        from sklearn.ensemble import RandomForestClassifier  # optional dependency, imported when used

        if max_pixels_per_class < 1:
            raise ValueError(f"max_pixels_per_class must be >= 1, got {max_pixels_per_class}")
        self.num_classes = num_classes
        self.max_pixels_per_class = max_pixels_per_class
        self.fill_value = fill_value
        self.seed = seed
        self.forest: Any = RandomForestClassifier(
            n_estimators=n_estimators,
            max_depth=max_depth,
            min_samples_leaf=min_samples_leaf,
            class_weight=class_weight,
            n_jobs=n_jobs,
            random_state=seed,
        )
        self.feature_names: Sequence[str] = FEATURE_NAMES

    def features(self, sar: np.ndarray, optical: np.ndarray) -> np.ndarray:
        """(N, H, W, F) features of patch arrays (see :func:`pixel_features`)."""
        return pixel_features(sar, optical, fill_value=self.fill_value)

    def fit(self, sar: np.ndarray, optical: np.ndarray, label: np.ndarray) -> RandomForestBaseline:
        """Fit on the labeled pixels of patches, at most ``max_pixels_per_class`` per class (seeded draw).

        Args:
            sar: (N, T, 2, H, W) dB, NaN where unobserved.
            optical: (N, T, 6, H, W) reflectance, NaN where unobserved.
            label: (N, H, W) class codes, 0 = unlabeled.

        Returns:
            self, fitted.

        Raises:
            ValueError: for a label of the wrong shape, codes outside 0..num_classes or no labeled pixel.
        """
        label = np.asarray(label)
        if label.shape != (sar.shape[0], *sar.shape[3:]):
            raise ValueError(f"label must be (N, H, W) = {(sar.shape[0], *sar.shape[3:])}, got {label.shape}")
        if label.min() < 0 or label.max() > self.num_classes:
            raise ValueError(f"label codes must be in 0..{self.num_classes} (0 = unlabeled)")
        flat = label.reshape(-1)
        rng = np.random.default_rng(self.seed)
        chosen = []
        for code in range(1, self.num_classes + 1):
            where = np.flatnonzero(flat == code)
            if where.size > self.max_pixels_per_class:
                where = np.sort(rng.choice(where, self.max_pixels_per_class, replace=False))
            chosen.append(where)
        pixels = np.concatenate(chosen)
        if pixels.size == 0:
            raise ValueError("no labeled pixel (all label codes are 0); nothing to fit")
        features = self.features(sar, optical).reshape(-1, len(FEATURE_NAMES))
        counts = {code: int(c.size) for code, c in zip(range(1, self.num_classes + 1), chosen, strict=True)}
        logger.info("fitting random forest on %d pixels (per class %s)", pixels.size, counts)
        self.forest.fit(features[pixels], flat[pixels])
        return self

    def predict_proba(
        self, sar: np.ndarray, optical: np.ndarray, *, batch_pixels: int = 1_000_000
    ) -> np.ndarray:
        """Class probabilities of every pixel.

        Args:
            sar: (N, T, 2, H, W) dB, NaN where unobserved.
            optical: (N, T, 6, H, W) reflectance, NaN where unobserved.
            batch_pixels: pixels per call to scikit-learn (bounds memory).

        Returns:
            (N, num_classes, H, W) float32, channel k = class code k + 1.

        Raises:
            RuntimeError: if called before :meth:`fit`.
        """
        if not hasattr(self.forest, "classes_"):
            raise RuntimeError("the random forest is not fitted; call fit(sar, optical, label) first")
        n, _, _, h, w = np.shape(sar)
        features = self.features(sar, optical).reshape(-1, len(FEATURE_NAMES))
        proba = np.zeros((features.shape[0], self.num_classes), dtype=np.float32)
        columns = np.asarray(self.forest.classes_, dtype=np.int64) - 1
        for start in range(0, features.shape[0], batch_pixels):
            part = features[start : start + batch_pixels]
            proba[start : start + batch_pixels, columns] = self.forest.predict_proba(part)
        return proba.reshape(n, h, w, self.num_classes).transpose(0, 3, 1, 2).copy()
