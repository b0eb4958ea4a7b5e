"""Early-fusion CNN baseline (paper §5.1, "EF-CNN" [13])."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from permafusion.model.baselines.unet import UNet, check_series, stack_time


class EarlyFusionCNN(nn.Module):
    """One U-Net on SAR, optical and time stacked into channels at the input.

    Each step's ``sar_channels + optical_channels`` bands are concatenated (SAR first) and the T steps
    stacked time-major into ``T * (sar_channels + optical_channels)`` channels, so modality and time are
    fused by the first convolution; the network is built for a fixed ``num_steps``. Unlike PermaFusionNet
    there is no per-modality encoder, no adaptive weighting and no temporal module.
    """

    def __init__(
        self,
        sar_channels: int = 2,
        optical_channels: int = 6,
        num_classes: int = 4,
        *,
        num_steps: int = 12,
        widths: Sequence[int] = (64, 128, 256, 512),
        bottleneck_width: int | None = None,
    ) -> None:
        """Build the network.

        Args:
            sar_channels: SAR bands per time step (VV, VH).
            optical_channels: optical bands per time step (B02 B03 B04 B08 B11 B12).
            num_classes: output classes.
            num_steps: T, the time steps stacked into channels.
            widths: U-Net encoder widths, shallow first (H, W multiples of ``2 ** len(widths)``).
            bottleneck_width: U-Net bottleneck width (``2 * widths[-1]`` when None).
        """
        super().__init__()
        if num_steps < 1:
            raise ValueError(f"num_steps must be >= 1, got {num_steps}")
        self.sar_channels = sar_channels
        self.optical_channels = optical_channels
        self.num_classes = num_classes
        self.num_steps = num_steps
        self.unet = UNet(
            num_steps * (sar_channels + optical_channels),
            num_classes,
            widths=widths,
            bottleneck_width=bottleneck_width,
        )
        self.size_multiple = self.unet.size_multiple

    def forward(self, sar: torch.Tensor, optical: torch.Tensor) -> torch.Tensor:
        """Logits (B, num_classes, H, W) for sar (B, T, 2, H, W) and optical (B, T, 6, H, W)."""
        check_series(
            sar,
            optical,
            sar_channels=self.sar_channels,
            optical_channels=self.optical_channels,
            num_steps=self.num_steps,
            size_multiple=self.size_multiple,
        )
        return self.unet(stack_time(torch.cat([sar, optical], dim=2)))

    def model_kwargs(self) -> dict[str, object]:
        """Plain constructor arguments (JSON-ready) that rebuild this architecture."""
        return {
            "sar_channels": self.sar_channels,
            "optical_channels": self.optical_channels,
            "num_classes": self.num_classes,
            "num_steps": self.num_steps,
            "widths": list(self.unet.widths),
            "bottleneck_width": self.unet.bottleneck_width,
        }
