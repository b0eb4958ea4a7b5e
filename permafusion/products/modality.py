"""The modality-weight map's summary: the mean SAR weight per month and class, as a table and a plot.

Both rasters are read block by block, never whole, so the summary scales with the AOI.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import rasterio

from permafusion.core.classes import NODATA, ClassScheme
from permafusion.core.files import atomic_write
from permafusion.products.rasters import SCALED_NODATA


def monthly_mean_by_class(weights: str | Path, classes: str | Path, *, scheme: ClassScheme) -> pd.DataFrame:
    """Mean SAR weight per band (month) and class of a scaled-byte weight COG over a class map.

    Returns:
        One row per month and class: ``month`` (the band description), ``class_code``, ``class_name``,
        ``pixels``, ``mean_sar_weight`` (NaN when the class has no pixel with a weight).

    Raises:
        ValueError: if the rasters are not on one grid.
    """
    with rasterio.open(weights) as w, rasterio.open(classes) as c:
        if (w.crs, w.transform, w.shape) != (c.crs, c.transform, c.shape):
            raise ValueError(f"{weights} and {classes} are not on one grid: rebuild the map products")
        months = [d or f"band {i}" for i, d in enumerate(w.descriptions, start=1)]
        scale = w.scales[0]
        top = max(scheme.codes) + 1
        sums = np.zeros((w.count, top))
        counts = np.zeros((w.count, top))
        for _, window in c.block_windows(1):
            codes = c.read(1, window=window).ravel()
            values = w.read(window=window).reshape(w.count, -1)
            for band in range(w.count):
                ok = (values[band] != SCALED_NODATA) & (codes != NODATA)
                sums[band] += np.bincount(codes[ok], weights=values[band][ok] * scale, minlength=top)[:top]
                counts[band] += np.bincount(codes[ok], minlength=top)[:top]
    rows = [
        {
            "month": months[band],
            "class_code": code,
            "class_name": scheme.name_of(code),
            "pixels": int(counts[band, code]),
            "mean_sar_weight": sums[band, code] / counts[band, code] if counts[band, code] else float("nan"),
        }
        for band in range(len(months))
        for code in scheme.codes
    ]
    return pd.DataFrame(rows)


def plot_monthly_by_class(table: pd.DataFrame, path: str | Path, *, scheme: ClassScheme, title: str) -> None:
    """Lines of the mean SAR weight per month, one per class in the scheme's colours, as a PNG.

    The y axis spans the data (and the 0.5 line of equal weights), not 0..1: differences between classes
    and months are often a few hundredths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 4.5), constrained_layout=True)
    months = list(dict.fromkeys(table["month"]))
    for code in scheme.codes:
        rows = table[table["class_code"] == code].set_index("month").reindex(months)
        if rows["pixels"].sum() == 0:
            continue
        r, g, b, _ = scheme.colors[code]
        axis.plot(
            range(len(months)),
            rows["mean_sar_weight"],
            marker="o",
            color=(r / 255, g / 255, b / 255),
            label=f"{code} {scheme.name_of(code)}",
        )
    axis.axhline(0.5, color="0.6", linestyle="--", linewidth=1)
    axis.set_xticks(range(len(months)), months, rotation=45, ha="right")
    axis.set_ylabel("SAR weight of the cross-modal gate (1 - optical)")
    axis.set_title(title)
    axis.legend(loc="best", fontsize="small")
    with atomic_write(path, suffix=".png") as tmp:
        figure.savefig(tmp, dpi=110)
    plt.close(figure)
