"""Training of PermaFusionNet (or any network of :mod:`permafusion.tasks.degradation.models.registry`) on the patch store
(paper §4.5), deterministic on CPU.

Model: ``TrainSettings.model`` names the network (default ``"permafusionnet"``); it is built with
:func:`~permafusion.tasks.degradation.models.registry.build_model` ``(model, preset=None, num_steps=T, **model_kwargs())``.
PermaFusionNet and its ablations take ``encoder_widths``/``lstm_hidden``/``gate_reduction``/``skip_source``
(for the default model exactly the arguments, and so the initial weights, of ``PermaFusionNet(...)``);
the baselines take the widths of their own size preset, ``TrainSettings.preset`` (``"paper"`` when unset).
The checkpoint records ``model_name`` next to ``model_kwargs``, and :func:`permafusion.tasks.degradation.predict.load_model`
rebuilds the network by that name. All of them train with the same protocol below.

Protocol: AdamW (lr 1e-4, weight decay 1e-5), cosine annealing over the epochs (stepped once per epoch),
cross-entropy + soft Dice with equal weights over labeled pixels, gradient clipping at norm 1.0, batch 16.
The checkpoint keeps the epoch with the best validation mean F1 (ties keep the earlier epoch).

Augmentation (training batches only), per patch and identically on SAR, optical and labels:
- a random crop of ``train_crop`` pixels (if set), so that CPU training runs on small windows;
- one of the 8 symmetries of the square (random 90° rotation times an optional flip). The paper rotates by
  any angle in ±180°; right angles keep the label raster exact (no interpolation of class codes);
- speckle on SAR: multiplicative Gamma noise with ``speckle_looks`` looks (mean 1) in linear power, which
  is added in dB as ``10 log10(G)``, G ~ Gamma(L, 1/L), independently per pixel, month and polarisation.
  L = 20 gives about 1 dB standard deviation (monthly composites are already multi-looked).

Randomness is derived per epoch: ``default_rng([seed, epoch])`` shuffles (the same order on every
process), ``[seed, epoch, rank]`` seeds the augmentation. A resumed run therefore draws exactly what an
uninterrupted one would, and on CPU ends with bit-identical weights.

Resume: after every epoch the full training state (model, optimizer, scheduler, RNG states of torch,
numpy and python, epoch, best so far and its checkpoint, history, seeds, and a fingerprint of the patch
files) goes atomically to ``<checkpoint stem>.state.pt`` (:func:`state_path`);
``train_model(..., resume=True)`` continues from it and refuses a state of other settings or patches,
``resume="if_compatible"`` (the workflow's choice) starts afresh from such a state instead.

Data path: patches are decoded into memory once. ``data_on_device`` (``"auto"``: on CUDA when the train
and val arrays take under half the free GPU memory) keeps them on the device as tensors and crops, rotates,
flips and speckles there in torch (:func:`augment_batch_torch`, same symmetries and noise model); otherwise
the numpy path above runs on the host.

Precision: ``"auto"`` is bf16 autocast on CUDA and fp32 on CPU; the loss is computed in fp32.

Multi-process: inside an initialised ``torch.distributed`` process group (see
:mod:`permafusion.learn.distributed`) the model is wrapped in DistributedDataParallel; ``batch_size`` stays the
global batch, split evenly over the processes (DistributedSampler-style sharding of the shuffled order),
validation is sharded and reduced, and only rank 0 writes checkpoints and history.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import math
import os
import random
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
import torch

from permafusion.tasks.degradation.classes import NODATA, NUM_CLASSES
from permafusion.learn.losses import CombinedLoss
from permafusion.learn.metrics import confusion_matrix, metrics_report
from permafusion.tasks.degradation.models.presets import model_kwargs_for_preset
from permafusion.tasks.degradation.models.pretrained import init_encoders_from_resnet34
from permafusion.tasks.degradation.models.registry import (
    MODEL_NAMES,
    PERMAFUSIONNET_VARIANTS,
    SIZE_PRESETS,
    build_model,
    preset_kwargs,
)
from permafusion.tasks.degradation.normalize import NormStats, compute_norm_stats, normalize_inputs
from permafusion.tasks.degradation.patch_store import PatchArrays, read_patches
from permafusion.tasks.degradation.predict import resolve_device

LOG = logging.getLogger(__name__)

#: Version of the resumable state file (:func:`state_path`).
STATE_FORMAT = 2

#: Settings a resumed run may change (they do not alter the arithmetic of training).
RESUME_MAY_CHANGE = frozenset({"threads", "eval_batch_size", "device"})

HISTORY_COLUMNS = ("epoch", "train_loss", "val_loss", "val_mean_f1", "val_oa", "learning_rate", "seconds")


@dataclass(frozen=True)
class TrainSettings:
    """Everything that decides a training run (model widths included); defaults are the paper's.

    Attributes:
        model: the network, a name of :data:`permafusion.tasks.degradation.models.registry.MODEL_NAMES`.
        preset: the size preset the widths came from (set by :meth:`from_mapping`); the baselines
            (``sar_unet``, ``optical_unet``, ``ef_cnn``, ``ca_transformer``) take their sizes from it
            (``"paper"`` when None). PermaFusionNet and its ablations use the explicit widths below.
        encoder_widths: encoder channels per level (paper: 64, 128, 256, 512).
        lstm_hidden: ConvLSTM hidden channels per layer (paper: 256, 128).
        gate_reduction: squeeze ratio of the cross-modal gates.
        skip_source: which time step(s) feed the decoder's skips, ``"mean"`` or ``"last"``.
        epochs: training epochs (cosine schedule length).
        batch_size: patches per optimisation step.
        learning_rate: initial AdamW learning rate.
        weight_decay: AdamW weight decay.
        ce_weight: weight of the cross-entropy term.
        dice_weight: weight of the soft Dice term.
        grad_clip: max gradient norm; None or 0 disables clipping.
        train_crop: random crop size of training patches (a multiple of 16), None for whole patches.
        augment: random flips and 90° rotations.
        speckle_looks: looks L of the SAR speckle noise; None or 0 disables it.
        seed: seed of model initialisation, shuffling and augmentation.
        encoder_init: a local torchvision ResNet-34 state dict that initialises the encoders' 3x3
            convolutions (seed 000 §4.2; see :mod:`permafusion.tasks.degradation.models.pretrained`), None for random
            initialisation. PermaFusionNet and its ablations only, at the paper's widths.
        threads: torch CPU threads for the run; None leaves torch's setting.
        device: ``"auto"`` (CUDA if available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"`` ...
        eval_batch_size: patches per forward pass in validation.
        precision: ``"auto"`` (bf16 autocast on CUDA, fp32 on CPU), ``"fp32"`` or ``"bf16"``.
        data_on_device: keep the patches on the training device and augment there in torch: ``"auto"``
            (on CUDA when they fit in half the free memory), ``True`` or ``False`` (numpy on the host).
    """

    model: str = "permafusionnet"
    preset: str | None = None
    encoder_widths: tuple[int, ...] = (64, 128, 256, 512)
    lstm_hidden: tuple[int, ...] = (256, 128)
    gate_reduction: int = 16
    skip_source: Literal["mean", "last"] = "mean"
    epochs: int = 100
    batch_size: int = 16
    learning_rate: float = 1e-4
    weight_decay: float = 1e-5
    ce_weight: float = 1.0
    dice_weight: float = 1.0
    grad_clip: float | None = 1.0
    train_crop: int | None = None
    augment: bool = True
    speckle_looks: float | None = 20.0
    seed: int = 0
    threads: int | None = None
    device: str = "auto"
    eval_batch_size: int = 8
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    data_on_device: Literal["auto"] | bool = "auto"
    encoder_init: str | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.model not in MODEL_NAMES:
            problems.append(f"model={self.model!r} must be one of {', '.join(MODEL_NAMES)}")
        if self.preset is not None and self.preset not in SIZE_PRESETS:
            problems.append(f"preset={self.preset!r} must be one of {', '.join(SIZE_PRESETS)} (or null)")
        if not self.encoder_widths or min(self.encoder_widths) < 1:
            problems.append(f"encoder_widths={self.encoder_widths} needs positive widths")
        if not self.lstm_hidden or min(self.lstm_hidden) < 1:
            problems.append(f"lstm_hidden={self.lstm_hidden} needs positive widths")
        if self.skip_source not in ("mean", "last"):
            problems.append(f"skip_source={self.skip_source!r} must be 'mean' or 'last'")
        for name in ("epochs", "batch_size", "eval_batch_size", "gate_reduction"):
            if getattr(self, name) < 1:
                problems.append(f"{name}={getattr(self, name)} must be >= 1")
        if self.learning_rate <= 0 or self.weight_decay < 0:
            problems.append("learning_rate must be > 0 and weight_decay >= 0")
        if self.ce_weight < 0 or self.dice_weight < 0 or self.ce_weight + self.dice_weight == 0:
            problems.append("ce_weight and dice_weight must be >= 0 and not both 0")
        multiple = 2 ** len(self.encoder_widths)
        if self.train_crop is not None and (self.train_crop < multiple or self.train_crop % multiple):
            problems.append(f"train_crop={self.train_crop} must be a multiple of {multiple} (or null)")
        if self.threads is not None and self.threads < 1:
            problems.append(f"threads={self.threads} must be >= 1 (or null)")
        if self.precision not in ("auto", "fp32", "bf16"):
            problems.append(f"precision={self.precision!r} must be 'auto', 'fp32' or 'bf16'")
        if not (isinstance(self.data_on_device, bool) or self.data_on_device == "auto"):
            problems.append(f"data_on_device={self.data_on_device!r} must be 'auto', true or false")
        if problems:
            raise ValueError("invalid training settings: " + "; ".join(problems))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> TrainSettings:
        """Settings from a config mapping.

        A ``preset`` key (``"paper"`` or ``"small"``, see :mod:`permafusion.tasks.degradation.models.presets`) fills
        ``encoder_widths``, ``lstm_hidden`` and ``gate_reduction``; explicit keys override it. The preset
        is kept (``preset``) for the baselines' sizes. ``model`` picks the network.

        Raises:
            ValueError: for unknown keys or invalid values.
        """
        values = dict(mapping)
        fields = {f.name for f in dataclasses.fields(cls)} - {"preset"}
        merged: dict[str, Any] = {}
        preset = values.pop("preset", None)
        if preset is not None:
            merged.update(model_kwargs_for_preset(str(preset)))
            merged["preset"] = str(preset)
        unknown = set(values) - fields
        if unknown:
            raise ValueError(
                f"unknown training settings {sorted(unknown)}; known: {sorted(fields | {'preset'})}"
            )
        merged.update(values)
        for key in ("encoder_widths", "lstm_hidden"):
            if key in merged:
                merged[key] = tuple(int(v) for v in merged[key])
        return cls(**merged)

    def to_dict(self) -> dict[str, Any]:
        """Plain (JSON- and ``weights_only``-safe) representation."""
        out = dataclasses.asdict(self)
        out["encoder_widths"] = list(self.encoder_widths)
        out["lstm_hidden"] = list(self.lstm_hidden)
        return out

    def model_kwargs(self) -> dict[str, Any]:
        """Arguments of ``build_model(self.model, preset=None, **kwargs)`` (without ``num_steps``).

        For PermaFusionNet and its ablations the constructor arguments of :class:`PermaFusionNet` (the
        ablation's own flag is added by the registry); for a baseline its size preset's arguments.
        """
        if self.model not in PERMAFUSIONNET_VARIANTS:
            return preset_kwargs(self.model, self.preset or "paper")
        return {
            "encoder_widths": self.encoder_widths,
            "lstm_hidden": self.lstm_hidden,
            "gate_reduction": self.gate_reduction,
            "skip_source": self.skip_source,
        }


# ----------------------------------------------------------------------------------------------- data


def read_split_ids(index: Path) -> dict[str, list[int]]:
    """Patch ids (rows of the store) per split from the index CSV."""
    table = pd.read_csv(index)
    missing = {"patch_id", "split"} - set(table.columns)
    if missing:
        raise ValueError(
            f"patch index {index} lacks columns {sorted(missing)}; rebuild it with the patches step"
        )
    return {
        split: sorted(int(i) for i in table.loc[table["split"] == split, "patch_id"])
        for split in ("train", "val", "test")
    }


def load_split(patches: Path, ids: list[int], *, split: str, index: Path) -> PatchArrays:
    """Read the patches of one split, with a clear error for an empty split or missing labels."""
    if not ids:
        raise ValueError(
            f"the {split!r} split of {index} is empty: assign patches to it "
            "(raise its fraction in the patch settings or add labeled areas)"
        )
    data = read_patches(patches, ids)
    if not np.any(data.label != NODATA):
        raise ValueError(f"the {split!r} split of {index} has no labeled pixel: check the label rasters")
    return data


def _augment_batch(
    sar: np.ndarray, optical: np.ndarray, label: np.ndarray, settings: TrainSettings, rng: np.random.Generator
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


def _symmetry_grids(size: int, device: torch.device) -> torch.Tensor:
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
    settings: TrainSettings,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The augmentation of :func:`_augment_batch` in torch, on the tensors' device, as one gather.

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
    grid = _symmetry_grids(crop, device)[symmetry]  # (B, 2, c, c)
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


def _to_device(
    sar: np.ndarray, optical: np.ndarray, label: np.ndarray, stats: NormStats, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    s, o = normalize_inputs(torch.from_numpy(sar).to(device), torch.from_numpy(optical).to(device), stats)
    return s, o, torch.from_numpy(label.astype(np.int64)).to(device)


# ------------------------------------------------------------------------- precision, processes, RNG


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of a precision setting on a device; None means plain fp32.

    Raises:
        ValueError: for an unknown precision.
    """
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision == "auto":
        return torch.bfloat16 if device.type == "cuda" else None
    raise ValueError(f"precision={precision!r} must be 'auto', 'fp32' or 'bf16'")


def _autocast(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager[Any]:
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


@dataclass(frozen=True)
class _Processes:
    rank: int = 0
    world: int = 1

    @classmethod
    def current(cls) -> _Processes:
        dist = torch.distributed
        if dist.is_available() and dist.is_initialized():
            return cls(rank=dist.get_rank(), world=dist.get_world_size())
        return cls()

    @property
    def main(self) -> bool:
        return self.rank == 0

    def all_sum(self, values: list[float], device: torch.device) -> list[float]:
        if self.world == 1:
            return values
        tensor = torch.tensor(values, dtype=torch.float64, device=device)
        torch.distributed.all_reduce(tensor)
        return [float(v) for v in tensor.cpu()]

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()


def _epoch_seed(seed: int, epoch: int, rank: int) -> int:
    """A 63-bit seed for the torch generator of one epoch and process."""
    return int(np.random.SeedSequence([seed, epoch, rank]).generate_state(1, np.uint64)[0] >> np.uint64(1))


def rng_states() -> dict[str, Any]:
    """RNG states of torch (CPU and CUDA), numpy's global generator and python's ``random``, as tensors
    and plain types (``torch.load(weights_only=True)`` reads them)."""
    name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)  # type: ignore[misc]
    version, internal, gauss_next = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {
            "name": str(name),
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python": {"version": int(version), "state": list(internal), "gauss_next": gauss_next},
    }


def set_rng_states(states: Mapping[str, Any]) -> None:
    """Restore what :func:`rng_states` returned."""
    torch.set_rng_state(states["torch"].cpu())
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in states["cuda"]][: torch.cuda.device_count()])
    np_state = states["numpy"]
    np.random.set_state(
        (
            np_state["name"],
            np_state["keys"].numpy().astype(np.uint32),
            np_state["pos"],
            np_state["has_gauss"],
            np_state["cached_gaussian"],
        )
    )
    py = states["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss_next"]))


