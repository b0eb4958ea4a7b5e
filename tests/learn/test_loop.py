"""The engine's training loop on toy tasks defined here: regression with gaps, binary segmentation,
resume, bf16 autocast, two gloo processes and the best-epoch rule.

The tasks are small enough that each epoch takes milliseconds on a CPU; they exist to show that the loop
serves any :class:`~permafusion.learn.task.TrainingTask`, not only the degradation task.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import permafusion.learn.loop as loop_module
from permafusion.core.classes import ClassScheme
from permafusion.learn.distributed import spawn
from permafusion.learn.loop import RunFiles, fit, validate
from permafusion.learn.losses import CombinedLoss
from permafusion.learn.metrics import confusion_matrix, metrics_report
from permafusion.learn.regression import masked_mse, regression_report, regression_statistics
from permafusion.learn.settings import LoopSettings
from permafusion.learn.task import Batch, TrainingTask

LOG = logging.getLogger("test_loop")

#: Fast settings of every toy run: one thread (tiny tensors), plain Adam at a high rate, CPU, fp32.
FAST = LoopSettings(
    epochs=1,
    batch_size=8,
    learning_rate=5e-2,
    weight_decay=0.0,
    grad_clip=1.0,
    seed=0,
    threads=1,
    device="cpu",
    eval_batch_size=32,
    precision="fp32",
)


def _digest(*arrays: np.ndarray) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------------------
# A regression task: two outputs (think two soil depths) from short sequences, with gaps in the targets.


class _Regressor(nn.Module):
    """A GRU over the time steps, its last hidden state mapped linearly to the outputs."""

    def __init__(self, features: int, hidden: int, outputs: int) -> None:
        super().__init__()
        self.gru = nn.GRU(features, hidden, batch_first=True)
        self.head = nn.Linear(hidden, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sequence, _ = self.gru(x)
        return self.head(sequence[:, -1])


class _OnDevice:
    """Batches go to the device the loop hands to ``prepare``."""

    device = torch.device("cpu")

    def prepare(self, device: torch.device) -> None:
        self.device = device


class RegressionToy(_OnDevice):
    """64 training and 32 validation sequences (B, T=5, F=3); the two targets are fixed linear functions
    of the inputs, 20 % of them missing (NaN)."""

    monitor = "rmse"
    maximize = False
    history_metrics = {"val_rmse": "rmse", "val_mae": "mae"}
    outputs = ("shallow", "deep")

    def __init__(self, *, train: int = 64, val: int = 32, steps: int = 5, features: int = 3) -> None:
        rng = np.random.default_rng(7)
        x = rng.normal(size=(train + val, steps, features)).astype(np.float32)
        weights = np.array([[1.0, -0.5], [0.5, 1.0], [-1.0, 0.25]], dtype=np.float32)[:features]
        y = (x[:, -1] + 0.5 * x[:, -2]) @ weights
        y[rng.random(y.shape) < 0.2] = np.nan
        self.x, self.y = x[:train], y[:train]
        self.val_x, self.val_y = x[train:], y[train:]
        self.features = features

    def sizes(self) -> tuple[int, int]:
        return len(self.x), len(self.val_x)

    def build_model(self) -> nn.Module:
        return _Regressor(self.features, 8, len(self.outputs))

    def _batch(self, x: np.ndarray, y: np.ndarray) -> Batch:
        return {"x": torch.from_numpy(x).to(self.device), "y": torch.from_numpy(y).to(self.device)}

    def train_batch(self, idx: np.ndarray, *, rng: np.random.Generator, generator: torch.Generator) -> Batch:
        batch = self._batch(self.x[idx], self.y[idx])
        # a little input noise from the loop's generator, so that a resumed run must draw it identically
        noise = torch.randn(batch["x"].shape, generator=generator, device=self.device)
        batch["x"] = batch["x"] + 0.01 * noise
        return batch

    def val_batch(self, idx: np.ndarray) -> Batch:
        return self._batch(self.val_x[idx], self.val_y[idx])

    def forward(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        return model(batch["x"])

    def loss(self, outputs: torch.Tensor, batch: Batch) -> torch.Tensor:
        return masked_mse(outputs, batch["y"])

    def val_statistics(self, outputs: torch.Tensor, batch: Batch) -> np.ndarray:
        return regression_statistics(outputs, batch["y"])

    def summarize(self, statistics: np.ndarray) -> dict[str, Any]:
        return regression_report(statistics, names=self.outputs)

    def checkpoint_fields(self, model: nn.Module) -> dict[str, Any]:
        return {"model_name": "toy_gru", "outputs": list(self.outputs), "train_samples": len(self.x)}

    def fingerprint(self) -> str:
        return _digest(self.x, self.y)


# --------------------------------------------------------------------------------------------------------
# A binary segmentation task: a bright square ("slump") on a noisy background, some pixels unlabeled.

SLUMPS = ClassScheme(
    title="toy thaw slump",
    names={1: "background", 2: "slump"},
    colors={1: (230, 230, 230, 255), 2: (200, 40, 40, 255)},
)


def _scenes(count: int, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    images = rng.normal(0.0, 0.3, size=(count, 1, size, size)).astype(np.float32)
    labels = np.ones((count, size, size), dtype=np.int64)
    for i in range(count):
        side = int(rng.integers(4, 8))
        row, col = rng.integers(0, size - side, size=2)
        images[i, 0, row : row + side, col : col + side] += 1.5
        labels[i, row : row + side, col : col + side] = 2
    labels[rng.random(labels.shape) < 0.1] = 0  # unlabeled pixels, ignored by loss and metrics
    return images, labels


class SegmentationToy(_OnDevice):
    """64 training and 32 validation images of 16 x 16 pixels; flips as augmentation."""

    monitor = "mean_f1"
    maximize = True
    history_metrics = {"val_mean_f1": "mean_f1", "val_oa": "overall_accuracy"}

    def __init__(self) -> None:
        rng = np.random.default_rng(11)
        self.images, self.labels = _scenes(64, 16, rng)
        self.val_images, self.val_labels = _scenes(32, 16, rng)
        self.loss_fn = CombinedLoss()

    def sizes(self) -> tuple[int, int]:
        return len(self.images), len(self.val_images)

    def build_model(self) -> nn.Module:
        return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, SLUMPS.num_classes, 1))

    def _batch(self, images: np.ndarray, labels: np.ndarray) -> Batch:
        return {
            "image": torch.from_numpy(np.ascontiguousarray(images)).to(self.device),
            "label": torch.from_numpy(np.ascontiguousarray(labels)).to(self.device),
        }

    def train_batch(self, idx: np.ndarray, *, rng: np.random.Generator, generator: torch.Generator) -> Batch:
        images, labels = self.images[idx], self.labels[idx]
        if rng.random() < 0.5:  # the same flip of images and labels
            images, labels = images[..., ::-1], labels[..., ::-1]
        return self._batch(images, labels)

    def val_batch(self, idx: np.ndarray) -> Batch:
        return self._batch(self.val_images[idx], self.val_labels[idx])

    def forward(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        return model(batch["image"])

    def loss(self, outputs: torch.Tensor, batch: Batch) -> torch.Tensor:
        return self.loss_fn(outputs, batch["label"])

    def val_statistics(self, outputs: torch.Tensor, batch: Batch) -> np.ndarray:
        predicted = (outputs.argmax(dim=1) + 1).cpu().numpy()  # channel k is class code k + 1
        cm = confusion_matrix(batch["label"].cpu().numpy(), predicted, num_classes=SLUMPS.num_classes)
        return cm.astype(np.float64)

    def summarize(self, statistics: np.ndarray) -> dict[str, Any]:
        return metrics_report(np.rint(statistics).astype(np.int64), scheme=SLUMPS)

    def checkpoint_fields(self, model: nn.Module) -> dict[str, Any]:
        return {"model_name": "toy_cnn", "card": {"classes": SLUMPS.to_mapping()}}

    def fingerprint(self) -> str:
        return _digest(self.images, self.labels)


# --------------------------------------------------------------------------------------------------------
# A task whose validation score is scripted per epoch, for the best-epoch rule.


class ScriptedToy(RegressionToy):
    """The regression toy, except that epoch e's monitored score is ``scores[e - 1]`` (None: undefined)."""

    monitor = "score"
    history_metrics = {"val_score": "score"}

    def __init__(self, scores: list[float | None], *, maximize: bool) -> None:
        super().__init__()
        self.scores = scores
        self.maximize = maximize
        self.calls = 0

    def summarize(self, statistics: np.ndarray) -> dict[str, Any]:
        self.calls += 1  # one validation per epoch in a single process
        return {"score": self.scores[self.calls - 1]}


