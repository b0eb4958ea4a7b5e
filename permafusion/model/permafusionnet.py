"""PermaFusionNet: dual-branch SAR/optical encoder, cross-modal gates, ConvLSTM, U-Net decoder (paper §4)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from permafusion.model.convlstm import ConvLSTM
from permafusion.model.gate import CrossModalGate


def _conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """Two 3x3 Conv-BN-ReLU layers (the convolutions carry no bias: BN follows)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class PermaFusionNet(nn.Module):
    """Per-pixel degradation classes from a SAR + optical time series.

    Data flow, for ``L = len(encoder_widths)`` levels (4 in the paper):

    1. Two encoders (SAR, optical) of ``L`` blocks [two 3x3 Conv-BN-ReLU, then 2x2 max-pool] run on all
       ``B*T`` frames at once. Each branch continues on its own features; fusion does not feed back.
    2. At every level a :class:`CrossModalGate` fuses the two block outputs (before pooling) into
       ``F_l = A_l * Fs_l + (1 - A_l) * Fo_l``; these are the skip features (resolutions H ... H/2^(L-1)).
    3. The deepest fused features, max-pooled to H/2^L, of the ``T`` steps run through a stacked
       :class:`ConvLSTM` (paper: hidden 256, 128); the top layer's last hidden state ``h_T`` starts the
       decoder.
    4. A U-Net decoder: per level a 2x2 stride-2 transposed convolution, concatenation with that level's
       fused skip features, two 3x3 Conv-BN-ReLU. A 1x1 convolution gives ``num_classes`` logits.

    Skip features exist per time step but the decoder decodes one map, so ``skip_source`` chooses which
    reach it: ``"mean"`` (default) averages the fused skip features over the T steps, ``"last"`` takes step
    T only. The mean is the default because high-latitude months are often without optical data (polar
    night, snow, cloud; filled with the band mean by normalisation), so one month alone is a fragile
    source of spatial detail, and labels describe a multi-year state rather than the last month. The
    temporal dynamics still reach the decoder through ``h_T``.

    Output channel ``k`` stands for class code ``k + 1`` (see :mod:`permafusion.classes`).
    """

    def __init__(
        self,
        sar_channels: int = 2,
        optical_channels: int = 6,
        num_classes: int = 4,
        encoder_widths: Sequence[int] = (64, 128, 256, 512),
        lstm_hidden: Sequence[int] = (256, 128),
        gate_reduction: int = 16,
        skip_source: Literal["mean", "last"] = "mean",
        lstm_kernel_size: int = 3,
    ) -> None:
        """Build the network.

        Args:
            sar_channels: SAR bands per time step (VV, VH).
            optical_channels: optical bands per time step (B02 B03 B04 B08 B11 B12).
            num_classes: output classes (4 degradation classes).
            encoder_widths: channels of the encoder levels, shallow first; H and W must be multiples of
                ``2 ** len(encoder_widths)``.
            lstm_hidden: hidden channels of the ConvLSTM layers, bottom first.
            gate_reduction: squeeze ratio of the cross-modal gates.
            skip_source: ``"mean"`` or ``"last"``: which time step(s) feed the skip connections.
            lstm_kernel_size: gate convolution size of the ConvLSTM.

        Raises:
            ValueError: for empty widths, non-positive sizes or an unknown ``skip_source``.
        """
        super().__init__()
        if skip_source not in ("mean", "last"):
            raise ValueError(f"skip_source must be 'mean' or 'last', got {skip_source!r}")
        if len(encoder_widths) == 0 or min(encoder_widths) < 1:
            raise ValueError(f"encoder_widths needs positive widths, got {tuple(encoder_widths)}")
        if len(lstm_hidden) == 0 or min(lstm_hidden) < 1:
            raise ValueError(f"lstm_hidden needs positive widths, got {tuple(lstm_hidden)}")
        if min(sar_channels, optical_channels, num_classes) < 1:
            raise ValueError("sar_channels, optical_channels and num_classes must be >= 1")
        widths = tuple(int(w) for w in encoder_widths)
        self.sar_channels = sar_channels
        self.optical_channels = optical_channels
        self.num_classes = num_classes
        self.encoder_widths = widths
        self.lstm_hidden = tuple(int(h) for h in lstm_hidden)
        self.skip_source = skip_source
        self.gate_reduction = gate_reduction
        self.size_multiple = 2 ** len(widths)

        self.sar_encoder = nn.ModuleList(
            _conv_block(c_in, c_out) for c_in, c_out in zip((sar_channels, *widths[:-1]), widths, strict=True)
        )
        self.optical_encoder = nn.ModuleList(
            _conv_block(c_in, c_out)
            for c_in, c_out in zip((optical_channels, *widths[:-1]), widths, strict=True)
        )
        self.gates = nn.ModuleList(CrossModalGate(w, reduction=gate_reduction) for w in widths)
        self.pool = nn.MaxPool2d(2)
        self.temporal = ConvLSTM(widths[-1], self.lstm_hidden, kernel_size=lstm_kernel_size)

        ups, blocks = [], []
        c_in = self.lstm_hidden[-1]
        for w in reversed(widths):
            ups.append(nn.ConvTranspose2d(c_in, w, kernel_size=2, stride=2))
            blocks.append(_conv_block(2 * w, w))
            c_in = w
        self.up = nn.ModuleList(ups)
        self.decoder = nn.ModuleList(blocks)
        self.head = nn.Conv2d(widths[0], num_classes, kernel_size=1)

    def _check_inputs(self, sar: torch.Tensor, optical: torch.Tensor) -> None:
        if sar.ndim != 5 or optical.ndim != 5:
            raise ValueError(
                f"expected sar (B, T, {self.sar_channels}, H, W) and optical "
                f"(B, T, {self.optical_channels}, H, W); "
                f"got shapes {tuple(sar.shape)} and {tuple(optical.shape)}"
            )
        if sar.shape[2] != self.sar_channels or optical.shape[2] != self.optical_channels:
            raise ValueError(
                f"expected {self.sar_channels} SAR and {self.optical_channels} optical bands, "
                f"got {sar.shape[2]} and {optical.shape[2]}"
            )
        if sar.shape[:2] != optical.shape[:2] or sar.shape[-2:] != optical.shape[-2:]:
            raise ValueError(
                f"SAR and optical must share B, T, H, W; got {tuple(sar.shape)} and {tuple(optical.shape)}"
            )
        h, w = sar.shape[-2:]
        m = self.size_multiple
        if h % m or w % m:
            raise ValueError(f"H and W must be multiples of {m}, got {h}x{w}; pad or crop the input")

    def forward_with_attention(
        self, sar: torch.Tensor, optical: torch.Tensor
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits and the cross-modal gates.

        Args:
            sar: (B, T, sar_channels, H, W), normalised, no NaN.
            optical: (B, T, optical_channels, H, W), normalised, no NaN.

        Returns:
            Logits (B, num_classes, H, W) and, per encoder level (shallow first), the gate ``A`` as
            (B, T, C_level): the weight given to SAR (1 - A goes to optical).
        """
        self._check_inputs(sar, optical)
        b, t = sar.shape[:2]
        xs = sar.reshape(b * t, *sar.shape[2:])
        xo = optical.reshape(b * t, *optical.shape[2:])

        skips: list[torch.Tensor] = []
        attention: list[torch.Tensor] = []
        fused = xs  # replaced at the first level
        for level, (enc_s, enc_o, gate) in enumerate(
            zip(self.sar_encoder, self.optical_encoder, self.gates, strict=True)
        ):
            if level > 0:
                xs, xo = self.pool(xs), self.pool(xo)
            xs, xo = enc_s(xs), enc_o(xo)
            fused, a = gate(xs, xo)
            attention.append(a.reshape(b, t, -1))
            skip = fused.reshape(b, t, *fused.shape[1:])
            skips.append(skip.mean(dim=1) if self.skip_source == "mean" else skip[:, -1])

        deep = self.pool(fused)
        _, states = self.temporal(deep.reshape(b, t, *deep.shape[1:]))
        x = states[-1][0]  # h_T of the top ConvLSTM layer
        for up, block, skip in zip(self.up, self.decoder, reversed(skips), strict=True):
            x = block(torch.cat([up(x), skip], dim=1))
        return self.head(x), attention

    def forward(self, sar: torch.Tensor, optical: torch.Tensor) -> torch.Tensor:
        """Logits (B, num_classes, H, W) for sar (B, T, 2, H, W) and optical (B, T, 6, H, W).

        Inputs are normalised and NaN-free (see :mod:`permafusion.normalize`); H, W multiples of 16
        (``2 ** len(encoder_widths)``).
        """
        return self.forward_with_attention(sar, optical)[0]

    @staticmethod
    def sar_weight(attention: Sequence[torch.Tensor]) -> torch.Tensor:
        """Mean SAR weight (B, T) over channels and levels of :meth:`forward_with_attention` gates."""
        return torch.stack([a.mean(dim=-1) for a in attention], dim=0).mean(dim=0)

    def model_kwargs(self) -> dict[str, object]:
        """Plain constructor arguments (JSON-ready) that rebuild this architecture."""
        return {
            "sar_channels": self.sar_channels,
            "optical_channels": self.optical_channels,
            "num_classes": self.num_classes,
            "encoder_widths": list(self.encoder_widths),
            "lstm_hidden": list(self.lstm_hidden),
            "gate_reduction": self.gate_reduction,
            "skip_source": self.skip_source,
            "lstm_kernel_size": self.temporal.kernel_size,
        }
