import numpy as np
import pytest
from scipy.ndimage import uniform_filter

from permafusion.composite import sar


def test_mean_is_taken_in_linear_power_then_db():
    power = np.array([0.01, 0.1, 1.0], dtype=np.float32).reshape(3, 1, 1, 1)
    valid = sar.valid_observations(power)
    mean, count = sar.monthly_mean(power, valid)
    assert count[0, 0] == 3
    np.testing.assert_allclose(mean[0, 0, 0], 0.37, rtol=1e-6)
    db = sar.to_db(mean)
    np.testing.assert_allclose(db[0, 0, 0], 10 * np.log10(0.37), rtol=1e-6)
    assert db[0, 0, 0] != pytest.approx(-10.0)  # the mean of dB (-20, -10, 0) would be -10


def test_nodata_zero_and_nan_are_excluded_per_pixel():
    # 3 acquisitions, bands vv/vh, 1 x 4 pixels
    vv = np.array([[1.0, -32768.0, 0.0, np.nan], [3.0, 2.0, 0.5, np.nan], [2.0, 4.0, 0.0, np.nan]])
    vh = vv / 10
    vh[2, 0] = 0.0  # vh invalid -> the whole third acquisition is unusable at pixel 0
    power = np.stack([vv, vh], axis=1)[:, :, None, :].astype(np.float32)
    mean, count = sar.monthly_mean(power, sar.valid_observations(power))
    np.testing.assert_array_equal(count[0], [2, 2, 1, 0])
    np.testing.assert_allclose(mean[0, 0], [2.0, 3.0, 0.5, np.nan], rtol=1e-6)
    np.testing.assert_allclose(mean[1, 0], [0.2, 0.3, 0.05, np.nan], rtol=1e-6)
    assert mean.dtype == np.float32 and count.dtype == np.uint16


def test_empty_month_gives_nan_and_zero_count():
    power = np.zeros((0, 2, 3, 3), np.float32)
    mean, count = sar.monthly_mean(power, sar.valid_observations(power))
    assert np.isnan(mean).all() and (count == 0).all()


def test_lee_filter_keeps_a_constant_image():
    image = np.full((20, 20), 0.05)
    out = sar.lee_filter(image, window=5, cu2=1 / 4.4)
    np.testing.assert_allclose(out, 0.05, rtol=1e-6)


def test_lee_filter_smooths_flat_speckle_and_ignores_nan():
    rng = np.random.default_rng(0)
    enl = 4.4
    image = 0.1 * rng.gamma(enl, 1 / enl, size=(64, 64))
    image[10, 10] = np.nan
    out = sar.lee_filter(image, window=5, cu2=1 / enl)
    assert np.isnan(out[10, 10]) and np.isfinite(np.delete(out.ravel(), 10 * 64 + 10)).all()
    assert np.nanvar(out) < 0.2 * np.nanvar(image)
    np.testing.assert_allclose(np.nanmean(out), np.nanmean(image), rtol=0.02)


def test_lee_filter_keeps_a_strong_edge_much_sharper_than_a_box_mean():
    image = np.full((20, 20), 0.01)
    image[:, 10:] = 1.0
    out = sar.lee_filter(image, window=5, cu2=1 / 4.4)
    box = uniform_filter(image, size=5, mode="reflect")
    # a 5x5 box mean leaves a step of ~0.2 of the 0.99 step between columns 9 and 10; Lee keeps ~0.68
    # (the classic MMSE weight is k = (1 - cu2 / ci2) / (1 + cu2), at most 1 / (1 + cu2))
    assert (box[:, 10] - box[:, 9] < 0.25).all()
    assert (out[:, 10] - out[:, 9] > 0.6).all()
    np.testing.assert_allclose(out[:, :7], 0.01, rtol=1e-6)
    np.testing.assert_allclose(out[:, 13:], 1.0, rtol=1e-6)


def test_speckle_filter_month_handles_unobserved_pixels():
    mean = np.full((2, 8, 8), 0.2, np.float32)
    count = np.full((8, 8), 3, np.uint16)
    mean[:, 0, 0] = np.nan
    count[0, 0] = 0
    out = sar.speckle_filter_month(mean, count, window=3, enl=4.4)
    assert np.isnan(out[:, 0, 0]).all()
    np.testing.assert_allclose(out[:, 1:, 1:], 0.2, rtol=1e-6)


def _textbook_lee(image, window, cu2):
    """Lee (1980) in float64, straight from the formula, with NaN neighbours left out."""
    valid = np.isfinite(image)
    x = np.where(valid, image, 0.0)
    n = uniform_filter(valid.astype(float), window, mode="reflect")
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = uniform_filter(x, window, mode="reflect") / n
        var = np.maximum(uniform_filter(x * x, window, mode="reflect") / n - mean**2, 0)
        ci2 = var / mean**2
        k = np.where(ci2 > 0, (1 - cu2 / ci2) / (1 + cu2), 0.0)
    k = np.clip(np.nan_to_num(k), 0, 1)
    return np.where(valid, mean + k * (x - mean), np.nan)


