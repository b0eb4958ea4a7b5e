"""The model registry: names, presets, parameter counts, uniform forward."""

from __future__ import annotations

import pytest
import torch

from permafusion.tasks.degradation.models import MODEL_NAMES, SIZE_PRESETS, build_model, count_parameters

EXPECTED_NAMES = {
    "permafusionnet",
    "sar_unet",
    "optical_unet",
    "ef_cnn",
    "ca_transformer",
    "ablation_order_free",
    "ablation_single_step",
    "ablation_concat",
    "ablation_shared_encoder",
    "ablation_no_skips",
}


def test_names_and_presets() -> None:
    assert set(MODEL_NAMES) == EXPECTED_NAMES
    assert SIZE_PRESETS == ("paper", "small")


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_at_both_presets(name: str) -> None:
    counts = {}
    for preset, (b, t, size) in {"small": (2, 3, 32), "paper": (1, 2, 16)}.items():
        torch.manual_seed(0)
        extra = {"time_step": t - 1} if name == "ablation_single_step" else {}
        model = build_model(name, preset=preset, num_steps=t, **extra)
        counts[preset] = count_parameters(model)
        assert model.num_classes == 4 and size % model.size_multiple == 0
        with torch.no_grad():
            cs, co = getattr(model, "input_channels", (2, 6))
            logits = model.eval()(torch.randn(b, t, cs, size, size), torch.randn(b, t, co, size, size))
        assert logits.shape == (b, 4, size, size)
    print(f"{name}: paper {counts['paper']:,} / small {counts['small']:,} parameters")
    assert counts["small"] < 1_000_000 < counts["paper"]


def test_parameter_counts_at_twelve_months() -> None:
    counts = {name: count_parameters(build_model(name, preset="paper")) for name in MODEL_NAMES}
    for name, n in counts.items():
        print(f"{name:24s} {n:>12,}")
    # the paper's 28,711,932 + masks, norms, readout, and the stacked skips' 1x1 mixers (12 w x w + BN 2 w)
    mixers = sum(12 * w * w + 2 * w for w in (64, 128, 256, 512))
    assert counts["permafusionnet"] == 28_717_053 + mixers
    assert counts["ablation_order_free"] == counts["ablation_single_step"]
    assert counts["ablation_shared_encoder"] < counts["permafusionnet"]


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_model_kwargs_rebuild_through_the_registry(name: str) -> None:
    model = build_model(name, preset="small", num_steps=3)
    kwargs = model.model_kwargs()
    clone = build_model(name, preset=None, **kwargs)
    clone.load_state_dict(model.state_dict())
    assert clone.model_kwargs() == kwargs


def test_overrides_and_errors() -> None:
    model = build_model("sar_unet", preset="small", num_steps=4, widths=(4, 8))
    assert model.unet.widths == (4, 8) and model.num_steps == 4
    assert build_model("permafusionnet", preset=None).encoder_widths == (64, 128, 256, 512)
    with pytest.raises(ValueError, match="unknown model 'unet'.*permafusionnet.*ca_transformer"):
        build_model("unet")
    with pytest.raises(ValueError, match="unknown size preset 'tiny'"):
        build_model("ef_cnn", preset="tiny")
    with pytest.raises(ValueError, match="fusion='concat'"):
        build_model("ablation_concat", fusion="gate")


def test_count_parameters() -> None:
    linear = torch.nn.Linear(3, 2)
    assert count_parameters(linear) == 8
    linear.bias.requires_grad_(False)
    assert count_parameters(linear, trainable_only=True) == 6
