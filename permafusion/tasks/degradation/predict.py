"""Inference: load a checkpoint, classify patches, and predict whole tiles with blended sliding windows."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch

from permafusion.core.classes import NODATA
from permafusion.core.devices import autocast, autocast_dtype, resolve_device
from permafusion.core.progress import Progress
from permafusion.series.gaps import GapFill, fill_gaps
from permafusion.tasks.degradation.card import check_card
from permafusion.tasks.degradation.classes import DEGRADATION
from permafusion.tasks.degradation.models.permafusionnet import PermaFusionNet
from permafusion.tasks.degradation.models.registry import MODEL_NAMES, build_model
from permafusion.tasks.degradation.normalize import NormStats, normalize_inputs, validate_norm_stats

if TYPE_CHECKING:  # the model code imports without the geospatial stack; predict_tile needs it
    from permafusion.geo.grid import GridSpec

LOG = logging.getLogger(__name__)


def load_model(
    checkpoint: str | Path, device: str | torch.device = "cpu"
) -> tuple[torch.nn.Module, NormStats]:
    """Rebuild the trained network (in eval mode, on ``device``) and its normalisation statistics.

    The checkpoint is read with ``torch.load(weights_only=True)``: it holds only tensors and plain types. The
    network is rebuilt by :func:`permafusion.tasks.degradation.models.registry.build_model` from the
    checkpoint's ``model_name`` and ``model_kwargs``; checkpoints written before ``model_name`` existed hold a
    PermaFusionNet.

    Raises:
        FileNotFoundError: if the checkpoint does not exist.
        ValueError: if it lacks the keys written by :func:`permafusion.tasks.degradation.train.train_model` or
            names an unknown model.
    """
    path = Path(checkpoint)
    target = resolve_device(device)
    return model_from_checkpoint(read_checkpoint(path, target), path=path, device=target)


def read_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> dict[str, Any]:
    """The checkpoint's contents (tensors on ``device``), read with ``torch.load(weights_only=True)``.

    Raises:
        FileNotFoundError: if the checkpoint does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} not found; run the train step first (or fix `model`)")
    payload: dict[str, Any] = torch.load(path, map_location=resolve_device(device), weights_only=True)
    return payload


def model_from_checkpoint(
    payload: dict[str, Any], *, path: str | Path, device: str | torch.device = "cpu"
) -> tuple[torch.nn.Module, NormStats]:
    """The network (in eval mode, on ``device``) and normalisation statistics of a read checkpoint."""
    target = resolve_device(device)
    missing = {"state_dict", "model_kwargs", "norm_stats"} - set(payload)
    if missing:
        raise ValueError(f"checkpoint {path} lacks {sorted(missing)}; it was not written by train_model")
    name = str(payload.get("model_name", "permafusionnet"))
    if name not in MODEL_NAMES:
        raise ValueError(
            f"checkpoint {path} holds model {name!r}, unknown here; known: {', '.join(MODEL_NAMES)}"
        )
    model = build_model(name, preset=None, **payload["model_kwargs"])
    model.load_state_dict(payload["state_dict"])
    model.to(target).eval()
    return model, validate_norm_stats(payload["norm_stats"])


