"""A plain U-Net (Ronneberger et al. 2015) and the time-stacking input helpers shared by the CNN baselines.

The baselines of paper §5.1 have no temporal module: a (B, T, C, H, W) series is stacked into T*C input
channels (time-major: step 0's bands, then step 1's, ...), so a network is built for a fixed T. Stacking
keeps every month's values (a temporal summary such as the mean would discard the seasonal trajectory) and
is the usual way single-date segmentation networks are applied to short image time series.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from permafusion.tasks.degradation.models.permafusionnet import _conv_block


def check_series(
    sar: torch.Tensor,
    optical: torch.Tensor,
    *,
    sar_channels: int,
    optical_channels: int,
    num_steps: int | None,
    size_multiple: int,
) -> None:
    """Check the (B, T, C, H, W) inputs every model of :mod:`permafusion.tasks.degradation.models` takes.

    Args:
        sar: (B, T, sar_channels, H, W).
        optical: (B, T, optical_channels, H, W).
        sar_channels: expected SAR bands.
        optical_channels: expected optical bands.
        num_steps: expected T, or None for any T.
        size_multiple: H and W must be multiples of it.

    Raises:
        ValueError: saying which dimension is wrong and what was expected.
    """
    if sar.ndim != 5 or optical.ndim != 5:
        raise ValueError(
            f"expected sar (B, T, {sar_channels}, H, W) and optical (B, T, {optical_channels}, H, W); "
            f"got shapes {tuple(sar.shape)} and {tuple(optical.shape)}"
        )
    if sar.shape[2] != sar_channels or optical.shape[2] != optical_channels:
        raise ValueError(
            f"expected {sar_channels} SAR and {optical_channels} optical bands, "
            f"got {sar.shape[2]} and {optical.shape[2]}"
        )
    if sar.shape[:2] != optical.shape[:2] or sar.shape[-2:] != optical.shape[-2:]:
        raise ValueError(
            f"SAR and optical must share B, T, H, W; got {tuple(sar.shape)} and {tuple(optical.shape)}"
        )
    if num_steps is not None and sar.shape[1] != num_steps:
        raise ValueError(
            f"this model stacks time into channels and was built for T={num_steps} steps, got "
            f"T={sar.shape[1]}; build it with num_steps={sar.shape[1]}"
        )
    h, w = sar.shape[-2:]
    if h % size_multiple or w % size_multiple:
        raise ValueError(f"H and W must be multiples of {size_multiple}, got {h}x{w}; pad or crop the input")


def stack_time(x: torch.Tensor) -> torch.Tensor:
    """(B, T, C, H, W) -> (B, T*C, H, W), time-major (channel ``t * C + c`` is band c of step t)."""
    return x.reshape(x.shape[0], x.shape[1] * x.shape[2], *x.shape[3:])


class UNet(nn.Module):
    """U-Net for (B, C, H, W) images: the encoder/decoder blocks of PermaFusionNet without fusion or time.

    ``L = len(widths)`` encoder levels [two 3x3 Conv-BN-ReLU, 2x2 max-pool before every level but the
    first], a bottleneck block at H/2^L, then per level a 2x2 stride-2 transposed convolution, concatenation
    with the encoder features of that level and two 3x3 Conv-BN-ReLU; a 1x1 convolution gives the logits.
    H and W must be multiples of ``2 ** L`` (16 for four levels, as PermaFusionNet).
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int = 4,
        *,
        widths: Sequence[int] = (64, 128, 256, 512),
        bottleneck_width: int | None = None,
    ) -> None:
        """Build the network.

        Args:
            in_channels: input channels.
            num_classes: output channels (logits).
            widths: channels of the encoder levels, shallow first.
            bottleneck_width: channels at H/2^L; ``2 * widths[-1]`` when None (the original U-Net).

        Raises:
            ValueError: for empty or non-positive widths or channel counts.
        """
        super().__init__()
        if len(widths) == 0 or min(widths) < 1:
            raise ValueError(f"widths needs positive widths, got {tuple(widths)}")
        if min(in_channels, num_classes) < 1:
            raise ValueError("in_channels and num_classes must be >= 1")
        self.widths = tuple(int(w) for w in widths)
        self.bottleneck_width = int(bottleneck_width or 2 * self.widths[-1])
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.size_multiple = 2 ** len(self.widths)
        self.encoder = nn.ModuleList(
            _conv_block(c_in, c_out)
            for c_in, c_out in zip((in_channels, *self.widths[:-1]), self.widths, strict=True)
        )
        self.pool = nn.MaxPool2d(2)
        self.bottleneck = _conv_block(self.widths[-1], self.bottleneck_width)
        ups, blocks = [], []
        c_in = self.bottleneck_width
        for w in reversed(self.widths):
            ups.append(nn.ConvTranspose2d(c_in, w, kernel_size=2, stride=2))
            blocks.append(_conv_block(2 * w, w))
            c_in = w
        self.up = nn.ModuleList(ups)
        self.decoder = nn.ModuleList(blocks)
        self.head = nn.Conv2d(self.widths[0], num_classes, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, num_classes, H, W) for x (B, in_channels, H, W), H and W multiples of 2**L."""
        skips = []
        for level, block in enumerate(self.encoder):
            x = block(self.pool(x) if level > 0 else x)
            skips.append(x)
        x = self.bottleneck(self.pool(x))
        for up, block, skip in zip(self.up, self.decoder, reversed(skips), strict=True):
            x = block(torch.cat([up(x), skip], dim=1))
        return self.head(x)
