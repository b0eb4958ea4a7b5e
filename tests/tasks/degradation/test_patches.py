import numpy as np
import pandas as pd
import pytest

from permafusion.tasks.degradation.patch_store import read_patches
from permafusion.tasks.degradation.patches import (
    PatchSettings,
    TileSource,
    dataset_table,
    index_patches,
    patch_windows,
    write_patches,
)


def test_patch_windows_cover_only_whole_windows():
    assert patch_windows((300, 260), size=128, stride=128) == [(0, 0), (0, 128), (128, 0), (128, 128)]
    assert patch_windows((127, 500), size=128, stride=128) == []
    assert patch_windows((256, 192), size=128, stride=64)[:3] == [(0, 0), (0, 64), (64, 0)]


def _tile(label: np.ndarray) -> TileSource:
    t, (h, w) = 12, label.shape
    sar = np.arange(t * 2 * h * w, dtype=np.float32).reshape(t, 2, h, w)
    optical = np.random.default_rng(0).random((t, 6, h, w), dtype=np.float32)
    return TileSource("T1", sar, optical, label)


def test_index_drops_unlabeled_patches_and_no_block_spans_two_splits(tmp_path):
    label = np.zeros((512, 512), np.uint8)
    label[:256, :] = 1
    label[256:384, :128] = 3
    label[300:310, 300:310] = 2  # 100 px: under 5 % of a 128x128 patch
    tile = _tile(label)
    settings = PatchSettings(size=128, stride=128, block=1, seed=1, split_unit="block")
    index = index_patches([tile], settings)
    assert len(index) == 9  # 8 patches of class 1 and one of class 3
    assert set(index["dominant_class"]) == {1, 3}
    assert index.groupby("block")["split"].nunique().max() == 1

    write_patches([tile], index, tmp_path / "p.zarr", settings)
    arrays = read_patches(tmp_path / "p.zarr")
    row = index.iloc[-1]
    np.testing.assert_array_equal(
        arrays.sar[-1], tile.sar[:, :, row.row_off : row.row_off + 128, row.col_off : row.col_off + 128]
    )
    np.testing.assert_array_equal(
        arrays.label[-1], label[row.row_off : row.row_off + 128, row.col_off : row.col_off + 128]
    )


def test_cell_split_gives_every_labelled_region_one_split_and_masks_the_others(tmp_path):
    label = np.zeros((256, 512), np.uint8)
    codes = [1, 2, 3, 4, 1, 2, 3, 4]
    for k, code in enumerate(codes):  # eight regions of 60 x 100 px, two to a 128 px window, gaps between
        r0, c0 = 10 + 128 * (k // 4), 10 + 128 * (k % 4)
        label[r0 : r0 + 100, c0 : c0 + 50] = code
        label[r0 : r0 + 100, c0 + 64 : c0 + 110] = codes[(k + 1) % 8]
    tile = _tile(label)
    settings = PatchSettings(size=128, stride=128, seed=3, split_unit="cell")
    index = index_patches([tile], settings)
    assert set(index["split"]) == {"train", "val", "test"}
    write_patches([tile], index, tmp_path / "p.zarr", settings)
    arrays = read_patches(tmp_path / "p.zarr")
    from permafusion.tasks.degradation.patches import labelled_regions

    regions = labelled_regions(label)
    seen: dict[int, set[str]] = {}
    for i, row in enumerate(index.itertuples()):
        window = (slice(row.row_off, row.row_off + 128), slice(row.col_off, row.col_off + 128))
        kept = arrays.label[i] > 0
        np.testing.assert_array_equal(arrays.label[i][kept], label[window][kept])
        for region in np.unique(regions[window][kept]):
            seen.setdefault(int(region), set()).add(row.split)
    assert len(seen) == 16 and all(len(splits) == 1 for splits in seen.values())
    # a window with regions of two splits gives two patches with disjoint labels
    assert index.duplicated(["row_off", "col_off"]).any()


def test_index_without_labeled_patch_says_what_to_change():
    with pytest.raises(ValueError, match="min_labeled_fraction"):
        index_patches([_tile(np.zeros((256, 256), np.uint8))], PatchSettings())


def test_dataset_table_counts_patches_per_class_and_split():
    index = pd.DataFrame(
        {"dominant_class": [1, 1, 2, 4, 1], "split": ["train", "test", "train", "val", "train"]}
    )
    table = dataset_table(index).set_index("class_code")
    assert table.loc[1, "train"] == 2 and table.loc[1, "total"] == 3
    assert table.loc[3, "total"] == 0
    assert table.loc["total", "total"] == 5


def test_settings_reject_bad_values():
    with pytest.raises(ValueError, match="multiple of 16"):
        PatchSettings(size=100)
    with pytest.raises(ValueError, match="summing to 1"):
        PatchSettings(fractions={"train": 0.9, "val": 0.2, "test": 0.2})


def test_region_units_are_the_truth_cells_whole_across_patches_and_never_chained():
    from permafusion.tasks.degradation.patch_store import region_units

    # three patches of 4 px in a row on tile a, one on tile b; cells: A spans patches 0 and 1, B spans 1
    # and 2, C lies in patch 2 only: chaining patches by shared cells would make one unit of all three
    canvas = np.zeros((4, 12), dtype=np.uint8)
    canvas[1:3, 2:6] = 1  # A
    canvas[1:3, 7:10] = 2  # B
    canvas[0, 11] = 3  # C
    labels = np.stack([canvas[:, 0:4], canvas[:, 4:8], canvas[:, 8:12], canvas[:, 0:4]])
    index = pd.DataFrame(
        {"patch_id": [0, 1, 2, 3], "tile": ["a", "a", "a", "b"], "row_off": 0, "col_off": [0, 4, 8, 0],
         "regions": "x"}
    )  # fmt: skip
    units = region_units(index, [0, 1, 2, 3], labels)
    a, b, c = units[0][1, 2], units[1][1, 3], units[2][0, 3]
    assert units[1][1, 0] == a and units[2][1, 0] == b  # a cell keeps its unit across the patch edge
    assert len({a, b, c, units[3][1, 2]}) == 4  # tile b's cell is its own unit
    assert (units[labels == 0] == -1).all() and units.max() == 3
    assert region_units(index.drop(columns="regions"), [0, 1], labels[:2]) is None
