"""The temporal path is used: on a toy whose classes differ only in the order of the months, the full
PermaFusionNet learns what the order-free ablation cannot, and the permutation diagnostic sees it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from permafusion.tasks.degradation.diagnostics import month_permutation, zeroed_temporal
from permafusion.tasks.degradation.models.registry import build_model
from permafusion.tasks.degradation.normalize import network_inputs

STEPS, SIZE = 6, 16
STEPS_TRAIN = 40
TOY = {"encoder_widths": (8, 16), "lstm_hidden": (16,), "gate_reduction": 2, "num_classes": 2}
STATS = {"sar": {"mean": [0.0, 0.0], "std": [1.0, 1.0]}, "optical": {"mean": [0.0] * 6, "std": [1.0] * 6}}


def order_only_toy(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Patches of one class each: SAR band 0 runs through the same values, rising (class 0) or falling
    (class 1); per pixel an offset and noise; every other band noise. Both classes have the same per-pixel
    distribution of values, so any order-free model is at chance. A quarter of the optical months are
    missing (NaN), as in the polar night."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, size=n)
    ramp = np.linspace(-1.5, 1.5, STEPS, dtype=np.float32)
    sar = rng.normal(0, 0.3, size=(n, STEPS, 2, SIZE, SIZE)).astype(np.float32)
    optical = rng.normal(0, 1.0, size=(n, STEPS, 6, SIZE, SIZE)).astype(np.float32)
    offset = rng.normal(0, 0.5, size=(n, 1, SIZE, SIZE)).astype(np.float32)
    for i in range(n):
        curve = ramp if label[i] == 0 else ramp[::-1]
        sar[i, :, 0] += curve[:, None, None] + offset[i]
    optical[:, rng.random(STEPS) < 0.25] = np.nan
    masks_label = torch.from_numpy(np.broadcast_to(label[:, None, None], (n, SIZE, SIZE)).copy())
    return torch.from_numpy(sar), torch.from_numpy(optical), masks_label


def _train(model: torch.nn.Module, sar: torch.Tensor, optical: torch.Tensor, label: torch.Tensor) -> None:
    torch.manual_seed(0)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    s, o = network_inputs(model, sar, optical, STATS)
    model.train()
    for _ in range(STEPS_TRAIN):
        idx = torch.randint(0, s.shape[0], (8,))
        loss = torch.nn.functional.cross_entropy(model(s[idx], o[idx]), label[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()


@torch.no_grad()
def _accuracy(model: torch.nn.Module, sar: torch.Tensor, optical: torch.Tensor, label: torch.Tensor) -> float:
    model.eval()
    s, o = network_inputs(model, sar, optical, STATS)
    return float((model(s, o).argmax(dim=1) == label).float().mean())


@pytest.fixture(scope="module")
def trained() -> dict[str, torch.nn.Module]:
    sar, optical, label = order_only_toy(64, seed=1)
    variants = {
        "permafusionnet": ("permafusionnet", {}),  # stacked skips: the order reaches the decoder directly
        "mean_skips": ("permafusionnet", {"skip_source": "mean"}),  # the order only via the recurrence
        "ablation_order_free": ("ablation_order_free", {}),
    }
    models = {}
    for key, (name, extra) in variants.items():
        torch.manual_seed(0)
        model = build_model(name, preset=None, num_steps=STEPS, **TOY, **extra)
        _train(model, sar, optical, label)
        models[key] = model
    return models


@pytest.mark.parametrize("full", ["permafusionnet", "mean_skips"])
def test_full_model_learns_order_the_order_free_ablation_cannot(
    trained: dict[str, torch.nn.Module], full: str
) -> None:
    sar, optical, label = order_only_toy(32, seed=2)
    ordered = _accuracy(trained[full], sar, optical, label)
    free = _accuracy(trained["ablation_order_free"], sar, optical, label)
    print(f"order-only toy, test accuracy: {full} {ordered:.2f}, order-free ablation {free:.2f}")
    assert ordered > 0.9
    assert free < 0.7  # chance is 0.5: the classes share their values
    assert ordered - free > 0.25


@pytest.mark.parametrize(("full", "recurrence_needed"), [("permafusionnet", False), ("mean_skips", True)])
def test_permuting_the_months_costs_the_full_model(
    trained: dict[str, torch.nn.Module], full: str, recurrence_needed: bool
) -> None:
    """Both forms read the order; with mean skips it can only come through the recurrence, so zeroing the
    recurrence costs too, while stacked skips carry the order past it."""
    sar, optical, label = order_only_toy(32, seed=3)
    model = trained[full]
    base = _accuracy(model, sar, optical, label)
    order = torch.from_numpy(month_permutation(STEPS, seed=0))
    permuted = _accuracy(model, sar[:, order], optical[:, order], label)
    with zeroed_temporal(model):
        zeroed = _accuracy(model, sar, optical, label)
    print(f"{full}: accuracy {base:.2f}, months permuted {permuted:.2f}, recurrence zeroed {zeroed:.2f}")
    assert base - permuted > 0.2
    if recurrence_needed:
        assert base - zeroed > 0.2


def test_order_free_ablation_ignores_the_order(trained: dict[str, torch.nn.Module]) -> None:
    sar, optical, _ = order_only_toy(8, seed=4)
    model = trained["ablation_order_free"].eval()
    order = torch.from_numpy(month_permutation(STEPS, seed=0))
    with torch.no_grad():
        a = model(*network_inputs(model, sar, optical, STATS))
        b = model(*network_inputs(model, sar[:, order], optical[:, order], STATS))
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_single_step_model_reads_one_month_only() -> None:
    sar, optical, _ = order_only_toy(2, seed=5)
    torch.manual_seed(0)
    model = build_model("ablation_single_step", preset=None, time_step=2, **TOY).eval()
    changed = sar.clone()
    changed[:, [0, 1, 3, 4, 5]] += 5.0
    with torch.no_grad():
        a = model(*network_inputs(model, sar, optical, STATS))
        b = model(*network_inputs(model, changed, optical, STATS))
        changed[:, 2] += 5.0
        c = model(*network_inputs(model, changed, optical, STATS))
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)
    with pytest.raises(ValueError, match="time_step"):
        build_model("ablation_single_step", preset=None, time_step=6, **TOY)(
            *network_inputs(True, sar, optical, STATS)
        )
