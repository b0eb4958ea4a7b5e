"""The sort-based medians are bit-identical to ``np.nanmedian`` over the valid observations."""

import warnings

import numpy as np
import pytest

from permafusion.composite import optical, sortnet
from permafusion.composite.mosaic import mosaic_first_valid


def _nanmedian(reflectance: np.ndarray, valid: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(np.where(valid[:, None], reflectance, np.nan), axis=0).astype(np.float32)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 23, 24])
def test_median_equals_nanmedian_even_and_odd_counts(n):
    rng = np.random.default_rng(n)
    dn = rng.integers(1, 12000, (n, 3, 9, 11)).astype(np.float32)
    dn[rng.random(dn.shape) < 0.05] = 0  # nodata DN
    dn[rng.random(dn.shape) < 0.02] = np.nan  # outside the file
    scl_ok = rng.random((n, 9, 11)) > 0.3
    offsets = rng.random(n) < 0.5  # a month across the baseline change
    refl = optical.harmonize(dn, offsets)
    valid = optical.valid_observations(refl, scl_ok)
    expected = _nanmedian(refl, valid)

    median, count = optical.monthly_median(refl, valid)
    np.testing.assert_array_equal(median, expected)  # NaN where equal NaN
    np.testing.assert_array_equal(count, valid.sum(0))

    with np.errstate(invalid="ignore"):
        valid_dn = scl_ok & (dn > 0).all(axis=1)
    np.testing.assert_array_equal(valid_dn, valid)
    # the pipeline's integer path: DNs as read (0 outside the file), SCL 9 where scl_ok is False
    median_dn, count_dn = _median_of_dns(np.nan_to_num(dn, nan=0), np.where(scl_ok, 4, 9), offsets)
    assert median_dn.dtype == np.float32 and count_dn.dtype == np.uint16
    np.testing.assert_array_equal(median_dn, expected)
    np.testing.assert_array_equal(count_dn, count)


def _median_of_dns(dn, scl, offsets, groups=None):
    """:func:`optical.median_of_dns` of float DNs, dropping SCL class 9."""
    n = len(dn)
    groups = np.arange(n) if groups is None else np.asarray(groups)
    return optical.median_of_dns(_block(dn, scl), offsets=offsets, groups=groups, mask_classes=(9,))


def _block(dn, scl):
    """A block as the reader gives it: (n, band + 1, y, x) uint16, the bands then SCL."""
    return np.concatenate([dn, scl[:, None]], axis=1).astype(np.uint16)


def test_integer_median_clips_the_offset_and_masks_nodata():
    dn = np.array([0, 500, 1000, 1500, 65535], np.float32).reshape(1, 1, 1, 5)  # one scene, five pixels
    median, count = _median_of_dns(dn, np.full((1, 1, 5), 4), [True])
    np.testing.assert_array_equal(
        median.ravel(), (np.array([np.nan, 0, 0, 500, 64535]) / 1e4).astype(np.float32)
    )
    np.testing.assert_array_equal(count.ravel(), [0, 1, 1, 1, 1])


def test_median_dn_with_mosaicked_groups():
    dn = np.array([[2000, 0], [3000, 4000], [5000, 5000]], np.float32)[:, None, None, :]
    median, count = _median_of_dns(dn, np.full((3, 1, 2), 4), [False] * 3, groups=[0, 0, 1])
    np.testing.assert_array_equal(count, [[2, 2]])
    np.testing.assert_allclose(median[0, 0], [0.35, 0.45], rtol=1e-6)


def test_median_dn_of_no_observation():
    median, count = _median_of_dns(np.zeros((0, 2, 3, 3)), np.zeros((0, 3, 3)), [])
    assert np.isnan(median).all() and (count == 0).all()


@pytest.mark.parametrize("mosaic", [False, True])
@pytest.mark.parametrize("offsets", ["none", "all", "mixed"])
@pytest.mark.parametrize("n", [1, 4, 9, 24])
def test_median_of_dns_equals_the_float_path(n, offsets, mosaic, monkeypatch):
    """The pipeline's compiled uint16 median (padding, partial network) against harmonize + nanmedian."""
    monkeypatch.setattr(sortnet, "PIXELS_AT_ONCE", 5)  # chunks across rows, the last one short
    rng = np.random.default_rng(100 + n)
    dn = rng.integers(1, 4000, (n, 3, 6, 7)).astype(np.uint16)
    dn[rng.random(dn.shape) < 0.05] = 0  # nodata DN in one band drops the observation
    dn[rng.random(dn.shape) < 0.1] = 1000  # ties, and harmonized reflectance 0 after the offset
    scl = rng.choice(np.array([4, 5, 3, 8, 9, 11], np.uint16), (n, 6, 7))
    scl[-1] = 9  # the last scene clouded all over: left out of the sort
    flags = {"none": [False] * n, "all": [True] * n, "mixed": list(rng.random(n) < 0.5)}[offsets]
    groups = np.minimum(np.arange(n), np.arange(n) // 2 + 1) if mosaic else np.arange(n)  # pairs of items
    mask_classes = (3, 8, 9, 10)

    refl = optical.harmonize(dn.astype(np.float32), flags)
    valid = optical.valid_observations(refl, optical.scl_valid(scl, mask_classes))
    refl, valid = mosaic_first_valid(refl, valid, groups)
    expected, expected_count = optical.monthly_median(refl, valid)

    block = _block(dn, scl)
    as_read = block.copy()
    median, count = optical.median_of_dns(block, offsets=flags, groups=groups, mask_classes=mask_classes)
    np.testing.assert_array_equal(block, as_read)
    np.testing.assert_array_equal(median, expected)
    np.testing.assert_array_equal(count, expected_count)

    # into arrays a block before left behind, as the block engine passes them
    used_median, used_valid = np.full((3, 6, 7), 0.5, np.float32), np.ones((n, 6, 7), bool)
    again, _ = optical.median_of_dns(
        block, offsets=flags, groups=groups, mask_classes=mask_classes, out=used_median, valid=used_valid
    )
    assert again is used_median
    np.testing.assert_array_equal(again, expected)


def test_scl_classes_above_15_are_looked_up_not_bit_tested():
    scl = np.array([[4, 8], [40, 300]], np.uint16)[None]
    np.testing.assert_array_equal(optical.scl_valid(scl, (8, 300)), [[[True, False], [True, False]]])


def test_median_of_dns_keeps_scl_values_above_the_classes_and_refuses_other_classes():
    dn = np.full((1, 1, 1, 3), 2000.0)
    median, count = _median_of_dns(dn, np.array([[[9, 15, 300]]]), [False])  # class 9 masked
    np.testing.assert_array_equal(count, [[0, 1, 1]])
    with pytest.raises(ValueError, match="0..14"):
        optical.median_of_dns(
            _block(dn, np.zeros((1, 1, 3))), offsets=[False], groups=np.arange(1), mask_classes=[20]
        )
