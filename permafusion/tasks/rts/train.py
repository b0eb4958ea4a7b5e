"""Training the slump U-Net (seed 001 §3.4) through the engine's loop (:func:`permafusion.learn.loop.fit`).

Protocol: Adam (the loop's AdamW with weight decay 0), learning rate 1e-4, batch 32, 100 epochs, BCE +
Dice with per-batch class weights, Gaussian-blur augmentation; the training tiles undersampled to 1:1
positive:negative; the loop's cosine schedule and best-epoch rule (validation slump F1) on top. A fraction
of the training images' undersampled tiles (``val_fraction``, drawn with the seed) is held out for
validation. Inputs are scaled to [0, 1] with the training tiles' per-channel range, recorded in the
checkpoint with the channels and the model card.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from permafusion.learn.distributed import run_under_torchrun, torchrun_parser
from permafusion.learn.distributed import spawn_training as run_spawned
from permafusion.learn.loop import RunFiles, fit
from permafusion.learn.metrics import confusion_matrix
from permafusion.learn.settings import LoopSettings
from permafusion.learn.task import Batch
from permafusion.tasks.rts.augment import Augmentation, augment
from permafusion.tasks.rts.classes import RTS, SLUMP
from permafusion.tasks.rts.dataset import ALL_CHANNELS, TileSet
from permafusion.tasks.rts.losses import bce_dice_loss
from permafusion.tasks.rts.normalize import MinMax
from permafusion.tasks.rts.tiles import undersample
from permafusion.tasks.rts.unet import PRESETS, SlumpUNet

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class RtsTrainSettings(LoopSettings):
    """The loop's settings with the paper's defaults, plus the model and the data.

    Attributes:
        preset: U-Net widths, ``"paper"`` (64..1024) or ``"small"`` (8..64, the demo's).
        dropout: dropout of the two deepest levels.
        channels: input channels, a subset of ``ALL_CHANNELS`` (drop ``slope`` for sites without a DEM).
        undersample_ratio: negative tiles kept per positive tile (seed: 1).
        val_fraction: share of the training tiles held out for validation.
        normalize_percentile: 0 scales each channel's training minimum..maximum to [0, 1] (the seed's);
            p > 0 scales its p-th..(100-p)-th percentiles and clips, so that a few cloud-edge or
            saturated pixels do not squeeze the range of everything else.
        blur_probability, blur_sigma, flips, rotations: augmentation.
    """

    epochs: int = 100
    batch_size: int = 32
    eval_batch_size: int = 32
    learning_rate: float = 1e-4
    weight_decay: float = 0.0
    preset: str = "paper"
    dropout: float = 0.2
    channels: tuple[str, ...] = ALL_CHANNELS
    undersample_ratio: float = 1.0
    val_fraction: float = 0.15
    normalize_percentile: float = 0.0
    blur_probability: float = 0.5
    blur_sigma: tuple[float, float] = (0.5, 1.5)
    flips: bool = False
    rotations: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.preset not in PRESETS:
            raise ValueError(f"rts.train.preset {self.preset!r} must be one of {sorted(PRESETS)}")
        unknown = [c for c in self.channels if c not in ALL_CHANNELS]
        if unknown or not self.channels:
            raise ValueError(f"rts.train.channels {list(self.channels)}: choose from {list(ALL_CHANNELS)}")
        if not 0 <= self.normalize_percentile < 50:
            raise ValueError(f"rts.train.normalize_percentile {self.normalize_percentile} must be in [0, 50)")
        if not 0 < self.val_fraction < 1:
            raise ValueError(f"rts.train.val_fraction {self.val_fraction} must be in (0, 1)")

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> RtsTrainSettings:
        values = dict(mapping)
        for key in ("channels", "blur_sigma"):
            if key in values:
                values[key] = tuple(values[key])
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def augmentation(self) -> Augmentation:
        return Augmentation(self.blur_probability, self.blur_sigma, self.flips, self.rotations)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["channels"] = list(self.channels)
        out["blur_sigma"] = list(self.blur_sigma)
        return out


def split_training(
    tiles: TileSet, *, sites: list[str], settings: RtsTrainSettings
) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation tile indices: the non-test images of ``sites``, undersampled, then split.

    Raises:
        ValueError: no tile of these sites, or no positive tile among them.
    """
    candidates = np.flatnonzero(np.isin(tiles.site, sites) & ~tiles.test)
    if candidates.size == 0:
        raise ValueError(
            f"no training tile for sites {sites}: check the labels and the scenes of these sites"
        )
    try:
        kept = candidates[
            undersample(tiles.positive[candidates], ratio=settings.undersample_ratio, seed=settings.seed)
        ]
    except ValueError as error:
        raise ValueError(
            f"{error} for sites {sites}: the label polygons do not overlap any valid scene pixel; check the "
            "label file's years and geometries against the AOI and the scenes"
        ) from None
    rng = np.random.default_rng([settings.seed, 1])
    shuffled = rng.permutation(kept)
    n_val = max(1, int(round(settings.val_fraction * len(shuffled))))
    return np.sort(shuffled[n_val:]), np.sort(shuffled[:n_val])


