"""Baselines of paper §5.1: shapes, gradients, one optimisation step, input checks."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from permafusion.tasks.degradation.models import (
    CrossAttentionTransformer,
    EarlyFusionCNN,
    OpticalUNet,
    SarUNet,
    UNet,
)
from permafusion.tasks.degradation.models.registry import count_parameters

B, T, H, W = 2, 3, 32, 32
UNET_SMALL: dict[str, Any] = {"widths": (4, 8, 8, 16), "bottleneck_width": 16}
CA_SMALL: dict[str, Any] = {"embed_dim": 16, "depth": 1, "num_heads": 2, "decoder_width": 8}

BASELINES: list[tuple[type[nn.Module], dict[str, Any]]] = [
    (SarUNet, UNET_SMALL),
    (OpticalUNet, UNET_SMALL),
    (EarlyFusionCNN, UNET_SMALL),
    (CrossAttentionTransformer, CA_SMALL),
]
IDS = [cls.__name__ for cls, _ in BASELINES]


def _inputs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, T, 2, H, W, generator=g), torch.randn(B, T, 6, H, W, generator=g)


@pytest.mark.parametrize(("cls", "kwargs"), BASELINES, ids=IDS)
def test_shape_and_gradients_reach_every_parameter(cls: type[nn.Module], kwargs: dict[str, Any]) -> None:
    torch.manual_seed(0)
    model = cls(num_steps=T, **kwargs)
    print(f"{cls.__name__}: {count_parameters(model):,} parameters")
    logits = model(*_inputs())
    assert logits.shape == (B, 4, H, W)
    logits.square().mean().backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None]
    assert missing == []
    for name, child in model.named_children():
        grads = [p.grad.abs().sum() for p in child.parameters() if p.grad is not None]
        assert not grads or sum(grads) > 0, f"no gradient reaches {name}"


def test_early_fusion_and_transformer_learn_from_both_modalities() -> None:
    sar, optical = _inputs()
    torch.manual_seed(0)
    ef = EarlyFusionCNN(num_steps=T, **UNET_SMALL)
    ef(sar, optical).square().mean().backward()
    first = ef.unet.encoder[0][0].weight.grad  # (C_out, T * 8, 3, 3), time-major [2 SAR, 6 optical] per step
    assert first is not None
    per_input = first.abs().sum(dim=(0, 2, 3)).reshape(T, 8)
    assert bool((per_input[:, :2] > 0).all()) and bool((per_input[:, 2:] > 0).all())

    torch.manual_seed(0)
    ca = CrossAttentionTransformer(num_steps=T, **CA_SMALL)
    ca(sar, optical).square().mean().backward()
    for embed in (ca.sar_embed, ca.optical_embed):
        assert embed.weight.grad is not None and embed.weight.grad.abs().sum() > 0


@pytest.mark.parametrize(("cls", "used"), [(SarUNet, "sar"), (OpticalUNet, "optical")])
def test_single_modal_unets_ignore_the_other_modality(cls: type[nn.Module], used: str) -> None:
    torch.manual_seed(0)
    model = cls(num_steps=T, **UNET_SMALL).eval()
    sar, optical = _inputs()
    with torch.no_grad():
        reference = model(sar, optical)
        other = (
            model(sar, torch.randn_like(optical)) if used == "sar" else model(torch.randn_like(sar), optical)
        )
        changed = (
            model(torch.randn_like(sar), optical) if used == "sar" else model(sar, torch.randn_like(optical))
        )
    assert torch.equal(reference, other)
    assert not torch.allclose(reference, changed)


@pytest.mark.parametrize(("cls", "kwargs"), BASELINES, ids=IDS)
def test_a_few_optimisation_steps_reduce_the_loss(cls: type[nn.Module], kwargs: dict[str, Any]) -> None:
    torch.manual_seed(0)
    model = cls(num_steps=T, **kwargs)
    sar, optical = _inputs()
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


@pytest.mark.parametrize(("cls", "kwargs"), BASELINES, ids=IDS)
def test_model_kwargs_rebuild_the_model(cls: type[nn.Module], kwargs: dict[str, Any]) -> None:
    model = cls(num_steps=T, **kwargs)
    clone = cls(**model.model_kwargs())  # type: ignore[operator]
    clone.load_state_dict(model.state_dict())
    assert clone.model_kwargs() == model.model_kwargs()  # type: ignore[operator]


@pytest.mark.parametrize(("cls", "kwargs"), BASELINES, ids=IDS)
def test_errors_say_what_is_wrong(cls: type[nn.Module], kwargs: dict[str, Any]) -> None:
    model = cls(num_steps=T, **kwargs)
    sar, optical = _inputs()
    with pytest.raises(ValueError, match="num_steps=2"):
        model(sar[:, :2], optical[:, :2])
    with pytest.raises(ValueError, match="multiples of"):
        model(sar[..., :20, :], optical[..., :20, :])
    with pytest.raises(ValueError, match="6 optical bands"):
        model(sar, optical[:, :, :4])
    with pytest.raises(ValueError, match="share B, T"):
        model(sar[:1], optical)


def test_unet_alone_and_its_checks() -> None:
    unet = UNet(5, 3, widths=(4, 8))
    assert unet.size_multiple == 4 and unet.bottleneck_width == 16
    assert unet(torch.randn(1, 5, 12, 20)).shape == (1, 3, 12, 20)
    with pytest.raises(ValueError, match="positive widths"):
        UNet(5, widths=())


def test_transformer_checks_its_sizes() -> None:
    with pytest.raises(ValueError, match="power of two"):
        CrossAttentionTransformer(patch_size=6)
    with pytest.raises(ValueError, match="multiple of 4"):
        CrossAttentionTransformer(embed_dim=30, num_heads=3)
    model = CrossAttentionTransformer(num_steps=T, patch_size=4, **CA_SMALL)
    assert model(*[x[..., :16, :24] for x in _inputs()]).shape == (B, 4, 16, 24)
