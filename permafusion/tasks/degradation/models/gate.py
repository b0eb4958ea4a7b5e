"""Cross-modal attention gate (paper §4.3)."""

from __future__ import annotations

import torch
from torch import nn


class CrossModalGate(nn.Module):
    """Channel-wise squeeze-and-excitation gate that blends SAR and optical feature maps.

    ``A = sigmoid(W2 · ReLU(W1 · [GAP(Fs); GAP(Fo)]))`` with one weight per channel and sample, and
    ``F = A * Fs + (1 - A) * Fo``. ``A`` close to 1 means "trust SAR", close to 0 "trust optical".
    """

    def __init__(self, channels: int, *, reduction: int = 16) -> None:
        """Initialise the gate.

        Args:
            channels: C, the channel count of both inputs (and of the output).
            reduction: squeeze ratio r; the hidden layer has ``max(1, 2C // r)`` units.

        Raises:
            ValueError: if ``channels`` or ``reduction`` is not positive.
        """
        super().__init__()
        if channels < 1 or reduction < 1:
            raise ValueError(f"channels and reduction must be >= 1, got {channels} and {reduction}")
        self.channels = channels
        self.reduction = reduction
        hidden = max(1, (2 * channels) // reduction)
        self.fc1 = nn.Linear(2 * channels, hidden)  # W1 (with bias)
        self.fc2 = nn.Linear(hidden, channels)  # W2 (with bias)

    def attention(self, sar: torch.Tensor, optical: torch.Tensor) -> torch.Tensor:
        """The gate ``A`` of shape (N, C) for features of shape (N, C, H, W)."""
        if sar.shape != optical.shape or sar.shape[1] != self.channels:
            raise ValueError(
                f"SAR and optical features must both be (N, {self.channels}, H, W); "
                f"got {tuple(sar.shape)} and {tuple(optical.shape)}"
            )
        squeezed = torch.cat([sar.mean(dim=(2, 3)), optical.mean(dim=(2, 3))], dim=1)
        return torch.sigmoid(self.fc2(torch.relu(self.fc1(squeezed))))

    def forward(self, sar: torch.Tensor, optical: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Fuse two feature maps.

        Args:
            sar: (N, C, H, W) SAR features.
            optical: (N, C, H, W) optical features.

        Returns:
            The fused features (N, C, H, W) and the gate ``A`` (N, C).
        """
        gate = self.attention(sar, optical)
        a = gate[:, :, None, None]
        return a * sar + (1.0 - a) * optical, gate
