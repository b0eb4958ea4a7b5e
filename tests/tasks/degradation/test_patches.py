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
    settings = PatchSettings(size=128, stride=128, block=1, seed=1)
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
