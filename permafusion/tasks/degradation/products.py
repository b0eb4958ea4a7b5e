"""The degradation task's per-tile product rasters: what each band of each product holds.

Bands are scaled bytes (:mod:`permafusion.products.rasters`: byte x 0.005 = value, 255 no data):

- ``probabilities``: one band per class code 1..K, the temperature-scaled probability of that class;
- ``uncertainty``: band 1 the predictive entropy / log K (0 certain, 1 uniform), band 2 the mutual
  information between the prediction and the flip over four flips (test-time augmentation) / log K;
- ``modality_weight``: one band per month, the SAR weight ``A`` of the cross-modal gate of one fused
  encoder level (mean over its channels; 1 - A goes to optical). The gate squeezes a whole window into
  one value per month, so each window gives one weight per month and the map is those weights blended
  with the windows' sin² taper: a field that varies at the scale of the window stride.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from permafusion.core.classes import ClassScheme
from permafusion.geo.grid import GridSpec
from permafusion.products.maps import write_class_cog
from permafusion.products.rasters import write_fraction_cog
from permafusion.tasks.degradation.predict import TileProducts

UNCERTAINTY_BANDS = (
    "predictive entropy / log K",
    "mutual information between prediction and flip (test-time augmentation, 4 flips) / log K",
)


def write_tile_products(
    products: TileProducts,
    grid: GridSpec,
    paths: Mapping[str, str | Path],
    *,
    scheme: ClassScheme,
    months: Sequence[str],
    gate_level: int | None,
) -> None:
    """Write a tile's ``classes``, ``probabilities``, ``uncertainty`` and ``modality_weight`` COGs.

    Args:
        products: from :func:`permafusion.tasks.degradation.predict.predict_tile_products`.
        grid: the tile's grid.
        paths: a path per product name.
        scheme: the class scheme (names of the probability bands).
        months: the months of the model's time steps, first to last (names of the weight bands).
        gate_level: the gate level mapped (recorded in the weight raster's tags), None without gates.

    Raises:
        ValueError: if ``months`` does not match the weight bands.
    """
    write_class_cog(products.classes, grid, paths["classes"], scheme=scheme)
    write_fraction_cog(
        products.probabilities,
        grid,
        paths["probabilities"],
        descriptions=[f"P({code} {scheme.name_of(code)})" for code in scheme.codes],
        tags={"PRODUCT": "class probabilities, temperature-scaled"},
    )
    write_fraction_cog(
        products.uncertainty,
        grid,
        paths["uncertainty"],
        descriptions=list(UNCERTAINTY_BANDS),
        tags={"PRODUCT": "uncertainty"},
    )
    weight = products.sar_weight
    if weight is None:
        weight = np.full((len(months), *grid.shape), np.nan, np.float32)
    if weight.shape[0] != len(months):
        raise ValueError(f"{weight.shape[0]} modality-weight bands but {len(months)} months given")
    write_fraction_cog(
        weight,
        grid,
        paths["modality_weight"],
        descriptions=list(months),
        tags={
            "PRODUCT": "SAR weight of the cross-modal gate per month (1 - weight: optical)",
            "GATE_LEVEL": "none (model without gates)" if products.sar_weight is None else str(gate_level),
        },
    )
