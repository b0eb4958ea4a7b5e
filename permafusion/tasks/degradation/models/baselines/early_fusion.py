"""Early-fusion CNN baseline (paper §5.1, "EF-CNN" [13])."""

from __future__ import annotations

from permafusion.tasks.degradation.models.baselines.single_sensor_unet import TimeStackedUNet


class EarlyFusionCNN(TimeStackedUNet):
    """One U-Net on SAR, optical and time stacked into channels at the input.

    Each step's ``sar_channels + optical_channels`` bands are concatenated (SAR first) and the T steps
    stacked time-major into ``T * (sar_channels + optical_channels)`` channels, so modality and time are
    fused by the first convolution; the network is built for a fixed ``num_steps``. Unlike PermaFusionNet
    there is no per-modality encoder, no adaptive weighting and no temporal module.
    """

    sensor = "both"
