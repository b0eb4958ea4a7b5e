import math

import numpy as np
import pytest

from permafusion.products.uncertainty import predictive_entropy


def test_entropy_of_known_distributions():
    p = np.array(
        [[1.0, 0.25, 0.5, np.nan], [0.0, 0.25, 0.5, np.nan], [0.0, 0.25, 0.0, np.nan], [0.0, 0.25, 0.0, 0.1]]
    )
    raw = predictive_entropy(p, normalise=False)
    assert raw[0] == 0.0
    assert raw[1] == pytest.approx(math.log(4))
    assert raw[2] == pytest.approx(math.log(2))
    assert np.isnan(raw[3])
    np.testing.assert_allclose(predictive_entropy(p)[:3], [0.0, 1.0, 0.5], atol=1e-6)


def test_entropy_needs_two_classes():
    with pytest.raises(ValueError, match="two classes"):
        predictive_entropy(np.ones((1, 3)))
