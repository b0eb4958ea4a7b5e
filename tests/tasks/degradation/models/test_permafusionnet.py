"""PermaFusionNet shapes, gradients, presets and error messages."""

from __future__ import annotations

import pytest
import torch

from permafusion.tasks.degradation.models import MODEL_PRESETS, PermaFusionNet, model_kwargs_for_preset


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("preset", sorted(MODEL_PRESETS))
def test_output_shape_per_preset(preset: str) -> None:
    torch.manual_seed(0)
    model = PermaFusionNet(**model_kwargs_for_preset(preset))
    print(f"PermaFusionNet[{preset}]: {count_parameters(model):,} parameters")
    sar, optical = torch.randn(1, 2, 3, 32, 32), torch.randn(1, 2, 7, 32, 32)  # bands + validity mask
    logits, attention = model.forward_with_attention(sar, optical)
    assert logits.shape == (1, 4, 32, 32)
    widths = MODEL_PRESETS[preset]["encoder_widths"]
    assert [tuple(a.shape) for a in attention] == [(1, 2, w) for w in widths]
    assert all(bool(((a > 0) & (a < 1)).all()) for a in attention)
    assert model.sar_weight(attention).shape == (1, 2)


def test_parameter_counts_of_presets() -> None:
    literal = {"lstm_norm": "none", "temporal_readout": "last", "validity_masks": False}
    paper = count_parameters(PermaFusionNet(**model_kwargs_for_preset("paper"), **literal))
    default = count_parameters(PermaFusionNet(**model_kwargs_for_preset("paper")))
    small = count_parameters(PermaFusionNet(**model_kwargs_for_preset("small")))
    print(f"parameters: paper's literal form {paper:,}, paper widths {default:,}, small {small:,}")
    assert paper == 28_711_932
    # masks: one input channel per branch (64 * 9 weights each); layer norms: 2 * 5 * 128 + 2 * 5 * 256;
    # the attention readout: 128 + 1
    assert default == paper + 2 * 64 * 9 + 10 * (128 + 256) + 129
    assert small < 1_000_000


@pytest.mark.parametrize("skip_source", ["stack", "mean", "last"])
def test_gradients_reach_both_encoders(skip_source: str) -> None:
    torch.manual_seed(0)
    model = PermaFusionNet(
        encoder_widths=(4, 8, 8, 8),
        lstm_hidden=(8, 4),
        gate_reduction=2,
        skip_source=skip_source,  # type: ignore[arg-type]
        num_steps=3,
    )
    logits = model(torch.randn(2, 3, 3, 16, 48), torch.randn(2, 3, 7, 16, 48))
    assert logits.shape == (2, 4, 16, 48)
    logits.square().mean().backward()
    for encoder in (model.sar_encoder, model.optical_encoder):
        grad = encoder[0][0].weight.grad
        assert grad is not None and grad.abs().sum() > 0
    assert model.temporal.cells[0].conv.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("skip_source", ["stack", "last"])
def test_model_kwargs_rebuild_the_model(skip_source: str) -> None:
    model = PermaFusionNet(**model_kwargs_for_preset("small"), skip_source=skip_source, num_steps=5)  # type: ignore[arg-type]
    clone = PermaFusionNet(**model.model_kwargs())  # type: ignore[arg-type]
    clone.load_state_dict(model.state_dict())
    assert clone.skip_source == skip_source


@pytest.mark.parametrize(("skip_source", "order_matters"), [("stack", True), ("mean", False)])
def test_stacked_skips_carry_the_order_of_the_months(skip_source: str, order_matters: bool) -> None:
    """With the temporal path zeroed, the decoder sees the months only through the skips: stacked skips
    change with the order of the months, mean skips do not."""
    torch.manual_seed(0)
    model = PermaFusionNet(
        encoder_widths=(4, 8), lstm_hidden=(8,), gate_reduction=2, skip_source=skip_source, num_steps=4
    )  # type: ignore[arg-type]
    model.eval()
    model.temporal_zeroed = True
    sar, optical = torch.randn(1, 4, 3, 16, 16), torch.randn(1, 4, 7, 16, 16)
    order = torch.tensor([2, 0, 3, 1])
    with torch.no_grad():
        changed = (model(sar, optical) - model(sar[:, order], optical[:, order])).abs().max()
    assert bool(changed > 1e-3) == order_matters


def test_stacked_skips_need_their_number_of_steps() -> None:
    with pytest.raises(ValueError, match="num_steps"):
        PermaFusionNet(**model_kwargs_for_preset("small"), skip_source="stack")
    model = PermaFusionNet(**model_kwargs_for_preset("small"), skip_source="stack", num_steps=12)
    with pytest.raises(ValueError, match="mixes 12 time steps.*got 6"):
        model(torch.zeros(1, 6, 3, 32, 32), torch.zeros(1, 6, 7, 32, 32))


def test_errors_say_what_is_wrong() -> None:
    model = PermaFusionNet(**model_kwargs_for_preset("small"))
    with pytest.raises(ValueError, match="multiples of 16"):
        model(torch.zeros(1, 2, 3, 24, 32), torch.zeros(1, 2, 7, 24, 32))
    with pytest.raises(ValueError, match="7 optical channels .bands . validity mask"):
        model(torch.zeros(1, 2, 2, 32, 32), torch.zeros(1, 2, 6, 32, 32))
    with pytest.raises(ValueError, match="share B, T"):
        model(torch.zeros(1, 2, 3, 32, 32), torch.zeros(1, 3, 7, 32, 32))
    with pytest.raises(ValueError, match="skip_source"):
        PermaFusionNet(skip_source="first")  # type: ignore[arg-type]
