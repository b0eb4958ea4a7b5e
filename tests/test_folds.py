"""Leave-one-region-out folds."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from permafusion.folds import leave_one_region_out, region_names


def test_one_fold_per_region(tmp_path: Path) -> None:
    table = pd.DataFrame({"patch_id": range(6), "split": "train", "region": ["b", "a", "b", "c", "a", None]})
    path = tmp_path / "index.csv"
    table.to_csv(path, index=False)
    assert region_names(path) == ["a", "b", "c"]
    folds = list(leave_one_region_out(path))
    assert folds == [
        ([0, 2, 3, 5], [1, 4]),
        ([1, 3, 4, 5], [0, 2]),
        ([0, 1, 2, 4, 5], [3]),
    ]
    assert list(leave_one_region_out(table)) == folds


def test_missing_or_single_region_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no 'region' column"):
        list(leave_one_region_out(pd.DataFrame({"patch_id": [0, 1]})))
    with pytest.raises(ValueError, match="needs at least two"):
        list(leave_one_region_out(pd.DataFrame({"patch_id": [0, 1], "region": ["x", "x"]})))
