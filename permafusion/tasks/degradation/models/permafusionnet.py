"""PermaFusionNet: dual-branch SAR/optical encoder, cross-modal gates, ConvLSTM, U-Net decoder (paper §4)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from permafusion.tasks.degradation.models.convlstm import ConvLSTM
from permafusion.tasks.degradation.models.gate import CrossModalGate


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


def _step_mixer(in_channels: int, out_channels: int) -> nn.Sequential:
    """1x1 Conv-BN-ReLU over the time steps stacked in order: a learned per-pixel function of the series."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 1, bias=False),
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
       :class:`ConvLSTM` (paper: hidden 256, 128). A readout turns the top layer's hidden states into the
       map that starts the decoder: ``"last"`` (the paper's literal form) takes ``h_T``; ``"attention"``
       (default) takes a softmax-weighted sum over ``h_1 .. h_T``, the weights scored per pixel and step by a
       1x1 convolution of ``h_t``. The attention readout lets the decoder reach any step's state with one
       hop instead of through the recurrence's last step, so the temporal path gets gradient early in
       training. ``lstm_norm="layer"`` (default) layer-normalises the recurrence's gates; ``"none"`` is the
       paper's cell.
    4. A U-Net decoder: per level a 2x2 stride-2 transposed convolution, concatenation with that level's
       fused skip features, two 3x3 Conv-BN-ReLU. A 1x1 convolution gives ``num_classes`` logits.

    Skip features exist per time step but the decoder decodes one map, so ``skip_source`` chooses how the
    T steps become one: ``"stack"`` concatenates the fused skip features of the T steps in month order and
    mixes them per pixel with a 1x1 Conv-BN-ReLU back to the level's width (built for ``num_steps``
    steps); ``"mean"`` (the class default, and the paper's form as far as it says) averages them;
    ``"last"`` takes step T only. The mean is order-free, so with it the order of the months reaches the
    decoder only through the temporal path at 1/2^L resolution, which training on the synthetic scenes
    learned to ignore (see docs/design.md). ``"stack"`` (the pipeline's default, ``train.skip_source``) puts
    each month's features, in order, on every skip at full resolution: thaw dates, trends and the
    timing of a month without optical data (its validity mask) reach the decoder directly. It fixes T:
    the model refuses patches with another number of steps.

    ``validity_masks=True`` (default) gives each branch one more input channel per step: 1 where that
    month's SAR (or optical) observation exists, 0 where normalisation filled it. The caller appends it
    (:func:`permafusion.tasks.degradation.normalize.network_inputs`), so an empty month is not mistaken for
    a month of mean reflectance. ``validity_masks=False`` is the paper's input.

    Output channel ``k`` stands for class code ``k + 1`` (see :mod:`permafusion.tasks.degradation.classes`).

    Ablations of paper §5.3 are constructor flags; their defaults build the full model above (same modules,
    same parameter initialisation order, bit-identical outputs for the same seed):

    - ``temporal="single"`` (order-free pooling, w/o temporal LSTM): the ConvLSTM is replaced by one
      order-free block [two 3x3 Conv-BN-ReLU to ``lstm_hidden[-1]`` channels] applied to each step's
      deepest fused features independently, and the T results are averaged. The whole network is then
      invariant to the order of the months (skips are means too): it keeps every month's values and
      removes only the sequence. The decoder width is unchanged.
    - ``time_step=m`` (a true single time step, T = 1): only month ``m`` (0-based index into the input's T
      steps) is read; every other month is dropped before the encoders. Used with ``temporal="single"``.
    - ``fusion="concat"`` (w/o cross-modal attention): at every fused level ``[Fs; Fo]`` (2C channels) goes
      through a 1x1 convolution (with bias) back to C instead of the gate;
      :meth:`forward_with_attention` then returns no gates.
    - ``shared_encoder=True`` (w/o dual branch): SAR and optical are each projected by a 1x1 convolution
      to ``max(sar_channels, optical_channels)`` channels and run through one encoder (both modalities in
      one batch, so batch-norm statistics are shared); fusion per level is unchanged.
    - ``skips=False`` (w/o skip connections): the decoder upsamples ``h_T`` without encoder features
      (blocks of ``w -> w`` channels). Only the deepest level is then fused (the shallow fused maps would
      feed nothing), so ``forward_with_attention`` returns one gate, of the deepest level.
    """

    def __init__(
        self,
        sar_channels: int = 2,
        optical_channels: int = 6,
        num_classes: int = 4,
        encoder_widths: Sequence[int] = (64, 128, 256, 512),
        lstm_hidden: Sequence[int] = (256, 128),
        gate_reduction: int = 16,
        skip_source: Literal["mean", "last", "stack"] = "mean",
        lstm_kernel_size: int = 3,
        *,
        temporal: Literal["convlstm", "single"] = "convlstm",
        fusion: Literal["gate", "concat"] = "gate",
        shared_encoder: bool = False,
        skips: bool = True,
        lstm_norm: Literal["none", "layer"] = "layer",
        temporal_readout: Literal["last", "attention"] = "attention",
        validity_masks: bool = True,
        time_step: int | None = None,
        num_steps: int | None = None,
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
            skip_source: ``"mean"``, ``"last"`` or ``"stack"``: how the T steps' skip features become one.
            lstm_kernel_size: gate convolution size of the ConvLSTM.
            temporal: ``"convlstm"`` (paper) or ``"single"`` (ablation: per-step block averaged over T).
            fusion: ``"gate"`` (paper: :class:`CrossModalGate`) or ``"concat"`` (ablation: 1x1 conv).
            shared_encoder: ablation: one encoder for both modalities after a 1x1 projection each.
            skips: ``False`` for the ablation without encoder skip connections.
            lstm_norm: ``"layer"`` (layer-normalised ConvLSTM gates) or ``"none"`` (paper).
            temporal_readout: ``"attention"`` (pooling over all hidden states) or ``"last"`` (paper: h_T).
            validity_masks: one extra input channel per branch: the month's observation mask.
            time_step: read only this month (0-based), T = 1; None reads all months.
            num_steps: time steps T per sample; needed (and then fixed) with ``skip_source="stack"`` only.

        Raises:
            ValueError: for empty widths, non-positive sizes, an unknown ``skip_source``, ``temporal``,
                ``fusion``, ``lstm_norm`` or ``temporal_readout``, or ``skip_source="stack"`` without
                ``num_steps``.
        """
        super().__init__()
        if skip_source not in ("mean", "last", "stack"):
            raise ValueError(f"skip_source must be 'mean', 'last' or 'stack', got {skip_source!r}")
        if skip_source == "stack" and (num_steps is None or num_steps < 1):
            raise ValueError(
                f"skip_source='stack' needs num_steps >= 1 (the months per sample), got {num_steps}"
            )
        if temporal not in ("convlstm", "single"):
            raise ValueError(f"temporal must be 'convlstm' or 'single', got {temporal!r}")
        if fusion not in ("gate", "concat"):
            raise ValueError(f"fusion must be 'gate' or 'concat', got {fusion!r}")
        if lstm_norm not in ("none", "layer"):
            raise ValueError(f"lstm_norm must be 'none' or 'layer', got {lstm_norm!r}")
        if temporal_readout not in ("last", "attention"):
            raise ValueError(f"temporal_readout must be 'last' or 'attention', got {temporal_readout!r}")
        if time_step is not None and time_step < 0:
            raise ValueError(f"time_step must be a month index >= 0 (or None), got {time_step}")
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
        self.temporal_mode = temporal
        self.fusion = fusion
        self.shared_encoder = shared_encoder
        self.skips = skips
        self.lstm_kernel_size = lstm_kernel_size
        self.lstm_norm = lstm_norm
        self.temporal_readout = temporal_readout
        self.validity_masks = validity_masks
        self.time_step = time_step
        self.num_steps = num_steps
        #: Diagnostic switch: the temporal path's output replaced by zeros (see ``zeroed_temporal``).
        self.temporal_zeroed = False
        sar_in = sar_channels + int(validity_masks)
        optical_in = optical_channels + int(validity_masks)
        # Levels whose two branches are fused: all of them, or only the deepest without skips.
        self.fused_levels = tuple(range(len(widths))) if skips else (len(widths) - 1,)

        # Modules are created in the same order as the full model so that defaults keep its initialisation.
        if shared_encoder:
            common = max(sar_in, optical_in)
            self.sar_projection = nn.Conv2d(sar_in, common, kernel_size=1)
            self.optical_projection = nn.Conv2d(optical_in, common, kernel_size=1)
            self.encoder = nn.ModuleList(
                _conv_block(c_in, c_out) for c_in, c_out in zip((common, *widths[:-1]), widths, strict=True)
            )
        else:
            self.sar_encoder = nn.ModuleList(
                _conv_block(c_in, c_out) for c_in, c_out in zip((sar_in, *widths[:-1]), widths, strict=True)
            )
            self.optical_encoder = nn.ModuleList(
                _conv_block(c_in, c_out)
                for c_in, c_out in zip((optical_in, *widths[:-1]), widths, strict=True)
            )
        fused_widths = [widths[level] for level in self.fused_levels]
        if fusion == "gate":
            self.gates = nn.ModuleList(CrossModalGate(w, reduction=gate_reduction) for w in fused_widths)
        else:
            self.concat_fusion = nn.ModuleList(nn.Conv2d(2 * w, w, kernel_size=1) for w in fused_widths)
        self.pool = nn.MaxPool2d(2)
        self.temporal: nn.Module
        if temporal == "convlstm":
            self.temporal = ConvLSTM(
                widths[-1], self.lstm_hidden, kernel_size=lstm_kernel_size, norm=lstm_norm
            )
        else:
            self.temporal = _conv_block(widths[-1], self.lstm_hidden[-1])

        ups, blocks = [], []
        c_in = self.lstm_hidden[-1]
        for w in reversed(widths):
            ups.append(nn.ConvTranspose2d(c_in, w, kernel_size=2, stride=2))
            blocks.append(_conv_block(2 * w if skips else w, w))
            c_in = w
        self.up = nn.ModuleList(ups)
        self.decoder = nn.ModuleList(blocks)
        self.head = nn.Conv2d(widths[0], num_classes, kernel_size=1)
        # Created last so that the modules above keep their initialisation order.
        self.readout: nn.Conv2d | None = None
        if temporal == "convlstm" and temporal_readout == "attention":
            self.readout = nn.Conv2d(self.lstm_hidden[-1], 1, kernel_size=1)
        self.skip_mixers: nn.ModuleList | None = None
        if skips and skip_source == "stack" and num_steps is not None:  # num_steps checked above
            steps = 1 if time_step is not None else num_steps
            self.skip_mixers = nn.ModuleList(_step_mixer(steps * w, w) for w in widths)

    @property
    def input_channels(self) -> tuple[int, int]:
        """Channels per step the network reads (SAR, optical): the bands, plus one mask each if used."""
        extra = int(self.validity_masks)
        return self.sar_channels + extra, self.optical_channels + extra

    def _check_inputs(self, sar: torch.Tensor, optical: torch.Tensor) -> None:
        cs, co = self.input_channels
        masks = " (bands + validity mask: see normalize.network_inputs)" if self.validity_masks else ""
        if sar.ndim != 5 or optical.ndim != 5:
            raise ValueError(
                f"expected sar (B, T, {cs}, H, W) and optical (B, T, {co}, H, W){masks}; "
                f"got shapes {tuple(sar.shape)} and {tuple(optical.shape)}"
            )
        if sar.shape[2] != cs or optical.shape[2] != co:
            raise ValueError(
                f"expected {cs} SAR and {co} optical channels{masks}, "
                f"got {sar.shape[2]} and {optical.shape[2]}"
            )
        if self.time_step is not None and self.time_step >= sar.shape[1]:
            raise ValueError(
                f"time_step={self.time_step} (0-based month of the single-step model) is outside the input's "
                f"{sar.shape[1]} steps: set train.time_step below {sar.shape[1]}"
            )
        if self.skip_mixers is not None and self.time_step is None and sar.shape[1] != self.num_steps:
            raise ValueError(
                f"this model mixes {self.num_steps} time steps on its skips (skip_source='stack'), got "
                f"{sar.shape[1]}: give it patches with the steps it was trained on"
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
            sar: (B, T, sar_channels [+ 1 mask], H, W), normalised, no NaN.
            optical: (B, T, optical_channels [+ 1 mask], H, W), normalised, no NaN.

        Returns:
            Logits (B, num_classes, H, W) and, per fused encoder level (shallow first), the gate ``A`` as
            (B, T', C_level) (T' = 1 with ``time_step``): the weight given to SAR (1 - A goes to optical).
            With ``fusion="concat"`` the list is empty; with ``skips=False`` it holds the deepest level only.
        """
        self._check_inputs(sar, optical)
        if self.time_step is not None:
            sar = sar[:, self.time_step : self.time_step + 1]
            optical = optical[:, self.time_step : self.time_step + 1]
        b, t = sar.shape[:2]
        xs = sar.reshape(b * t, *sar.shape[2:])
        xo = optical.reshape(b * t, *optical.shape[2:])
        if self.shared_encoder:
            xs, xo = self.sar_projection(xs), self.optical_projection(xo)

        skips: list[torch.Tensor] = []
        attention: list[torch.Tensor] = []
        fused = xs  # replaced at the first fused level
        for level in range(len(self.encoder_widths)):
            if level > 0:
                xs, xo = self.pool(xs), self.pool(xo)
            xs, xo = self._encode(level, xs, xo)
            if level not in self.fused_levels:
                continue
            k = self.fused_levels.index(level)
            if self.fusion == "gate":
                fused, a = self.gates[k](xs, xo)
                attention.append(a.reshape(b, t, -1))
            else:
                fused = self.concat_fusion[k](torch.cat([xs, xo], dim=1))
            if self.skips:
                skips.append(self._skip(level, fused.reshape(b, t, *fused.shape[1:])))

        x = self._temporal(self.pool(fused), b, t)
        if self.temporal_zeroed:
            x = torch.zeros_like(x)
        if self.skips:
            for up, block, skip in zip(self.up, self.decoder, reversed(skips), strict=True):
                x = block(torch.cat([up(x), skip], dim=1))
        else:
            for up, block in zip(self.up, self.decoder, strict=True):
                x = block(up(x))
        return self.head(x), attention

    def _skip(self, level: int, steps: torch.Tensor) -> torch.Tensor:
        """One level's skip features: (B, T, C, h, w) per step -> (B, C, h, w) for the decoder."""
        if self.skip_mixers is not None:
            b, t = steps.shape[:2]
            return self.skip_mixers[level](steps.reshape(b, t * steps.shape[2], *steps.shape[3:]))
        return steps.mean(dim=1) if self.skip_source == "mean" else steps[:, -1]

    def _temporal(self, deep: torch.Tensor, b: int, t: int) -> torch.Tensor:
        """The temporal path: (B*T, C, h, w) deepest fused features -> (B, C_hidden, h, w)."""
        if self.temporal_mode == "single":
            per_step = self.temporal(deep)
            return per_step.reshape(b, t, *per_step.shape[1:]).mean(dim=1)
        hidden, states = self.temporal(deep.reshape(b, t, *deep.shape[1:]))
        if self.readout is None:
            return states[-1][0]  # h_T of the top ConvLSTM layer
        scores = self.readout(hidden.reshape(b * t, *hidden.shape[2:])).reshape(b, t, 1, *hidden.shape[3:])
        return (torch.softmax(scores, dim=1) * hidden).sum(dim=1)

    def _encode(self, level: int, xs: torch.Tensor, xo: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One encoder level for both modalities (own weights, or one shared encoder on one batch)."""
        if self.shared_encoder:
            both = self.encoder[level](torch.cat([xs, xo], dim=0))
            return both[: xs.shape[0]], both[xs.shape[0] :]
        return self.sar_encoder[level](xs), self.optical_encoder[level](xo)

    def forward(self, sar: torch.Tensor, optical: torch.Tensor) -> torch.Tensor:
        """Logits (B, num_classes, H, W) for sar (B, T, 2 [+1], H, W) and optical (B, T, 6 [+1], H, W).

        Inputs are normalised and NaN-free (see :mod:`permafusion.tasks.degradation.normalize`); H, W
        multiples of 16 (``2 ** len(encoder_widths)``).
        """
        return self.forward_with_attention(sar, optical)[0]

    @staticmethod
    def sar_weight(attention: Sequence[torch.Tensor]) -> torch.Tensor:
        """Mean SAR weight (B, T) over channels and levels of :meth:`forward_with_attention` gates.

        Raises:
            ValueError: for an empty list (a model built with ``fusion="concat"`` has no gates).
        """
        if len(attention) == 0:
            raise ValueError("no cross-modal gates to average: the model was built with fusion='concat'")
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
            "lstm_kernel_size": self.lstm_kernel_size,
            "temporal": self.temporal_mode,
            "fusion": self.fusion,
            "shared_encoder": self.shared_encoder,
            "skips": self.skips,
            "lstm_norm": self.lstm_norm,
            "temporal_readout": self.temporal_readout,
            "validity_masks": self.validity_masks,
            "time_step": self.time_step,
            "num_steps": self.num_steps,
        }
