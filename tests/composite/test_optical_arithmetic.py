from datetime import datetime

import numpy as np
import pytest

from permafusion.composite import optical
from permafusion.composite.mosaic import mosaic_first_valid


@pytest.mark.parametrize(
    ("baseline", "when", "expected"),
    [
        ("02.14", datetime(2021, 7, 1), False),
        ("03.01", datetime(2022, 1, 24), False),
        ("04.00", datetime(2022, 1, 25), True),
        ("05.09", datetime(2023, 7, 1), True),
        (None, datetime(2022, 1, 24, 23), False),
        (None, datetime(2022, 1, 25), True),
    ],
)
def test_baseline_offset_decision(baseline, when, expected):
    assert optical.has_baseline_offset(baseline, when) is expected


def test_bad_baseline_raises():
    with pytest.raises(ValueError, match="04.00"):
        optical.has_baseline_offset("N0400", datetime(2023, 1, 1))


def test_offset_removed_only_after_the_baseline_change():
    dn = np.array([0, 500, 1000, 1500, 3000], dtype=np.uint16)
    old = optical.dn_to_reflectance(dn, offset=False)
    new = optical.dn_to_reflectance(dn, offset=True)
    np.testing.assert_allclose(old, [np.nan, 0.05, 0.10, 0.15, 0.30], rtol=1e-6)
    np.testing.assert_allclose(new, [np.nan, 0.0, 0.0, 0.05, 0.20], rtol=1e-6)
    # the same surface before and after 2022-01-25 gives the same reflectance
    assert optical.dn_to_reflectance(np.array([1234]), offset=False)[0] == pytest.approx(
        optical.dn_to_reflectance(np.array([2234]), offset=True)[0]
    )


def test_scl_mask_classes_and_optional_snow():
    scl = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, np.nan])
    kept = optical.scl_valid(scl, (0, 1, 3, 8, 9, 10, 11))
    np.testing.assert_array_equal(np.flatnonzero(kept), [2, 4, 5, 6, 7])
    kept_snow = optical.scl_valid(scl, (0, 1, 3, 8, 9, 10))
    assert kept_snow[11] and not kept_snow[12]


def test_median_of_valid_observations_with_masked_scl():
    # 4 scenes, 1 band, 1 x 3 pixels
    refl = np.array([[0.1, 0.2, 0.3], [0.2, 0.4, 0.3], [0.9, 0.6, 0.3], [0.3, np.nan, 0.3]], np.float32)
    refl = refl[:, None, None, :]
    scl = np.array([[4, 4, 9], [4, 4, 9], [9, 4, 3], [4, 4, 8]], np.float32)[:, None, :]
    valid = optical.valid_observations(refl, optical.scl_valid(scl, (0, 1, 3, 8, 9, 10, 11)))
    median, count = optical.monthly_median(refl, valid)
    np.testing.assert_array_equal(count[0], [3, 3, 0])
    np.testing.assert_allclose(median[0, 0], [0.2, 0.4, np.nan], rtol=1e-6)


def test_harmonized_median_across_the_baseline_change():
    dn = np.array([1000, 1000 + 1000, 3000 + 1000], dtype=np.float32).reshape(3, 1, 1, 1)
    refl = optical.harmonize(dn, [False, True, True])
    valid = optical.valid_observations(refl, np.ones((3, 1, 1), bool))
    median, _ = optical.monthly_median(refl, valid)
    assert median[0, 0, 0] == pytest.approx(0.1)


def test_empty_month_gives_nan_and_zero_count():
    median, count = optical.monthly_median(np.zeros((0, 6, 2, 2), np.float32), np.zeros((0, 2, 2), bool))
    assert median.shape == (6, 2, 2) and np.isnan(median).all() and (count == 0).all()


def test_overlapping_items_of_one_acquisition_count_once():
    values = np.array([[1.0, np.nan], [1.0, 2.0], [5.0, 5.0]], np.float32)[:, None, None, :]
    valid = np.isfinite(values[:, 0])
    merged, merged_valid = mosaic_first_valid(values, valid, np.array([0, 0, 1]))
    np.testing.assert_array_equal(merged[:, 0, 0], [[1.0, 2.0], [5.0, 5.0]])
    assert merged_valid.sum() == 4
