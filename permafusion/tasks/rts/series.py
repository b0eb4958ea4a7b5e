"""The yearly series (seed 001 §3.5, §4.2): slump count and total area per site and year, with a band.

Band, ``uncertainty: measured`` (default): with the primary model's measured pixel precision P and recall
R on the held-out images, the predicted area A over-counts by the false positives (share 1 - P) and misses
the false negatives (share 1/R - 1 of the true area), so the true area is estimated as A * P / R, and its
band runs from A * P_lo / R_hi to A * P_hi / R_lo with the bootstrap interval ends. ``uncertainty: flat``
reproduces the seed's Fig. 3: A * (1 -/+ ``flat_fraction``) around A itself (0.15 in the seed).

The count gets the same treatment with the object scores (a predicted slump is a true positive when it
matches a labelled one one-to-one at IoU >= 0.5): the true count is estimated as N * P_obj / R_obj, with
the band from the interval ends. The raw count over-counts where the model finds look-alikes (on the
demo, bare gravel patches on flat ground are most of its unmatched objects); the estimate corrects for
the measured share of such objects, as the area estimate does for false-positive pixels.
Years without a usable scene are rows with status ``skipped`` and the reason, and no figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from permafusion.geo.grid import GridSpec
from permafusion.tasks.rts.classes import SLUMP
from permafusion.tasks.rts.labels import site_label_raster
from permafusion.tasks.rts.objects import label_objects


@dataclass(frozen=True)
class Uncertainty:
    """How the area band is derived."""

    kind: Literal["measured", "flat"] = "measured"
    flat_fraction: float = 0.15

    def band(
        self, value: float, scores: Mapping[str, Any], *, prefix: str = ""
    ) -> tuple[float, float, float]:
        """(estimate, low, high) of a true figure from a predicted one and the model's scores.

        ``prefix`` picks the scores: ``""`` the pixel precision and recall (for areas), ``"object_"``
        the object ones (for counts).
        """
        if self.kind == "flat":
            return value, value * (1 - self.flat_fraction), value * (1 + self.flat_fraction)
        needed = [
            prefix + k
            for k in ("precision", "recall", "precision_lo", "precision_hi", "recall_lo", "recall_hi")
        ]
        missing = [k for k in needed if scores.get(k) is None]
        if missing:
            raise ValueError(
                f"the model's scores lack {missing} (no slump in the test images?): set "
                "`rts.series.uncertainty: flat` or label more slumps"
            )

        def ratio(precision: str, recall: str) -> float:
            r = scores[prefix + recall]
            return value * scores[prefix + precision] / r if r > 0 else float("nan")

        return (
            ratio("precision", "recall"),
            ratio("precision_lo", "recall_hi"),
            ratio("precision_hi", "recall_lo"),
        )


def mask_figures(mask: np.ndarray, *, pixel_area_m2: float, min_pixels: int) -> tuple[int, float]:
    """Number of slumps (8-connected objects of at least ``min_pixels``) and their total area in hectares."""
    labels, count = label_objects(mask, min_pixels=min_pixels)
    return count, float((labels > 0).sum()) * pixel_area_m2 / 1e4


def yearly_table(
    rows: Sequence[Mapping[str, Any]], *, scores: Mapping[str, Any], uncertainty: Uncertainty
) -> pd.DataFrame:
    """The series table from per (site, year) rows ``{site, year, status, count, area_ha, [reason]}``.

    Adds ``area_est_ha``, ``area_low_ha``, ``area_high_ha`` and ``count_est``, ``count_low``,
    ``count_high`` for years with a scene (the count's left empty when the test images gave no object
    precision: no predicted object of at least the minimum size).
    """
    out = []
    for row in rows:
        record = dict(row)
        if record.get("status") == "ok":
            est, low, high = uncertainty.band(float(record["area_ha"]), scores)
            record.update(area_est_ha=est, area_low_ha=low, area_high_ha=high)
            if uncertainty.kind == "flat" or scores.get("object_precision") is not None:
                est, low, high = uncertainty.band(float(record["count"]), scores, prefix="object_")
                record.update(count_est=est, count_low=low, count_high=high)
        out.append(record)
    columns = [
        "site",
        "year",
        "status",
        "count",
        "count_est",
        "count_low",
        "count_high",
        "area_ha",
        "area_est_ha",
        "area_low_ha",
        "area_high_ha",
        "true_count",
        "true_area_ha",
        "item",
        "reason",
    ]
    frame = pd.DataFrame(out)
    for column in columns:
        if column not in frame:
            frame[column] = np.nan
    return frame[columns].sort_values(["site", "year"]).reset_index(drop=True)


def true_figures(
    labels: Any, sites: Mapping[str, Mapping[str, Any]], *, min_area_m2: float
) -> dict[tuple[str, int], dict[str, float]]:
    """(site, year) -> ``{"true_count", "true_area_ha"}`` from the label polygons, measured like the masks."""
    out = {}
    for name, spec in sites.items():
        grid = GridSpec.from_mapping(spec["grid"]) if isinstance(spec["grid"], Mapping) else spec["grid"]
        min_pixels = max(1, int(np.ceil(min_area_m2 / grid.resolution**2)))
        for year in sorted(set(int(y) for y in labels["year"])):
            mask = site_label_raster(labels, grid, year=year) == SLUMP
            count, area = mask_figures(mask, pixel_area_m2=grid.resolution**2, min_pixels=min_pixels)
            out[(name, year)] = {"true_count": count, "true_area_ha": area}
    return out
