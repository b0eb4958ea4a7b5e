"""The series figure (like seed 001 Fig. 3): total slump area per year and site as bars with the
uncertainty band as error bars, the number of slumps written in each bar, skipped years marked."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from permafusion.core.files import atomic_write


def plot_series(series: pd.DataFrame, path: str | Path) -> None:
    """One panel per site; bars of area (ha) per year, error bars from the band, counts in the bars."""
    sites = sorted(series["site"].unique())
    fig, axes = plt.subplots(1, len(sites), figsize=(4.2 * len(sites), 3.4), squeeze=False, sharey=True)
    for ax, site in zip(axes[0], sites, strict=True):
        rows = series[series["site"] == site].sort_values("year")
        ok = rows["status"] == "ok"
        years = rows["year"].to_numpy()
        area = rows["area_ha"].to_numpy(float)
        low = rows["area_low_ha"].to_numpy(float)
        high = rows["area_high_ha"].to_numpy(float)
        err = np.vstack([np.clip(area - low, 0, None), np.clip(high - area, 0, None)])
        bars = ax.bar(
            years[ok], area[ok], color="#c8553d", yerr=err[:, ok.to_numpy()], capsize=3, label="predicted"
        )
        for bar, count in zip(bars, rows["count"][ok], strict=True):
            ax.text(
                bar.get_x() + bar.get_width() / 2,
                bar.get_height() / 2,
                f"{int(count)}",
                ha="center",
                color="white",
                fontsize=8,
            )
        if rows["true_area_ha"].notna().any():
            ax.plot(years, rows["true_area_ha"].to_numpy(float), "k.--", label="labelled")
        for year in years[~ok.to_numpy()]:
            ax.text(year, 0, "no scene", rotation=90, ha="center", va="bottom", fontsize=7, color="grey")
        ax.set_title(site)
        ax.set_xlabel("year")
        ax.set_xticks(years)
        ax.tick_params(axis="x", labelrotation=45)
    axes[0][0].set_ylabel("slump area (ha)")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    with atomic_write(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)
