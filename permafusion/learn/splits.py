"""Cross-validation folds over the patch index: leave one region out (seed 000, §5).

An AOI may name regions (``regions:`` in its YAML: name -> [west, south, east, north] in degrees).
:func:`assign_regions` puts each patch in the region holding its centre, :func:`fold_index` turns the
index into one fold's (the region's patches are the test split; the other patches train, with their
validation split kept for choosing the epoch), and :func:`fold_table` summarises the folds' metrics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from affine import Affine
from rasterio.warp import transform as transform_coords


def _read_index(index: Path | pd.DataFrame) -> pd.DataFrame:
    return index if isinstance(index, pd.DataFrame) else pd.read_csv(index)


def region_names(index: Path | pd.DataFrame, *, region_column: str = "region") -> list[str]:
    """Sorted region names of the index: the folds of leave-one-region-out (:func:`fold_index`).

    Raises:
        ValueError: if the index has no region column, or fewer than two regions.
    """
    table = _read_index(index)
    where = "the index" if isinstance(index, pd.DataFrame) else f"index {index}"
    if region_column not in table.columns:
        raise ValueError(
            f"{where} has no {region_column!r} column (columns: {list(table.columns)}), so there is "
            "nothing to leave out; add one region name per patch to use leave-one-region-out"
        )
    regions = sorted(str(r) for r in table[region_column].dropna().unique())
    if len(regions) < 2:
        raise ValueError(
            f"{where} has {len(regions)} region ({regions}); leave-one-region-out needs at least two: "
            "add patches from another region or use the random train/val/test split"
        )
    return regions


Bbox = Sequence[float]


def assign_regions(
    index: pd.DataFrame,
    *,
    tile_grids: Mapping[str, tuple[Any, Affine]],
    regions: Mapping[str, Bbox],
    patch_size: int,
) -> pd.Series:
    """The region of each patch: the first of ``regions`` whose box holds the patch centre, else "".

    Args:
        index: the patch index (``tile``, ``row_off``, ``col_off``).
        tile_grids: per tile name, its CRS and affine transform.
        regions: name -> (west, south, east, north) in degrees.
        patch_size: patch side in pixels.
    """
    out = pd.Series("", index=index.index, dtype=object)
    for tile, rows in index.groupby("tile"):
        crs, transform = tile_grids[str(tile)]
        centre = patch_size / 2
        xs, ys = transform * (rows["col_off"].to_numpy() + centre, rows["row_off"].to_numpy() + centre)
        lons, lats = (np.asarray(v) for v in transform_coords(crs, "EPSG:4326", xs, ys))
        for name, (west, south, east, north) in reversed(list(regions.items())):  # the first listed wins
            inside = (lons >= west) & (lons <= east) & (lats >= south) & (lats <= north)
            out.loc[rows.index[inside]] = name
    return out


def fold_index(index: pd.DataFrame, region: str, *, region_column: str = "region") -> pd.DataFrame:
    """The index of the fold that holds out ``region``: its patches test, the others train or validate.

    Patches of other regions (and those in none) keep a ``val`` split for choosing the epoch; their
    ``train`` and ``test`` patches train.

    Raises:
        ValueError: the region has no patches, or no validation patch is left outside it.
    """
    regions = region_names(index, region_column=region_column)
    if region not in regions:
        raise ValueError(f"no patch lies in region {region!r}; the regions with patches are {regions}")
    fold = index.copy()
    held_out = fold[region_column].astype(str) == region
    fold["split"] = np.where(held_out, "test", np.where(fold["split"] == "val", "val", "train"))
    if not (fold["split"] == "val").any():
        raise ValueError(
            f"holding out {region!r} leaves no validation patch to choose the epoch with; "
            "use smaller `patches.block`s so that every region has some"
        )
    return fold


def fold_table(metrics: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """One row per held-out region (OA, mean F1 with its interval, kappa, test patches), then the mean.

    The mean row averages OA, mean F1, kappa and the baseline over regions (each region weighs the
    same); it has no interval and no patch count.
    """
    rows = []
    for region, scores in metrics.items():
        model = scores["model"]
        low, high = model.get("ci95", {}).get("mean_f1", [np.nan, np.nan])
        rows.append(
            {
                "held_out_region": region,
                "test_patches": scores.get("patches", np.nan),
                "overall_accuracy": model["overall_accuracy"],
                "mean_f1": model["mean_f1"],
                "mean_f1_ci_low": low,
                "mean_f1_ci_high": high,
                "kappa": model.get("kappa", np.nan),
                "majority_mean_f1": scores["majority_baseline"]["mean_f1"],
            }
        )
    table = pd.DataFrame(rows)
    mean = table.drop(columns="held_out_region").mean(numeric_only=True)
    # the regions' intervals do not average into an interval of the mean, nor patch counts into one
    mean[["test_patches", "mean_f1_ci_low", "mean_f1_ci_high"]] = np.nan
    mean["held_out_region"] = "mean over regions"
    table.loc[len(table)] = mean  # (aligned by column; pd.concat warns about the all-NaN cells)
    return table


def fold_markdown(table: pd.DataFrame) -> str:
    """:func:`fold_table` as a Markdown table: OA and mean F1 in percent, with the interval."""
    from permafusion.tasks.degradation.tables import DASH, markdown_table, with_ci

    rows = [
        [
            str(row.held_out_region),
            DASH if pd.isna(row.test_patches) else f"{float(row.test_patches):g}",
            with_ci(row.overall_accuracy, None, percent=True),
            with_ci(
                row.mean_f1,
                None if pd.isna(row.mean_f1_ci_low) else [row.mean_f1_ci_low, row.mean_f1_ci_high],
                percent=True,
            ),
            with_ci(row.kappa, None, percent=False),
            with_ci(row.majority_mean_f1, None, percent=True),
        ]
        for row in table.itertuples()
    ]
    header = ["held-out region", "test patches", "OA %", "mean F1 % [95 % CI]", "kappa", "majority mF1 %"]
    return markdown_table(header, rows)
