"""Tiling of site images and undersampling of negative tiles (seed 001 §3.2)."""

import numpy as np
import pytest

from permafusion.tasks.rts.tiles import cut_tiles, undersample


def test_tiles_cover_the_image_in_order_and_drop_the_ragged_edge():
    image = np.arange(2 * 130 * 200, dtype=np.float32).reshape(2, 130, 200)
    labels = np.ones((130, 200), np.uint8)
    labels[70:75, 130:140] = 2
    tiles = cut_tiles(image, labels, size=64)
    assert tiles.x.shape == (6, 2, 64, 64) and tiles.y.shape == (6, 64, 64)
    assert list(zip(tiles.rows, tiles.cols, strict=True)) == [(r, c) for r in (0, 64) for c in (0, 64, 128)]
    np.testing.assert_array_equal(tiles.x[4], image[:, 64:128, 64:128])
    assert tiles.positive.tolist() == [False, False, False, False, False, True]


def test_mostly_invalid_tiles_are_dropped_and_invalid_pixels_unlabelled():
    image = np.ones((1, 64, 128), np.float32)
    image[:, :, :40] = np.nan  # left tile 62 % invalid
    image[:, :10, 64:70] = np.nan  # right tile a little
    labels = np.full((64, 128), 2, np.uint8)
    tiles = cut_tiles(image, labels, size=64, min_valid=0.5)
    assert tiles.cols.tolist() == [64]
    assert (tiles.y[0, :10, :6] == 0).all() and (tiles.y[0, 10:, :] == 2).all()
    assert np.isfinite(tiles.x).all()


def test_tile_size_larger_than_the_image_is_an_error():
    with pytest.raises(ValueError, match="does not fit"):
        cut_tiles(np.zeros((1, 32, 32), np.float32), np.ones((32, 32), np.uint8), size=64)


def test_undersampling_keeps_every_positive_and_ratio_negatives():
    positive = np.array([True] * 5 + [False] * 40)
    kept = undersample(positive, ratio=1.0, seed=1)
    assert positive[kept].sum() == 5 and (~positive[kept]).sum() == 5
    assert np.array_equal(kept, np.sort(kept))
    assert (~positive[undersample(positive, ratio=2.0, seed=1)]).sum() == 10
    assert np.array_equal(kept, undersample(positive, ratio=1.0, seed=1))  # seeded
    assert len(undersample(positive, ratio=100.0)) == 45  # fewer negatives than asked: all of them


def test_no_positive_tile_is_an_error():
    with pytest.raises(ValueError, match="positive set is empty"):
        undersample(np.zeros(10, bool))
