"""Every way the engine splits samples into train, validation and test, in one place.

- **Blocks** (:func:`assign_splits`): samples carry a group (a spatial block of patches, a site, a
  station) and a group goes whole to one split, so neighbouring or repeated samples never leak between
  training and test; groups are dealt out stratified (e.g. by dominant class).
- **Regions / sites** (:func:`assign_regions`, :func:`fold_index`): leave one named region out. An AOI
  may name regions (``regions:`` in its YAML: name -> [west, south, east, north] in degrees); a sample
  belongs to the region holding its centre; a fold tests on one region and trains on the others, keeping
  their validation split for choosing the epoch.
- **Time** (:func:`time_split`): train on early dates, validate and test on later ones, for series.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # the geospatial stack is needed only to assign regions
    from affine import Affine

SPLITS: tuple[str, ...] = ("train", "val", "test")


def assign_splits(
    blocks: Sequence[Any],
    fractions: Mapping[str, float],
    *,
    seed: int,
    strata: Sequence[Any] | None = None,
    weights: Sequence[float] | None = None,
) -> dict[Any, str]:
    """Give each block one split so that, per stratum, patch counts approach ``fractions``.

    Blocks are shuffled with ``seed`` and handed out one at a time to the split whose shortfall against
    its target, summed over the block's strata (e.g. the patches' dominant classes), is largest; so every
    class appears in every split in about the target proportion, as in the paper's Table 1. With three or
    more blocks, every split gets at least one.

    Args:
        blocks: the block of each patch.
        fractions: target share of patches per split.
        seed: seed of the shuffle.
        strata: the stratum of each patch; None treats all patches alike.
        weights: the weight of each sample (e.g. its labelled pixels) in the shares; None counts samples.
    """
    frame = pd.DataFrame(
        {
            "block": list(blocks),
            "stratum": list(strata) if strata is not None else 0,
            "weight": list(weights) if weights is not None else 1,
        }
    )
    per_block = pd.crosstab(frame["block"], frame["stratum"], values=frame["weight"], aggfunc="sum").fillna(0)
    order = list(per_block.index)
    np.random.default_rng(seed).shuffle(order)
    # big blocks first (stable sort keeps the shuffle among equals): small ones then even out the shares
    order.sort(key=lambda block: -int(per_block.loc[block].sum()))
    totals = per_block.sum(axis=0)
    given = {split: pd.Series(0, index=per_block.columns) for split in SPLITS}
    result: dict[Any, str] = {}
    for position, block in enumerate(order):
        counts = per_block.loc[block]
        if position < len(SPLITS) and len(order) >= len(SPLITS):
            # smallest targets first, so the held-out splits are never left empty
            split = sorted(SPLITS, key=lambda s: fractions[s])[position]
        else:
            # each class's shortfall, relative to its total, weighted by the block's patches of that class
            shortfall = {s: ((fractions[s] * totals - given[s]) / totals * counts).sum() for s in SPLITS}
            split = max(SPLITS, key=lambda s: float(shortfall[s]))
        result[block] = split
        given[split] = given[split] + counts
    return result


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
    from rasterio.warp import transform as transform_coords

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


def time_split(dates: Sequence[Any], *, val_start: Any, test_start: Any) -> np.ndarray:
    """The split of each sample by its date: train before ``val_start``, val until ``test_start``, test after.

    Args:
        dates: one date (anything numpy reads as datetime64) per sample, e.g. a window's last day.
        val_start: first date of the validation period.
        test_start: first date of the test period, after ``val_start``.

    Returns:
        An array of ``"train"``, ``"val"`` and ``"test"``, one per sample.

    Raises:
        ValueError: if ``test_start`` is not after ``val_start``.
    """
    when = np.asarray(dates, dtype="datetime64[D]")
    val, test = np.datetime64(val_start, "D"), np.datetime64(test_start, "D")
    if not test > val:
        raise ValueError(f"test_start {test} must come after val_start {val}")
    return np.where(when < val, "train", np.where(when < test, "val", "test"))
