"""ResNet-34 initialisation of the PermaFusionNet encoders (seed 000 §4.2), from a local weights file.

The paper initialises both branches "using ImageNet-pretrained ResNet-34 weights". Our encoder levels have
ResNet-34's stage widths (64, 128, 256, 512) and two 3x3 convolutions each, so level ``l`` takes the two
3x3 convolutions (and batch norms) of the first block of ResNet stage ``l + 1``: ``layer{l+1}.0.conv1``,
``bn1``, ``conv2``, ``bn2``. Level 1's first convolution reads 2 SAR or 6 optical bands, not RGB, and
keeps its random initialisation, as does everything after the encoders. Weights cannot be downloaded
here: the file is a torchvision ``resnet34`` state dict saved with ``torch.save`` by the user.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

RESNET34_WIDTHS: tuple[int, ...] = (64, 128, 256, 512)


def _encoders(model: nn.Module) -> list[nn.ModuleList]:
    names = ("sar_encoder", "optical_encoder", "encoder")
    encoders = [
        getattr(model, name) for name in names if isinstance(getattr(model, name, None), nn.ModuleList)
    ]
    if not encoders:
        raise ValueError(f"{type(model).__name__} has no PermaFusionNet encoder to initialise from ResNet-34")
    return encoders


def init_encoders_from_resnet34(model: nn.Module, weights: str | Path) -> list[str]:
    """Copy ResNet-34's 3x3 convolutions and batch norms into every encoder branch of ``model``.

    Args:
        model: a PermaFusionNet (or ablation) with encoder widths (64, 128, 256, 512).
        weights: a torchvision ResNet-34 state dict (``torch.save(resnet34(...).state_dict(), path)``).

    Returns:
        The names of the initialised parameters and buffers of ``model``.

    Raises:
        FileNotFoundError: no file at ``weights``.
        ValueError: widths other than ResNet-34's, or a file that is not a ResNet-34 state dict.
    """
    path = Path(weights)
    if not path.is_file():
        raise FileNotFoundError(
            f"ResNet-34 weights {path} not found: set `train.encoder_init` to a local file"
        )
    widths = tuple(getattr(model, "encoder_widths", ()))
    if widths != RESNET34_WIDTHS:
        raise ValueError(
            f"ResNet-34 initialisation needs encoder_widths {list(RESNET34_WIDTHS)}, not {list(widths)}"
        )
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    copied: list[str] = []
    with torch.no_grad():
        for encoder in _encoders(model):
            for level, block in enumerate(encoder):
                assert isinstance(block, nn.Sequential)  # _conv_block: Conv, BN, ReLU, Conv, BN, ReLU
                stage = f"layer{level + 1}.0"
                # level 1's first conv reads SAR/optical bands, not RGB: it keeps its random weights
                pairs = (
                    [(3, "conv2"), (4, "bn2")]
                    if level == 0
                    else [(0, "conv1"), (1, "bn1"), (3, "conv2"), (4, "bn2")]
                )
                for index, name in pairs:
                    module = block[index]
                    for key, tensor in module.state_dict().items():
                        source = f"{stage}.{name}.{key}"
                        if source not in state:
                            raise ValueError(
                                f"{path} has no `{source}`: it is not a torchvision ResNet-34 state dict"
                            )
                        if state[source].shape != tensor.shape:
                            found, need = tuple(state[source].shape), tuple(tensor.shape)
                            raise ValueError(f"{path}: `{source}` is {found}, need {need}")
                        tensor.copy_(state[source])
                    copied.extend(f"{index}.{key}" for key in module.state_dict())
    return copied
