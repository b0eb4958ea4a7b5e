"""Inference: load a checkpoint, classify patches, and predict whole tiles with blended sliding windows."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch

from permafusion.core.classes import NODATA
from permafusion.core.devices import place_model, resolve_device
from permafusion.products.uncertainty import predictive_entropy
from permafusion.series.gaps import GapFill
from permafusion.tasks.degradation.card import check_card, check_model_format
from permafusion.tasks.degradation.classes import DEGRADATION
from permafusion.tasks.degradation.models.permafusionnet import PermaFusionNet
from permafusion.tasks.degradation.models.registry import MODEL_NAMES, build_model
from permafusion.tasks.degradation.normalize import NormStats, network_inputs, validate_norm_stats
from permafusion.tasks.degradation.windows import predict_windows

if TYPE_CHECKING:  # the model code imports without the geospatial stack; predict_tile_products needs it
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
    check_model_format(payload, path=path)
    name = str(payload.get("model_name", "permafusionnet"))
    if name not in MODEL_NAMES:
        raise ValueError(
            f"checkpoint {path} holds model {name!r}, unknown here; known: {', '.join(MODEL_NAMES)}"
        )
    model = build_model(name, preset=None, **payload["model_kwargs"])
    model.load_state_dict(payload["state_dict"])
    place_model(model, target).eval()
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
        s, o = network_inputs(
            model,
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

    The input is the whole extent (see :func:`permafusion.tasks.degradation.windows.predict_windows` for a
    tile with context from its neighbours): windows of ``window`` pixels (shrunk to the input, rounded up to
    a multiple of 16, on small inputs) step by ``window - overlap`` from ``-overlap // 2``, the input
    mirrored where they reach past it. Each window's softmax is weighted by a separable sin² taper
    (:func:`blend_weights`) and the sums are divided by the summed weights, so every pixel's probabilities
    still sum to 1 and no hard window edge shows. Windows without any observation are skipped; their
    pixels are NaN.

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
        log: where the windows' progress goes; None: no progress.

    Returns:
        (K, H, W) float32 probabilities, channel k = class code k+1; with ``return_attention`` a tuple
        ``(probabilities, sar_weight)``. The class map is ``argmax + 1``; set it to 0 where
        :func:`observed_mask` is False (see :func:`class_map`).

    Raises:
        ValueError: for bad shapes, a window that is not a multiple of 16 or a bad overlap.
    """
    products = predict_windows(
        model,
        norm_stats,
        sar,
        optical,
        window=window,
        overlap=overlap,
        batch_size=batch_size,
        precision=cast(Any, precision),
        gate_level="mean" if return_attention else None,
        log=log,
    )
    if not return_attention:
        return products.probabilities
    assert products.sar_weight is not None
    return products.probabilities, products.sar_weight


def observed_mask(sar: np.ndarray, optical: np.ndarray) -> np.ndarray:
    """(H, W) True where any month has any finite SAR or optical value."""
    return np.isfinite(sar).any(axis=(0, 1)) | np.isfinite(optical).any(axis=(0, 1))


