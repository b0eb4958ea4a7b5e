"""PermaFusionNet, its building blocks, the baselines and a registry of all networks (a class per module)."""

from permafusion.model.baselines import (
    CrossAttentionTransformer,
    EarlyFusionCNN,
    OpticalUNet,
    RandomForestBaseline,
    SarUNet,
    UNet,
)
from permafusion.model.convlstm import ConvLSTM, ConvLSTMCell
from permafusion.model.gate import CrossModalGate
from permafusion.model.permafusionnet import PermaFusionNet
from permafusion.model.presets import MODEL_PRESETS, model_kwargs_for_preset
from permafusion.model.registry import MODEL_NAMES, SIZE_PRESETS, build_model, count_parameters

__all__ = [
    "MODEL_NAMES",
    "MODEL_PRESETS",
    "SIZE_PRESETS",
    "ConvLSTM",
    "ConvLSTMCell",
    "CrossAttentionTransformer",
    "CrossModalGate",
    "EarlyFusionCNN",
    "OpticalUNet",
    "PermaFusionNet",
    "RandomForestBaseline",
    "SarUNet",
    "UNet",
    "build_model",
    "count_parameters",
    "model_kwargs_for_preset",
]
