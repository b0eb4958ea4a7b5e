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


def test_network_inputs_append_a_validity_channel_for_models_that_read_masks() -> None:
    from permafusion.tasks.degradation.normalize import network_inputs

    sar = torch.zeros(1, 2, 2, 4, 4)
    optical = torch.ones(1, 2, 6, 4, 4)
    optical[0, 1, 3] = float("nan")  # one band missing makes the month's optical observation invalid
    stats = {"sar": {"mean": [0.0, 0.0], "std": [1.0, 1.0]}, "optical": {"mean": [1.0] * 6, "std": [1.0] * 6}}
    s, o = network_inputs(True, sar, optical, stats)
    assert s.shape == (1, 2, 3, 4, 4) and o.shape == (1, 2, 7, 4, 4)
    assert torch.equal(s[:, :, 2], torch.ones(1, 2, 4, 4))
    assert torch.equal(o[0, :, 6, 0, 0], torch.tensor([1.0, 0.0]))
    assert not torch.isnan(o).any()
    plain = network_inputs(False, sar, optical, stats)
    assert plain[0].shape == sar.shape and plain[1].shape == optical.shape