def _device_of(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.inference_mode()
def predict_patches(
    model: torch.nn.Module,
    norm_stats: NormStats,
    sar: np.ndarray,
    optical: np.ndarray,
    *,
    batch_size: int = 8,
) -> np.ndarray:
    """Class probabilities (N, K, P, P) float32 for whole patches (P a multiple of 16).

    Args:
        model: any network of :mod:`permafusion.tasks.degradation.models.registry`, put in eval mode here.
        norm_stats: statistics from the checkpoint.
        sar: (N, T, 2, P, P) dB with NaN where unobserved.
        optical: (N, T, 6, P, P) reflectance with NaN.
        batch_size: patches per forward pass.
    """
    model.eval()
    device = _device_of(model)
    out: np.ndarray | None = None
    for start in range(0, sar.shape[0], batch_size):
        stop = start + batch_size
        s, o = normalize_inputs(
            torch.as_tensor(sar[start:stop], device=device),
            torch.as_tensor(optical[start:stop], device=device),
            norm_stats,
        )
        probs = torch.softmax(model(s, o), dim=1).float().cpu().numpy()
        if out is None:
            out = np.empty((sar.shape[0], *probs.shape[1:]), dtype=np.float32)
        out[start:stop] = probs
    if out is None:  # no patches
        return np.empty(
            (0, int(getattr(model, "num_classes", DEGRADATION.num_classes)), *sar.shape[-2:]), np.float32
        )
    return out


def blend_weights(length: int, overlap: int) -> np.ndarray:
    """1-D window weight: 1 in the middle, a sin² taper over ``overlap`` pixels at each end, never 0."""
    i = np.arange(length, dtype=np.float64) + 0.5
    if overlap <= 0:
        return np.ones(length, dtype=np.float32)
    ramp = np.minimum(1.0, np.minimum(i, length - i) / overlap)
    return (np.sin(0.5 * math.pi * ramp) ** 2).astype(np.float32)


def _starts(size: int, window: int, stride: int) -> list[int]:
    starts = list(range(0, size - window + 1, stride))
    if starts[-1] != size - window:
        starts.append(size - window)
    return starts


@torch.inference_mode()
def predict_probabilities(
    model: PermaFusionNet,
    norm_stats: NormStats,
    sar: np.ndarray,
    optical: np.ndarray,
    *,
    window: int = 128,
    overlap: int = 32,
    batch_size: int = 8,
    return_attention: bool = False,
    precision: str = "auto",
    log: logging.Logger | None = None,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Class probabilities over a whole tile of any size, from overlapping windows blended without seams.

    The tile gets a mirrored margin of ``overlap // 2`` pixels (more if it is smaller than one window) so
    that its edges see context; windows of ``window`` pixels (shrunk to the tile, rounded up to a multiple
    of 16, on small tiles) step by ``window - overlap``, the last one flush with the far edge. Each window's
    softmax is weighted by a separable sin² taper (:func:`blend_weights`) and the sums are divided by the
    summed weights, so every pixel's probabilities still sum to 1 and no hard window edge shows.

    Args:
        model: trained network (see :func:`load_model`); its device is used.
        norm_stats: statistics from the checkpoint.
        sar: (T, 2, H, W) float32 dB, NaN where unobserved.
        optical: (T, 6, H, W) float32 reflectance, NaN where unobserved.
        window: window size, a multiple of 16 (the training patch size is a good choice).
        overlap: pixels shared by neighbouring windows, ``0 <= overlap < window``.
        batch_size: windows per forward pass.
        return_attention: also return the blended mean SAR weight of the gates per month, (T, H, W).
        precision: ``"auto"`` (bf16 autocast on CUDA, fp32 on CPU), ``"fp32"`` or ``"bf16"``; the softmax
            and the blending run in fp32.
        log: where the windows done (of all) go, every 30 s and at the end; None: no progress lines.

    Returns:
        (K, H, W) float32 probabilities, channel k = class code k+1; with ``return_attention`` a tuple
        ``(probabilities, sar_weight)``. The class map is ``argmax + 1``; set it to 0 where
        :func:`observed_mask` is False (see :func:`class_map`).

    Raises:
        ValueError: for bad shapes, a window that is not a multiple of 16 or a bad overlap.
    """
    m = model.size_multiple
    if window % m or window <= 0:
        raise ValueError(f"window must be a positive multiple of {m}, got {window}")
    if not 0 <= overlap < window:
        raise ValueError(f"overlap must be in 0..{window - 1}, got {overlap}")
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
    model.eval()
    device = _device_of(model)
    amp = autocast_dtype(precision, device)
    t, _, height, width = sar.shape
    margin = overlap // 2
    win = [min(window, math.ceil((n + 2 * margin) / m) * m) for n in (height, width)]
    pads = []
    for n, w in zip((height, width), win, strict=True):
        extra = max(0, w - (n + 2 * margin))
        pads.append((margin + extra // 2, margin + extra - extra // 2))
    spec = ((0, 0), (0, 0), *pads)
    sar_p = np.pad(np.asarray(sar, dtype=np.float32), spec, mode="symmetric")
    opt_p = np.pad(np.asarray(optical, dtype=np.float32), spec, mode="symmetric")
    hp, wp = sar_p.shape[-2:]

    weight = np.outer(blend_weights(win[0], overlap), blend_weights(win[1], overlap))
    weight_t = torch.as_tensor(weight, device=device)
    probs = torch.zeros((model.num_classes, hp, wp), dtype=torch.float32, device=device)
    total = torch.zeros((hp, wp), dtype=torch.float32, device=device)
    attention = torch.zeros((t, hp, wp), dtype=torch.float32, device=device) if return_attention else None

    corners = [
        (y, x) for y in _starts(hp, win[0], win[0] - overlap) for x in _starts(wp, win[1], win[1] - overlap)
    ]
    progress = None if log is None else Progress(len(corners), label="windows", log=log)
    for start in range(0, len(corners), batch_size):
        batch = corners[start : start + batch_size]
        s = np.stack([sar_p[..., y : y + win[0], x : x + win[1]] for y, x in batch])
        o = np.stack([opt_p[..., y : y + win[0], x : x + win[1]] for y, x in batch])
        s_t, o_t = normalize_inputs(
            torch.as_tensor(s, device=device), torch.as_tensor(o, device=device), norm_stats
        )
        with autocast(device, amp):
            logits, gates = model.forward_with_attention(s_t, o_t)
        p = torch.softmax(logits.float(), dim=1)
        sar_weight = model.sar_weight(gates).float() if attention is not None else None
        for i, (y, x) in enumerate(batch):
            probs[:, y : y + win[0], x : x + win[1]] += p[i] * weight_t
            total[y : y + win[0], x : x + win[1]] += weight_t
            if attention is not None and sar_weight is not None:
                attention[:, y : y + win[0], x : x + win[1]] += sar_weight[i][:, None, None] * weight_t
        if progress is not None:
            progress.advance(len(batch))

    y0, x0 = pads[0][0], pads[1][0]
    crop = (slice(y0, y0 + height), slice(x0, x0 + width))
    result = (probs / total)[(slice(None), *crop)].cpu().numpy().astype(np.float32)
    if attention is None:
        return result
    return result, (attention / total)[(slice(None), *crop)].cpu().numpy().astype(np.float32)


def observed_mask(sar: np.ndarray, optical: np.ndarray) -> np.ndarray:
    """(H, W) True where any month has any finite SAR or optical value."""
    return np.isfinite(sar).any(axis=(0, 1)) | np.isfinite(optical).any(axis=(0, 1))


def class_map(probabilities: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """uint8 class codes ``argmax + 1``, and ``NODATA`` (0) where ``valid`` is False."""
    codes = (np.argmax(probabilities, axis=0) + 1).astype(np.uint8)
    if valid is not None:
        codes[~valid] = NODATA
    return codes


def predict_tile(**kwargs: Any) -> np.ndarray:
    """The class map of one tile (uint8 codes, 0 where nothing was observed); arguments as for
    :func:`predict_tile_probabilities`."""
    probabilities, valid = predict_tile_probabilities(**kwargs)
    return class_map(probabilities, valid)


def predict_tile_probabilities(
    *,
    checkpoint: str | Path,
    sar: Sequence[str | Path],
    optical: Sequence[str | Path],
    grid: GridSpec,
    time_steps: int,
    gap_fill: Mapping[str, GapFill],
    window: int,
    overlap: int,
    batch_size: int,
    device: str = "auto",
    log: logging.Logger = LOG,
) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities of one tile: the checkpoint's model over the latest ``time_steps`` months.

    Months without observation are filled as the patches were (``gap_fill``); pixels with no SAR and no
    optical observation in any month are no data (0).

    Args:
        checkpoint: the trained model.
        sar: the tile's monthly SAR stores, in time order.
        optical: the tile's monthly optical stores.
        grid: the tile's grid (the stores must be on it).
        time_steps: the latest months the model takes.
        gap_fill: temporal filling per sensor ("sar", "optical").
        window: sliding window side.
        overlap: overlap of neighbouring windows.
        batch_size: windows per forward pass.
        device: where the model runs (``"auto"``: CUDA when available).
        log: where progress goes.

    Returns:
        (K, H, W) float32 probabilities on ``grid`` (channel k = class code k + 1) and the (H, W) mask of
        pixels observed at least once; the class map is :func:`class_map` of both.
    """
    from permafusion.series.stack import latest_months

    payload = read_checkpoint(checkpoint, device)
    card = check_card(payload, path=checkpoint, time_steps=time_steps)
    trained_on = card.get("training", {}).get("aoi", "an unnamed AOI")
    log.info("model %s (%s, trained on %s)", checkpoint, payload.get("model_name"), trained_on)
    model, norm_stats = model_from_checkpoint(payload, path=checkpoint, device=device)
    inputs = {}
    for sensor, paths in (("sar", sar), ("optical", optical)):
        values = latest_months(paths, sensor, steps=time_steps).values
        if values.shape[-2:] != grid.shape:
            raise ValueError(f"{sensor} composites {values.shape} do not match the tile grid {grid.shape}")
        observed = np.isfinite(values).all(axis=1)
        inputs[sensor] = fill_gaps(values, observed, gap_fill.get(sensor, "none"))[0]
    probabilities = predict_probabilities(
        cast(PermaFusionNet, model),
        norm_stats,
        inputs["sar"],
        inputs["optical"],
        window=window,
        overlap=overlap,
        batch_size=batch_size,
        log=log,
    )
    valid = observed_mask(inputs["sar"], inputs["optical"])
    log.info("%d of %d pixels had no observation and are no data", int((~valid).sum()), valid.size)
    return np.asarray(probabilities), valid
