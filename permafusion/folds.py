"""Cross-validation folds over the patch index: leave one region out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd


def _read_index(index: Path | pd.DataFrame) -> pd.DataFrame:
    return index if isinstance(index, pd.DataFrame) else pd.read_csv(index)


def region_names(index: Path | pd.DataFrame, *, region_column: str = "region") -> list[str]:
    """Sorted region names of the index: the order of the folds of :func:`leave_one_region_out`.

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


def leave_one_region_out(
    index: Path | pd.DataFrame, *, id_column: str = "patch_id", region_column: str = "region"
) -> Iterator[tuple[list[int], list[int]]]:
    """Yield ``(train_ids, test_ids)``: one fold per region, in :func:`region_names` order.

    The test ids are the patches of the region, the train ids all other patches (whatever their
    ``split``; carve a validation set from them if needed). Patches without a region are in no test fold.

    Raises:
        ValueError: if the index has no region column, or fewer than two regions.
    """
    table = _read_index(index)
    regions = region_names(table, region_column=region_column)
    labels = table[region_column].astype(str).where(table[region_column].notna())
    for region in regions:
        held_out = labels == region
        yield (
            sorted(int(i) for i in table.loc[~held_out, id_column]),
            sorted(int(i) for i in table.loc[held_out, id_column]),
        )
