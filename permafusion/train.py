"""Training of PermaFusionNet on the patch store (paper §4.5), deterministic on CPU.

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
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch

from permafusion.classes import NODATA, NUM_CLASSES
from permafusion.losses import CombinedLoss
from permafusion.metrics import confusion_matrix, metrics_report
from permafusion.model.permafusionnet import PermaFusionNet
from permafusion.model.presets import model_kwargs_for_preset
from permafusion.normalize import NormStats, compute_norm_stats, normalize_inputs
from permafusion.patch_store import PatchArrays, read_patches
from permafusion.predict import resolve_device

LOG = logging.getLogger(__name__)

HISTORY_COLUMNS = ("epoch", "train_loss", "val_loss", "val_mean_f1", "val_oa", "learning_rate", "seconds")


@dataclass(frozen=True)
class TrainSettings:
    """Everything that decides a training run (model widths included); defaults are the paper's.

    Attributes:
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
        threads: torch CPU threads for the run; None leaves torch's setting.
        device: ``"auto"`` (CUDA if available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"`` ...
        eval_batch_size: patches per forward pass in validation.
    """

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

    def __post_init__(self) -> None:
        problems = []
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
        if problems:
            raise ValueError("invalid training settings: " + "; ".join(problems))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> TrainSettings:
        """Settings from a config mapping.

        A ``preset`` key (``"paper"`` or ``"small"``, see :mod:`permafusion.model.presets`) fills
        ``encoder_widths``, ``lstm_hidden`` and ``gate_reduction``; explicit keys override it.

        Raises:
            ValueError: for unknown keys or invalid values.
        """
        values = dict(mapping)
        fields = {f.name for f in dataclasses.fields(cls)}
        merged: dict[str, Any] = {}
        preset = values.pop("preset", None)
        if preset is not None:
            merged.update(model_kwargs_for_preset(str(preset)))
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
        """Constructor arguments of :class:`PermaFusionNet`."""
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


def _to_device(
    sar: np.ndarray, optical: np.ndarray, label: np.ndarray, stats: NormStats, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    s, o = normalize_inputs(torch.from_numpy(sar).to(device), torch.from_numpy(optical).to(device), stats)
    return s, o, torch.from_numpy(label.astype(np.int64)).to(device)


# ------------------------------------------------------------------------------------------ training


def _train_epoch(
    model: PermaFusionNet,
    data: PatchArrays,
    *,
    loss_fn: CombinedLoss,
    optimizer: torch.optim.Optimizer,
    settings: TrainSettings,
    stats: NormStats,
    rng: np.random.Generator,
    device: torch.device,
) -> float:
    model.train()
    order = rng.permutation(data.sar.shape[0])
    total, count = 0.0, 0
    for start in range(0, len(order), settings.batch_size):
        idx = np.sort(order[start : start + settings.batch_size])
        batch = _augment_batch(data.sar[idx], data.optical[idx], data.label[idx], settings, rng)
        sar, optical, label = _to_device(*batch, stats, device)
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(sar, optical), label)
        loss.backward()
        if settings.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip)
        optimizer.step()
        total += float(loss.detach()) * len(idx)
        count += len(idx)
    return total / count


@torch.no_grad()
def _validate(
    model: PermaFusionNet,
    data: PatchArrays,
    *,
    loss_fn: CombinedLoss,
    settings: TrainSettings,
    stats: NormStats,
    device: torch.device,
) -> tuple[float, np.ndarray]:
    """Mean loss (per patch, over batches) and the confusion matrix on whole validation patches."""
    model.eval()
    cm = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    total, count = 0.0, 0
    for start in range(0, data.sar.shape[0], settings.eval_batch_size):
        sl = slice(start, start + settings.eval_batch_size)
        sar, optical, label = _to_device(data.sar[sl], data.optical[sl], data.label[sl], stats, device)
        logits = model(sar, optical)
        total += float(loss_fn(logits, label)) * sar.shape[0]
        count += sar.shape[0]
        predicted = (logits.argmax(dim=1) + 1).cpu().numpy()
        cm += confusion_matrix(data.label[sl], predicted)
    return total / count, cm


def _atomic_torch_save(payload: dict[str, Any], path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def _atomic_write_csv(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    frame.to_csv(tmp, index=False)
    os.replace(tmp, path)


def train_model(
    *,
    patches: Path,
    index: Path,
    checkpoint: Path,
    history: Path,
    settings: TrainSettings,
    log: logging.Logger = LOG,
) -> dict[str, Any]:
    """Train PermaFusionNet on the train split, select the epoch on the val split, write the checkpoint.

    Args:
        patches: the Zarr patch store.
        index: the patch index CSV (``patch_id``, ``split`` columns).
        checkpoint: output ``.pt`` file, written atomically whenever validation mean F1 improves; a dict of
            ``state_dict``, ``model_kwargs``, ``norm_stats``, ``settings``, ``best_epoch``, ``val_metrics``
            (plus counts), all plain types, so ``torch.load(path, weights_only=True)`` reads it.
        history: output CSV, one row per epoch: epoch, train_loss, val_loss, val_mean_f1, val_oa,
            learning_rate, seconds (rewritten after each epoch).
        settings: the run's settings.
        log: where progress goes.

    Returns:
        ``{"best_epoch", "val_metrics", "epochs", "seconds"}``.

    Raises:
        ValueError: for an empty or unlabeled train or val split, or patches the model cannot take.
    """
    patches, index, checkpoint, history = Path(patches), Path(index), Path(checkpoint), Path(history)
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
        rng = np.random.default_rng(settings.seed)

        model = PermaFusionNet(**settings.model_kwargs()).to(device)
        n_params = sum(p.numel() for p in model.parameters())
        log.info("PermaFusionNet with %s parameters on %s", f"{n_params:,}", device)
        loss_fn = CombinedLoss(ce_weight=settings.ce_weight, dice_weight=settings.dice_weight)
        optimizer = torch.optim.AdamW(
            model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay
        )
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=settings.epochs)

        rows: list[dict[str, float]] = []
        best_f1, best_epoch, best_metrics = -math.inf, 0, None
        started = time.perf_counter()
        for epoch in range(1, settings.epochs + 1):
            tick = time.perf_counter()
            lr = optimizer.param_groups[0]["lr"]
            train_loss = _train_epoch(
                model,
                train_data,
                loss_fn=loss_fn,
                optimizer=optimizer,
                settings=settings,
                stats=stats,
                rng=rng,
                device=device,
            )
            scheduler.step()
            val_loss, cm = _validate(
                model, val_data, loss_fn=loss_fn, settings=settings, stats=stats, device=device
            )
            report = metrics_report(cm)
            f1 = report["mean_f1"] if report["mean_f1"] is not None else -math.inf
            improved = f1 > best_f1
            if improved:
                best_f1, best_epoch, best_metrics = f1, epoch, report
                payload = {
                    "format_version": 1,
                    "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
                    "model_kwargs": model.model_kwargs(),
                    "norm_stats": stats,
                    "settings": settings.to_dict(),
                    "best_epoch": epoch,
                    "val_metrics": report,
                    "train_patches": len(ids["train"]),
                    "val_patches": len(ids["val"]),
                    "patch_size": size,
                    "parameters": n_params,
                }
                checkpoint.parent.mkdir(parents=True, exist_ok=True)
                _atomic_torch_save(payload, checkpoint)
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
            history.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write_csv(pd.DataFrame(rows, columns=list(HISTORY_COLUMNS)), history)
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
        elapsed = time.perf_counter() - started
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
    }
