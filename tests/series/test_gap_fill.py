import numpy as np
import pytest

from permafusion.series.gaps import fill_gaps

NAN = np.nan


def _series(months):
    values = np.array(months, np.float32).reshape(-1, 1, 1, 1)
    return values, np.isfinite(values[:, 0])


def test_linear_interpolates_inside_and_holds_the_ends():
    values, observed = _series([NAN, 2.0, NAN, NAN, 8.0, NAN])
    filled, flags = fill_gaps(values, observed, "linear")
    np.testing.assert_allclose(filled[:, 0, 0, 0], [2, 2, 4, 6, 8, 8])
    assert flags[:, 0, 0].tolist() == [True, False, True, True, False, True]


def test_nearest_copies_the_closest_month_earlier_on_ties():
    values, observed = _series([1.0, NAN, NAN, 4.0, NAN])
    filled, _ = fill_gaps(values, observed, "nearest")
    np.testing.assert_allclose(filled[:, 0, 0, 0], [1, 1, 4, 4, 4])
    values, observed = _series([1.0, NAN, 3.0])
    assert fill_gaps(values, observed, "nearest")[0][1, 0, 0, 0] == 1.0


def test_never_observed_pixels_stay_nan_and_unflagged_and_none_changes_nothing():
    values, observed = _series([NAN, NAN, NAN])
    filled, flags = fill_gaps(values, observed, "linear")
    assert np.isnan(filled).all() and not flags.any()
    values, observed = _series([NAN, 2.0, NAN])
    filled, flags = fill_gaps(values, observed, "none")
    assert np.isnan(filled[0]).all() and not flags.any()


def test_bands_and_pixels_are_filled_independently():
    rng = np.random.default_rng(0)
    values = rng.random((6, 3, 4, 5)).astype(np.float32)
    observed = rng.random((6, 4, 5)) > 0.4
    values[~np.broadcast_to(observed[:, None], values.shape)] = np.nan
    filled, flags = fill_gaps(values, observed, "linear")
    y, x = 2, 3
    for band in range(3):
        obs = np.flatnonzero(observed[:, y, x])
        if obs.size:
            expected = np.interp(np.arange(6), obs, values[obs, band, y, x])
            np.testing.assert_allclose(filled[:, band, y, x], expected, rtol=1e-6)
    assert (flags == (~observed & observed.any(axis=0))).all()


def test_unknown_method_is_refused():
    values, observed = _series([1.0])
    with pytest.raises(ValueError, match="gap_fill"):
        fill_gaps(values, observed, "cubic")  # type: ignore[arg-type]
