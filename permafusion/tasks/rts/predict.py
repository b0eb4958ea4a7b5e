"""Slump probabilities of whole site images with a trained checkpoint.

The image is cut into overlapping windows (``window`` pixels, a multiple of 16, overlapping by
``2 * margin``); each window's centre is kept, so no pixel's prediction comes from a window edge. Invalid
pixels (NaN in any channel) are filled with 0 before scaling and get no prediction (NaN probability).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from permafusion.core.devices import place_model, resolve_device
from permafusion.tasks.rts.normalize import MinMax
from permafusion.tasks.rts.unet import SlumpUNet


def load_model(path: str | Path, device: str = "cpu") -> tuple[SlumpUNet, dict[str, Any]]:
    """The network of a checkpoint (in eval mode) and the checkpoint's fields."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    if checkpoint.get("card", {}).get("task") != "rts":
        raise ValueError(f"checkpoint {path} is not a thaw-slump model (card task {checkpoint.get('card')})")
    kwargs = dict(checkpoint["model_kwargs"])
    model = SlumpUNet(**kwargs)
    model.load_state_dict(checkpoint["state_dict"])
    place_model(model, resolve_device(device)).eval()
    return model, checkpoint


@torch.no_grad()
def predict_probability(
    model: SlumpUNet,
    image: np.ndarray,
    *,
    stats: MinMax,
    window: int = 256,
    margin: int = 16,
    device: str = "cpu",
) -> np.ndarray:
    """Slump probability (H, W) of an image (C, H, W) in the model's channel order; NaN where invalid."""
    factor = 2 ** (model.levels - 1)
    if window % factor or window <= 2 * margin:
        raise ValueError(
            f"window {window} must be a multiple of {factor} and larger than 2 x margin {margin}"
        )
    channels, height, width = image.shape
    valid = np.isfinite(image).all(axis=0)
    scaled = stats.apply(np.where(valid, image, 0.0)[None])[0]
    step = window - 2 * margin
    pad_h = (-height) % step + 2 * margin + step
    pad_w = (-width) % step + 2 * margin + step
    padded = np.pad(scaled, ((0, 0), (margin, pad_h - margin), (margin, pad_w - margin)), mode="reflect")
    out = np.zeros((height, width), np.float32)
    target = resolve_device(device)
    for row in range(0, height, step):
        for col in range(0, width, step):
            tile = padded[:, row : row + window, col : col + window]
            logits = model(torch.from_numpy(np.ascontiguousarray(tile))[None].to(target))
            prob = torch.sigmoid(logits)[0, 0].float().cpu().numpy()
            h, w = min(step, height - row), min(step, width - col)
            out[row : row + h, col : col + w] = prob[margin : margin + h, margin : margin + w]
    out[~valid] = np.nan
    return out
