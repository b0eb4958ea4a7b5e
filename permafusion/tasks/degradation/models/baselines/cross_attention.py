"""Cross-attention transformer baseline (paper §5.1, "CA-Transformer" [14])."""

from __future__ import annotations

import math

import torch
from torch import nn

from permafusion.tasks.degradation.models.baselines.unet import check_series, stack_time


def sincos_position_embedding(
    height: int, width: int, dim: int, *, device: torch.device | None = None
) -> torch.Tensor:
    """Fixed 2-D sine-cosine position embedding (MAE style), (height * width, dim), row-major tokens.

    The first ``dim / 2`` channels encode the row, the rest the column; any grid size works, so the model
    is not tied to the training patch size. ``dim`` must be a multiple of 4.
    """
    quarter = dim // 4
    omega = 1.0 / (10000.0 ** (torch.arange(quarter, device=device, dtype=torch.float32) / quarter))
    rows = torch.arange(height, device=device, dtype=torch.float32)[:, None] * omega  # (H, dim/4)
    cols = torch.arange(width, device=device, dtype=torch.float32)[:, None] * omega  # (W, dim/4)
    row_emb = torch.cat([rows.sin(), rows.cos()], dim=1)[:, None, :].expand(height, width, 2 * quarter)
    col_emb = torch.cat([cols.sin(), cols.cos()], dim=1)[None, :, :].expand(height, width, 2 * quarter)
    return torch.cat([row_emb, col_emb], dim=2).reshape(height * width, 4 * quarter)


