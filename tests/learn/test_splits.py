"""Leave-one-region-out folds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from affine import Affine
from rasterio.crs import CRS

from permafusion.learn.splits import (
    assign_regions,
    fold_index,
    fold_markdown,
    fold_table,
    region_names,
)


def test_one_fold_per_region(tmp_path: Path) -> None:
    table = pd.DataFrame(
        {"patch_id": range(6), "split": ["train", "val"] * 3, "region": ["b", "a", "b", "c", "a", None]}
    )
    path = tmp_path / "index.csv"
    table.to_csv(path, index=False)
    assert region_names(path) == ["a", "b", "c"]
    folds = [fold_index(pd.read_csv(path), region) for region in region_names(path)]
    held_out = [sorted(fold.loc[fold["split"] == "test", "patch_id"]) for fold in folds]
    rest = [sorted(fold.loc[fold["split"] != "test", "patch_id"]) for fold in folds]
    assert list(zip(rest, held_out, strict=True)) == [
        ([0, 2, 3, 5], [1, 4]),
        ([1, 3, 4, 5], [0, 2]),
        ([0, 1, 2, 4, 5], [3]),
    ]


def test_missing_or_single_region_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no 'region' column"):
        fold_index(pd.DataFrame({"patch_id": [0, 1]}), "x")
    with pytest.raises(ValueError, match="needs at least two"):
        fold_index(pd.DataFrame({"patch_id": [0, 1], "region": ["x", "x"]}), "x")


def test_patches_fall_in_the_region_of_their_centre() -> None:
    # a UTM 46N tile whose top-left corner is at 500000 E, 3850000 N (about 93.0 E, 34.79 N)
    transform = Affine(10.0, 0.0, 500000.0, 0.0, -10.0, 3850000.0)
    index = pd.DataFrame({"tile": ["t", "t", "t"], "row_off": [0, 0, 256], "col_off": [0, 512, 0]})
    # patch centres at x = 500640 / 505760 m: about 93.0070 E and 93.0633 E
    regions = {"west": [92.9, 34.0, 93.03, 35.0], "east": [93.03, 34.0, 93.2, 35.0], "all": [92, 34, 94, 35]}
    got = assign_regions(
        index, tile_grids={"t": (CRS.from_epsg(32646), transform)}, regions=regions, patch_size=128
    )
    assert list(got) == ["west", "east", "west"]  # the first listed region wins over "all"
    far = assign_regions(
        index,
        tile_grids={"t": (CRS.from_epsg(32646), transform)},
        regions={"x": [0, 0, 1, 1]},
        patch_size=128,
    )
    assert list(far) == ["", "", ""]


def test_fold_index_holds_out_one_region_and_keeps_validation_elsewhere() -> None:
    index = pd.DataFrame(
        {
            "patch_id": range(6),
            "split": ["train", "val", "test", "train", "val", "test"],
            "region": ["a", "a", "a", "b", "b", ""],
        }
    )
    fold = fold_index(index, "a")
    assert list(fold["split"]) == ["test", "test", "test", "train", "val", "train"]
    assert list(index["split"])[:3] == ["train", "val", "test"]  # the input is not modified
    with pytest.raises(ValueError, match="no patch lies in region 'c'"):
        fold_index(index, "c")
    no_val = index.assign(split=["train", "val", "test", "train", "train", "test"])
    with pytest.raises(ValueError, match="no validation patch"):
        fold_index(no_val, "a")


def test_fold_table_lists_regions_and_their_mean() -> None:
    def scores(oa: float, f1: float) -> dict:
        return {
            "patches": 4,
            "model": {
                "overall_accuracy": oa,
                "mean_f1": f1,
                "kappa": 0.5,
                "ci95": {"mean_f1": [f1 - 0.1, f1 + 0.1]},
            },
            "majority_baseline": {"mean_f1": 0.2},
        }

    table = fold_table({"a": scores(0.8, 0.6), "b": scores(0.6, 0.4)})
    assert list(table["held_out_region"]) == ["a", "b", "mean over regions"]
    np.testing.assert_allclose(table.loc[2, ["overall_accuracy", "mean_f1"]].astype(float), [0.7, 0.5])
    assert table.loc[2, ["test_patches", "mean_f1_ci_low"]].isna().all()  # no interval for the mean
    text = fold_markdown(table)
    assert "| a " in text and "60.0 [50.0, 70.0]" in text and "mean over regions" in text
