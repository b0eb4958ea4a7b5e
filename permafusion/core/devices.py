"""Devices and numeric precision: one place that turns the ``device`` and ``precision`` settings into torch.

Every step that runs a model (training, evaluation, prediction) resolves its device here from the settings
it was given, so a job on a GPU node uses the GPU for all of them, and an explicit ``"cpu"`` is honoured.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; anything else is passed to :class:`torch.device`."""
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def place_model(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """``model`` on ``device`` with its 4-D weights in channels-last layout.

    The convolutions of these networks are narrow (8-64 channels in the small preset) and run on many frames
    at once (B x T); with the weights channels-last oneDNN runs PermaFusionNet's inference 1.4x and its
    training step 1.2x faster on two CPU threads (``benchmarks/memory_format.py``), and it is the layout
    cuDNN's tensor-core convolutions work in (not measured here). Networks without 4-D weights (the
    soil-temperature GRU) are only moved. Outputs equal the default layout's up to float rounding.
    """
    # Module.to takes memory_format at runtime (documented), but torch's overloads do not declare it.
    return model.to(device, memory_format=torch.channels_last)  # type: ignore[call-overload]


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of a precision setting on a device; None means plain fp32.

    ``"auto"`` is bf16 on CUDA and fp32 on CPU (bf16 on CPU is slower than fp32 for these convolutions).

    Raises:
        ValueError: for an unknown precision.
    """
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision == "auto":
        return torch.bfloat16 if device.type == "cuda" else None
    raise ValueError(f"precision={precision!r} must be 'auto', 'fp32' or 'bf16'")


def autocast(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager[Any]:
    """Autocast to ``dtype`` on ``device``, or nothing for fp32."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)
