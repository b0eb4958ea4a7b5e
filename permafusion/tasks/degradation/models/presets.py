"""Named width presets of PermaFusionNet."""

from __future__ import annotations

from typing import Any

#: ``paper``: the published widths (§4.2, §4.4). ``small``: a CPU-sized model for the demo and tests.
MODEL_PRESETS: dict[str, dict[str, Any]] = {
    "paper": {"encoder_widths": (64, 128, 256, 512), "lstm_hidden": (256, 128), "gate_reduction": 16},
    "small": {"encoder_widths": (8, 16, 32, 64), "lstm_hidden": (32, 16), "gate_reduction": 4},
}


def model_kwargs_for_preset(name: str) -> dict[str, Any]:
    """Constructor keyword arguments of :class:`PermaFusionNet` for a preset name.

    Raises:
        ValueError: for an unknown preset, listing the known ones.
    """
    try:
        return dict(MODEL_PRESETS[name])
    except KeyError:
        raise ValueError(f"unknown model preset {name!r}; choose one of {sorted(MODEL_PRESETS)}") from None
