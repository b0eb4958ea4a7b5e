"""Splits: blocks, leave-one-region-out folds, time."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from affine import Affine
from rasterio.crs import CRS

from permafusion.learn.splits import (
    assign_regions,
    assign_splits,
    fold_index,
    region_names,
    time_split,
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


def test_assign_splits_gives_every_split_a_block_and_keeps_blocks_whole():
    blocks = [f"b{i // 4}" for i in range(40)]  # 10 blocks of 4 patches
    splits = assign_splits(blocks, {"train": 0.6, "val": 0.2, "test": 0.2}, seed=3)
    assert set(splits.values()) == {"train", "val", "test"}
    per_split = pd.Series([splits[b] for b in blocks]).value_counts()
    assert per_split["train"] == 24 and per_split["val"] == 8 and per_split["test"] == 8
    assert splits == assign_splits(blocks, {"train": 0.6, "val": 0.2, "test": 0.2}, seed=3)


def test_assign_splits_stratifies_by_class():
    # 40 single-patch blocks: 30 of class 1, 10 of class 4
    blocks = list(range(40))
    strata = [1] * 30 + [4] * 10
    splits = assign_splits(blocks, {"train": 0.6, "val": 0.2, "test": 0.2}, seed=0, strata=strata)
    table = pd.crosstab(pd.Series(strata, name="class"), pd.Series([splits[b] for b in blocks], name="split"))
    assert table.loc[1].to_dict() == {"test": 6, "train": 18, "val": 6}
    assert table.loc[4].to_dict() == {"test": 2, "train": 6, "val": 2}


def test_stations_go_whole_to_one_split() -> None:
    # the same function splits any grouping: here 12 stations with 30 daily windows each
    stations = [f"st{i // 30}" for i in range(360)]
    splits = assign_splits(stations, {"train": 0.5, "val": 0.25, "test": 0.25}, seed=1)
    assert set(splits) == set(stations)
    assert sorted(pd.Series(list(splits.values())).value_counts().to_dict().items()) == [
        ("test", 3),
        ("train", 6),
        ("val", 3),
    ]


def test_time_split_keeps_the_future_out_of_training() -> None:
    dates = pd.date_range("2018-01-01", "2023-12-31", freq="MS")
    split = time_split(dates, val_start="2022-01-01", test_start="2023-01-01")
    assert set(split[dates < "2022-01-01"]) == {"train"}
    assert set(split[(dates >= "2022-01-01") & (dates < "2023-01-01")]) == {"val"}
    assert set(split[dates >= "2023-01-01"]) == {"test"}
    with pytest.raises(ValueError, match="must come after"):
        time_split(dates, val_start="2023-01-01", test_start="2022-01-01")


def test_weights_make_the_shares_shares_of_weight():
    from permafusion.learn.splits import assign_splits

    groups = [f"g{i}" for i in range(30)]
    weights = [float(1 + (7 * i) % 30) ** 2 for i in range(30)]  # regions of very different sizes
    fractions = {"train": 0.6, "val": 0.2, "test": 0.2}
    result = assign_splits(groups, fractions, seed=0, weights=weights)
    total = sum(weights)
    for split, target in fractions.items():
        share = sum(w for g, w in zip(groups, weights, strict=True) if result[g] == split) / total
        assert abs(share - target) < 0.05, (split, share)
