"""Application through time (seed 001 §3.5): a site's yearly slump masks, polygons and figures.

For each year with a scene: the probability from the primary model, the mask (probability > threshold,
objects under the minimum size removed), a two-band COG (classes 1 background / 2 slump / 0 no scene,
and the probability), the slump polygons as GeoPackage and GeoParquet, and a row of count and area.
A skipped year writes empty products and a row saying why.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from permafusion.geo.grid import GridSpec
from permafusion.products.maps import write_class_probability_cog
from permafusion.products.vectors import polygonize_mask, write_vectors
from permafusion.tasks.rts.classes import BACKGROUND, RTS, SLUMP
from permafusion.tasks.rts.normalize import MinMax
from permafusion.tasks.rts.objects import label_objects
from permafusion.tasks.rts.predict import load_model, predict_probability
from permafusion.tasks.rts.series import mask_figures
from permafusion.tasks.rts.stack import read_site_image

LOG = logging.getLogger(__name__)


def map_site(
    *,
    site: str,
    grid: GridSpec,
    checkpoint: Path,
    scenes: Mapping[int, tuple[str, str]],
    terrain: str | None,
    outputs: Mapping[int, Mapping[str, str]],
    threshold: float,
    min_area_m2: float,
    device: str = "cpu",
) -> list[dict[str, Any]]:
    """Write each year's products (``outputs[year]``: ``mask``, ``gpkg``, ``parquet``); returns the rows."""
    model, fields = load_model(checkpoint, device)
    stats = MinMax.from_mapping(fields["normalization"])
    min_pixels = max(1, int(np.ceil(min_area_m2 / grid.resolution**2)))
    rows = []
    for year, (tif, info_path) in sorted(scenes.items()):
        info = json.loads(Path(info_path).read_text())
        files = outputs[year]
        if info["status"] != "ok":
            classes = np.zeros(grid.shape, np.uint8)
            probability = np.full(grid.shape, np.nan, np.float32)
            row = {"site": site, "year": year, "status": "skipped", "reason": info.get("reason")}
        else:
            image = read_site_image(tif, terrain, fields["channels"])
            probability = predict_probability(model, image, stats=stats, device=device)
            objects, _ = label_objects(np.nan_to_num(probability) > threshold, min_pixels=min_pixels)
            valid = np.isfinite(probability)
            classes = np.where(objects > 0, SLUMP, np.where(valid, BACKGROUND, 0)).astype(np.uint8)
            count, area = mask_figures(objects > 0, pixel_area_m2=grid.resolution**2, min_pixels=min_pixels)
            row = {
                "site": site,
                "year": year,
                "status": "ok",
                "count": count,
                "area_ha": area,
                "item": info["item"],
                "valid_fraction": float(valid.mean()),
            }
            LOG.info("%s %d: %d slumps, %.2f ha", site, year, count, area)
        write_class_probability_cog(classes, probability, grid, files["mask"], scheme=RTS)
        polygons = polygonize_mask(
            classes == SLUMP,
            grid,
            min_area_m2=min_area_m2,
            attributes={"site": site, "year": year},
            values=probability,
        )
        write_vectors(polygons, gpkg=files["gpkg"], parquet=files["parquet"], layer="slumps")
        rows.append(row)
    return rows