# --------------------------------------------------------------------------------------------------------


def _files(root: Path) -> RunFiles:
    return RunFiles(checkpoint=root / "model.pt", history=root / "history.csv")


def _train(
    task: TrainingTask,
    root: Path,
    *,
    resume: bool | Literal["if_compatible"] = False,
    **changes: Any,
) -> dict[str, Any]:
    settings = dataclasses.replace(FAST, **changes)
    return fit(
        task,
        settings=settings,
        files=_files(root),
        identity=dataclasses.asdict(settings),
        defaults=dataclasses.asdict(LoopSettings()),
        resume=resume,
        log=LOG,
    )


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    return loaded


def _untrained_score(task: TrainingTask, key: str) -> float:
    torch.manual_seed(FAST.seed)  # the loop's initialisation
    model = task.build_model()
    task.prepare(torch.device("cpu"))
    _, report = validate(model, task, settings=FAST, device=torch.device("cpu"))
    return float(report[key])


def test_regression_task_trains_and_writes_checkpoint_and_history(tmp_path: Path) -> None:
    result = _train(RegressionToy(), tmp_path)
    assert result["best_epoch"] == 1 and result["resumed_from"] == 0
    checkpoint = _load(tmp_path / "model.pt")
    assert checkpoint["best_epoch"] == 1 and checkpoint["model_name"] == "toy_gru"
    assert checkpoint["val_metrics"]["rmse"] == pytest.approx(result["val_metrics"]["rmse"])
    assert set(checkpoint["val_metrics"]["per_output"]) == {"shallow", "deep"}
    assert checkpoint["processes"] == 1 and checkpoint["settings"]["learning_rate"] == FAST.learning_rate
    history = pd.read_csv(tmp_path / "history.csv")
    assert list(history.columns) == [
        "epoch",
        "train_loss",
        "val_loss",
        "val_rmse",
        "val_mae",
        "learning_rate",
        "seconds",
    ]
    assert list(history["epoch"]) == [1]
    assert history["val_rmse"].iloc[0] == pytest.approx(result["val_metrics"]["rmse"])
    assert _load(tmp_path / "model.state.pt")["epoch"] == 1
    assert not list(tmp_path.glob("*.tmp"))


