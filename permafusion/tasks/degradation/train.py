"""Training of PermaFusionNet (or any network of the comparison) on the patch store (paper §4.5), through
the engine's loop (:func:`permafusion.learn.loop.fit`), deterministic on CPU.

Model: ``TrainSettings.model`` names the network (default ``"permafusionnet"``), built by
:func:`~permafusion.tasks.degradation.models.registry.build_model`. PermaFusionNet and its ablations take
``encoder_widths``/``lstm_hidden``/``gate_reduction``/``skip_source``; the baselines take the widths of
their own size preset, ``TrainSettings.preset`` (``"paper"`` when unset). The checkpoint records
``model_name`` next to ``model_kwargs`` and a model card (task, classes, bands, time steps), and
:func:`permafusion.tasks.degradation.predict.load_model` rebuilds the network from them.

Protocol (the loop's, :class:`~permafusion.learn.settings.LoopSettings`): AdamW (lr 1e-4, weight decay
1e-5), cosine annealing, gradient clipping at norm 1.0, batch 16, the epoch with the best validation mean
F1 kept. The task adds cross-entropy + soft Dice with equal weights over labeled pixels and the
augmentation of :mod:`permafusion.tasks.degradation.augment`.

Data path: patches are decoded into memory once. ``data_on_device`` (``"auto"``: on CUDA when the train
and val arrays take under half the free GPU memory) keeps them on the device as tensors and augments there
in torch; otherwise numpy augments on the host.

Multi-process: run it under ``torchrun`` (see :func:`main`) or :func:`spawn_training`; the loop shards the
batches and writes on rank 0 only.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import torch

from permafusion.learn.distributed import (
    resume_setting,
    run_torchrun,
    run_under_torchrun,
    torchrun_parser,
)
from permafusion.learn.distributed import spawn_training as run_spawned
from permafusion.learn.loop import RunFiles, fit
from permafusion.learn.losses import CombinedLoss
from permafusion.learn.metrics import confusion_matrix, metrics_report
from permafusion.learn.settings import LoopSettings
from permafusion.learn.state import files_fingerprint
from permafusion.learn.task import Batch
from permafusion.tasks.degradation.augment import augment_batch, augment_batch_torch
from permafusion.tasks.degradation.card import model_card
from permafusion.tasks.degradation.classes import DEGRADATION
from permafusion.tasks.degradation.models.presets import model_kwargs_for_preset
from permafusion.tasks.degradation.models.pretrained import init_encoders_from_resnet34
from permafusion.tasks.degradation.models.registry import (
    DEFAULT_SKIP_SOURCE,
    MODEL_NAMES,
    PERMAFUSIONNET_VARIANTS,
    SIZE_PRESETS,
    build_model,
    preset_kwargs,
)
from permafusion.tasks.degradation.normalize import (
    NormStats,
    compute_norm_stats,
    network_inputs,
    reads_masks,
)
from permafusion.tasks.degradation.patch_store import (
    PatchArrays,
    load_split,
    read_split_ids,
    read_step_months,
)

LOG = logging.getLogger(__name__)

#: Validation history columns beside the losses, and the metric each holds.
HISTORY_METRICS = {"val_mean_f1": "mean_f1", "val_oa": "overall_accuracy"}


@dataclass(frozen=True)
class TrainSettings(LoopSettings):
    """Everything that decides a training run: the loop's settings plus the model and its data handling.

    Attributes (besides :class:`~permafusion.learn.settings.LoopSettings`'):
        model: the network, a name of :data:`permafusion.tasks.degradation.models.registry.MODEL_NAMES`.
        preset: the size preset the widths came from (set by :meth:`from_mapping`); the baselines
            (``sar_unet``, ``optical_unet``, ``ef_cnn``, ``ca_transformer``) take their sizes from it
            (``"paper"`` when None). PermaFusionNet and its ablations use the explicit widths below.
        encoder_widths: encoder channels per level (paper: 64, 128, 256, 512).
        lstm_hidden: ConvLSTM hidden channels per layer (paper: 256, 128).
        gate_reduction: squeeze ratio of the cross-modal gates.
        skip_source: how the months' skip features reach the decoder: ``"stack"`` (in order, mixed per
            pixel), ``"mean"`` or ``"last"``; the order-free and single-step ablations always use the mean.
        lstm_norm: ``"layer"`` (layer-normalised ConvLSTM gates) or ``"none"`` (the paper's cell).
        temporal_readout: ``"attention"`` (pooling over all hidden states) or ``"last"`` (paper: h_T).
        validity_masks: per-month observation masks as one more input channel per branch.
        time_step: the month (0-based index into the time steps) the single-time-step ablation reads.
        ce_weight: weight of the cross-entropy term.
        dice_weight: weight of the soft Dice term.
        train_crop: random crop size of training patches (a multiple of 16), None for whole patches.
        augment: random flips and 90° rotations.
        speckle_looks: looks L of the SAR speckle noise; None or 0 disables it.
        encoder_init: a local torchvision ResNet-34 state dict that initialises the encoders' 3x3
            convolutions (seed 000 §4.2; see :mod:`permafusion.tasks.degradation.models.pretrained`), None
            for random initialisation. PermaFusionNet and its ablations only, at the paper's widths.
        data_on_device: keep the patches on the training device and augment there in torch: ``"auto"``
            (on CUDA when they fit in half the free memory), ``True`` or ``False`` (numpy on the host).
    """

    model: str = "permafusionnet"
    preset: str | None = None
    encoder_widths: tuple[int, ...] = (64, 128, 256, 512)
    lstm_hidden: tuple[int, ...] = (256, 128)
    gate_reduction: int = 16
    skip_source: Literal["mean", "last", "stack"] = DEFAULT_SKIP_SOURCE
    lstm_norm: Literal["none", "layer"] = "layer"
    temporal_readout: Literal["last", "attention"] = "attention"
    validity_masks: bool = True
    time_step: int = 6
    ce_weight: float = 1.0
    dice_weight: float = 1.0
    train_crop: int | None = None
    augment: bool = True
    speckle_looks: float | None = 20.0
    data_on_device: Literal["auto"] | bool = "auto"
    encoder_init: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        problems = []
        if self.model not in MODEL_NAMES:
            problems.append(f"model={self.model!r} must be one of {', '.join(MODEL_NAMES)}")
        if self.preset is not None and self.preset not in SIZE_PRESETS:
            problems.append(f"preset={self.preset!r} must be one of {', '.join(SIZE_PRESETS)} (or null)")
        if not self.encoder_widths or min(self.encoder_widths) < 1:
            problems.append(f"encoder_widths={self.encoder_widths} needs positive widths")
        if not self.lstm_hidden or min(self.lstm_hidden) < 1:
            problems.append(f"lstm_hidden={self.lstm_hidden} needs positive widths")
        if self.skip_source not in ("mean", "last", "stack"):
            problems.append(f"skip_source={self.skip_source!r} must be 'mean', 'last' or 'stack'")
        if self.lstm_norm not in ("none", "layer"):
            problems.append(f"lstm_norm={self.lstm_norm!r} must be 'none' or 'layer'")
        if self.temporal_readout not in ("last", "attention"):
            problems.append(f"temporal_readout={self.temporal_readout!r} must be 'last' or 'attention'")
        if self.time_step < 0:
            problems.append(f"time_step={self.time_step} must be a month index >= 0")
        if self.gate_reduction < 1:
            problems.append(f"gate_reduction={self.gate_reduction} must be >= 1")
        if self.ce_weight < 0 or self.dice_weight < 0 or self.ce_weight + self.dice_weight == 0:
            problems.append("ce_weight and dice_weight must be >= 0 and not both 0")
        multiple = 2 ** len(self.encoder_widths)
        if self.train_crop is not None and (self.train_crop < multiple or self.train_crop % multiple):
            problems.append(f"train_crop={self.train_crop} must be a multiple of {multiple} (or null)")
        if not (isinstance(self.data_on_device, bool) or self.data_on_device == "auto"):
            problems.append(f"data_on_device={self.data_on_device!r} must be 'auto', true or false")
        if problems:
            raise ValueError("invalid training settings: " + "; ".join(problems))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> TrainSettings:
        """Settings from a config mapping.

        A ``preset`` key (``"paper"`` or ``"small"``, see
        :mod:`permafusion.tasks.degradation.models.presets`) fills ``encoder_widths``, ``lstm_hidden`` and
        ``gate_reduction``; explicit keys override it. The preset is kept (``preset``) for the baselines'
        sizes. ``model`` picks the network.

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

        For PermaFusionNet and its ablations the constructor arguments of :class:`PermaFusionNet` without
        those the ablation defines itself (the registry adds them); for a baseline its size preset's
        arguments.
        """
        if self.model not in PERMAFUSIONNET_VARIANTS:
            return preset_kwargs(self.model, self.preset or "paper")
        kwargs = {
            "encoder_widths": self.encoder_widths,
            "lstm_hidden": self.lstm_hidden,
            "gate_reduction": self.gate_reduction,
            "skip_source": self.skip_source,
            "lstm_norm": self.lstm_norm,
            "temporal_readout": self.temporal_readout,
            "validity_masks": self.validity_masks,
            "time_step": self.time_step if self.model == "ablation_single_step" else None,
        }
        return {k: v for k, v in kwargs.items() if k not in PERMAFUSIONNET_VARIANTS[self.model]}


def build_network(settings: TrainSettings, *, num_steps: int) -> torch.nn.Module:
    """The freshly initialised network of ``settings.model`` for ``num_steps`` months per sample.

    Seed torch before calling it for reproducible weights. For the default ``"permafusionnet"`` this is
    ``PermaFusionNet(**settings.model_kwargs())``.
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


def _use_device_data(setting: Literal["auto"] | bool, device: torch.device, nbytes: int) -> bool:
    if isinstance(setting, bool):
        return setting
    if device.type != "cuda":
        return False
    free, _ = torch.cuda.mem_get_info(device)
    return nbytes < free // 2


class DegradationTask:
    """The degradation task for the engine's loop: patches in, 4-class segmentation out, mean F1 monitored."""

    monitor = "mean_f1"
    maximize = True
    history_metrics = HISTORY_METRICS

    def __init__(
        self,
        *,
        settings: TrainSettings,
        train: PatchArrays,
        val: PatchArrays,
        data_files: Sequence[Path],
        training: Mapping[str, Any] | None = None,
        step_months: int = 1,
        log: logging.Logger = LOG,
    ) -> None:
        self.settings = settings
        self.step_months = step_months
        self.training = dict(training or {})
        self.train, self.val = train, val
        self.data_files = list(data_files)
        self.log = log
        self.stats: NormStats = compute_norm_stats(train.sar, train.optical)
        self.loss_fn = CombinedLoss(ce_weight=settings.ce_weight, dice_weight=settings.dice_weight)
        self.device = torch.device("cpu")
        self.tensors: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        self.masks = False  # whether the network reads validity masks (set by build_model)

    def sizes(self) -> tuple[int, int]:
        return self.train.sar.shape[0], self.val.sar.shape[0]

    def build_model(self) -> torch.nn.Module:
        model = build_network(self.settings, num_steps=self.train.sar.shape[1])
        self.masks = reads_masks(model)
        multiple = int(cast(Any, model).size_multiple)
        size, crop = self.train.sar.shape[-1], self.settings.train_crop or self.train.sar.shape[-1]
        if size % multiple or crop % multiple:
            raise ValueError(
                f"{self.settings.model} needs sides that are multiples of {multiple}; patch size {size}, "
                f"train_crop {self.settings.train_crop}: change them"
            )
        return model

    def prepare(self, device: torch.device) -> None:
        self.device = device
        nbytes = self.train.sar.nbytes + self.train.optical.nbytes
        if _use_device_data(self.settings.data_on_device, device, nbytes):
            self.tensors = (
                torch.from_numpy(self.train.sar).to(device),
                torch.from_numpy(self.train.optical).to(device),
                torch.from_numpy(self.train.label).to(device),
            )
        self.log.info(
            "%s, augmentation %s",
            self.settings.model,
            "in torch on the device" if self.tensors is not None else "in numpy on the host",
        )

    def _on_device(self, sar: np.ndarray, optical: np.ndarray, label: np.ndarray) -> Batch:
        s, o = network_inputs(
            self.masks,
            torch.from_numpy(sar).to(self.device),
            torch.from_numpy(optical).to(self.device),
            self.stats,
        )
        return {"sar": s, "optical": o, "label": torch.from_numpy(label.astype(np.int64)).to(self.device)}

    def train_batch(self, idx: np.ndarray, *, rng: np.random.Generator, generator: torch.Generator) -> Batch:
        if self.tensors is None:
            d = self.train
            return self._on_device(
                *augment_batch(d.sar[idx], d.optical[idx], d.label[idx], self.settings, rng)
            )
        picked = torch.from_numpy(idx).to(self.device)
        s, o, lab = augment_batch_torch(*self.tensors, picked, self.settings, generator)
        s, o = network_inputs(self.masks, s, o, self.stats)
        return {"sar": s, "optical": o, "label": lab.long()}

    def val_batch(self, idx: np.ndarray) -> Batch:
        return self._on_device(self.val.sar[idx], self.val.optical[idx], self.val.label[idx])

    def forward(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        return model(batch["sar"], batch["optical"])

    def loss(self, outputs: torch.Tensor, batch: Batch) -> torch.Tensor:
        return self.loss_fn(outputs, batch["label"])

    def val_statistics(self, outputs: torch.Tensor, batch: Batch) -> np.ndarray:
        predicted = (outputs.argmax(dim=1) + 1).cpu().numpy()
        reference = batch["label"].cpu().numpy()
        return confusion_matrix(reference, predicted, num_classes=DEGRADATION.num_classes).astype(np.float64)

    def summarize(self, statistics: np.ndarray) -> dict[str, Any]:
        return metrics_report(np.rint(statistics).astype(np.int64), scheme=DEGRADATION)

    def checkpoint_fields(self, model: torch.nn.Module) -> dict[str, Any]:
        return {
            "model_name": self.settings.model,
            "model_kwargs": cast(Any, model).model_kwargs(),
            "norm_stats": self.stats,
            "train_patches": self.sizes()[0],
            "val_patches": self.sizes()[1],
            "patch_size": self.train.sar.shape[-1],
            "card": model_card(
                time_steps=self.train.sar.shape[1], step_months=self.step_months, training=self.training
            ),
        }

    def fingerprint(self) -> str:
        return files_fingerprint(self.data_files)


def train_model(
    *,
    patches: Path,
    index: Path,
    checkpoint: Path,
    history: Path,
    settings: TrainSettings,
    resume: bool | Literal["if_compatible"] = False,
    training: Mapping[str, Any] | None = None,
    log: logging.Logger = LOG,
) -> dict[str, Any]:
    """Train ``settings.model`` on the train split, select the epoch on the val split, write the checkpoint.

    Args:
        patches: the Zarr patch store.
        index: the patch index CSV (``patch_id``, ``split`` columns).
        checkpoint: output ``.pt`` file, written atomically whenever validation mean F1 improves; a dict of
            ``state_dict``, ``model_name``, ``model_kwargs``, ``norm_stats``, ``settings``, ``best_epoch``,
            ``val_metrics``, ``card`` (plus counts and seeds), all plain types, so
            ``torch.load(path, weights_only=True)`` reads it. The full training state goes to
            :func:`permafusion.learn.state.state_path` after every epoch.
        history: output CSV, one row per epoch: epoch, train_loss, val_loss, val_mean_f1, val_oa,
            learning_rate, seconds (rewritten after each epoch).
        settings: the run's settings.
        resume: see :func:`permafusion.learn.loop.fit`.
        training: where and when the patches come from (``aoi``, ``start``, ``end``), for the model card.
        log: where progress goes.

    Returns:
        ``{"best_epoch", "val_metrics", "epochs", "seconds", "resumed_from"}``.

    Raises:
        ValueError: for an empty or unlabeled train or val split, patches the model cannot take, a batch
            size not divisible by the number of processes, or a state file from other settings.
    """
    patches, index = Path(patches), Path(index)
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
    task = DegradationTask(
        settings=settings,
        train=train_data,
        val=val_data,
        data_files=[index, patches],
        training=training,
        step_months=read_step_months(patches),
        log=log,
    )
    return fit(
        task,
        settings=settings,
        files=RunFiles(checkpoint=Path(checkpoint), history=Path(history)),
        identity=settings.to_dict(),
        defaults=TrainSettings().to_dict(),
        resume=resume,
        log=log,
    )


def _train_on_device(device: str, train_kwargs: dict[str, Any]) -> dict[str, Any]:
    """:func:`train_model` with the settings' device replaced by this process's."""
    settings: TrainSettings = train_kwargs["settings"]
    return train_model(**{**train_kwargs, "settings": dataclasses.replace(settings, device=device)})


def spawn_training(*, nprocs: int, init_file: Path, **train_kwargs: Any) -> None:
    """Run :func:`train_model` in ``nprocs`` local processes (one per GPU on CUDA, gloo on CPU).

    Args:
        nprocs: number of processes.
        init_file: a path, not yet existing, for the file rendezvous of the processes.
        **train_kwargs: the keyword arguments of :func:`train_model`.
    """
    run_spawned(_train_on_device, nprocs=nprocs, init_file=init_file, train_kwargs=train_kwargs)


def torchrun_training(
    *,
    nprocs: int,
    patches: Path,
    index: Path,
    checkpoint: Path,
    history: Path,
    settings: TrainSettings,
    training: Mapping[str, Any] | None = None,
    log: logging.Logger = LOG,
) -> None:
    """:func:`train_model` in ``nprocs`` processes under torchrun (DDP; NCCL on CUDA, gloo on CPU), resuming
    a compatible state like the single-process path; each process gets ``settings.threads // nprocs``
    CPU threads.
    """
    threads = max(1, (settings.threads or os.cpu_count() or 1) // nprocs)
    args = [
        *("--patches", str(patches), "--index", str(index)),
        *("--checkpoint", str(checkpoint), "--history", str(history)),
        *("--settings", json.dumps({**settings.to_dict(), "threads": threads})),
        *("--training", json.dumps(dict(training or {}))),
        "--resume-if-compatible",
    ]
    run_torchrun(
        "permafusion.tasks.degradation.train", args, nprocs=nprocs, threads_per_process=threads, log=log
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point under ``torchrun``: one process per GPU with NCCL, or gloo on CPU::

        python -m torch.distributed.run --nproc_per_node=2 -m permafusion.tasks.degradation.train \\
            --patches patches.zarr --index index.csv --checkpoint model.pt --history history.csv \\
            --settings '{"preset": "small", "epochs": 100}' --resume
    """
    parser = torchrun_parser("python -m permafusion.tasks.degradation.train", __doc__)
    parser.add_argument("--patches", type=Path, required=True)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--training", default="{}", help="the model card's aoi, start and end (JSON)")
    args = parser.parse_args(argv)
    kwargs = {
        "patches": args.patches,
        "index": args.index,
        "checkpoint": args.checkpoint,
        "history": args.history,
        "settings": TrainSettings.from_mapping(json.loads(args.settings)),
        "resume": resume_setting(args),
        "training": json.loads(args.training),
        "log": LOG,
    }
    run_under_torchrun(_train_on_device, kwargs, parser=parser)


if __name__ == "__main__":
    main()
