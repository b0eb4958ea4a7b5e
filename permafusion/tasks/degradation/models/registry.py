"""Build any network of the comparison (paper §5.1 baselines, §5.3 ablations) by name and size preset.

Every network built here maps ``forward(sar (B, T, 2, H, W), optical (B, T, 6, H, W))`` to logits (B, 4, H, W)
and has ``num_classes``, ``size_multiple`` (H and W must be multiples of it) and ``model_kwargs()``
(JSON-ready arguments: ``build_model(name, preset=None, **model.model_kwargs())`` rebuilds it). The random
forest (:class:`~permafusion.tasks.degradation.models.baselines.RandomForestBaseline`) is not a network and is
not listed here.

Presets: ``"paper"`` uses the paper's widths where it gives them (PermaFusionNet and its ablations; the
U-Nets take the same encoder widths 64..512 with the original U-Net's 1024-channel bottleneck; the
transformer has no published size, 256-wide tokens, 4 layers, 8 heads are chosen to have a parameter count
of the same order); ``"small"`` is sized for CPU demos and tests.
"""

from __future__ import annotations

from typing import Any, Final

from torch import nn

from permafusion.tasks.degradation.models.baselines.cross_attention import CrossAttentionTransformer
from permafusion.tasks.degradation.models.baselines.early_fusion import EarlyFusionCNN
from permafusion.tasks.degradation.models.baselines.single_sensor_unet import OpticalUNet, SarUNet
from permafusion.tasks.degradation.models.permafusionnet import PermaFusionNet
from permafusion.tasks.degradation.models.presets import MODEL_PRESETS

#: Constructor flags of each PermaFusionNet variant (the full model and the ablations of Table 3).
#: ``ablation_order_free`` pools all months without order, on the temporal path and on the skips;
#: ``ablation_single_step`` reads one month (T = 1, ``time_step``).
PERMAFUSIONNET_VARIANTS: dict[str, dict[str, Any]] = {
    "permafusionnet": {},
    "ablation_order_free": {"temporal": "single", "skip_source": "mean"},
    "ablation_single_step": {"temporal": "single", "skip_source": "mean"},
    "ablation_concat": {"fusion": "concat"},
    "ablation_shared_encoder": {"shared_encoder": True},
    "ablation_no_skips": {"skips": False},
}

#: How PermaFusionNet's skips take the months when not told (``skip_source``; the class itself defaults to
#: the order-free mean, which needs no ``num_steps``): stacked in order, see
#: :class:`~permafusion.tasks.degradation.models.permafusionnet.PermaFusionNet`.
DEFAULT_SKIP_SOURCE: Final = "stack"

#: The month (0-based) ``ablation_single_step`` reads when none is given: July of a January-December year.
DEFAULT_SINGLE_STEP = 6

_UNET_PRESETS: dict[str, dict[str, Any]] = {
    "paper": {"widths": (64, 128, 256, 512), "bottleneck_width": 1024},
    "small": {"widths": (8, 16, 32, 64), "bottleneck_width": 128},
}

#: Baselines that stack time into channels (built for a fixed ``num_steps``) and their size presets.
BASELINES: dict[str, tuple[type[nn.Module], dict[str, dict[str, Any]]]] = {
    "sar_unet": (SarUNet, _UNET_PRESETS),
    "optical_unet": (OpticalUNet, _UNET_PRESETS),
    "ef_cnn": (EarlyFusionCNN, _UNET_PRESETS),
    "ca_transformer": (
        CrossAttentionTransformer,
        {
            "paper": {"patch_size": 8, "embed_dim": 256, "depth": 4, "num_heads": 8, "decoder_width": 64},
            "small": {"patch_size": 8, "embed_dim": 32, "depth": 2, "num_heads": 4, "decoder_width": 16},
        },
    ),
}

#: Every name :func:`build_model` accepts.
MODEL_NAMES: tuple[str, ...] = (*PERMAFUSIONNET_VARIANTS, *BASELINES)

#: Size presets every model has.
SIZE_PRESETS: tuple[str, ...] = ("paper", "small")


def _check_name(name: str) -> None:
    if name not in MODEL_NAMES:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")


def preset_kwargs(name: str, preset: str) -> dict[str, Any]:
    """Constructor arguments of model ``name`` at size ``preset`` (without ``num_steps``).

    Raises:
        ValueError: for an unknown model or preset, listing the known ones.
    """
    _check_name(name)
    if preset not in SIZE_PRESETS:
        raise ValueError(f"unknown size preset {preset!r}; choose one of {', '.join(SIZE_PRESETS)}")
    if name in PERMAFUSIONNET_VARIANTS:
        return {**MODEL_PRESETS[preset], **PERMAFUSIONNET_VARIANTS[name]}
    return dict(BASELINES[name][1][preset])


def build_model(name: str, *, preset: str | None = "paper", num_steps: int = 12, **kwargs: Any) -> nn.Module:
    """A network of the comparison by name.

    Args:
        name: one of :data:`MODEL_NAMES`.
        preset: ``"paper"`` or ``"small"`` widths (see the module docstring), or None for the class
            defaults; ``kwargs`` override the preset.
        num_steps: time steps T per sample. The baselines stack time into channels and are built for this
            T, and so is PermaFusionNet with ``skip_source="stack"``; otherwise it accepts any T.
        **kwargs: further constructor arguments of the model's class.

    Returns:
        The model, freshly initialised (seed with :func:`torch.manual_seed` before for reproducibility).

    Raises:
        ValueError: for an unknown name or preset, or kwargs that contradict an ablation's setting.
    """
    _check_name(name)
    merged = preset_kwargs(name, preset) if preset is not None else {}
    if name in PERMAFUSIONNET_VARIANTS:
        merged.setdefault("skip_source", DEFAULT_SKIP_SOURCE)
        for key, value in PERMAFUSIONNET_VARIANTS[name].items():
            if key in kwargs and kwargs[key] != value:
                raise ValueError(f"model {name!r} is defined by {key}={value!r}; got {key}={kwargs[key]!r}")
        merged.update(PERMAFUSIONNET_VARIANTS[name])
        merged.update(kwargs)
        if name == "ablation_single_step" and merged.get("time_step") is None:
            merged["time_step"] = DEFAULT_SINGLE_STEP
        if name != "ablation_single_step" and merged.get("time_step") is not None:
            raise ValueError(f"time_step applies to ablation_single_step only, not {name!r}")
        merged["num_steps"] = num_steps if merged.get("skip_source") == "stack" else None
        return PermaFusionNet(**merged)
    merged.update(kwargs)
    merged["num_steps"] = num_steps
    cls = BASELINES[name][0]
    return cls(**merged)


def count_parameters(model: nn.Module, *, trainable_only: bool = False) -> int:
    """Number of parameters (shared tensors counted once); only those with gradients when asked."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
