"""Sliding-window inference on a window lattice fixed to the map's extent, so tiles and the whole agree.

Why a fixed lattice: a tile predicted on its own with windows anchored at its own corner sees other
windows than the same pixels predicted as part of the whole AOI, and its border pixels see no context
beyond the tile; both show as seams in the mosaic. Here windows sit at ``origin + k * stride`` in the
coordinates of the *extent* (the AOI's pixels in one UTM zone), with ``origin = -overlap // 2``. A tile
computes exactly the windows of that lattice that meet its pixels, reading the rows and columns they
need from its neighbours (the *context*); only at the extent's edge is the input mirrored (reflection
padding). Every pixel therefore gets the same windows, the same inputs and the same blend weights
whether it is predicted in a tile or with the whole extent, and the tiled map equals the whole map up to
floating-point summation order.

Windows whose pixels have no SAR and no optical observation in any month are skipped; pixels covered by
no computed window are NaN (they are no data in every product).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from permafusion.core.devices import autocast, autocast_dtype
from permafusion.core.progress import Progress
from permafusion.tasks.degradation.normalize import NormStats, network_inputs

#: Test-time augmentation: the identity and the three flips of the square's dihedral group that keep axes.
FLIPS: tuple[tuple[int, ...], ...] = ((), (-1,), (-2,), (-2, -1))


def blend_weights(length: int, overlap: int) -> np.ndarray:
    """1-D window weight: 1 in the middle, a sin² taper over ``overlap`` pixels at each end, never 0."""
    i = np.arange(length, dtype=np.float64) + 0.5
    if overlap <= 0:
        return np.ones(length, dtype=np.float32)
    ramp = np.minimum(1.0, np.minimum(i, length - i) / overlap)
    return (np.sin(0.5 * math.pi * ramp) ** 2).astype(np.float32)


def window_sides(extent: tuple[int, int], *, window: int, overlap: int, multiple: int) -> tuple[int, int]:
    """Window side per axis: ``window``, or less on an extent smaller than one window plus its margins
    (rounded up to ``multiple``, the model's size multiple). Depends on the extent only, not the tile."""
    margin = overlap // 2
    rows, cols = (min(window, math.ceil((n + 2 * margin) / multiple) * multiple) for n in extent)
    return rows, cols


def lattice_starts(lo: int, hi: int, *, side: int, stride: int, origin: int) -> list[int]:
    """Starts ``origin + k * stride`` (``k >= 0``) of the windows ``[s, s + side)`` that meet ``[lo, hi)``."""
    k = max(0, (lo - side - origin) // stride + 1)
    starts = []
    start = origin + k * stride
    while start < hi:
        if start + side > lo:
            starts.append(start)
        start += stride
    return starts


@dataclass(frozen=True)
class Placement:
    """Where arrays lie in the extent's pixel frame.

    Attributes:
        extent: (rows, cols) of the whole extent; windows and mirroring are defined on it.
        offset: (row, col) of the input arrays' first pixel in the extent.
        box: (row, col, rows, cols) of the pixels to predict, in the extent; inside the input arrays.
    """

    extent: tuple[int, int]
    offset: tuple[int, int]
    box: tuple[int, int, int, int]

    @classmethod
    def whole(cls, shape: tuple[int, int]) -> Placement:
        """Arrays that are the whole extent, all of it predicted."""
        return cls(extent=shape, offset=(0, 0), box=(0, 0, *shape))


@dataclass
class WindowProducts:
    """Blended per-pixel outputs over a placement's box.

    Attributes:
        probabilities: (K, H, W) float32 class probabilities (channel k = class code k + 1), NaN where no
            window was computed.
        sar_weight: (T, H, W) float32 SAR weight of the cross-modal gate per month, or None.
        flip_information: (H, W) float32 mutual information between the prediction and the flip,
            normalised by log K (0: the four flips agree), or None without test-time augmentation.
        windows: windows computed.
        skipped: windows skipped for having no observation.
    """

    probabilities: np.ndarray
    sar_weight: np.ndarray | None
    flip_information: np.ndarray | None
    windows: int
    skipped: int


def _pad_spec(
    placement: Placement, shape: tuple[int, int], spans: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Mirror padding (before, after) per axis so the arrays cover ``spans`` (extent coordinates)."""
    pads = []
    for axis, (lo, hi) in enumerate(spans):
        first, last = placement.offset[axis], placement.offset[axis] + shape[axis]
        before, after = max(0, first - lo), max(0, hi - last)
        if (before and first != 0) or (after and last != placement.extent[axis]):
            raise ValueError(
                f"the input covers extent {'rows' if axis == 0 else 'columns'} {first}..{last}, the windows "
                f"need {lo}..{hi}: read more context from the neighbouring tiles"
            )
        pads.append((before, after))
    return pads


def _entropy(p: torch.Tensor, dim: int) -> torch.Tensor:
    return -(p * torch.log(p.clamp_min(1e-12))).sum(dim=dim)


@torch.inference_mode()
def predict_windows(
    model: torch.nn.Module,
    norm_stats: NormStats,
    sar: np.ndarray,
    optical: np.ndarray,
    *,
    placement: Placement | None = None,
    window: int = 128,
    overlap: int = 32,
    batch_size: int = 8,
    precision: Literal["auto", "fp32", "bf16"] = "auto",
    temperature: float = 1.0,
    tta: bool = False,
    gate_level: int | Literal["mean"] | None = None,
    log: logging.Logger | None = None,
) -> WindowProducts:
    """Blended window predictions over ``placement.box`` (the whole input when no placement is given).

    Args:
        model: a network of the registry with ``size_multiple`` and ``num_classes``; with ``gate_level``
            also ``forward_with_attention`` (PermaFusionNet).
        norm_stats: statistics from the checkpoint.
        sar: (T, 2, h, w) float32 dB, NaN where unobserved, lying at ``placement.offset``.
        optical: (T, 6, h, w) float32 reflectance, NaN where unobserved.
        placement: where the arrays and the predicted box lie in the extent.
        window: window side, a multiple of the model's size multiple.
        overlap: pixels shared by neighbouring windows, ``0 <= overlap < window``.
        batch_size: windows per forward pass.
        precision: ``"auto"`` (bf16 autocast on CUDA, fp32 on CPU), ``"fp32"`` or ``"bf16"``; softmax and
            blending run in fp32.
        temperature: logits are divided by it before the softmax (temperature scaling).
        tta: also run the three flips and blend their mutual information with the prediction.
        gate_level: fused encoder level whose gate gives ``sar_weight`` (negative counts from the
            deepest), ``"mean"`` for the mean over levels, None for no gate output.
        log: where the windows' progress goes (done/total with ETA, plain lines); None: no progress.

    Raises:
        ValueError: for bad shapes, window, overlap or temperature, or input that lacks context.
    """
    m = int(getattr(model, "size_multiple", 16))
    if window % m or window <= 0:
        raise ValueError(f"window must be a positive multiple of {m}, got {window}")
    if not 0 <= overlap < window:
        raise ValueError(f"overlap must be in 0..{window - 1}, got {overlap}")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if (
        sar.ndim != 4
        or optical.ndim != 4
        or sar.shape[0] != optical.shape[0]
        or sar.shape[2:] != optical.shape[2:]
    ):
        raise ValueError(
            "expected sar (T, 2, H, W) and optical (T, 6, H, W) on one grid, "
            f"got {sar.shape} and {optical.shape}"
        )
    place = placement or Placement.whole((sar.shape[2], sar.shape[3]))
    sides = window_sides(place.extent, window=window, overlap=overlap, multiple=m)
    box_y, box_x, box_h, box_w = place.box
    starts = [
        lattice_starts(lo, lo + n, side=s, stride=s - overlap, origin=-(overlap // 2))
        for lo, n, s in ((box_y, box_h, sides[0]), (box_x, box_w, sides[1]))
    ]
    spans = [(st[0], st[-1] + s) for st, s in zip(starts, sides, strict=True)]
    pads = _pad_spec(place, (sar.shape[2], sar.shape[3]), spans)
    spec = ((0, 0), (0, 0), *pads)
    sar_p = np.pad(np.asarray(sar, dtype=np.float32), spec, mode="symmetric")
    opt_p = np.pad(np.asarray(optical, dtype=np.float32), spec, mode="symmetric")
    observed = np.asarray(np.isfinite(sar_p).any(axis=(0, 1)) | np.isfinite(opt_p).any(axis=(0, 1)))
    # extent coordinate -> padded array index
    shift = [place.offset[a] - pads[a][0] for a in (0, 1)]
    corners = [
        (y, x)
        for y in starts[0]
        for x in starts[1]
        if observed[y - shift[0] : y - shift[0] + sides[0], x - shift[1] : x - shift[1] + sides[1]].any()
    ]
    accumulator = _Accumulator(
        model, place.box, sides, overlap, steps=sar.shape[0], gates=gate_level is not None, tta=tta
    )
    amp = autocast_dtype(precision, accumulator.device)
    progress = None if log is None else Progress(len(corners), label="windows", log=log)
    for first in range(0, len(corners), batch_size):
        batch = corners[first : first + batch_size]
        rows = [(y - shift[0], x - shift[1]) for y, x in batch]
        s = np.stack([sar_p[..., r : r + sides[0], c : c + sides[1]] for r, c in rows])
        o = np.stack([opt_p[..., r : r + sides[0], c : c + sides[1]] for r, c in rows])
        s_t, o_t = network_inputs(
            model,
            torch.as_tensor(s, device=accumulator.device),
            torch.as_tensor(o, device=accumulator.device),
            norm_stats,
        )
        with autocast(accumulator.device, amp):
            outputs = _forward(model, s_t, o_t, temperature=temperature, tta=tta, gate_level=gate_level)
        accumulator.add(batch, *outputs)
        if progress is not None:
            progress.advance(len(batch))
    total = len(starts[0]) * len(starts[1])
    return accumulator.result(windows=len(corners), skipped=total - len(corners))


def _forward(
    model: torch.nn.Module,
    sar: torch.Tensor,
    optical: torch.Tensor,
    *,
    temperature: float,
    tta: bool,
    gate_level: int | Literal["mean"] | None,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Probabilities (B, K, h, w), gate SAR weight (B, T) or None, flip information (B, h, w) or None."""
    gate = None
    with_gates = getattr(model, "forward_with_attention", None)
    if with_gates is None:
        logits, gates = model(sar, optical), []
    else:
        logits, gates = with_gates(sar, optical)
    if gate_level is not None:
        if not gates:
            raise ValueError(
                "the model has no cross-modal gates (fusion='concat'): no modality weight to map"
            )
        chosen = gates if gate_level == "mean" else [gates[gate_level]]
        gate = torch.stack([g.float().mean(dim=-1) for g in chosen]).mean(dim=0)
    probs = torch.softmax(logits.float() / temperature, dim=1)
    if not tta:
        return probs, gate, None
    flipped = [probs]
    for dims in FLIPS[1:]:
        out = (
            with_gates(sar.flip(dims), optical.flip(dims))[0]
            if with_gates
            else model(sar.flip(dims), optical.flip(dims))
        )
        out = out.float().flip(dims)
        flipped.append(torch.softmax(out / temperature, dim=1))
    stack = torch.stack(flipped)
    information = _entropy(stack.mean(dim=0), 1) - _entropy(stack, 2).mean(dim=0)
    return probs, gate, information.clamp_min(0) / math.log(probs.shape[1])


class _Accumulator:
    """Weighted sums of window outputs over the predicted box, on the model's device."""

    def __init__(
        self,
        model: torch.nn.Module,
        box: tuple[int, int, int, int],
        sides: tuple[int, int],
        overlap: int,
        *,
        steps: int,
        gates: bool,
        tta: bool,
    ) -> None:
        self.device = next(model.parameters()).device
        self.box, self.sides = box, sides
        shape = (box[2], box[3])
        k = int(getattr(model, "num_classes", 4))
        weight = np.outer(blend_weights(sides[0], overlap), blend_weights(sides[1], overlap))
        self.weight = torch.as_tensor(weight, device=self.device)
        self.total = torch.zeros(shape, dtype=torch.float32, device=self.device)
        self.probs = torch.zeros((k, *shape), dtype=torch.float32, device=self.device)
        self.gate = torch.zeros((steps, *shape), dtype=torch.float32, device=self.device) if gates else None
        self.info = torch.zeros(shape, dtype=torch.float32, device=self.device) if tta else None

    def add(
        self,
        corners: list[tuple[int, int]],
        probs: torch.Tensor,
        gate: torch.Tensor | None,
        info: torch.Tensor | None,
    ) -> None:
        by, bx, bh, bw = self.box
        for i, (y, x) in enumerate(corners):
            y0, y1 = max(y, by), min(y + self.sides[0], by + bh)
            x0, x1 = max(x, bx), min(x + self.sides[1], bx + bw)
            out = (slice(y0 - by, y1 - by), slice(x0 - bx, x1 - bx))
            win = (slice(y0 - y, y1 - y), slice(x0 - x, x1 - x))
            w = self.weight[win]
            self.total[out] += w
            self.probs[(slice(None), *out)] += probs[i][(slice(None), *win)] * w
            if self.gate is not None and gate is not None:
                self.gate[(slice(None), *out)] += gate[i][:, None, None] * w
            if self.info is not None and info is not None:
                self.info[out] += info[i][win] * w

    def result(self, *, windows: int, skipped: int) -> WindowProducts:
        total = torch.where(self.total > 0, self.total, torch.full_like(self.total, float("nan")))

        def blended(values: torch.Tensor | None) -> np.ndarray | None:
            return None if values is None else (values / total).cpu().numpy().astype(np.float32)

        probabilities = blended(self.probs)
        assert probabilities is not None
        return WindowProducts(
            probabilities=probabilities,
            sar_weight=blended(self.gate),
            flip_information=blended(self.info),
            windows=windows,
            skipped=skipped,
        )
