"""A site's input stack for one year: the scene's four bands and the smoothed slope, in channel order."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import rasterio

from permafusion.tasks.rts.scenes import BANDS

#: Band of the terrain file holding the boxcar-smoothed slope (1 elevation, 2 slope, 3 smoothed slope).
SMOOTHED_SLOPE_BAND = 3


def read_site_image(scene: str | Path, terrain: str | Path | None, channels: Sequence[str]) -> np.ndarray:
    """(C, H, W) float32 of ``channels`` (:data:`BANDS` and ``slope``); NaN where the scene is not clear.

    Raises:
        ValueError: slope asked for without a terrain file, or a channel name that is not known.
    """
    with rasterio.open(scene) as dataset:
        bands = dataset.read().astype(np.float32)
    layers = []
    for name in channels:
        if name in BANDS:
            layers.append(bands[BANDS.index(name)])
        elif name == "slope":
            if terrain is None:
                raise ValueError(
                    "channel `slope` needs a DEM: add a `dem` collection or drop slope from "
                    "`rts.train.channels`"
                )
            with rasterio.open(terrain) as dataset:
                layers.append(dataset.read(SMOOTHED_SLOPE_BAND).astype(np.float32))
        else:
            raise ValueError(f"unknown input channel {name!r}: use {list(BANDS)} and `slope`")
    return np.stack(layers)
