"""Every sequence model: output shapes, one optimisation step, and causality where it is claimed."""

from __future__ import annotations

import pytest
import torch

from permafusion.learn.regression import masked_mse
from permafusion.tasks.soiltemp.models import MODEL_NAMES, build_model
from permafusion.tasks.soiltemp.models.tcn import TCNEncoder
from permafusion.tasks.soiltemp.models.transformer import time_encoding

B, L, F, K, BANDS, Z = 4, 21, 6, 3, 4, 5


def _inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return (
        torch.randn(B, L, F, generator=generator),
        torch.randn(B, K, generator=generator),
        torch.tensor([0, 1, 2, 3]),
    )


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_shapes_and_one_optimisation_step(name):
    torch.manual_seed(0)
    model = build_model(name, features=F, statics=K, bands=BANDS, depths=Z, hidden=8, layers=1, dropout=0.0)
    x, statics, band = _inputs()
    out = model(x, statics, band)
    assert out.shape == (B, Z)
    target = torch.randn(B, Z)
    target[0, :2] = float("nan")  # gaps are masked
    optimiser = torch.optim.SGD(model.parameters(), lr=0.05)
    before = masked_mse(out, target)
    before.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(float(g.abs().sum()) > 0 for g in grads if g is not None)
    optimiser.step()
    with torch.no_grad():
        after = masked_mse(model(x, statics, band), target)
    assert float(after) < float(before.detach())


def test_unknown_model_and_bad_input_are_errors():
    with pytest.raises(ValueError, match="unknown soil temperature model"):
        build_model("lstm9", features=F, statics=K, bands=BANDS, depths=Z)
    model = build_model("gru", features=F, statics=K, bands=BANDS, depths=Z, hidden=8)
    with pytest.raises(ValueError, match="batch, length, features"):
        model(torch.randn(B, F), torch.randn(B, K), torch.zeros(B, dtype=torch.long))


@pytest.mark.parametrize("name", ["tcn", "conv1d_lstm", "gru"])
def test_the_target_day_reaches_the_output(name):
    """The last day's output depends on the last day's input (no model can ignore its target day)."""
    torch.manual_seed(0)
    model = build_model(name, features=F, statics=K, bands=BANDS, depths=Z, hidden=8, layers=1).eval()
    x, statics, band = _inputs()
    changed = x.clone()
    changed[:, -1] += 1.0
    assert not torch.allclose(model(x, statics, band), model(changed, statics, band))


def test_tcn_convolutions_are_causal():
    torch.manual_seed(0)
    encoder = TCNEncoder(F, hidden=8, layers=3).eval()
    x = torch.randn(2, L, F)
    full = encoder.blocks(x.transpose(1, 2))
    changed = x.clone()
    changed[:, 10:] += 5.0  # days from 10 on
    partial = encoder.blocks(changed.transpose(1, 2))
    assert torch.allclose(full[:, :, :10], partial[:, :, :10])  # outputs before day 10 unchanged
    assert not torch.allclose(full[:, :, 10:], partial[:, :, 10:])
    assert encoder.receptive_field == 1 + 2 * 2 * 7


def test_time_encoding_is_bounded_and_distinct_per_day():
    encoding = time_encoding(90, 16)
    assert encoding.shape == (90, 16) and encoding.abs().max() <= 1.0
    assert torch.cdist(encoding, encoding).fill_diagonal_(1.0).min() > 0.0
