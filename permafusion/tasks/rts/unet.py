"""The U-Net of seed 001 §3.3: five levels of two convolutions + SELU, alternating kernel sizes.

Contracting path: at each of the five levels two convolutions, each followed by SELU (with batch norm
after the pair and dropout at the deepest levels), then 2x2 max pooling (not after the fifth). The kernel
sizes alternate inside a level and grow from 3 to 6 level by level ("increasing kernel sizes in the
contracting path and decreasing in the expansive path, ranging between three and six"); the expanding
path uses the same schedule in reverse. Expanding path: 2x2 upsampling followed by a 2x2 up-convolution
(a 2x2 convolution, padded so the size is kept), concatenation with the skip, two convolutions + SELU.
A 1x1 convolution gives one logit per pixel; the sigmoid is applied by the loss and at prediction.

Even kernels (4, 6) pad asymmetrically (``padding="same"``), so every level keeps its size and an input
whose sides are multiples of 16 comes out at the same size.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def kernel_schedule(levels: int = 5, smallest: int = 3, largest: int = 6) -> list[tuple[int, int]]:
    """Kernel sizes (first, second conv) of each contracting level, from ``smallest`` to ``largest``.

    The two convolutions of a level alternate between consecutive sizes, and the pair climbs evenly from
    ``(smallest, smallest + 1)`` at the first level to ``(largest - 1, largest)`` at the last: 5 levels
    and 3..6 give ``[(3, 4), (3, 4), (4, 5), (4, 5), (5, 6)]``.
    """
    if levels < 1 or not 1 <= smallest <= largest:
        raise ValueError(
            f"need levels >= 1 and 1 <= smallest <= largest, got {levels}, {smallest}, {largest}"
        )
    span = largest - smallest
    schedule = []
    for level in range(levels):
        low = smallest + (span - 1) * level // max(levels - 1, 1) if span else smallest
        schedule.append((low, min(low + 1, largest)))
    return schedule


class _Block(nn.Module):
    def __init__(self, c_in: int, c_out: int, kernels: tuple[int, int], dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_out, kernels[0], padding="same"),
            nn.SELU(inplace=True),
            nn.Conv2d(c_out, c_out, kernels[1], padding="same"),
            nn.SELU(inplace=True),
            nn.BatchNorm2d(c_out),
            nn.Dropout2d(dropout) if dropout > 0 else nn.Identity(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class _Up(nn.Module):
    """2x2 upsampling then a 2x2 up-convolution (size-preserving)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.conv = nn.Conv2d(c_in, c_out, 2, padding="same")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.up(x))


class SlumpUNet(nn.Module):
    """U-Net for binary thaw-slump segmentation.

    Args:
        in_channels: input bands (4 Sentinel-2 bands, plus slope when used).
        widths: channels per level, five by default (the paper's 64..1024; the demo preset is narrower).
        dropout: dropout after the blocks of the two deepest levels (and their expanding counterparts).
        smallest_kernel, largest_kernel: the kernel-size range of :func:`kernel_schedule`.

    Shapes: ``forward`` takes (B, in_channels, H, W) with H, W multiples of ``2 ** (levels - 1)`` and
    returns (B, 1, H, W) logits.
    """

    def __init__(
        self,
        *,
        in_channels: int,
        widths: Sequence[int] = (64, 128, 256, 512, 1024),
        dropout: float = 0.2,
        smallest_kernel: int = 3,
        largest_kernel: int = 6,
    ) -> None:
        super().__init__()
        widths = list(widths)
        if in_channels < 1 or len(widths) < 2:
            raise ValueError(f"need in_channels >= 1 and at least 2 levels, got {in_channels}, {widths}")
        self.levels = len(widths)
        self.kernels = kernel_schedule(self.levels, smallest_kernel, largest_kernel)
        deep = {self.levels - 1, self.levels - 2}
        self.down = nn.ModuleList()
        c = in_channels
        for level, width in enumerate(widths):
            self.down.append(_Block(c, width, self.kernels[level], dropout if level in deep else 0.0))
            c = width
        self.pool = nn.MaxPool2d(2)
        self.ups = nn.ModuleList()
        self.up_blocks = nn.ModuleList()
        for level in range(self.levels - 2, -1, -1):
            self.ups.append(_Up(widths[level + 1], widths[level]))
            kernels = self.kernels[level][::-1]  # shrinking on the way up
            self.up_blocks.append(
                _Block(2 * widths[level], widths[level], kernels, dropout if level in deep else 0.0)
            )
        self.head = nn.Conv2d(widths[0], 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        factor = 2 ** (self.levels - 1)
        if x.shape[-1] % factor or x.shape[-2] % factor:
            raise ValueError(f"input sides {tuple(x.shape[-2:])} must be multiples of {factor}")
        skips = []
        for level, block in enumerate(self.down):
            x = block(x)
            if level < self.levels - 1:
                skips.append(x)
                x = self.pool(x)
        for up, block in zip(self.ups, self.up_blocks, strict=True):
            x = block(torch.cat([up(x), skips.pop()], dim=1))
        return self.head(x)


#: Widths per size preset: the paper's (64 .. 1024) and a narrow one that trains on a CPU.
PRESETS: dict[str, tuple[int, ...]] = {
    "paper": (64, 128, 256, 512, 1024),
    "small": (8, 16, 32, 48, 64),
}