class _CrossAttentionLayer(nn.Module):
    """One pre-norm layer of two token streams: self-attention, cross-attention to the other, MLP.

    Stream ``k`` (0 SAR, 1 optical) queries the other stream's tokens as they were at the start of the
    cross-attention step, so both directions see the same state (symmetric update).
    """

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, dropout: float) -> None:
        super().__init__()
        hidden = int(dim * mlp_ratio)

        def attention() -> nn.MultiheadAttention:
            return nn.MultiheadAttention(dim, num_heads, dropout=dropout, batch_first=True)

        self.norm_self = nn.ModuleList(nn.LayerNorm(dim) for _ in range(2))
        self.self_attn = nn.ModuleList(attention() for _ in range(2))
        self.norm_query = nn.ModuleList(nn.LayerNorm(dim) for _ in range(2))
        self.norm_context = nn.ModuleList(nn.LayerNorm(dim) for _ in range(2))
        self.cross_attn = nn.ModuleList(attention() for _ in range(2))
        self.norm_mlp = nn.ModuleList(nn.LayerNorm(dim) for _ in range(2))
        self.mlp = nn.ModuleList(
            nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, dim))
            for _ in range(2)
        )

    def forward(self, sar: torch.Tensor, optical: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Update both (B, N, dim) token sequences."""
        streams = [sar, optical]
        for k in range(2):
            x = self.norm_self[k](streams[k])
            streams[k] = streams[k] + self.self_attn[k](x, x, x, need_weights=False)[0]
        contexts = [self.norm_context[k](streams[1 - k]) for k in range(2)]
        for k in range(2):
            q = self.norm_query[k](streams[k])
            streams[k] = streams[k] + self.cross_attn[k](q, contexts[k], contexts[k], need_weights=False)[0]
        for k in range(2):
            streams[k] = streams[k] + self.mlp[k](self.norm_mlp[k](streams[k]))
        return streams[0], streams[1]


class CrossAttentionTransformer(nn.Module):
    """Two token streams (SAR, optical) that attend to each other, decoded to per-pixel logits.

    1. Per modality, the time-stacked input (``T * C`` channels, time-major) is cut into
       ``patch_size x patch_size`` patches by a strided convolution (patch embedding) to ``embed_dim``
       channels, plus a fixed 2-D sine-cosine position embedding.
    2. ``depth`` layers, each per stream: self-attention, cross-attention in which SAR tokens query the
       optical tokens and optical tokens query the SAR tokens (:class:`torch.nn.MultiheadAttention`,
       ``batch_first``), and an MLP; pre-norm residual blocks.
    3. The two streams are concatenated per token and projected to ``embed_dim`` (the fused tokens), laid
       back on the (H/p, W/p) grid and upsampled by a light decoder of ``log2(patch_size)`` stages
       [bilinear x2, 3x3 Conv-BN-ReLU with ``decoder_width`` channels]; a 1x1 convolution gives the logits.

    Time is stacked into channels as in the CNN baselines, so the model is built for a fixed ``num_steps``.
    H and W must be multiples of ``patch_size``.
    """

    def __init__(
        self,
        sar_channels: int = 2,
        optical_channels: int = 6,
        num_classes: int = 4,
        *,
        num_steps: int = 12,
        patch_size: int = 8,
        embed_dim: int = 256,
        depth: int = 4,
        num_heads: int = 8,
        mlp_ratio: float = 4.0,
        dropout: float = 0.0,
        decoder_width: int = 64,
    ) -> None:
        """Build the network.

        Args:
            sar_channels: SAR bands per time step (VV, VH).
            optical_channels: optical bands per time step (B02 B03 B04 B08 B11 B12).
            num_classes: output classes.
            num_steps: T, the time steps stacked into channels.
            patch_size: side of the square patches, a power of two (tokens are H/p x W/p).
            embed_dim: token width; a multiple of 4 and of ``num_heads``.
            depth: number of cross-attention layers.
            num_heads: attention heads.
            mlp_ratio: MLP hidden width relative to ``embed_dim``.
            dropout: dropout in attention and MLP.
            decoder_width: channels of the upsampling stages.

        Raises:
            ValueError: for a patch size that is not a power of two, an ``embed_dim`` not divisible by 4 and
                ``num_heads``, or non-positive sizes.
        """
        super().__init__()
        if patch_size < 2 or patch_size & (patch_size - 1):
            raise ValueError(f"patch_size must be a power of two >= 2, got {patch_size}")
        if embed_dim % 4 or embed_dim % num_heads:
            raise ValueError(
                f"embed_dim must be a multiple of 4 and of num_heads={num_heads}, got {embed_dim}"
            )
        if min(num_steps, depth, num_heads, decoder_width, sar_channels, optical_channels, num_classes) < 1:
            raise ValueError("num_steps, depth, num_heads, decoder_width and channel counts must be >= 1")
        self.sar_channels = sar_channels
        self.optical_channels = optical_channels
        self.num_classes = num_classes
        self.num_steps = num_steps
        self.patch_size = patch_size
        self.embed_dim = embed_dim
        self.depth = depth
        self.num_heads = num_heads
        self.mlp_ratio = mlp_ratio
        self.dropout = dropout
        self.decoder_width = decoder_width
        self.size_multiple = patch_size

        self.sar_embed = nn.Conv2d(num_steps * sar_channels, embed_dim, patch_size, stride=patch_size)
        self.optical_embed = nn.Conv2d(num_steps * optical_channels, embed_dim, patch_size, stride=patch_size)
        self.layers = nn.ModuleList(
            _CrossAttentionLayer(embed_dim, num_heads, mlp_ratio, dropout) for _ in range(depth)
        )
        self.fuse = nn.Sequential(nn.LayerNorm(2 * embed_dim), nn.Linear(2 * embed_dim, embed_dim))
        stages: list[nn.Module] = []
        c_in = embed_dim
        for _ in range(int(math.log2(patch_size))):
            stages += [
                nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                nn.Conv2d(c_in, decoder_width, 3, padding=1, bias=False),
                nn.BatchNorm2d(decoder_width),
                nn.ReLU(inplace=True),
            ]
            c_in = decoder_width
        self.upsampler = nn.Sequential(*stages)
        self.head = nn.Conv2d(decoder_width, num_classes, kernel_size=1)

    def forward(self, sar: torch.Tensor, optical: torch.Tensor) -> torch.Tensor:
        """Logits (B, num_classes, H, W) for sar (B, T, 2, H, W) and optical (B, T, 6, H, W).

        Inputs are normalised and NaN-free; T equals ``num_steps``; H, W multiples of ``patch_size``.
        """
        check_series(
            sar,
            optical,
            sar_channels=self.sar_channels,
            optical_channels=self.optical_channels,
            num_steps=self.num_steps,
            size_multiple=self.size_multiple,
        )
        es = self.sar_embed(stack_time(sar))  # (B, D, H/p, W/p)
        eo = self.optical_embed(stack_time(optical))
        b, d, gh, gw = es.shape
        position = sincos_position_embedding(gh, gw, d, device=es.device).to(es.dtype)
        ts = es.flatten(2).transpose(1, 2) + position  # (B, N, D)
        to = eo.flatten(2).transpose(1, 2) + position
        for layer in self.layers:
            ts, to = layer(ts, to)
        fused = self.fuse(torch.cat([ts, to], dim=2))  # (B, N, D)
        grid = fused.transpose(1, 2).reshape(b, d, gh, gw)
        return self.head(self.upsampler(grid))

    def model_kwargs(self) -> dict[str, object]:
        """Plain constructor arguments (JSON-ready) that rebuild this architecture."""
        return {
            "sar_channels": self.sar_channels,
            "optical_channels": self.optical_channels,
            "num_classes": self.num_classes,
            "num_steps": self.num_steps,
            "patch_size": self.patch_size,
            "embed_dim": self.embed_dim,
            "depth": self.depth,
            "num_heads": self.num_heads,
            "mlp_ratio": self.mlp_ratio,
            "dropout": self.dropout,
            "decoder_width": self.decoder_width,
        }
