"""Baselines of paper §5.1: single-modal U-Nets, early-fusion CNN, CA-Transformer, random forest."""

from permafusion.model.baselines.cross_attention import CrossAttentionTransformer
from permafusion.model.baselines.early_fusion import EarlyFusionCNN
from permafusion.model.baselines.random_forest import FEATURE_NAMES, RandomForestBaseline, pixel_features
from permafusion.model.baselines.single_sensor_unet import OpticalUNet, SarUNet
from permafusion.model.baselines.unet import UNet

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
