"""Tile prediction: blended sliding windows, probabilities, no seams."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from torch import nn

from permafusion.tasks.degradation.models import PermaFusionNet, model_kwargs_for_preset
from permafusion.tasks.degradation.predict import (
    class_map,
    observed_mask,
    predict_probabilities,
)
from permafusion.tasks.degradation.windows import blend_weights

STATS = {
    "sar": {"mean": [-15.0, -20.0], "std": [3.0, 3.0]},
    "optical": {"mean": [0.1] * 6, "std": [0.05] * 6},
}


class PositionModel(nn.Module):
    """A stand-in whose logits depend only on the position inside the window (the worst case for seams)."""

    size_multiple = 16
    num_classes = 4

    def __init__(self, slope: float) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))
        self.slope = slope

    def forward_with_attention(
        self, sar: torch.Tensor, optical: torch.Tensor
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        b, t, _, h, w = sar.shape
        x = torch.arange(w, dtype=torch.float32) / w
        y = torch.arange(h, dtype=torch.float32)[:, None] / h
        logits = torch.zeros(b, 4, h, w)
        logits[:, 0] = self.slope * (x + y)
        return logits, [torch.full((b, t, 3), 0.25)]

    @staticmethod
    def sar_weight(attention: list[torch.Tensor]) -> torch.Tensor:
        return attention[0].mean(dim=-1)


def tile(t: int = 3, h: int = 45, w: int = 70, value: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    if value is None:
        sar = rng.normal(-15, 3, (t, 2, h, w)).astype(np.float32)
        optical = rng.normal(0.1, 0.05, (t, 6, h, w)).astype(np.float32)
    else:
        sar = np.full((t, 2, h, w), -15.0 + value, dtype=np.float32)
        optical = np.full((t, 6, h, w), 0.1 + value, dtype=np.float32)
    return sar, optical


def max_step(probs: np.ndarray) -> float:
    return float(max(np.abs(np.diff(probs, axis=-1)).max(), np.abs(np.diff(probs, axis=-2)).max()))


def small_model() -> PermaFusionNet:
    torch.manual_seed(0)
    return PermaFusionNet(**model_kwargs_for_preset("small")).eval()


def test_probabilities_on_odd_tile_sum_to_one() -> None:
    sar, optical = tile()
    sar[0, :, :10, :10] = np.nan
    probs, sar_weight = predict_probabilities(
        small_model(), STATS, sar, optical, window=32, overlap=8, return_attention=True
    )
    assert probs.shape == (4, 45, 70) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-5)
    assert sar_weight.shape == (3, 45, 70) and np.all((sar_weight > 0) & (sar_weight < 1))


def test_windows_done_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    sar, optical = tile()
    with caplog.at_level(logging.INFO, logger="test.predict"):
        predict_probabilities(
            small_model(), STATS, sar, optical, window=32, overlap=8, log=logging.getLogger("test.predict")
        )
    # 45 x 70 px on a lattice of 32 px windows stepping 24 px from -4: 3 x 4 windows; the last line says done
    assert caplog.records[-1].getMessage().startswith("windows: 12/12 (100%), ")
    assert caplog.records[-1].getMessage().endswith(", done")


def test_small_tile_and_single_window() -> None:
    sar, optical = tile(h=20, w=9)
    probs = predict_probabilities(small_model(), STATS, sar, optical, window=128, overlap=32)
    assert probs.shape == (4, 20, 9)
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-5)


def test_constant_input_gives_a_seamless_map() -> None:
    model = small_model()
    sar, optical = tile(h=90, w=150, value=0.0)
    probs = predict_probabilities(model, STATS, sar, optical, window=32, overlap=16)
    single = predict_probabilities(
        model, STATS, sar[..., :32, :32], optical[..., :32, :32], window=32, overlap=0
    )
    # Windows see the same constant input, so blending may only smooth their edge effects, never add steps.
    assert max_step(probs) <= max_step(single) + 1e-6


def test_blending_removes_window_seams() -> None:
    sar, optical = tile(h=100, w=130)
    blended = predict_probabilities(PositionModel(4.0), STATS, sar, optical, window=64, overlap=32)
    hard = predict_probabilities(PositionModel(4.0), STATS, sar, optical, window=64, overlap=0)
    np.testing.assert_allclose(blended.sum(axis=0), 1.0, atol=1e-5)
    assert max_step(hard) > 0.3  # abutting windows without blending jump at their edges
    assert max_step(blended) < 0.1


def test_position_free_model_is_reproduced_exactly() -> None:
    sar, optical = tile(h=50, w=77)
    probs = predict_probabilities(PositionModel(0.0), STATS, sar, optical, window=32, overlap=16)
    np.testing.assert_allclose(probs, 0.25, atol=1e-6)


def test_blend_weights_are_positive_and_symmetric() -> None:
    w = blend_weights(64, 16)
    assert w.min() > 0 and w.max() == 1.0
    np.testing.assert_allclose(w, w[::-1])


def test_class_map_sets_nodata_where_unobserved() -> None:
    sar, optical = tile(h=4, w=4)
    sar[..., 0, 0] = np.nan
    optical[..., 0, 0] = np.nan
    valid = observed_mask(sar, optical)
    probs = np.zeros((4, 4, 4), dtype=np.float32)
    probs[2] = 1.0
    codes = class_map(probs, valid)
    assert codes[0, 0] == 0 and np.all(codes.ravel()[1:] == 3)


def test_bad_window_is_rejected() -> None:
    sar, optical = tile()
    with pytest.raises(ValueError, match="multiple of 16"):
        predict_probabilities(small_model(), STATS, sar, optical, window=40)
    with pytest.raises(ValueError, match="overlap"):
        predict_probabilities(small_model(), STATS, sar, optical, window=32, overlap=32)
