"""Bidirectional LSTM encoder: forward state after the last day and backward state after the first.

Reading the window backwards is not a leak: the window ends on the target day, so both directions see only
days up to it.
"""

from __future__ import annotations

import torch
from torch import nn


class BiLSTMEncoder(nn.Module):
    """(B, L, F) -> (B, 2 hidden).

    Args:
        features: input features per day.
        hidden: hidden size per direction.
        layers: stacked layers.
        dropout: between layers.
    """

    def __init__(self, features: int, *, hidden: int = 64, layers: int = 2, dropout: float = 0.1) -> None:
        super().__init__()
        self.rnn = nn.LSTM(
            features,
            hidden,
            num_layers=layers,
            batch_first=True,
            bidirectional=True,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.out_features = 2 * hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (state, _) = self.rnn(x)
        return torch.cat([state[-2], state[-1]], dim=1)  # top layer: forward, backward
