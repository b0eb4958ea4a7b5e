"""Models, training and prediction on the device chosen with ``pytest --device`` (CPU by default; CUDA in
benchmarks/gpu_check.sh), in fp32 and bf16. Only in-memory data: these run where zarr and GDAL are absent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from permafusion.core.devices import autocast
from permafusion.learn.loop import RunFiles, fit
from permafusion.learn.losses import CombinedLoss
from permafusion.tasks.degradation.models.registry import MODEL_NAMES, build_model
from permafusion.tasks.degradation.patch_store import PatchArrays
from permafusion.tasks.degradation.predict import load_model, predict_probabilities
from permafusion.tasks.degradation.train import DegradationTask, TrainSettings

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16}


def _patches(n: int, *, seed: int, size: int = 32, steps: int = 4) -> PatchArrays:
    """Patches whose class (one per quadrant) shows in both sensors' levels: there is something to learn."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(1, 5, size=(n, 2, 2)).astype(np.uint8)
    label = np.kron(codes, np.ones((size // 2, size // 2), dtype=np.uint8))
    level = label.astype(np.float32)[:, None, None]
    sar = rng.normal(-15, 1, (n, steps, 2, size, size)).astype(np.float32) + 2 * level
    optical = rng.normal(0.1, 0.02, (n, steps, 6, size, size)).astype(np.float32) + 0.05 * level
    sar[:, 0, :, :4, :4] = np.nan  # a gap: standardisation must fill it
    return PatchArrays(sar=sar, optical=optical, label=label)


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_network_takes_a_training_step(device: str, name: str, precision: str) -> None:
    torch.manual_seed(0)
    extra = {"time_step": 3} if name == "ablation_single_step" else {}
    model = build_model(name, preset="small", num_steps=4, **extra).to(device)
    cs, co = getattr(model, "input_channels", (2, 6))
    sar = torch.randn(2, 4, cs, 32, 32, device=device)
    optical = torch.randn(2, 4, co, 32, 32, device=device)
    label = torch.randint(0, 5, (2, 32, 32), device=device)
    with autocast(torch.device(device), PRECISIONS[precision]):
        logits = model(sar, optical)
    assert logits.shape == (2, 4, 32, 32)
    loss = CombinedLoss()(logits.float(), label)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(bool(torch.isfinite(g).all()) for g in grads)


@pytest.mark.parametrize("precision", PRECISIONS)
def test_the_degradation_task_trains_through_the_loop(device: str, precision: str, tmp_path: Path) -> None:
    settings = TrainSettings.from_mapping(
        {
            "preset": "small",
            "epochs": 2,
            "batch_size": 8,
            "device": device,
            "precision": precision,
            # the on-device augmentation path on CUDA, numpy on the host on CPU
            "data_on_device": device.startswith("cuda"),
        }
    )
    task = DegradationTask(
        settings=settings, train=_patches(24, seed=0), val=_patches(8, seed=1), data_files=[]
    )
    files = RunFiles(checkpoint=tmp_path / "model.pt", history=tmp_path / "history.csv")
    result = fit(task, settings=settings, files=files, identity=settings.to_dict())
    assert result["best_epoch"] in (1, 2) and result["val_metrics"]["mean_f1"] is not None
    model, stats = load_model(files.checkpoint, device=device)
    assert next(model.parameters()).device.type == torch.device(device).type
    payload = torch.load(files.checkpoint, weights_only=True)
    assert payload["card"]["task"] == "degradation" and payload["card"]["time_steps"] == 4


def test_prediction_on_the_device_agrees_with_the_cpu(device: str) -> None:
    torch.manual_seed(0)
    model = build_model("permafusionnet", preset="small")
    stats = {
        "sar": {"mean": [-15.0, -15.0], "std": [3.0, 3.0]},
        "optical": {"mean": [0.1] * 6, "std": [0.05] * 6},
    }
    tile = _patches(1, seed=2, size=80, steps=12)
    sar, optical = tile.sar[0], tile.optical[0]
    on_cpu = predict_probabilities(model.eval(), stats, sar, optical, window=32, overlap=8, precision="fp32")
    model.to(device)
    here = predict_probabilities(model, stats, sar, optical, window=32, overlap=8, precision="fp32")
    np.testing.assert_allclose(here, on_cpu, atol=2e-4)
    half = predict_probabilities(model, stats, sar, optical, window=32, overlap=8, precision="bf16")
    assert isinstance(half, np.ndarray) and half.shape == (4, 80, 80)
    np.testing.assert_allclose(half.sum(axis=0), 1.0, atol=1e-4)
    assert float(np.abs(half - on_cpu).max()) < 0.1  # bf16 rounds, but predicts the same thing
