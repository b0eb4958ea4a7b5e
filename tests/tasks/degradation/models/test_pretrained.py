import pytest
import torch

from permafusion.tasks.degradation.models import PermaFusionNet
from permafusion.tasks.degradation.models.pretrained import init_encoders_from_resnet34
from permafusion.tasks.degradation.train import TrainSettings, build_network


def _fake_resnet34(path):
    """A state dict with torchvision ResNet-34's names and shapes for the first block of each stage."""
    state = {}
    widths = (64, 128, 256, 512)
    for stage, (c_in, c_out) in enumerate(zip((64, *widths[:-1]), widths, strict=True), start=1):
        prefix = f"layer{stage}.0"
        state[f"{prefix}.conv1.weight"] = torch.randn(c_out, c_in, 3, 3)
        state[f"{prefix}.conv2.weight"] = torch.randn(c_out, c_out, 3, 3)
        for bn in ("bn1", "bn2"):
            state[f"{prefix}.{bn}.weight"] = torch.rand(c_out)
            state[f"{prefix}.{bn}.bias"] = torch.randn(c_out)
            state[f"{prefix}.{bn}.running_mean"] = torch.randn(c_out)
            state[f"{prefix}.{bn}.running_var"] = torch.rand(c_out)
            state[f"{prefix}.{bn}.num_batches_tracked"] = torch.tensor(7)
    state["conv1.weight"] = torch.randn(64, 3, 7, 7)
    torch.save(state, path)
    return state


def test_resnet34_weights_reach_both_branches_except_the_band_specific_first_conv(tmp_path):
    state = _fake_resnet34(tmp_path / "resnet34.pt")
    torch.manual_seed(0)
    model = PermaFusionNet()
    first_conv = model.sar_encoder[0][0].weight.clone()
    copied = init_encoders_from_resnet34(model, tmp_path / "resnet34.pt")
    assert copied
    for encoder in (model.sar_encoder, model.optical_encoder):
        torch.testing.assert_close(encoder[2][0].weight, state["layer3.0.conv1.weight"])
        torch.testing.assert_close(encoder[3][3].weight, state["layer4.0.conv2.weight"])
        torch.testing.assert_close(encoder[1][1].running_var, state["layer2.0.bn1.running_var"])
        torch.testing.assert_close(encoder[0][3].weight, state["layer1.0.conv2.weight"])
    torch.testing.assert_close(model.sar_encoder[0][0].weight, first_conv)  # 2 SAR bands are not RGB


def test_resnet34_init_refuses_other_widths_and_foreign_files(tmp_path):
    _fake_resnet34(tmp_path / "resnet34.pt")
    with pytest.raises(ValueError, match="encoder_widths"):
        init_encoders_from_resnet34(
            PermaFusionNet(encoder_widths=(8, 16, 32, 64), lstm_hidden=(8, 8)), tmp_path / "resnet34.pt"
        )
    torch.save({"fc.weight": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a torchvision ResNet-34"):
        init_encoders_from_resnet34(PermaFusionNet(), tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError, match="train.encoder_init"):
        init_encoders_from_resnet34(PermaFusionNet(), tmp_path / "missing.pt")


def test_training_settings_apply_the_initialisation(tmp_path):
    state = _fake_resnet34(tmp_path / "resnet34.pt")
    settings = TrainSettings.from_mapping({"preset": "paper", "encoder_init": str(tmp_path / "resnet34.pt")})
    model = build_network(settings, num_steps=2)
    torch.testing.assert_close(model.optical_encoder[1][3].weight, state["layer2.0.conv2.weight"])
