"""Per-band standardisation of SAR (dB) and optical (reflectance) inputs, with NaN filled by 0.

Statistics are the mean and standard deviation of each band over all valid (finite) pixels and months of
the training split. Applying them standardises each band and then replaces every non-finite value (no
valid observation that month) by 0, i.e. by the band mean, so the model never sees NaN. The statistics are
a plain dict of lists (JSON-ready, loadable from a checkpoint with ``torch.load(weights_only=True)``)::

    {"sar": {"mean": [..2], "std": [..2]}, "optical": {"mean": [..6], "std": [..6]}}
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

NormStats = dict[str, dict[str, list[float]]]

#: Smallest standard deviation used; a constant band is only centred.
MIN_STD = 1e-6


def band_stats(values: np.ndarray, *, band_axis: int = 2) -> dict[str, list[float]]:
    """Mean and std per band over all finite values (float64 accumulation, one band at a time).

    A band without any finite value gets mean 0 and std 1 (it will be all zeros after filling).
    """
    values = np.asarray(values)
    means, stds = [], []
    for band in range(values.shape[band_axis]):
        x = np.take(values, band, axis=band_axis)
        finite = np.isfinite(x)
        n = int(finite.sum())
        if n == 0:
            means.append(0.0)
            stds.append(1.0)
            continue
        v = x[finite].astype(np.float64)
        mean = float(v.mean())
        std = float(v.std())
        means.append(mean)
        stds.append(std if std > MIN_STD else 1.0)
    return {"mean": means, "std": stds}


def compute_norm_stats(sar: np.ndarray, optical: np.ndarray) -> NormStats:
    """Statistics of the training patches: sar (N, T, 2, P, P) dB and optical (N, T, 6, P, P)."""
    if sar.ndim != 5 or optical.ndim != 5:
        raise ValueError(f"expected (N, T, C, P, P) arrays, got {sar.shape} and {optical.shape}")
    return {"sar": band_stats(sar, band_axis=2), "optical": band_stats(optical, band_axis=2)}


def validate_norm_stats(stats: Any) -> NormStats:
    """Check the structure (and finiteness) of statistics read from a checkpoint or a file."""
    try:
        for key in ("sar", "optical"):
            mean, std = stats[key]["mean"], stats[key]["std"]
            if len(mean) != len(std) or not all(math.isfinite(v) for v in [*mean, *std]):
                raise ValueError
            if min(std) <= 0:
                raise ValueError
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            "normalisation statistics must be {'sar': {'mean': [...], 'std': [...]}, 'optical': {...}} with "
            "finite values and positive std; recompute them with compute_norm_stats"
        ) from None
    return stats


def standardize(x: torch.Tensor, stats: dict[str, list[float]], *, channel_dim: int = -3) -> torch.Tensor:
    """``(x - mean) / std`` per band, then non-finite values (no observation) set to 0.

    Args:
        x: tensor with bands along ``channel_dim`` (default: (..., C, H, W)).
        stats: ``{"mean": [...], "std": [...]}`` with one entry per band.
    """
    c = x.shape[channel_dim]
    if len(stats["mean"]) != c:
        raise ValueError(f"statistics have {len(stats['mean'])} bands, the input has {c}")
    shape = [1] * x.ndim
    shape[channel_dim] = c
    mean = torch.tensor(stats["mean"], dtype=x.dtype, device=x.device).reshape(shape)
    std = torch.tensor(stats["std"], dtype=x.dtype, device=x.device).reshape(shape)
    return torch.nan_to_num((x - mean) / std, nan=0.0, posinf=0.0, neginf=0.0)


def normalize_inputs(
    sar: torch.Tensor, optical: torch.Tensor, stats: NormStats
) -> tuple[torch.Tensor, torch.Tensor]:
    """Standardise a SAR and an optical batch of shape (..., C, H, W); the results hold no NaN."""
    return standardize(sar, stats["sar"]), standardize(optical, stats["optical"])


def validity(x: torch.Tensor, *, channel_dim: int = -3) -> torch.Tensor:
    """1.0 where every band of a step is finite (observed), else 0.0, as one channel at ``channel_dim``."""
    return torch.isfinite(x).all(dim=channel_dim, keepdim=True).to(x.dtype)


def reads_masks(model: torch.nn.Module) -> bool:
    """Whether a network takes validity masks (PermaFusionNet with ``validity_masks``; no baseline does)."""
    return bool(getattr(model, "validity_masks", False))


def network_inputs(
    model: torch.nn.Module | bool, sar: torch.Tensor, optical: torch.Tensor, stats: NormStats
) -> tuple[torch.Tensor, torch.Tensor]:
    """What a network reads from raw SAR (B, T, 2, H, W) dB and optical (B, T, 6, H, W) with NaN gaps.

    Both are standardised (:func:`normalize_inputs`); a model with ``validity_masks`` set (or ``model``
    given as True) also gets, per branch, one more channel: 1 where the step's observation exists, 0 where
    it was filled. This is the one place that builds a network's inputs, for training, evaluation and
    prediction alike.
    """
    s, o = normalize_inputs(sar, optical, stats)
    if not (model if isinstance(model, bool) else reads_masks(model)):
        return s, o
    return torch.cat([s, validity(sar)], dim=-3), torch.cat([o, validity(optical)], dim=-3)
