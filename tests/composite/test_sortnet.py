"""The compiled sorting network: the two middle values of each pixel's valid observations."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

from permafusion.composite import sortnet
from permafusion.composite.sortnet import batcher_pairs, pairs_for_ranks


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 8, 13, 24, 33])
def test_batcher_network_sorts_every_zero_one_input(n):
    """The 0-1 principle: a comparator network that sorts every 0-1 input sorts every input."""
    pairs = batcher_pairs(n)
    assert all(i < j < n for i, j in pairs)
    rng = np.random.default_rng(n)
    inputs = itertools.product((0, 1), repeat=n) if n <= 12 else rng.integers(0, 2, (4096, n)).tolist()
    for bits in inputs:
        values = list(bits)
        for i, j in pairs:
            values[i], values[j] = min(values[i], values[j]), max(values[i], values[j])
        assert values == sorted(bits)


def test_pairs_for_the_middle_ranks_are_fewer():
    assert len(pairs_for_ranks(24, (11, 12))) == 108 < len(batcher_pairs(24))


def _nanmedian(stack, valid, subtract, divisor):
    """``np.nanmedian`` of the valid values after the subtraction, divided as float64, as float32."""
    values = ((stack - np.minimum(stack, subtract[:, None, None, None])) / divisor).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels
        return np.nanmedian(np.where(valid[:, None], values, np.nan), axis=0), valid.sum(axis=0)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 24, 33])
@pytest.mark.parametrize("at_once", [3, 512])
def test_median_equals_numpys_nanmedian(n, at_once, monkeypatch):
    monkeypatch.setattr(sortnet, "PIXELS_AT_ONCE", at_once)  # 3: chunks across rows, the last one short
    rng = np.random.default_rng(n)
    block = rng.choice(np.array([0, 1, 999, 1000, 1001, 5000, 65534, 65535], np.uint16), (n, 3, 4, 5))
    valid = rng.random((n, 4, 5)) < 0.6  # ties with the pads (0 and 65535) included
    valid[:, 0, 0] = False  # no observation
    valid[:, 0, 1] = True  # all observations
    valid[n // 2, 1:] = False  # one scene nearly all masked ...
    valid[-1] = n == 1  # ... and the last one all masked: left out of the network
    subtract = rng.choice(np.array([0, 1000], np.uint16), n)
    before = block.copy()

    median, count = sortnet.median(block, valid, subtract, divisor=3.0, bands=2)  # plane 2 is no band

    expected, expected_count = _nanmedian(block[:, :2], valid, subtract, 3.0)
    assert median.dtype == np.float32
    np.testing.assert_array_equal(median, expected)  # NaN where no observation
    np.testing.assert_array_equal(count, expected_count)
    np.testing.assert_array_equal(block, before)


def test_median_of_no_scene_is_nan():
    median, count = sortnet.median(
        np.zeros((0, 3, 2, 2), np.uint16), np.zeros((0, 2, 2), bool), np.zeros(0), divisor=1.0
    )
    assert median.shape == (3, 2, 2) and np.isnan(median).all() and (count == 0).all()


def test_median_refuses_other_dtypes():
    with pytest.raises(ValueError, match="uint16"):
        sortnet.median(np.zeros((3, 1, 2, 2), np.float32), np.ones((3, 2, 2), bool), np.zeros(3), divisor=1.0)


def test_median_into_a_used_array_equals_a_fresh_one():
    rng = np.random.default_rng(5)
    block = rng.integers(0, 3000, (9, 3, 6, 7), dtype=np.uint16)
    valid = rng.random((9, 6, 7)) < 0.5
    valid[:, 0, 0] = False  # stays NaN whatever the array held
    subtract = np.zeros(9, np.uint16)
    fresh, fresh_count = sortnet.median(block, valid, subtract, divisor=10.0)
    used = np.full((3, 6, 7), 123.0, np.float32)

    median, count = sortnet.median(block, valid, subtract, divisor=10.0, out=used)

    assert median is used
    np.testing.assert_array_equal(median, fresh)
    np.testing.assert_array_equal(count, fresh_count)
    with pytest.raises(ValueError, match="C-contiguous float32"):
        sortnet.median(block, valid, subtract, divisor=10.0, out=np.empty((3, 7, 6), np.float32).T)