def state_path(checkpoint: Path) -> Path:
    """Where the resumable training state of ``checkpoint`` goes: ``model.pt`` -> ``model.state.pt``."""
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(checkpoint.stem + ".state.pt")


# ------------------------------------------------------------------------------------------ training


@dataclass
class _Batches:
    """Training patches on the host (numpy path) or as tensors on the device (torch path)."""

    data: PatchArrays
    on_device: bool
    device: torch.device
    tensors: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None

    def __post_init__(self) -> None:
        if self.on_device:
            self.tensors = (
                torch.from_numpy(self.data.sar).to(self.device),
                torch.from_numpy(self.data.optical).to(self.device),
                torch.from_numpy(self.data.label).to(self.device),
            )

    def local_batches(
        self, epoch: int, settings: TrainSettings, procs: _Processes
    ) -> Iterator[tuple[np.ndarray, int]]:
        """This process's share (sorted ids) of each global batch, with the global batch size."""
        order = np.random.default_rng([settings.seed, epoch]).permutation(self.data.sar.shape[0])
        if procs.world > 1:  # pad like DistributedSampler so that every process takes part in every step
            pad = (-len(order)) % procs.world
            order = np.concatenate([order, order[:pad]])
        for start in range(0, len(order), settings.batch_size):
            chunk = order[start : start + settings.batch_size]
            yield np.sort(chunk[procs.rank :: procs.world]), len(chunk)

    def augmented(
        self,
        idx: np.ndarray,
        settings: TrainSettings,
        stats: NormStats,
        rng: np.random.Generator,
        generator: torch.Generator | None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.tensors is None or generator is None:
            d = self.data
            batch = _augment_batch(d.sar[idx], d.optical[idx], d.label[idx], settings, rng)
            return _to_device(*batch, stats, self.device)
        picked = torch.from_numpy(idx).to(self.device)
        s, o, lab = augment_batch_torch(*self.tensors, picked, settings, generator)
        s, o = normalize_inputs(s, o, stats)
        return s, o, lab.long()


def _train_epoch(
    model: torch.nn.Module,
    batches: _Batches,
    *,
    epoch: int,
    loss_fn: CombinedLoss,
    optimizer: torch.optim.Optimizer,
    settings: TrainSettings,
    stats: NormStats,
    device: torch.device,
    amp: torch.dtype | None,
    procs: _Processes,
) -> float:
    model.train()
    rng = np.random.default_rng([settings.seed, epoch, procs.rank])
    generator = None
    if batches.on_device:
        generator = torch.Generator(device=device)
        generator.manual_seed(_epoch_seed(settings.seed, epoch, procs.rank))
    total, count = 0.0, 0
    for idx, _ in batches.local_batches(epoch, settings, procs):
        sar, optical, label = batches.augmented(idx, settings, stats, rng, generator)
        optimizer.zero_grad(set_to_none=True)
        with _autocast(device, amp):
            logits = model(sar, optical)
        loss = loss_fn(logits.float(), label)
        loss.backward()
        if settings.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip)
        optimizer.step()
        total += float(loss.detach()) * len(idx)
        count += len(idx)
    total, count_f = procs.all_sum([total, float(count)], device)
    return total / count_f


