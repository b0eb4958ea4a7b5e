"""Normalisation statistics and their application."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from permafusion.tasks.degradation.normalize import compute_norm_stats, normalize_inputs, validate_norm_stats


def test_stats_ignore_nan_and_outputs_hold_no_nan() -> None:
    rng = np.random.default_rng(0)
    sar = rng.normal(-15, 3, (4, 3, 2, 8, 8)).astype(np.float32)
    optical = rng.normal(0.2, 0.05, (4, 3, 6, 8, 8)).astype(np.float32)
    sar[:, 0, 0] = np.nan
    optical[:, :, 5] = np.nan  # a band never observed
    optical[1, 2, 0, 3, 3] = np.inf
    stats = compute_norm_stats(sar, optical)
    json.dumps(stats)
    validate_norm_stats(stats)
    assert stats["optical"]["mean"][5] == 0.0 and stats["optical"]["std"][5] == 1.0
    finite = sar[:, :, 1][np.isfinite(sar[:, :, 1])]
    assert stats["sar"]["mean"][1] == pytest.approx(float(finite.mean()), rel=1e-5)

    s, o = normalize_inputs(torch.from_numpy(sar), torch.from_numpy(optical), stats)
    assert torch.isfinite(s).all() and torch.isfinite(o).all()
    assert torch.all(s[:, 0, 0] == 0) and torch.all(o[:, :, 5] == 0)
    band1 = s[:, :, 1]
    assert band1.mean().item() == pytest.approx(0.0, abs=1e-4)
    assert band1.std(unbiased=False).item() == pytest.approx(1.0, abs=1e-3)


def test_bad_stats_are_rejected() -> None:
    with pytest.raises(ValueError, match="normalisation statistics"):
        validate_norm_stats({"sar": {"mean": [0.0], "std": [0.0]}, "optical": {"mean": [], "std": []}})
