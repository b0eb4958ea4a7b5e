"""The temporal diagnostics on patches: a permutation that moves every month, and the deltas."""

from __future__ import annotations

import numpy as np
import torch

from permafusion.tasks.degradation.diagnostics import month_permutation, temporal_diagnostics
from permafusion.tasks.degradation.models.registry import build_model
from permafusion.tasks.degradation.patch_store import PatchArrays

TINY = {"encoder_widths": (4, 8), "lstm_hidden": (8,), "gate_reduction": 2}
STATS = {"sar": {"mean": [0.0, 0.0], "std": [1.0, 1.0]}, "optical": {"mean": [0.0] * 6, "std": [1.0] * 6}}


def _patches() -> PatchArrays:
    rng = np.random.default_rng(0)
    optical = rng.normal(size=(3, 5, 6, 16, 16)).astype(np.float32)
    optical[:, 0] = np.nan  # an empty month
    return PatchArrays(
        sar=rng.normal(size=(3, 5, 2, 16, 16)).astype(np.float32),
        optical=optical,
        label=rng.integers(1, 5, size=(3, 16, 16)).astype(np.uint8),
    )


def test_month_permutation_moves_every_month() -> None:
    for steps in (2, 5, 12):
        order = month_permutation(steps, seed=3)
        assert sorted(order) == list(range(steps)) and not (order == np.arange(steps)).any()


def test_order_free_model_is_unchanged_by_permutation_and_the_full_model_reports_both() -> None:
    data = _patches()
    torch.manual_seed(0)
    free = build_model("ablation_order_free", preset=None, **TINY).eval()
    result = temporal_diagnostics(free, STATS, data)
    assert abs(result["permuted_delta"]) < 1e-9
    assert result["zeroed_mean_f1"] is not None
    torch.manual_seed(0)
    full = build_model("permafusionnet", preset=None, num_steps=5, **TINY).eval()
    result = temporal_diagnostics(full, STATS, data)
    assert set(result) >= {"mean_f1", "permuted_delta", "zeroed_delta", "permutation"}
    assert not full.temporal_zeroed  # the switch is reset after the diagnostic
