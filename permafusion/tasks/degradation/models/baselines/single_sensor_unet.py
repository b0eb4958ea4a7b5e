"""U-Nets on time-stacked inputs: the single-modal baselines of paper §5.1 ("Single-modal SAR U-Net",
"Single-modal Optical U-Net"), and the base of the early-fusion CNN."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Literal

import torch
from torch import nn

from permafusion.tasks.degradation.models.baselines.unet import UNet, check_series, stack_time


class TimeStackedUNet(nn.Module):
    """U-Net on one sensor's series, or on both concatenated (``sensor = "both"``, SAR first).

    The other sensor's input, when one is used, is accepted and ignored.

    Time is handled by stacking: the T monthly maps become ``T * channels`` input channels (time-major), so
    the network is built for a fixed ``num_steps`` and learns month-specific filters in its first layer;
    there is no recurrence and no weight sharing across months. Optical months without an observation
    arrive as 0 (the band mean, after normalisation). Subclasses fix ``sensor``.
    """

    sensor: ClassVar[Literal["sar", "optical", "both"]]

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
            sar_channels: SAR bands per time step (VV, VH); only checked by the optical U-Net.
            optical_channels: optical bands per time step (B02 B03 B04 B08 B11 B12); only checked by the
                SAR U-Net.
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
        channels = {"sar": sar_channels, "optical": optical_channels}.get(
            self.sensor, sar_channels + optical_channels
        )
        self.unet = UNet(num_steps * channels, num_classes, widths=widths, bottleneck_width=bottleneck_width)
        self.size_multiple = self.unet.size_multiple

    def forward(self, sar: torch.Tensor, optical: torch.Tensor) -> torch.Tensor:
        """Logits (B, num_classes, H, W) from sar (B, T, 2, H, W) and/or optical (B, T, 6, H, W)."""
        check_series(
            sar,
            optical,
            sar_channels=self.sar_channels,
            optical_channels=self.optical_channels,
            num_steps=self.num_steps,
            size_multiple=self.size_multiple,
        )
        inputs = {"sar": sar, "optical": optical}.get(self.sensor)
        return self.unet(stack_time(torch.cat([sar, optical], dim=2) if inputs is None else inputs))

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


class SarUNet(TimeStackedUNet):
    """U-Net on the Sentinel-1 series only."""

    sensor = "sar"


class OpticalUNet(TimeStackedUNet):
    """U-Net on the Sentinel-2 series only."""

    sensor = "optical"
