"""Augmentation of degradation training batches (training only), identically on SAR, optical and labels.

- a random crop of ``train_crop`` pixels (if set), so that CPU training runs on small windows;
- one of the 8 symmetries of the square (random 90° rotation times an optional flip). The paper rotates by
  any angle in ±180°; right angles keep the label raster exact (no interpolation of class codes);
- speckle on SAR: multiplicative Gamma noise with ``speckle_looks`` looks (mean 1) in linear power, which
  is added in dB as ``10 log10(G)``, G ~ Gamma(L, 1/L), independently per pixel, month and polarisation.
  L = 20 gives about 1 dB standard deviation (monthly composites are already multi-looked).

Two implementations draw the same kinds of transforms: numpy on the host (:func:`augment_batch`), and torch
on the data's device as one gather (:func:`augment_batch_torch`), used when the patches sit on a GPU.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch


class AugmentSettings(Protocol):
    """The settings augmentation reads (see :class:`permafusion.tasks.degradation.train.TrainSettings`)."""

    @property
    def train_crop(self) -> int | None: ...

    @property
    def augment(self) -> bool: ...

    @property
    def speckle_looks(self) -> float | None: ...


def augment_batch(
    sar: np.ndarray,
    optical: np.ndarray,
    label: np.ndarray,
    settings: AugmentSettings,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Crop, rotate/flip and add speckle to one batch (N, T, C, P, P); returns new contiguous arrays."""
    n, p = sar.shape[0], sar.shape[-1]
    crop = settings.train_crop or p
    out_s, out_o, out_l = [], [], []
    for i in range(n):
        y, x = (int(v) for v in rng.integers(0, p - crop + 1, size=2))
        s = sar[i, ..., y : y + crop, x : x + crop]
        o = optical[i, ..., y : y + crop, x : x + crop]
        lab = label[i, y : y + crop, x : x + crop]
        if settings.augment:
            k = int(rng.integers(0, 4))
            s, o, lab = (np.rot90(a, k, axes=(-2, -1)) for a in (s, o, lab))
            if rng.random() < 0.5:
                s, o, lab = (a[..., ::-1] for a in (s, o, lab))
        out_s.append(s)
        out_o.append(o)
        out_l.append(lab)
    s_b = np.ascontiguousarray(np.stack(out_s), dtype=np.float32)
    if settings.speckle_looks:
        looks = float(settings.speckle_looks)
        gamma = rng.gamma(shape=looks, scale=1.0 / looks, size=s_b.shape)
        s_b += (10.0 * np.log10(gamma)).astype(np.float32)  # NaN stays NaN
    return s_b, np.ascontiguousarray(np.stack(out_o)), np.ascontiguousarray(np.stack(out_l))


def symmetry_grids(size: int, device: torch.device) -> torch.Tensor:
    """(8, 2, size, size) source rows/columns of the 8 symmetries of the square.

    Entry ``s = 2 k + f`` reproduces ``np.rot90(a, k, axes=(-2, -1))`` followed, if ``f``, by a flip of the
    last axis: ``out[i, j] = a[grid[s, 0, i, j], grid[s, 1, i, j]]``.
    """
    rows, cols = torch.meshgrid(
        torch.arange(size, device=device), torch.arange(size, device=device), indexing="ij"
    )
    grids = []
    for k in range(4):
        r, c = torch.rot90(rows, k, dims=(0, 1)), torch.rot90(cols, k, dims=(0, 1))
        grids.append(torch.stack([r, c]))
        grids.append(torch.stack([r.flip(-1), c.flip(-1)]))
    return torch.stack(grids)


def augment_batch_torch(
    sar: torch.Tensor,
    optical: torch.Tensor,
    label: torch.Tensor,
    idx: torch.Tensor,
    settings: AugmentSettings,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The augmentation of :func:`augment_batch` in torch, on the tensors' device, as one gather.

    Args:
        sar: (N, T, 2, P, P) dB, all training patches.
        optical: (N, T, 6, P, P).
        label: (N, P, P) class codes.
        idx: (B,) int64 patches of the batch, on the same device.
        settings: ``train_crop``, ``augment`` and ``speckle_looks`` are used.
        generator: a generator on the tensors' device.

    Returns:
        New contiguous (B, T, 2, c, c), (B, T, 6, c, c) float32 and (B, c, c) tensors.
    """
    device = sar.device
    n, p = idx.numel(), sar.shape[-1]
    crop = settings.train_crop or p
    ys = torch.randint(0, p - crop + 1, (n,), generator=generator, device=device)
    xs = torch.randint(0, p - crop + 1, (n,), generator=generator, device=device)
    if settings.augment:
        symmetry = torch.randint(0, 8, (n,), generator=generator, device=device)
    else:
        symmetry = torch.zeros(n, dtype=torch.int64, device=device)
    grid = symmetry_grids(crop, device)[symmetry]  # (B, 2, c, c)
    rows = ys[:, None, None] + grid[:, 0]
    cols = xs[:, None, None] + grid[:, 1]
    pick = idx[:, None, None]
    # Advanced indices around two slices: the result is (B, c, c, T, C).
    s = sar[pick, :, :, rows, cols].permute(0, 3, 4, 1, 2).contiguous().float()
    o = optical[pick, :, :, rows, cols].permute(0, 3, 4, 1, 2).contiguous()
    lab = label[pick, rows, cols]
    if settings.speckle_looks:
        looks = float(settings.speckle_looks)
        gamma = torch._standard_gamma(torch.full_like(s, looks), generator=generator) / looks
        s += 10.0 * torch.log10(gamma)  # NaN stays NaN
    return s, o, lab
