"""Ablations of paper §5.3 as PermaFusionNet flags: defaults unchanged, each variant trains."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from permafusion.tasks.degradation.models import PermaFusionNet

B, T, H, W = 2, 3, 32, 32
#: The paper's literal form: plain ConvLSTM cell, h_T readout, no validity masks.
PAPER: dict[str, Any] = {"lstm_norm": "none", "temporal_readout": "last", "validity_masks": False}
TINY: dict[str, Any] = {"encoder_widths": (4, 8, 8, 8), "lstm_hidden": (8, 4), "gate_reduction": 2, **PAPER}
ABLATIONS: dict[str, dict[str, Any]] = {
    "single_step": {"temporal": "single"},
    "concat": {"fusion": "concat"},
    "shared_encoder": {"shared_encoder": True},
    "no_skips": {"skips": False},
}
DEFAULT_FLAGS: dict[str, Any] = {
    "temporal": "convlstm",
    "fusion": "gate",
    "shared_encoder": False,
    "skips": True,
}


def _inputs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, T, 2, H, W, generator=g), torch.randn(B, T, 6, H, W, generator=g)


def _reference_forward(model: PermaFusionNet, sar: torch.Tensor, optical: torch.Tensor) -> torch.Tensor:
    """The forward pass of PermaFusionNet as it was before the ablation flags (paper model only)."""
    b, t = sar.shape[:2]
    xs = sar.reshape(b * t, *sar.shape[2:])
    xo = optical.reshape(b * t, *optical.shape[2:])
    skips = []
    fused = xs
    for level, (enc_s, enc_o, gate) in enumerate(
        zip(model.sar_encoder, model.optical_encoder, model.gates, strict=True)
    ):
        if level > 0:
            xs, xo = model.pool(xs), model.pool(xo)
        xs, xo = enc_s(xs), enc_o(xo)
        fused, _ = gate(xs, xo)
        skip = fused.reshape(b, t, *fused.shape[1:])
        skips.append(skip.mean(dim=1) if model.skip_source == "mean" else skip[:, -1])
    deep = model.pool(fused)
    _, states = model.temporal(deep.reshape(b, t, *deep.shape[1:]))
    x = states[-1][0]
    for up, block, skip in zip(model.up, model.decoder, reversed(skips), strict=True):
        x = block(torch.cat([up(x), skip], dim=1))
    return model.head(x)


@pytest.mark.parametrize("skip_source", ["mean", "last"])
def test_paper_form_is_the_reference_forward(skip_source: str) -> None:
    torch.manual_seed(0)
    plain = PermaFusionNet(**TINY, skip_source=skip_source)
    torch.manual_seed(0)
    explicit = PermaFusionNet(**TINY, skip_source=skip_source, **DEFAULT_FLAGS)
    assert list(plain.state_dict()) == list(explicit.state_dict())
    assert {name.split(".")[0] for name in plain.state_dict()} == {
        "sar_encoder",
        "optical_encoder",
        "gates",
        "temporal",
        "up",
        "decoder",
        "head",
    }
    assert all(
        torch.equal(a, b)
        for a, b in zip(plain.state_dict().values(), explicit.state_dict().values(), strict=True)
    )
    sar, optical = _inputs()
    for train in (False, True):  # eval first: a training forward updates the running statistics
        plain.train(train)
        explicit.train(train)
        with torch.no_grad():
            out = plain(sar, optical)
            assert torch.equal(out, explicit(sar, optical))
            assert torch.equal(out, _reference_forward(plain, sar, optical))


@pytest.mark.parametrize("name", sorted(ABLATIONS))
def test_ablation_shapes_gradients_and_training(name: str) -> None:
    torch.manual_seed(0)
    model = PermaFusionNet(**TINY, **ABLATIONS[name])
    sar, optical = _inputs()
    logits = model(sar, optical)
    assert logits.shape == (B, 4, H, W)
    logits.square().mean().backward()
    assert [n for n, p in model.named_parameters() if p.grad is None] == []  # no unused parameters
    if model.shared_encoder:
        branches: list[nn.Module] = [model.sar_projection, model.optical_projection, model.encoder[0][0]]
    else:
        branches = [model.sar_encoder[0][0], model.optical_encoder[0][0]]
    for module in branches:
        assert module.weight.grad is not None and module.weight.grad.abs().sum() > 0

    target = torch.randint(0, 4, (B, H, W), generator=torch.Generator().manual_seed(1))
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(5):
        optimiser.zero_grad()
        loss = nn.functional.cross_entropy(model(sar, optical), target)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_ablations_change_the_architecture_as_described() -> None:
    full = PermaFusionNet(**TINY)
    n_full = sum(p.numel() for p in full.parameters())
    sizes = {}
    for name, flags in ABLATIONS.items():
        model = PermaFusionNet(**TINY, **flags)
        sizes[name] = sum(p.numel() for p in model.parameters())
        rebuilt = PermaFusionNet(**model.model_kwargs())
        rebuilt.load_state_dict(model.state_dict())
        assert {k: rebuilt.model_kwargs()[k] for k in flags} == flags
    print(f"parameters: full {n_full:,}, " + ", ".join(f"{k} {v:,}" for k, v in sizes.items()))
    assert sizes["shared_encoder"] < n_full and sizes["no_skips"] < n_full and sizes["concat"] != n_full
    assert not hasattr(PermaFusionNet(**TINY, fusion="concat"), "gates")
    assert not hasattr(PermaFusionNet(**TINY, shared_encoder=True), "sar_encoder")


def test_attention_outputs_of_the_ablations() -> None:
    sar, optical = _inputs()
    _, attention = PermaFusionNet(**TINY, skips=False).forward_with_attention(sar, optical)
    assert [tuple(a.shape) for a in attention] == [(B, T, 8)]  # deepest level only
    concat = PermaFusionNet(**TINY, fusion="concat")
    logits, attention = concat.forward_with_attention(sar, optical)
    assert logits.shape == (B, 4, H, W) and attention == []
    with pytest.raises(ValueError, match="fusion='concat'"):
        concat.sar_weight(attention)


def test_single_step_ablation_ignores_the_order_of_months() -> None:
    torch.manual_seed(0)
    single = PermaFusionNet(**TINY, temporal="single")
    full = PermaFusionNet(**TINY)
    sar, optical = _inputs()
    order = torch.tensor([2, 0, 1])
    with torch.no_grad():
        change = [(m(sar, optical) - m(sar[:, order], optical[:, order])).abs().max() for m in (single, full)]
    assert change[0] < 1e-5 < 1e-4 < change[1]


def test_bad_flags_are_rejected() -> None:
    with pytest.raises(ValueError, match="temporal"):
        PermaFusionNet(temporal="gru")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="fusion"):
        PermaFusionNet(fusion="sum")  # type: ignore[arg-type]
