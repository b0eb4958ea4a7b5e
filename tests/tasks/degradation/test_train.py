"""End-to-end training, checkpoint, resume and evaluation on a tiny synthetic patch store."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import permafusion.learn.loop as loop_module
from permafusion.core.devices import autocast_dtype
from permafusion.learn.state import state_path
from permafusion.tasks.degradation.augment import augment_batch, augment_batch_torch, symmetry_grids
from permafusion.tasks.degradation.evaluate import evaluate
from permafusion.tasks.degradation.patch_store import write_patch_store
from permafusion.tasks.degradation.predict import load_model
from permafusion.tasks.degradation.train import TrainSettings, train_model

HISTORY_COLUMNS = ("epoch", "train_loss", "val_loss", "val_mean_f1", "val_oa", "learning_rate", "seconds")


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
    assert payload["card"]["time_steps"] == 3 and payload["card"]["step_months"] == 1
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
    assert result["bootstrap"]["n_boot"] == 1000
    for block in (result["model"], result["majority_baseline"]):
        assert "kappa" in block
        ci = block["ci95"]
        for key in ("overall_accuracy", "mean_f1", "kappa"):
            if ci[key] is not None:  # one test patch: every replicate is that patch
                assert ci[key][0] <= block[key] + 1e-12 and block[key] - 1e-12 <= ci[key][1]
        assert set(ci["per_class_f1"]) == set(block["per_class"])
    no_ci = evaluate(
        checkpoint=trained["checkpoint"], patches=trained["patches"], index=trained["index"], n_boot=0
    )
    assert no_ci["model"]["ci95"] is None
    assert no_ci["model"]["mean_f1"] == result["model"]["mean_f1"]


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


def _paths(root: Path, trained: dict[str, Path]) -> dict[str, Path]:
    root.mkdir(parents=True, exist_ok=True)
    return {
        "patches": trained["patches"],
        "index": trained["index"],
        "checkpoint": root / "model.pt",
        "history": root / "history.csv",
    }


def test_killed_and_resumed_run_matches_an_uninterrupted_one(
    tmp_path: Path, trained: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = TrainSettings.from_mapping({**TINY, "epochs": 4})
    full = _paths(tmp_path / "full", trained)
    train_model(**full, settings=settings)

    part = _paths(tmp_path / "part", trained)
    real_epoch, calls = loop_module._train_epoch, []

    def killed_in_epoch_3(*args: object, **kwargs: object) -> float:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt("killed")
        return real_epoch(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(loop_module, "_train_epoch", killed_in_epoch_3)
    with pytest.raises(KeyboardInterrupt):
        train_model(**part, settings=settings)
    monkeypatch.undo()
    state = torch.load(state_path(part["checkpoint"]), weights_only=True)
    assert state["epoch"] == 2 and len(state["history"]) == 2 and state["seeds"]["seed"] == 0
    torch.manual_seed(99)  # the resumed run must not depend on the caller's RNG states
    np.random.seed(99)
    result = train_model(**part, settings=settings, resume=True)
    assert result["resumed_from"] == 2

    a = torch.load(state_path(full["checkpoint"]), weights_only=True)
    b = torch.load(state_path(part["checkpoint"]), weights_only=True)
    assert a["epoch"] == b["epoch"] == 4
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key
    best_a = torch.load(full["checkpoint"], weights_only=True)
    best_b = torch.load(part["checkpoint"], weights_only=True)
    assert best_a["best_epoch"] == best_b["best_epoch"]
    for key, value in best_a["state_dict"].items():
        assert torch.equal(value, best_b["state_dict"][key]), key
    cols = ["epoch", "train_loss", "val_loss", "val_mean_f1", "learning_rate"]
    np.testing.assert_array_equal(
        pd.read_csv(full["history"])[cols].to_numpy(), pd.read_csv(part["history"])[cols].to_numpy()
    )
    # a finished run resumes to nothing; changed settings are refused
    assert train_model(**part, settings=settings, resume=True)["resumed_from"] == 4
    with pytest.raises(ValueError, match="settings changed .*learning_rate"):
        train_model(**part, settings=dataclasses.replace(settings, learning_rate=1e-3), resume=True)


def test_workflow_resume_rewrites_a_deleted_checkpoint_and_restarts_on_other_patches(
    tmp_path: Path, trained: dict[str, Path]
) -> None:
    settings = TrainSettings.from_mapping({**TINY, "epochs": 2})
    paths = _paths(tmp_path / "run", trained)
    train_model(**paths, settings=settings)
    best = torch.load(paths["checkpoint"], weights_only=True)
    # Snakemake deletes a rerun job's outputs: the finished state writes the best checkpoint again
    paths["checkpoint"].unlink()
    paths["history"].unlink()
    assert train_model(**paths, settings=settings, resume="if_compatible")["resumed_from"] == 2
    assert len(pd.read_csv(paths["history"])) == 2
    again = torch.load(paths["checkpoint"], weights_only=True)
    assert again["best_epoch"] == best["best_epoch"]
    for key, value in best["state_dict"].items():
        assert torch.equal(value, again["state_dict"][key]), key
    # other settings: "if_compatible" starts afresh where resume=True refuses
    changed = dataclasses.replace(settings, learning_rate=1e-3)
    assert train_model(**paths, settings=changed, resume="if_compatible")["resumed_from"] == 0
    # patches rebuilt (here: the index rewritten, as a rebuild does): the old state does not fit them
    copy = {**paths, "index": tmp_path / "index.csv"}
    copy["index"].write_text(Path(trained["index"]).read_text() + "\n")
    with pytest.raises(ValueError, match="training data changed"):
        train_model(**copy, settings=changed, resume=True)
    assert train_model(**copy, settings=changed, resume="if_compatible")["resumed_from"] == 0


def test_state_file_is_weights_only_loadable(trained: dict[str, Path]) -> None:
    state = torch.load(state_path(trained["checkpoint"]), weights_only=True)
    assert state_path(trained["checkpoint"]).name == "model.state.pt"
    assert {"model", "optimizer", "scheduler", "rng", "epoch", "best_score", "history", "seeds"} <= set(state)
    assert isinstance(state["rng"]["torch"], torch.Tensor)
    assert {"torch", "cuda", "numpy", "python"} <= set(state["rng"])


def test_precision_setting() -> None:
    with pytest.raises(ValueError, match="precision='fp16'"):
        TrainSettings.from_mapping({"precision": "fp16"})
    with pytest.raises(ValueError, match="data_on_device"):
        TrainSettings.from_mapping({"data_on_device": "yes"})
    assert TrainSettings().precision == "auto"
    assert autocast_dtype("auto", torch.device("cpu")) is None  # CPU stays fp32
    assert autocast_dtype("auto", torch.device("cuda")) is torch.bfloat16
    assert autocast_dtype("bf16", torch.device("cpu")) is torch.bfloat16
    assert autocast_dtype("fp32", torch.device("cuda")) is None
    with pytest.raises(ValueError, match="precision"):
        autocast_dtype("half", torch.device("cpu"))


@pytest.mark.parametrize("size", [4, 16])
def test_symmetry_grids_match_numpy_rot90_and_flip(size: int) -> None:
    a = np.arange(size * size).reshape(size, size)
    grids = symmetry_grids(size, torch.device("cpu")).numpy()
    for k in range(4):
        for flip in (0, 1):
            expected = np.rot90(a, k)[:, ::-1] if flip else np.rot90(a, k)
            g = grids[2 * k + flip]
            np.testing.assert_array_equal(a[g[0], g[1]], expected)


def test_device_augmentation_keeps_labels_aligned() -> None:
    n, t, p, crop = 5, 2, 32, 16
    code = np.arange(p * p, dtype=np.float32).reshape(p, p)  # each pixel carries its own position
    offset = 10_000 * np.arange(n, dtype=np.float32)[:, None, None, None, None]
    sar = np.broadcast_to(code, (n, t, 2, p, p)) + offset
    optical = sar[:, :, :1].repeat(6, axis=2) * 2
    label = np.broadcast_to(code.astype(np.int64), (n, p, p))
    settings = TrainSettings.from_mapping({"preset": "small", "train_crop": crop, "speckle_looks": 0})
    gen = torch.Generator().manual_seed(0)
    idx = torch.tensor([4, 1, 1, 3, 0, 2, 2, 4] * 4)
    s, o, lab = augment_batch_torch(
        torch.from_numpy(np.ascontiguousarray(sar)),
        torch.from_numpy(np.ascontiguousarray(optical)),
        torch.from_numpy(np.ascontiguousarray(label)),
        idx,
        settings,
        gen,
    )
    assert s.shape == (32, t, 2, crop, crop) and o.shape == (32, t, 6, crop, crop)
    assert lab.shape == (32, crop, crop)
    patch = 10_000 * idx.float()[:, None, None, None, None]
    torch.testing.assert_close(s - patch, (lab.float()[:, None, None]).expand_as(s), rtol=0, atol=0)
    torch.testing.assert_close(o, 2 * s[:, :, :1].expand_as(o), rtol=0, atol=0)
    # each output is one of the 8 symmetries of a contiguous window
    symmetries = set()
    for window in lab.numpy().astype(int):
        y0, x0 = divmod(int(window.min()), p)
        source = code[y0 : y0 + crop, x0 : x0 + crop].astype(int)
        found = [
            2 * k + f
            for k in range(4)
            for f in (0, 1)
            if np.array_equal(window, np.rot90(source, k)[:, ::-1] if f else np.rot90(source, k))
        ]
        assert len(found) == 1
        symmetries.add(found[0])
    assert len(symmetries) > 4
    # speckle: SAR changes, NaN stays NaN, labels untouched
    sar_nan = torch.from_numpy(np.ascontiguousarray(sar)).clone()
    sar_nan[:, :, :, :2, :2] = float("nan")
    speckled = dataclasses.replace(settings, speckle_looks=20.0, train_crop=None, augment=False)
    s2, _, lab2 = augment_batch_torch(
        sar_nan,
        torch.from_numpy(np.ascontiguousarray(optical)),
        torch.from_numpy(label.copy()),
        torch.tensor([0]),
        speckled,
        torch.Generator().manual_seed(1),
    )
    assert torch.isnan(s2[0, :, :, :2, :2]).all() and torch.isfinite(s2[0, :, :, 2:, 2:]).all()
    noise = (s2 - sar_nan[:1])[0, :, :, 2:, 2:]
    assert 0.7 < float(noise.std()) < 1.3 and abs(float(noise.mean())) < 0.2
    np.testing.assert_array_equal(lab2[0].numpy(), label[0])
    # the numpy path draws from the same group of symmetries
    s3, _, lab3 = augment_batch(sar[:1], optical[:1], label[:1], settings, np.random.default_rng(0))
    np.testing.assert_array_equal(s3[0, 0, 0], lab3[0].astype(np.float32))


def test_training_with_data_on_device_is_deterministic(tmp_path: Path, trained: dict[str, Path]) -> None:
    settings = TrainSettings.from_mapping({**TINY, "epochs": 1, "data_on_device": True})
    losses = []
    for name in ("a", "b"):
        paths = _paths(tmp_path / name, trained)
        train_model(**paths, settings=settings)
        losses.append(pd.read_csv(paths["history"])["train_loss"].to_numpy())
    np.testing.assert_array_equal(*losses)
    assert np.isfinite(losses[0]).all()


def test_calibrate_fits_on_val_and_scores_the_test_split(trained: dict[str, Path]) -> None:
    from permafusion.tasks.degradation.calibrate import calibrate

    result = calibrate(checkpoint=trained["checkpoint"], patches=trained["patches"], index=trained["index"])
    assert result["temperature"] > 0 and result["fitted_on"] == "val"
    # the fitted temperature minimises the val NLL, so it cannot be worse than T = 1 there
    assert result["val_nll_after"] <= result["val_nll_before"] + 1e-9
    for when in ("before", "after"):
        table = result["test"][when]
        assert 0 <= table["ece"] <= 1
        assert sum(row["count"] for row in table["bins"]) == result["test_pixels"] > 0


def test_the_store_records_the_months_between_its_steps(tmp_path: Path) -> None:
    from permafusion.tasks.degradation.patch_store import PatchStoreWriter, read_step_months

    PatchStoreWriter(tmp_path / "spread.zarr", count=1, time_steps=12, patch_size=16, step_months=4)
    assert read_step_months(tmp_path / "spread.zarr") == 4
