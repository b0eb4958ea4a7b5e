"""What every sequence model of the task shares: a sequence encoder, then a head fed by its summary,
the static features and a latitude-band embedding, predicting every depth at once."""

from __future__ import annotations

import torch
from torch import nn


class SequenceRegressor(nn.Module):
    """Encoder + fusion head.

    Args:
        encoder: maps (B, L, F) windows to (B, H) summaries; has ``out_features`` = H.
        statics: number of static features K.
        bands: number of latitude bands.
        depths: number of outputs Z (one per depth).
        band_dim: size of the latitude-band embedding.
        dropout: dropout before the head's last layer.
    """

    def __init__(
        self,
        encoder: nn.Module,
        *,
        statics: int,
        bands: int,
        depths: int,
        band_dim: int = 4,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if bands < 1 or depths < 1:
            raise ValueError(f"need at least one band and one depth, got {bands} and {depths}")
        self.encoder = encoder
        self.band_embedding = nn.Embedding(bands, band_dim)
        width = int(encoder.out_features)  # type: ignore[arg-type]
        self.head = nn.Sequential(
            nn.Linear(width + statics + band_dim, width),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(width, depths),
        )

    def forward(self, x: torch.Tensor, statics: torch.Tensor, band: torch.Tensor) -> torch.Tensor:
        """(B, L, F) windows, (B, K) statics, (B,) band indices -> (B, Z) standardised temperatures."""
        if x.ndim != 3:
            raise ValueError(f"windows must be (batch, length, features), got {tuple(x.shape)}")
        summary = self.encoder(x)
        return self.head(torch.cat([summary, statics, self.band_embedding(band)], dim=1))