@torch.no_grad()
def _validate(
    model: torch.nn.Module,
    data: PatchArrays,
    *,
    loss_fn: CombinedLoss,
    settings: TrainSettings,
    stats: NormStats,
    device: torch.device,
    amp: torch.dtype | None = None,
    procs: _Processes | None = None,
) -> tuple[float, np.ndarray]:
    """Mean loss (per patch, over batches) and the confusion matrix on whole validation patches.

    With several processes each takes every ``world``-th patch and the sums are reduced over all.
    """
    procs = procs or _Processes()
    model.eval()
    cm = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    total, count = 0.0, 0
    mine = np.arange(procs.rank, data.sar.shape[0], procs.world)
    for start in range(0, len(mine), settings.eval_batch_size):
        sl = mine[start : start + settings.eval_batch_size]
        sar, optical, label = _to_device(data.sar[sl], data.optical[sl], data.label[sl], stats, device)
        with _autocast(device, amp):
            logits = model(sar, optical)
        logits = logits.float()
        total += float(loss_fn(logits, label)) * sar.shape[0]
        count += sar.shape[0]
        predicted = (logits.argmax(dim=1) + 1).cpu().numpy()
        cm += confusion_matrix(data.label[sl], predicted)
    if procs.world > 1:
        summed = procs.all_sum([total, float(count), *cm.ravel().astype(float)], device)
        total, count = summed[0], int(summed[1])
        cm = np.asarray(summed[2:], dtype=np.int64).reshape(cm.shape)
    return total / max(count, 1), cm