def test_lee_filter_matches_the_textbook_formula():
    rng = np.random.default_rng(3)
    image = 0.1 * rng.gamma(4.4, 1 / 4.4, size=(40, 50))
    image[:, 25:] *= 8  # an edge
    image[rng.random(image.shape) < 0.1] = np.nan
    image[5:9, 5:9] = 0.3  # flat: zero variance
    cu2 = 1 / (4.4 * rng.integers(1, 6, image.shape))
    got = sar.lee_filter(image.astype(np.float32), window=5, cu2=cu2)
    np.testing.assert_allclose(got, _textbook_lee(image, 5, cu2), rtol=2e-5, atol=1e-7)


def test_speckle_filter_month_filters_bands_with_different_gaps_alone():
    rng = np.random.default_rng(4)
    mean = rng.gamma(4.4, 0.05, (2, 12, 20)).astype(np.float32)
    count = rng.integers(1, 4, (12, 20)).astype(np.uint16)
    mean[1, 3:5, 3:5] = np.nan  # a gap in one band only
    out = sar.speckle_filter_month(mean, count, window=3, enl=4.4, columns=8)
    in_threads = sar.speckle_filter_month(mean, count, window=3, enl=4.4, columns=8, threads=2)
    np.testing.assert_array_equal(in_threads, out)
    for b in range(2):
        expected = sar.lee_filter(mean[b], window=3, cu2=1 / (4.4 * count.astype(np.float32)))
        np.testing.assert_array_equal(out[b], expected)  # strips of 8 columns: each pixel as in one go
        textbook = _textbook_lee(mean[b].astype(float), 3, 1 / (4.4 * count))
        np.testing.assert_allclose(out[b], textbook, rtol=2e-5)


def test_lee_window_must_fit_the_image():
    with pytest.raises(ValueError, match="too large"):
        sar.lee_filter(np.ones((2, 9), np.float32), window=5)
    with pytest.raises(ValueError, match="odd"):
        sar.lee_filter(np.ones((9, 9), np.float32), window=4)


def test_to_db_of_non_positive_is_nan():
    assert np.isnan(sar.to_db(np.array([0.0, -1.0, -32768.0]))).all()


def test_to_db_is_ten_log10_in_float32_into_a_used_array():
    power = np.random.default_rng(4).gamma(2.0, 0.05, (2, 5, 6)).astype(np.float32)
    power[0, 0, :4] = [0.0, -32768.0, np.nan, np.inf]
    used = np.full(power.shape, 3.0, np.float32)

    db = sar.to_db(power, out=used)

    assert db is used
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.float32(10) * np.log10(power)
    expected[0, 0, :4] = np.nan
    np.testing.assert_array_equal(db, expected)


def test_compiled_mean_equals_numpys_float32_sum_bit_for_bit():
    rng = np.random.default_rng(7)
    power = rng.gamma(2.0, 0.05, (14, 2, 9, 13)).astype(np.float32)
    for bad in (np.nan, 0.0, -32768.0, np.inf, -0.5):
        power[rng.random(power.shape) < 0.04] = bad
    power[:, 1, 0, 0] = np.nan  # no acquisition valid at one pixel
    valid = sar.valid_observations(power)
    with np.errstate(invalid="ignore"):
        expected_valid = (np.isfinite(power) & (power > 0)).all(axis=1)
        np.testing.assert_array_equal(valid, expected_valid)
        samples = np.where(valid[:, None], power, np.float32(0))
        expected_count = valid.sum(axis=0, dtype=np.uint16)
        expected = samples.sum(axis=0) / expected_count  # float32, summed acquisition by acquisition
    mean, count = sar.monthly_mean(power, valid)
    np.testing.assert_array_equal(count, expected_count)
    np.testing.assert_array_equal(mean, expected)  # NaN where no acquisition is valid
    assert (count == 0).any() and mean.dtype == np.float32


def test_mask_and_mean_into_used_arrays_equal_fresh_ones():
    rng = np.random.default_rng(8)
    power = rng.gamma(2.0, 0.05, (5, 2, 6, 7)).astype(np.float32)
    power[rng.random(power.shape) < 0.2] = np.nan
    power[:, :, 0, 0] = 0.0  # no acquisition valid: NaN, whatever the array held
    valid = sar.valid_observations(power)
    mean, count = sar.monthly_mean(power, valid)
    used_valid = np.zeros((5, 6, 7), bool)  # all False: the mask must be set everywhere
    used_mean = np.full((2, 6, 7), 7.0, np.float32)

    assert sar.valid_observations(power, out=used_valid) is used_valid
    reused, reused_count = sar.monthly_mean(power, used_valid, out=used_mean)

    np.testing.assert_array_equal(used_valid, valid)
    assert reused is used_mean
    np.testing.assert_array_equal(reused, mean)
    np.testing.assert_array_equal(reused_count, count)
    with pytest.raises(ValueError, match="C-contiguous float32"):
        sar.monthly_mean(power, valid, out=np.empty((2, 6, 7), np.float64))
