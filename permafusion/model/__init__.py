"""PermaFusionNet and its building blocks (one module per class)."""

from permafusion.model.convlstm import ConvLSTM, ConvLSTMCell
from permafusion.model.gate import CrossModalGate
from permafusion.model.permafusionnet import PermaFusionNet
from permafusion.model.presets import MODEL_PRESETS, model_kwargs_for_preset

__all__ = [
    "MODEL_PRESETS",
    "ConvLSTM",
    "ConvLSTMCell",
    "CrossModalGate",
    "PermaFusionNet",
    "model_kwargs_for_preset",
]
