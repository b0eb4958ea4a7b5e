"""Model choice in training, the random-forest experiment, and the `tables` target of the workflow."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from test_train import synthetic_store

from permafusion.tasks.degradation.experiments import (
    RANDOM_FOREST,
    evaluate_experiment,
    load_random_forest,
    train_random_forest,
)
from permafusion.tasks.degradation.models.permafusionnet import PermaFusionNet
from permafusion.tasks.degradation.models.registry import build_model
from permafusion.tasks.degradation.predict import load_model
from permafusion.tasks.degradation.train import TrainSettings, build_network, train_model

REPO = Path(__file__).resolve().parents[3]
TINY = {"preset": "small", "epochs": 1, "batch_size": 2, "train_crop": 16, "threads": 2, "device": "cpu"}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return synthetic_store(tmp_path_factory.mktemp("store"), n=6, size=32, t=3)


def test_default_network_is_permafusionnet_with_the_settings_arguments() -> None:
    settings = TrainSettings.from_mapping({"preset": "small"})
    assert settings.model == "permafusionnet" and settings.preset == "small"
    torch.manual_seed(3)
    new = build_network(settings, num_steps=12)
    torch.manual_seed(3)
    old = PermaFusionNet(**settings.model_kwargs(), num_steps=12)
    assert type(new) is PermaFusionNet
    for (name, a), (_, b) in zip(new.state_dict().items(), old.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


def test_settings_reject_an_unknown_model() -> None:
    with pytest.raises(ValueError, match="model='resnet'.*permafusionnet"):
        TrainSettings(model="resnet")


def test_baselines_take_the_size_of_the_preset() -> None:
    settings = TrainSettings.from_mapping({"preset": "small", "model": "sar_unet"})
    assert settings.model_kwargs() == {"widths": (8, 16, 32, 64), "bottleneck_width": 128}


@pytest.mark.parametrize("name", ["sar_unet", "ablation_concat"])
def test_model_name_round_trip_through_checkpoint(
    name: str, store: tuple[Path, Path], tmp_path: Path
) -> None:
    patches, index = store
    checkpoint = tmp_path / "checkpoint.pt"
    settings = TrainSettings.from_mapping({**TINY, "model": name})
    train_model(
        patches=patches,
        index=index,
        checkpoint=checkpoint,
        history=tmp_path / "history.csv",
        settings=settings,
        log=logging.getLogger("test"),
    )
    payload = torch.load(checkpoint, weights_only=True)
    assert payload["model_name"] == name and payload["settings"]["model"] == name
    model, _ = load_model(checkpoint)
    expected = type(build_model(name, preset="small", num_steps=3))
    assert type(model) is expected
    assert model.state_dict().keys() == payload["state_dict"].keys()
    if name == "ablation_concat":
        assert model.fusion == "concat"
    metrics = evaluate_experiment(method=name, model_file=checkpoint, patches=patches, index=index, n_boot=20)
    assert metrics["method"] == name and metrics["model"]["ci95"]["overall_accuracy"] is not None
    with pytest.raises(ValueError, match="not 'permafusionnet'"):
        evaluate_experiment(method="permafusionnet", model_file=checkpoint, patches=patches, index=index)


def test_checkpoint_without_model_name_loads_permafusionnet(tmp_path: Path) -> None:
    from permafusion.tasks.degradation.card import model_card

    model = build_model("permafusionnet", preset="small")
    path = tmp_path / "old.pt"
    stats = {"sar": {"mean": [0.0] * 2, "std": [1.0] * 2}, "optical": {"mean": [0.0] * 6, "std": [1.0] * 6}}
    payload = {"state_dict": model.state_dict(), "model_kwargs": model.model_kwargs(), "norm_stats": stats}
    torch.save({**payload, "card": model_card(time_steps=12)}, path)
    loaded, _ = load_model(path)
    assert type(loaded) is PermaFusionNet


def test_checkpoint_of_an_older_model_format_is_refused(tmp_path: Path) -> None:
    model = build_model("permafusionnet", preset="small")
    path = tmp_path / "old.pt"
    stats = {"sar": {"mean": [0.0] * 2, "std": [1.0] * 2}, "optical": {"mean": [0.0] * 6, "std": [1.0] * 6}}
    torch.save(
        {"state_dict": model.state_dict(), "model_kwargs": model.model_kwargs(), "norm_stats": stats}, path
    )
    with pytest.raises(ValueError, match="model format 1.*retrain"):
        load_model(path)


def test_random_forest_experiment(store: tuple[Path, Path], tmp_path: Path) -> None:
    patches, index = store
    out = tmp_path / "rf" / "model.joblib"
    summary = train_random_forest(
        patches=patches, index=index, out=out, settings={"n_estimators": 5, "max_pixels_per_class": 500}
    )
    assert summary["train_patches"] == 4 and summary["val_metrics"]["overall_accuracy"] > 0.25
    assert load_random_forest(out).forest.n_estimators == 5
    metrics = evaluate_experiment(
        method=RANDOM_FOREST, model_file=out, patches=patches, index=index, n_boot=50
    )
    assert metrics["method"] == RANDOM_FOREST and metrics["patches"] == 1
    model = metrics["model"]
    assert {"overall_accuracy", "kappa", "mean_f1", "per_class", "ci95"} <= set(model)
    assert len(metrics["unit_confusion"]) == metrics["bootstrap"]["units"] and metrics["patch_ids"] == [5]
    lo, hi = model["ci95"]["overall_accuracy"]
    assert lo <= model["overall_accuracy"] <= hi
    json.dumps(metrics)
    with pytest.raises(ValueError, match="unknown random-forest settings"):
        train_random_forest(patches=patches, index=index, out=out, settings={"trees": 3})


def test_evaluate_experiment_rejects_an_unknown_method(store: tuple[Path, Path]) -> None:
    with pytest.raises(ValueError, match="unknown method 'svm'"):
        evaluate_experiment(method="svm", model_file=Path("x"), patches=store[0], index=store[1])


def _dry_run(tmp_path: Path, *config: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "-n",
        "--cores",
        "1",
        "tables",
        "--config",
        f"results={tmp_path}",
    ]
    return subprocess.run([*command, *config], cwd=REPO, capture_output=True, text=True, timeout=300)


def test_dry_run_of_tables_for_the_demo(tmp_path: Path) -> None:
    result = _dry_run(tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]
    output = result.stdout + result.stderr
    trained = set(re.findall(r"experiments/(\w+)/checkpoint\.pt", output))
    assert trained == {
        "sar_unet",
        "optical_unet",
        "ef_cnn",
        "ca_transformer",
        *(f"ablation_{a}" for a in ("order_free", "single_step", "concat", "shared_encoder", "no_skips")),
    }
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", output.split("Job stats:")[1].split("\n\n")[0], re.M))
    assert jobs["train_experiment"] == "9" and jobs["train_random_forest"] == "1" and jobs["train"] == "1"
    # every method scored once: the main model by `evaluate`, the ten others by evaluate_experiment; the
    # seed tables score the main model once more, with the temporal diagnostics
    assert jobs["evaluate_experiment"] == "10" and jobs["evaluate"] == "1" and jobs["write_tables"] == "1"
    assert jobs["evaluate_experiment_seed"] == "1" and jobs["write_seed_tables"] == "1"
    assert "train_experiment_seed" not in jobs
    assert "demo/model/checkpoint.pt" in output  # the main model serves as the permafusionnet experiment


def test_dry_run_of_the_experiment_preset_trains_every_method_with_five_seeds(tmp_path: Path) -> None:
    result = _dry_run(tmp_path, "aoi=demo_experiment")
    assert result.returncode == 0, result.stderr[-4000:]
    output = result.stdout + result.stderr
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", output.split("Job stats:")[1].split("\n\n")[0], re.M))
    # 10 networks x 4 further seeds, the forest x 4; every method scored at each of the 5 seeds
    assert jobs["train_experiment_seed"] == "40" and jobs["train_random_forest_seed"] == "4"
    assert jobs["evaluate_experiment_seed"] == "45" and jobs["write_seed_tables"] == "1"


def test_tables_of_an_aoi_without_labels_name_the_labels_setting(tmp_path: Path) -> None:
    result = _dry_run(tmp_path, "aoi=tibet")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "nothing to train or score for the tables" in output
    assert "set `labels` in config/aois/tibet.yaml" in output
