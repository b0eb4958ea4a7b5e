"""Conv1D-LSTM: causal 1-D convolutions extract short-term patterns, an LSTM carries them through the
window."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from permafusion.tasks.soiltemp.models.tcn import CausalConv1d


class Conv1DLSTMEncoder(nn.Module):
    """(B, L, F) -> (B, hidden).

    Args:
        features: input features per day.
        hidden: convolution channels and LSTM size.
        layers: LSTM layers.
        kernel: convolution kernel (days).
        dropout: between LSTM layers.
    """

    def __init__(
        self, features: int, *, hidden: int = 64, layers: int = 1, kernel: int = 5, dropout: float = 0.1
    ) -> None:
        super().__init__()
        self.conv1 = CausalConv1d(features, hidden, kernel, 1)
        self.conv2 = CausalConv1d(hidden, hidden, kernel, 1)
        self.rnn = nn.LSTM(
            hidden, hidden, num_layers=layers, batch_first=True, dropout=dropout if layers > 1 else 0.0
        )
        self.out_features = hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.gelu(self.conv2(F.gelu(self.conv1(x.transpose(1, 2)))))
        _, (state, _) = self.rnn(y.transpose(1, 2))
        return state[-1]