def test_regression_task_learns(tmp_path: Path) -> None:
    task = RegressionToy()
    before = _untrained_score(task, "rmse")
    result = _train(task, tmp_path, epochs=5)
    rmse = pd.read_csv(tmp_path / "history.csv")["val_rmse"]
    assert result["val_metrics"]["rmse"] == pytest.approx(rmse.min())
    assert rmse.min() < 0.5 * before, (before, list(rmse))


def test_segmentation_task_trains_and_beats_all_background(tmp_path: Path) -> None:
    task = SegmentationToy()
    result = _train(task, tmp_path / "one")
    assert _load(tmp_path / "one" / "model.pt")["best_epoch"] == 1
    history = pd.read_csv(tmp_path / "one" / "history.csv")
    assert list(history.columns[3:5]) == ["val_mean_f1", "val_oa"] and len(history) == 1
    assert result["val_metrics"]["class_names"] == ["background", "slump"]

    labels = task.val_labels
    background = metrics_report(confusion_matrix(labels, np.ones_like(labels), num_classes=2), scheme=SLUMPS)[
        "mean_f1"
    ]
    result = _train(SegmentationToy(), tmp_path / "five", epochs=5)
    assert result["val_metrics"]["mean_f1"] > background + 0.2, (background, result["val_metrics"])


