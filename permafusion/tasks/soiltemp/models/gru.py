"""GRU encoder (the seed's best model): the last hidden state of a stacked GRU."""

from __future__ import annotations

import torch
from torch import nn


class GRUEncoder(nn.Module):
    """(B, L, F) -> (B, hidden): the top layer's state after the last day.

    Args:
        features: input features per day.
        hidden: hidden size.
        layers: stacked layers.
        dropout: between layers.
    """

    def __init__(self, features: int, *, hidden: int = 64, layers: int = 2, dropout: float = 0.1) -> None:
        super().__init__()
        self.rnn = nn.GRU(
            features, hidden, num_layers=layers, batch_first=True, dropout=dropout if layers > 1 else 0.0
        )
        self.out_features = hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, state = self.rnn(x)
        return state[-1]