def class_map(probabilities: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """uint8 class codes ``argmax + 1``, and ``NODATA`` (0) where ``valid`` is False."""
    codes = (np.argmax(probabilities, axis=0) + 1).astype(np.uint8)
    if valid is not None:
        codes[~valid] = NODATA
    return codes


@dataclass(frozen=True)
class TileComposites:
    """A tile's grid and its monthly composite stores per sensor, in time order."""

    grid: GridSpec
    sar: Sequence[str | Path]
    optical: Sequence[str | Path]


@dataclass
class TileProducts:
    """The per-pixel products of one tile (NaN: no data).

    Attributes:
        classes: (H, W) uint8 class codes, 0 where no month has any observation.
        probabilities: (K, H, W) float32 (temperature-scaled) class probabilities.
        uncertainty: (2, H, W) float32: predictive entropy / log K, and the mutual information between
            prediction and flip over the four flips / log K (NaN without test-time augmentation).
        sar_weight: (T, H, W) float32 SAR weight of the chosen gate per month, or None (no gates).
    """

    classes: np.ndarray
    probabilities: np.ndarray
    uncertainty: np.ndarray
    sar_weight: np.ndarray | None


def predict_tile_products(
    *,
    checkpoint: str | Path,
    tile: TileComposites,
    time_steps: int,
    gap_fill: Mapping[str, GapFill],
    step_months: int = 1,
    window: int = 128,
    overlap: int = 32,
    batch_size: int = 8,
    neighbours: Sequence[TileComposites] = (),
    extent: GridSpec | None = None,
    temperature: float = 1.0,
    tta: bool = True,
    gate_level: int | None = -1,
    device: str = "auto",
    log: logging.Logger = LOG,
) -> TileProducts:
    """The products of one tile: the checkpoint's model over ``time_steps`` months up to the last.

    Windows lie on the lattice of ``extent`` (the tiles of the zone; the tile itself when None) and read
    context from ``neighbours`` (:mod:`permafusion.tasks.degradation.context`), so tiles mosaic without
    seams. Months without observation are filled as the patches were (``gap_fill``); pixels with no SAR
    and no optical observation in any month are no data.

    Args:
        checkpoint: the trained model (its card must fit ``time_steps``).
        tile: the tile's grid and composites.
        time_steps: the months the model takes.
        gap_fill: temporal filling per sensor ("sar", "optical").
        step_months: months between the steps (:func:`permafusion.series.stack.model_months`).
        window: sliding window side.
        overlap: overlap of neighbouring windows.
        batch_size: windows per forward pass.
        neighbours: tiles of the same zone within one window of the tile.
        extent: the grid of every tile of the zone.
        temperature: calibrated softmax temperature (:mod:`permafusion.learn.calibration`).
        tta: run the four flips for the uncertainty's second band (4x the forward passes).
        gate_level: fused encoder level whose gate is mapped (negative: from the deepest); None: none.
        device: where the model runs (``"auto"``: CUDA when available).
        log: where progress goes.
    """
    from permafusion.tasks.degradation.context import ContextSource, composite_reader, gather_context

    payload = read_checkpoint(checkpoint, device)
    card = check_card(payload, path=checkpoint, time_steps=time_steps, step_months=step_months)
    trained_on = card.get("training", {}).get("aoi", "an unnamed AOI")
    log.info("model %s (%s, trained on %s)", checkpoint, payload.get("model_name"), trained_on)
    model, norm_stats = model_from_checkpoint(payload, path=checkpoint, device=device)
    if gate_level is not None and not getattr(model, "gates", None):
        log.warning("the model has no cross-modal gates: no modality weight is mapped")
        gate_level = None
    sources = [
        ContextSource(t.grid, composite_reader(t.sar, t.optical, steps=time_steps, every=step_months))
        for t in (tile, *neighbours)
    ]
    sar, optical, placement = gather_context(
        sources[0], sources[1:], extent or tile.grid, margin=window, gap_fill=gap_fill
    )
    products = predict_windows(
        model,
        norm_stats,
        sar,
        optical,
        placement=placement,
        window=window,
        overlap=overlap,
        batch_size=batch_size,
        temperature=temperature,
        tta=tta,
        gate_level=gate_level,
        log=log,
    )
    log.info(
        "%d windows (%d without observation skipped), %d neighbour tiles read for context, temperature %.3f",
        products.windows,
        products.skipped,
        len(neighbours),
        temperature,
    )
    by, bx, bh, bw = placement.box
    oy, ox = by - placement.offset[0], bx - placement.offset[1]
    valid = observed_mask(sar[..., oy : oy + bh, ox : ox + bw], optical[..., oy : oy + bh, ox : ox + bw])
    log.info("%d of %d pixels had no observation and are no data", int((~valid).sum()), valid.size)
    probabilities = products.probabilities
    probabilities[:, ~valid] = np.nan
    information = products.flip_information
    second = information if information is not None else np.full(valid.shape, np.nan, np.float32)
    uncertainty = np.stack([predictive_entropy(probabilities), second]).astype(np.float32)
    uncertainty[:, ~valid] = np.nan
    weight = products.sar_weight
    if weight is not None:
        weight[:, ~valid] = np.nan
    classes = class_map(np.nan_to_num(probabilities, nan=0.0), valid)
    return TileProducts(classes, probabilities, uncertainty, weight)
