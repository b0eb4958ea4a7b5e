"""PermaFusionNet, its building blocks, the baselines and a registry of all networks (a class per module)."""

from permafusion.tasks.degradation.models.baselines import (
    CrossAttentionTransformer,
    EarlyFusionCNN,
    OpticalUNet,
    RandomForestBaseline,
    SarUNet,
    UNet,
)
from permafusion.tasks.degradation.models.convlstm import ConvLSTM, ConvLSTMCell
from permafusion.tasks.degradation.models.gate import CrossModalGate
from permafusion.tasks.degradation.models.permafusionnet import PermaFusionNet
from permafusion.tasks.degradation.models.presets import MODEL_PRESETS, model_kwargs_for_preset
from permafusion.tasks.degradation.models.registry import (
    MODEL_NAMES,
    SIZE_PRESETS,
    build_model,
    count_parameters,
)

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
