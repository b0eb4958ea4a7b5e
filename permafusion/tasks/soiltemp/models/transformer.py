"""Transformer encoder with a sinusoidal time encoding; the summary is the last day's token.

The window ends on the target day, so full attention within it sees no future day.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def time_encoding(length: int, width: int, *, device: torch.device | None = None) -> torch.Tensor:
    """(length, width) sinusoidal encoding of the day's position in the window (Vaswani et al. 2017)."""
    position = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    rate = torch.exp(
        torch.arange(0, width, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / width)
    )
    encoding = torch.zeros(length, width, device=device)
    encoding[:, 0::2] = torch.sin(position * rate)
    encoding[:, 1::2] = torch.cos(position * rate)[:, : width // 2]
    return encoding


class TransformerEncoder(nn.Module):
    """(B, L, F) -> (B, hidden).

    Args:
        features: input features per day.
        hidden: model width (a multiple of ``heads``).
        layers: encoder layers.
        heads: attention heads.
        dropout: in the layers.
    """

    def __init__(
        self, features: int, *, hidden: int = 64, layers: int = 2, heads: int = 4, dropout: float = 0.1
    ) -> None:
        super().__init__()
        if hidden % heads:
            raise ValueError(f"hidden={hidden} must be a multiple of heads={heads}")
        self.embed = nn.Linear(features, hidden)
        layer = nn.TransformerEncoderLayer(
            hidden, heads, dim_feedforward=2 * hidden, dropout=dropout, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(hidden)
        self.out_features = hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.embed(x) + time_encoding(x.shape[1], self.out_features, device=x.device)
        return self.norm(self.encoder(tokens)[:, -1])