def test_killed_and_resumed_run_ends_with_the_same_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    _train(RegressionToy(), whole, epochs=3)

    calls = {"n": 0}
    train_epoch = loop_module._train_epoch

    def killed_in_epoch_2(*args: Any, **kwargs: Any) -> float:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("killed")
        return train_epoch(*args, **kwargs)

    monkeypatch.setattr(loop_module, "_train_epoch", killed_in_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        _train(RegressionToy(), parts, epochs=3)
    monkeypatch.undo()
    assert _load(parts / "model.state.pt")["epoch"] == 1

    result = _train(RegressionToy(), parts, epochs=3, resume=True)
    assert result["resumed_from"] == 1
    expected, got = _load(whole / "model.state.pt"), _load(parts / "model.state.pt")
    assert got["epoch"] == 3 and expected["model"].keys() == got["model"].keys()
    for name, weights in expected["model"].items():
        assert torch.equal(weights, got["model"][name]), name
    assert _load(whole / "model.pt")["best_epoch"] == _load(parts / "model.pt")["best_epoch"]
    columns = ["epoch", "train_loss", "val_loss", "val_rmse", "val_mae", "learning_rate"]
    pd.testing.assert_frame_equal(
        pd.read_csv(whole / "history.csv")[columns], pd.read_csv(parts / "history.csv")[columns]
    )


def test_resume_with_a_changed_setting(tmp_path: Path) -> None:
    _train(RegressionToy(), tmp_path, epochs=2)
    assert _train(RegressionToy(), tmp_path, epochs=2, resume=True)["resumed_from"] == 2
    with pytest.raises(ValueError, match="learning_rate"):
        _train(RegressionToy(), tmp_path, epochs=2, learning_rate=1e-3, resume=True)
    result = _train(RegressionToy(), tmp_path, epochs=2, learning_rate=1e-3, resume="if_compatible")
    assert result["resumed_from"] == 0
    assert _load(tmp_path / "model.state.pt")["settings"]["learning_rate"] == 1e-3


def test_resume_from_a_corrupt_state(tmp_path: Path) -> None:
    _train(RegressionToy(), tmp_path)
    (tmp_path / "model.state.pt").write_bytes(b"\x00not a torch file\xff" * 8)
    with pytest.raises(ValueError, match="cannot be read"):
        _train(RegressionToy(), tmp_path, resume=True)
    result = _train(RegressionToy(), tmp_path, resume="if_compatible")
    assert result["resumed_from"] == 0 and _load(tmp_path / "model.state.pt")["epoch"] == 1


def test_bf16_autocast_on_cpu(tmp_path: Path) -> None:
    result = _train(RegressionToy(), tmp_path, precision="bf16")
    assert np.isfinite(result["val_metrics"]["rmse"])
    assert _load(tmp_path / "model.pt")["settings"]["precision"] == "bf16"


@pytest.mark.parametrize(("maximize", "best"), [(True, 2), (False, 3)])
def test_best_epoch_is_the_first_of_equal_best(tmp_path: Path, maximize: bool, best: int) -> None:
    scores: list[float | None] = [None, 0.8, 0.2, 0.8, 0.2]  # epoch 1 undefined, ties at 4 and 5
    result = _train(ScriptedToy(scores, maximize=maximize), tmp_path, epochs=len(scores))
    checkpoint = _load(tmp_path / "model.pt")
    assert result["best_epoch"] == checkpoint["best_epoch"] == best
    assert checkpoint["val_metrics"]["score"] == scores[best - 1]
    assert pd.read_csv(tmp_path / "history.csv")["val_score"].isna().tolist() == [True] + [False] * 4


def test_undefined_score_in_every_epoch_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="undefined in every epoch"):
        _train(ScriptedToy([None, None], maximize=True), tmp_path, epochs=2)


def _train_in_group(device: str, root: str) -> None:
    """One process of the DDP test (module level, so that it pickles into the spawned processes)."""
    _train(RegressionToy(), Path(root), device=device)


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch built without distributed")
def test_two_gloo_processes_train_the_regression_task(tmp_path: Path) -> None:
    spawn(_train_in_group, nprocs=2, init_file=tmp_path / "rendezvous", device="cpu", args=(str(tmp_path),))
    checkpoint = _load(tmp_path / "model.pt")
    assert checkpoint["processes"] == 2 and checkpoint["best_epoch"] == 1
    assert not any(name.startswith("module.") for name in checkpoint["state_dict"])
    assert checkpoint["val_metrics"]["count"] == np.isfinite(RegressionToy().val_y).sum()


def test_eta_reads_plainly() -> None:
    from permafusion.learn.loop import eta

    assert eta(30.0, 3, 6) == "ETA 1 min 0 s"
    assert eta(10.0, 2, 1) == "ETA 5 s"
    assert eta(3600.0, 1, 2) == "ETA 2 h 0 min"
    assert eta(5.0, 5, 0) == "done"