def _atomic_torch_save(payload: dict[str, Any], path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def _atomic_write_csv(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    frame.to_csv(tmp, index=False)
    os.replace(tmp, path)


def _cpu_copy(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in state.items()}


def _incompatibility(state: Mapping[str, Any], settings: TrainSettings, data: str) -> str | None:
    """Why a saved training state cannot be resumed with ``settings`` on patches ``data``; None if it can."""
    if state.get("format_version") != STATE_FORMAT:
        return f"it has format {state.get('format_version')}, expected {STATE_FORMAT}"
    saved, now = state["settings"], settings.to_dict()
    defaults = TrainSettings().to_dict()  # settings added since the state was written had these values
    changed = sorted(k for k in now if k not in RESUME_MAY_CHANGE and saved.get(k, defaults[k]) != now[k])
    if changed:
        return "settings changed (" + ", ".join(f"{k}: {saved.get(k)!r} -> {now[k]!r}" for k in changed) + ")"
    if state.get("data") != data:
        return "the patches or their index changed since it was written"
    return None


def data_fingerprint(patches: Path, index: Path) -> str:
    """A fingerprint of a patch set: the index's bytes and the name, size and mtime of every store file.

    Rebuilding the patches rewrites the store, so a training state from before no longer matches;
    an untouched store (a killed run started again) does.
    """
    digest = hashlib.sha256(Path(index).read_bytes())
    root = Path(patches)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        info = path.stat()
        digest.update(f"{path.relative_to(root)}:{info.st_size}:{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _use_device_data(setting: Literal["auto"] | bool, device: torch.device, nbytes: int) -> bool:
    if isinstance(setting, bool):
        return setting
    if device.type != "cuda":
        return False
    free, _ = torch.cuda.mem_get_info(device)
    return nbytes < free // 2


def build_network(settings: TrainSettings, *, num_steps: int) -> torch.nn.Module:
    """The freshly initialised network of ``settings.model`` for ``num_steps`` months per sample.

    Seed torch before calling it for reproducible weights. For the default ``"permafusionnet"`` this is
    ``PermaFusionNet(**settings.model_kwargs())``, the same call (and so the same weights) as ever.
    """
    model = build_model(settings.model, preset=None, num_steps=num_steps, **settings.model_kwargs())
    if settings.encoder_init:
        if settings.model not in PERMAFUSIONNET_VARIANTS:
            raise ValueError(
                f"train.encoder_init (ResNet-34) applies to PermaFusionNet, not {settings.model}"
            )
        copied = init_encoders_from_resnet34(model, settings.encoder_init)
        LOG.info("encoders initialised from ResNet-34 %s (%d tensors)", settings.encoder_init, len(copied))
    return model


def train_model(
    *,
    patches: Path,
    index: Path,
    checkpoint: Path,
    history: Path,
    settings: TrainSettings,
    resume: bool | Literal["if_compatible"] = False,
    log: logging.Logger = LOG,
) -> dict[str, Any]:
    """Train ``settings.model`` on the train split, select the epoch on the val split, write the checkpoint.

    Args:
        patches: the Zarr patch store.
        index: the patch index CSV (``patch_id``, ``split`` columns).
        checkpoint: output ``.pt`` file, written atomically whenever validation mean F1 improves; a dict of
            ``state_dict``, ``model_name``, ``model_kwargs``, ``norm_stats``, ``settings``, ``best_epoch``,
            ``val_metrics`` (plus counts and seeds), all plain types, so
            ``torch.load(path, weights_only=True)`` reads it.
            The full training state goes to :func:`state_path` after every epoch.
        history: output CSV, one row per epoch: epoch, train_loss, val_loss, val_mean_f1, val_oa,
            learning_rate, seconds (rewritten after each epoch).
        settings: the run's settings.
        resume: continue from the state file if there is one (else start afresh); a state of other
            settings or patches is an error, or with ``"if_compatible"`` is replaced by a fresh start.
            Without it any state file is overwritten. When the state's run had finished, its best
            checkpoint is written again (the workflow deletes outputs of a job it reruns).
        log: where progress goes.

    Returns:
        ``{"best_epoch", "val_metrics", "epochs", "seconds", "resumed_from"}`` (``resumed_from``: the last
        epoch of the state resumed, 0 for a fresh run).

    Raises:
        ValueError: for an empty or unlabeled train or val split, patches the model cannot take, a batch
            size not divisible by the number of processes, or a state file from other settings.
    """
    patches, index, checkpoint, history = Path(patches), Path(index), Path(checkpoint), Path(history)
    procs = _Processes.current()
    if settings.batch_size % procs.world:
        raise ValueError(
            f"batch_size={settings.batch_size} (the global batch) is not divisible by the {procs.world} "
            "processes; change either"
        )
    if not procs.main:
        log = logging.getLogger(f"{log.name}.rank{procs.rank}")
        log.setLevel(logging.WARNING)
    ids = read_split_ids(index)
    train_data = load_split(patches, ids["train"], split="train", index=index)
    val_data = load_split(patches, ids["val"], split="val", index=index)
    size = train_data.sar.shape[-1]
    multiple = 2 ** len(settings.encoder_widths)
    if size % multiple:
        raise ValueError(f"patch size {size} is not a multiple of {multiple}; use patches of e.g. 128 pixels")
    if settings.train_crop is not None and settings.train_crop > size:
        raise ValueError(
            f"train_crop={settings.train_crop} exceeds the patch size {size}; lower it or set null"
        )
    log.info(
        "training on %d patches, validating on %d (%d px, T=%d); settings %s",
        len(ids["train"]),
        len(ids["val"]),
        size,
        train_data.sar.shape[1],
        settings.to_dict(),
    )
    stats = compute_norm_stats(train_data.sar, train_data.optical)

    device = resolve_device(settings.device)
    amp = autocast_dtype(settings.precision, device)
    previous_threads = torch.get_num_threads()
    previous_deterministic = torch.are_deterministic_algorithms_enabled()
    previous_warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    previous_benchmark = torch.backends.cudnn.benchmark
    try:
        if settings.threads:
            torch.set_num_threads(settings.threads)
        if device.type == "cuda":
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.backends.cudnn.benchmark = False
        # CPU kernels used here are deterministic; on CUDA some are not and only warn.
        torch.use_deterministic_algorithms(True, warn_only=device.type != "cpu")
        torch.manual_seed(settings.seed)

        model = build_network(settings, num_steps=train_data.sar.shape[1]).to(device)
        model_multiple = int(cast(Any, model).size_multiple)
        crop = settings.train_crop or size
        if size % model_multiple or crop % model_multiple:
            raise ValueError(
                f"{settings.model} needs sides that are multiples of {model_multiple}; patch size {size}, "
                f"train_crop {settings.train_crop}: change them"
            )
        n_params = sum(p.numel() for p in model.parameters())
        loss_fn = CombinedLoss(ce_weight=settings.ce_weight, dice_weight=settings.dice_weight)
        optimizer = torch.optim.AdamW(
            model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay
        )
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=settings.epochs)

        rows: list[dict[str, float]] = []
        best_f1, best_epoch, best_metrics = -math.inf, 0, None
        best_checkpoint: dict[str, Any] | None = None
        resumed_from, elapsed_before = 0, 0.0
        state_file = state_path(checkpoint)
        data = data_fingerprint(patches, index)
        state = (
            torch.load(state_file, map_location="cpu", weights_only=True)
            if resume and state_file.is_file()
            else None
        )
        reason = None if state is None else _incompatibility(state, settings, data)
        if reason is not None and resume is True:
            raise ValueError(
                f"cannot resume from {state_file}: {reason}; restore them, or delete the state file (or "
                "train with resume off) to start over"
            )
        if reason is not None:
            log.info("not resuming from %s: %s; starting from epoch 1", state_file, reason)
            state = None
        if state is not None:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            set_rng_states(state["rng"])
            rows = [dict(r) for r in state["history"]]
            best_f1, best_epoch, best_metrics = state["best_f1"], state["best_epoch"], state["best_metrics"]
            resumed_from, elapsed_before = int(state["epoch"]), float(state["seconds"])
            log.info("resuming from %s after epoch %d/%d", state_file, resumed_from, settings.epochs)
            best_checkpoint = state.get("best_checkpoint")
            if procs.main:  # the outputs as they were after that epoch, should they have been deleted
                checkpoint.parent.mkdir(parents=True, exist_ok=True)
                if best_checkpoint is not None and not checkpoint.is_file():
                    _atomic_torch_save(best_checkpoint, checkpoint)
                history.parent.mkdir(parents=True, exist_ok=True)
                _atomic_write_csv(pd.DataFrame(rows, columns=list(HISTORY_COLUMNS)), history)
        elif resume and reason is None:
            log.info("no training state at %s: starting from epoch 1", state_file)

        on_device = _use_device_data(
            settings.data_on_device, device, train_data.sar.nbytes + train_data.optical.nbytes
        )
        batches = _Batches(train_data, on_device=on_device, device=device)
        trained: torch.nn.Module = model
        if procs.world > 1:
            trained = torch.nn.parallel.DistributedDataParallel(
                model, device_ids=[device.index] if device.type == "cuda" else None
            )
        log.info(
            "%s with %s parameters on %s x %d process(es), %s, augmentation %s",
            settings.model,
            f"{n_params:,}",
            device,
            procs.world,
            "fp32" if amp is None else f"{amp} autocast",
            "in torch on the device" if on_device else "in numpy on the host",
        )

        started = time.perf_counter()
        for epoch in range(resumed_from + 1, settings.epochs + 1):
            tick = time.perf_counter()
            lr = optimizer.param_groups[0]["lr"]
            train_loss = _train_epoch(
                trained,
                batches,
                epoch=epoch,
                loss_fn=loss_fn,
                optimizer=optimizer,
                settings=settings,
                stats=stats,
                device=device,
                amp=amp,
                procs=procs,
            )
            scheduler.step()
            val_loss, cm = _validate(
                model,
                val_data,
                loss_fn=loss_fn,
                settings=settings,
                stats=stats,
                device=device,
                amp=amp,
                procs=procs,
            )
            report = metrics_report(cm)
            f1 = report["mean_f1"] if report["mean_f1"] is not None else -math.inf
            improved = f1 > best_f1
            if improved:
                best_f1, best_epoch, best_metrics = f1, epoch, report
            seconds = time.perf_counter() - tick
            rows.append(
                {
                    "epoch": epoch,
                    "train_loss": train_loss,
                    "val_loss": val_loss,
                    "val_mean_f1": report["mean_f1"] if report["mean_f1"] is not None else math.nan,
                    "val_oa": report["overall_accuracy"],
                    "learning_rate": lr,
                    "seconds": seconds,
                }
            )
            if procs.main:
                checkpoint.parent.mkdir(parents=True, exist_ok=True)
                weights = _cpu_copy(model.state_dict())
                if improved:
                    best_checkpoint = {
                        "format_version": 1,
                        "state_dict": weights,
                        "model_name": settings.model,
                        "model_kwargs": cast(Any, model).model_kwargs(),
                        "norm_stats": stats,
                        "settings": settings.to_dict(),
                        "best_epoch": epoch,
                        "val_metrics": report,
                        "train_patches": len(ids["train"]),
                        "val_patches": len(ids["val"]),
                        "patch_size": size,
                        "parameters": n_params,
                        "seed": settings.seed,
                        "processes": procs.world,
                    }
                    _atomic_torch_save(best_checkpoint, checkpoint)
                _atomic_torch_save(
                    {
                        "format_version": STATE_FORMAT,
                        "epoch": epoch,
                        "model": weights,
                        "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(),
                        "rng": rng_states(),
                        "seeds": {"seed": settings.seed, "shuffle": [settings.seed, epoch + 1]},
                        "settings": settings.to_dict(),
                        "best_f1": best_f1,
                        "best_epoch": best_epoch,
                        "best_metrics": best_metrics,
                        "history": rows,
                        "seconds": elapsed_before + time.perf_counter() - started,
                        "processes": procs.world,
                        "data": data,
                        "best_checkpoint": best_checkpoint,
                    },
                    state_file,
                )
                history.parent.mkdir(parents=True, exist_ok=True)
                _atomic_write_csv(pd.DataFrame(rows, columns=list(HISTORY_COLUMNS)), history)
            procs.barrier()
            log.info(
                "epoch %d/%d: train loss %.4f, val loss %.4f, val mean F1 %.3f, val OA %.3f, %.1f s%s",
                epoch,
                settings.epochs,
                train_loss,
                val_loss,
                rows[-1]["val_mean_f1"],
                report["overall_accuracy"],
                seconds,
                " (best so far, checkpoint written)" if improved else "",
            )
        elapsed = elapsed_before + time.perf_counter() - started
    finally:
        torch.set_num_threads(previous_threads)
        torch.use_deterministic_algorithms(previous_deterministic, warn_only=previous_warn_only)
        torch.backends.cudnn.benchmark = previous_benchmark
    if best_metrics is None:
        raise ValueError(
            "validation mean F1 was undefined in every epoch: the val split has no labeled pixels"
        )
    log.info(
        "done in %.0f s: best epoch %d, val mean F1 %.3f, checkpoint %s",
        elapsed,
        best_epoch,
        best_f1,
        checkpoint,
    )
    return {
        "best_epoch": best_epoch,
        "val_metrics": best_metrics,
        "epochs": settings.epochs,
        "seconds": elapsed,
        "resumed_from": resumed_from,
    }
