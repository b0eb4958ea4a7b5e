"""End-to-end training, checkpoint and evaluation on a tiny synthetic patch store."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from permafusion.evaluate import evaluate
from permafusion.patch_store import write_patch_store
from permafusion.predict import load_model
from permafusion.train import HISTORY_COLUMNS, TrainSettings, train_model


def synthetic_store(
    root: Path, *, n: int = 6, size: int = 32, t: int = 3, splits: list[str] | None = None, seed: int = 0
) -> tuple[Path, Path]:
    """A patch store whose classes are visible in both modalities, with NaN months and unlabeled pixels."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    label = np.zeros((n, size, size), dtype=np.uint8)
    for i in range(n):
        cy, cx = rng.integers(0, size, 2)
        dist = np.hypot(yy - cy, xx - cx)
        label[i] = 1 + np.minimum(3, (dist / (size / 4)).astype(int))
        label[i, : size // 8] = 0  # an unlabeled strip
    code = label.astype(np.float32)
    sar = rng.normal(0, 1, (n, t, 2, size, size)).astype(np.float32) - 15 + 2 * code[:, None, None]
    optical = rng.normal(0, 0.02, (n, t, 6, size, size)).astype(np.float32) + 0.05 * code[:, None, None]
    optical[:, 0] = np.nan  # a month without optical data
    sar[:, :, :, :2, :2] = np.nan
    store, index = root / "patches.zarr", root / "index.csv"
    write_patch_store(store, sar, optical, label)
    splits = splits or (["train"] * (n - 2) + ["val", "test"])
    pd.DataFrame({"patch_id": range(n), "split": splits, "region": "synthetic"}).to_csv(index, index=False)
    return store, index


TINY = {"preset": "small", "epochs": 2, "batch_size": 2, "train_crop": 16, "threads": 2, "device": "cpu"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("train")
    store, index = synthetic_store(root)
    paths = {
        "patches": store,
        "index": index,
        "checkpoint": root / "model.pt",
        "history": root / "history.csv",
    }
    train_model(**paths, settings=TrainSettings.from_mapping(TINY), log=logging.getLogger("test"))
    return paths


def test_train_model_writes_weights_only_checkpoint(trained: dict[str, Path]) -> None:
    payload = torch.load(trained["checkpoint"], weights_only=True)
    assert {"state_dict", "model_kwargs", "norm_stats", "settings", "best_epoch", "val_metrics"} <= set(
        payload
    )
    assert payload["model_kwargs"]["encoder_widths"] == [8, 16, 32, 64]
    assert payload["best_epoch"] in (1, 2)
    json.dumps({k: v for k, v in payload.items() if k != "state_dict"})  # all plain types
    model, stats = load_model(trained["checkpoint"])
    assert not model.training
    assert len(stats["sar"]["mean"]) == 2 and len(stats["optical"]["std"]) == 6
    history = pd.read_csv(trained["history"])
    assert tuple(history.columns) == HISTORY_COLUMNS
    assert list(history["epoch"]) == [1, 2]
    assert np.isfinite(history[["train_loss", "val_loss"]].to_numpy()).all()


def test_training_is_deterministic(tmp_path: Path, trained: dict[str, Path]) -> None:
    paths = {
        "patches": trained["patches"],
        "index": trained["index"],
        "checkpoint": tmp_path / "again.pt",
        "history": tmp_path / "again.csv",
    }
    train_model(**paths, settings=TrainSettings.from_mapping(TINY))
    first = pd.read_csv(trained["history"])
    second = pd.read_csv(paths["history"])
    cols = ["train_loss", "val_loss", "val_mean_f1"]
    np.testing.assert_array_equal(first[cols].to_numpy(), second[cols].to_numpy())


def test_evaluate_reports_model_and_baseline(trained: dict[str, Path]) -> None:
    result = evaluate(checkpoint=trained["checkpoint"], patches=trained["patches"], index=trained["index"])
    json.dumps(result)
    assert {
        "split",
        "patches",
        "pixels",
        "labeled_pixels",
        "model",
        "majority_baseline",
        "best_epoch",
    } <= set(result)
    assert result["split"] == "test" and result["patches"] == 1 and result["pixels"] == 32 * 32
    assert result["labeled_pixels"] == 32 * 28
    for block in (result["model"], result["majority_baseline"]):
        assert {"overall_accuracy", "mean_f1", "mean_iou", "per_class", "confusion_matrix"} <= set(block)
        assert sum(map(sum, block["confusion_matrix"])) == result["labeled_pixels"]
    assert result["majority_baseline"]["class_code"] in (1, 2, 3, 4)


@pytest.mark.parametrize("missing", ["train", "val"])
def test_empty_split_is_a_clear_error(tmp_path: Path, missing: str) -> None:
    splits = ["test" if s == missing else s for s in ["train"] * 4 + ["val", "test"]]
    store, index = synthetic_store(tmp_path, splits=splits)
    with pytest.raises(ValueError, match=f"'{missing}' split .* is empty"):
        train_model(
            patches=store,
            index=index,
            checkpoint=tmp_path / "m.pt",
            history=tmp_path / "h.csv",
            settings=TrainSettings.from_mapping(TINY),
        )


def test_settings_from_mapping() -> None:
    settings = TrainSettings.from_mapping({"preset": "small", "lstm_hidden": [24, 12], "epochs": 3})
    assert settings.encoder_widths == (8, 16, 32, 64)
    assert settings.lstm_hidden == (24, 12)
    assert TrainSettings().encoder_widths == (64, 128, 256, 512)  # the paper by default
    assert TrainSettings().batch_size == 16 and TrainSettings().learning_rate == 1e-4
    with pytest.raises(ValueError, match="unknown training settings"):
        TrainSettings.from_mapping({"epoch": 3})
    with pytest.raises(ValueError, match="train_crop"):
        TrainSettings.from_mapping({"train_crop": 40})
    with pytest.raises(ValueError, match="unknown model preset"):
        TrainSettings.from_mapping({"preset": "huge"})