class SlumpTask:
    """The thaw-slump task for the engine's loop: tiles in, a slump logit per pixel out, F1 monitored."""

    monitor = "f1"
    maximize = True
    history_metrics = {"val_f1": "f1", "val_precision": "precision", "val_recall": "recall"}

    def __init__(
        self, tiles: TileSet, train: np.ndarray, val: np.ndarray, settings: RtsTrainSettings
    ) -> None:
        channels = tiles.channel_index(settings.channels)
        raw_train = tiles.x[train][:, channels]
        self.stats = MinMax.fit(raw_train, percentile=settings.normalize_percentile)
        self.x = self.stats.apply(raw_train)
        self.y = tiles.y[train]
        self.val_x = self.stats.apply(tiles.x[val][:, channels])
        self.val_y = tiles.y[val]
        self.settings = settings
        self.augmentation = settings.augmentation()
        self.device = torch.device("cpu")
        self.sites = sorted({str(site) for site in tiles.site[train]})

    def prepare(self, device: torch.device) -> None:
        self.device = device

    def sizes(self) -> tuple[int, int]:
        return len(self.x), len(self.val_x)

    def model_kwargs(self) -> dict[str, Any]:
        return {
            "in_channels": len(self.settings.channels),
            "widths": list(PRESETS[self.settings.preset]),
            "dropout": self.settings.dropout,
        }

    def build_model(self) -> torch.nn.Module:
        return SlumpUNet(**self.model_kwargs())

    def _batch(self, x: np.ndarray, y: np.ndarray) -> Batch:
        return {
            "x": torch.from_numpy(np.ascontiguousarray(x)).to(self.device),
            "y": torch.from_numpy(np.ascontiguousarray(y)).to(self.device),
        }

    def train_batch(self, idx: np.ndarray, *, rng: np.random.Generator, generator: torch.Generator) -> Batch:
        x, y = augment(self.x[idx], self.y[idx], settings=self.augmentation, rng=rng)
        return self._batch(x, y)

    def val_batch(self, idx: np.ndarray) -> Batch:
        return self._batch(self.val_x[idx], self.val_y[idx])

    def forward(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        return model(batch["x"])

    def loss(self, outputs: torch.Tensor, batch: Batch) -> torch.Tensor:
        return bce_dice_loss(outputs, batch["y"])

    def val_statistics(self, outputs: torch.Tensor, batch: Batch) -> np.ndarray:
        predicted = np.where(outputs.detach().cpu().numpy()[:, 0] > 0, SLUMP, 1)
        return confusion_matrix(batch["y"].cpu().numpy(), predicted, num_classes=RTS.num_classes)

    def summarize(self, statistics: np.ndarray) -> dict[str, Any]:
        return binary_report(statistics)

    def checkpoint_fields(self, model: torch.nn.Module) -> dict[str, Any]:
        return {
            "model_name": "slump_unet",
            "model_kwargs": self.model_kwargs(),
            "normalization": self.stats.to_mapping(),
            "channels": list(self.settings.channels),
            "train_tiles": len(self.x),
            "val_tiles": len(self.val_x),
            "card": {
                "task": "rts",
                "class_scheme": RTS.to_mapping(),
                "bands": list(self.settings.channels),
                "tile_size": int(self.x.shape[-1]),
                "training_sites": self.sites,
            },
        }

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for array in (self.x, self.y, self.val_x, self.val_y):
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()


def binary_report(cm: np.ndarray) -> dict[str, Any]:
    """Slump precision, recall and F1 from a 2 x 2 confusion matrix (rows reference, columns predicted;
    index 1 = slump); None where undefined."""
    tp, fp, fn = float(cm[1, 1]), float(cm[0, 1]), float(cm[1, 0])
    return prf(tp, fp, fn)


def prf(tp: float, fp: float, fn: float) -> dict[str, Any]:
    """Precision, recall, F1 (None where the denominator is 0) and the counts."""
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


def train_slump_model(
    tiles: TileSet,
    *,
    sites: list[str],
    settings: RtsTrainSettings,
    checkpoint: Path,
    history: Path,
    resume: bool | str = "if_compatible",
    log: logging.Logger = LOG,
) -> dict[str, Any]:
    """Train on the non-test images of ``sites``; writes the best checkpoint and the history."""
    train, val = split_training(tiles, sites=sites, settings=settings)
    log.info(
        "sites %s: %d training tiles (%d positive), %d validation tiles",
        sites,
        len(train),
        int(tiles.positive[train].sum()),
        len(val),
    )
    task = SlumpTask(tiles, train, val, settings)
    identity = {**settings.to_dict(), "sites": ",".join(sites)}
    identity = {k: v for k, v in identity.items() if k not in ("threads", "device", "eval_batch_size")}
    return fit(
        task,
        settings=settings,
        files=RunFiles(checkpoint=checkpoint, history=history),
        identity=identity,
        resume=resume,  # type: ignore[arg-type]
        log=log,
    )


def _train_on_device(device: str, train_kwargs: dict[str, Any]) -> dict[str, Any]:
    """:func:`train_slump_model` with the settings' device replaced by this process's."""
    settings: RtsTrainSettings = train_kwargs["settings"]
    tiles = TileSet.load(train_kwargs["tiles"])
    kwargs = {k: v for k, v in train_kwargs.items() if k != "tiles"}
    return train_slump_model(tiles, **{**kwargs, "settings": dataclasses.replace(settings, device=device)})


def spawn_training(*, nprocs: int, init_file: Path, **train_kwargs: Any) -> None:
    """Train in ``nprocs`` local processes of one group (one per GPU on CUDA, gloo on CPU).

    Args:
        nprocs: number of processes; the batch size stays the global batch, split over them.
        init_file: a path, not yet existing, for the file rendezvous of the processes.
        **train_kwargs: ``tiles`` (the tile file) and the keyword arguments of :func:`train_slump_model`.
    """
    run_spawned(_train_on_device, nprocs=nprocs, init_file=init_file, train_kwargs=train_kwargs)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point under ``torchrun``: one process per GPU with NCCL, or gloo on CPU::

        python -m torch.distributed.run --nproc_per_node=2 -m permafusion.tasks.rts.train \\
            --tiles results/<aoi>/rts/tiles.npz --sites west,centre,east \\
            --checkpoint primary.pt --history history.csv --settings '{"preset": "paper"}' --resume
    """
    parser = torchrun_parser("python -m permafusion.tasks.rts.train", __doc__)
    parser.add_argument("--tiles", type=Path, required=True)
    parser.add_argument("--sites", required=True, help="training sites, comma-separated")
    args = parser.parse_args(argv)
    kwargs = {
        "tiles": args.tiles,
        "sites": args.sites.split(","),
        "settings": RtsTrainSettings.from_mapping(json.loads(args.settings)),
        "checkpoint": args.checkpoint,
        "history": args.history,
        "resume": args.resume,
        "log": LOG,
    }
    run_under_torchrun(_train_on_device, kwargs, parser=parser)


if __name__ == "__main__":
    main()
