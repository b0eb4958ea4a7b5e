"""Boxcar smoothing of slope (seed 001 §3.1)."""

import numpy as np
import pytest

from permafusion.composite.terrain import boxcar_smooth


def test_boxcar_is_the_window_mean_and_skips_nan():
    values = np.zeros((7, 7))
    values[3, 3] = 9.0
    smooth = boxcar_smooth(values, 3)
    assert smooth[3, 3] == pytest.approx(1.0) and smooth[2, 2] == pytest.approx(1.0) and smooth[0, 0] == 0
    assert smooth.sum() == pytest.approx(9.0)
    values[0, 1] = np.nan
    smooth = boxcar_smooth(values, 3)
    assert np.isnan(smooth[0, 1]) and np.isfinite(smooth[0, 0])
    np.testing.assert_array_equal(boxcar_smooth(values, 1)[3], values[3])
    with pytest.raises(ValueError, match=">= 1"):
        boxcar_smooth(values, 0)
