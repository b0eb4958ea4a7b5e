"""Random-forest baseline: NaN-safe features, fitting and probabilities on a separable synthetic set."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from permafusion.tasks.degradation.models.baselines.random_forest import (
    FEATURE_NAMES,
    RandomForestBaseline,
    pixel_features,
)

COLUMN = {name: i for i, name in enumerate(FEATURE_NAMES)}


def _synthetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Patches whose class (by quadrant) sets VV level and NDVI, with noise and missing months."""
    rng = np.random.default_rng(seed)
    t, size = 4, 8
    label = np.zeros((n, size, size), np.int64)
    label[:, :4, :4], label[:, :4, 4:], label[:, 4:, :4], label[:, 4:, 4:] = 1, 2, 3, 4
    label[:, 0, 0] = 0  # unlabeled
    sar = rng.normal(-15, 1.0, (n, t, 2, size, size)).astype(np.float32)
    optical = rng.uniform(0.05, 0.1, (n, t, 6, size, size)).astype(np.float32)
    sar[:, :, 0] += 3.0 * label[:, None]  # VV rises with the class code
    optical[:, :, 3] += 0.1 * label[:, None]  # B08: NDVI rises with the class code
    optical[:, 1] = np.nan  # a month without optical data
    sar[:, 2, :, :2, :2] = np.nan
    return sar, optical, label


def test_features_ignore_missing_months_and_flag_all_missing_pixels() -> None:
    rng = np.random.default_rng(0)
    sar = rng.normal(-12, 2, (2, 5, 2, 3, 3)).astype(np.float32)
    optical = rng.uniform(0.02, 0.4, (2, 5, 6, 3, 3)).astype(np.float32)
    sar[:, 1] = np.nan  # an all-NaN month
    optical[:, 3] = np.nan
    sar[0, :, :, 0, 0] = np.nan  # a pixel without any SAR
    optical[1, :, :, 2, 2] = np.nan  # a pixel without any optical
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        features = pixel_features(sar, optical, fill_value=-999.0)
    assert features.shape == (2, 3, 3, len(FEATURE_NAMES)) and features.dtype == np.float32
    assert np.isfinite(features).all()

    vv = sar[:, :, 0]
    np.testing.assert_allclose(features[1, ..., COLUMN["vv_mean"]], np.nanmean(vv[1], axis=0), rtol=1e-5)
    np.testing.assert_allclose(features[1, 1, 1, COLUMN["vh_std"]], np.nanstd(sar[1, :, 1, 1, 1]), rtol=1e-5)
    amplitude = np.nanmax(vv[1], axis=0) - np.nanmin(vv[1], axis=0)
    np.testing.assert_allclose(features[1, ..., COLUMN["vv_amplitude"]], amplitude, rtol=1e-5)
    ndvi = (optical[:, :, 3] - optical[:, :, 2]) / (optical[:, :, 3] + optical[:, :, 2])
    np.testing.assert_allclose(features[0, ..., COLUMN["ndvi_max"]], np.nanmax(ndvi[0], axis=0), rtol=1e-5)

    assert (
        features[0, 0, 0, COLUMN["sar_missing"]] == 1 and features[0, 0, 0, COLUMN["sar_valid_months"]] == 0
    )
    assert (features[0, 0, 0, : COLUMN["vh_amplitude"] + 1] == -999.0).all()
    assert features[1, 2, 2, COLUMN["optical_missing"]] == 1
    assert (features[1, 2, 2, COLUMN["ndvi_mean"] : COLUMN["mndwi_std"] + 1] == -999.0).all()
    assert (
        features[1, 1, 1, COLUMN["sar_valid_months"]] == 4
        and features[1, 1, 1, COLUMN["optical_valid_months"]] == 4
    )
    assert features[1, 1, 1, COLUMN["sar_missing"]] == 0 and features[1, 1, 1, COLUMN["optical_missing"]] == 0


def test_forest_beats_chance_on_a_separable_set() -> None:
    sar, optical, label = _synthetic(6, seed=0)
    forest = RandomForestBaseline(n_estimators=20, max_pixels_per_class=60, n_jobs=1, seed=0)
    forest.fit(sar, optical, label)
    test_sar, test_optical, test_label = _synthetic(3, seed=1)
    proba = forest.predict_proba(test_sar, test_optical)
    assert proba.shape == (3, 4, 8, 8) and proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    labeled = test_label > 0
    accuracy = float(((proba.argmax(axis=1) + 1) == test_label)[labeled].mean())
    print(f"random forest accuracy on the synthetic set: {accuracy:.3f} (chance 0.25)")
    assert accuracy > 0.8
    again = RandomForestBaseline(n_estimators=20, max_pixels_per_class=60, n_jobs=1, seed=0)
    np.testing.assert_array_equal(again.fit(sar, optical, label).predict_proba(test_sar, test_optical), proba)


def test_missing_class_gets_zero_probability_and_errors() -> None:
    sar, optical, label = _synthetic(2, seed=0)
    label[label == 3] = 0
    forest = RandomForestBaseline(n_estimators=5, max_pixels_per_class=10, seed=0)
    with pytest.raises(RuntimeError, match="not fitted"):
        forest.predict_proba(sar, optical)
    proba = forest.fit(sar, optical, label).predict_proba(sar, optical, batch_pixels=50)
    assert (proba[:, 2] == 0).all()
    with pytest.raises(ValueError, match="label must be"):
        forest.fit(sar, optical, label[:, :4])
    with pytest.raises(ValueError, match="no labeled pixel"):
        forest.fit(sar, optical, np.zeros_like(label))
    with pytest.raises(ValueError, match="expected sar"):
        pixel_features(sar[:, :, :1], optical)
