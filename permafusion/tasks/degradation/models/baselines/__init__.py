"""Baselines of paper §5.1: single-modal U-Nets, early-fusion CNN, CA-Transformer, random forest."""

from permafusion.tasks.degradation.models.baselines.cross_attention import CrossAttentionTransformer
from permafusion.tasks.degradation.models.baselines.early_fusion import EarlyFusionCNN
from permafusion.tasks.degradation.models.baselines.random_forest import (
    FEATURE_NAMES,
    RandomForestBaseline,
    pixel_features,
)
from permafusion.tasks.degradation.models.baselines.single_sensor_unet import OpticalUNet, SarUNet
from permafusion.tasks.degradation.models.baselines.unet import UNet

__all__ = [
    "FEATURE_NAMES",
    "CrossAttentionTransformer",
    "EarlyFusionCNN",
    "OpticalUNet",
    "RandomForestBaseline",
    "SarUNet",
    "UNet",
    "pixel_features",
]
