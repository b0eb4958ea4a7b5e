"""Temporal convolutional network: residual blocks of dilated causal 1-D convolutions.

Causal: the output at day t depends on days <= t only (left padding of ``(kernel - 1) * dilation``).
Dilations double per block, so ``blocks`` blocks of kernel k see ``1 + 2 (k - 1) (2^blocks - 1)`` days.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class CausalConv1d(nn.Conv1d):
    """A Conv1d padded on the left only: no output sees a later input."""

    def __init__(self, channels_in: int, channels_out: int, kernel: int, dilation: int) -> None:
        super().__init__(channels_in, channels_out, kernel, dilation=dilation)
        self.left = (kernel - 1) * dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, (self.left, 0)))


class _Block(nn.Module):
    def __init__(self, channels_in: int, channels: int, kernel: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.conv1 = CausalConv1d(channels_in, channels, kernel, dilation)
        self.conv2 = CausalConv1d(channels, channels, kernel, dilation)
        self.dropout = nn.Dropout(dropout)
        self.skip = nn.Conv1d(channels_in, channels, 1) if channels_in != channels else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dropout(F.gelu(self.conv1(x)))
        y = self.dropout(F.gelu(self.conv2(y)))
        return F.gelu(y + self.skip(x))


class TCNEncoder(nn.Module):
    """(B, L, F) -> (B, hidden): the last day's output of the causal stack.

    Args:
        features: input features per day.
        hidden: channels.
        layers: residual blocks (dilations 1, 2, 4, ...).
        kernel: kernel size.
        dropout: inside the blocks.
    """

    def __init__(
        self, features: int, *, hidden: int = 64, layers: int = 4, kernel: int = 3, dropout: float = 0.1
    ) -> None:
        super().__init__()
        self.blocks = nn.Sequential(
            *[_Block(features if i == 0 else hidden, hidden, kernel, 2**i, dropout) for i in range(layers)]
        )
        self.out_features = hidden
        self.receptive_field = 1 + 2 * (kernel - 1) * (2**layers - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x.transpose(1, 2))[:, :, -1]
