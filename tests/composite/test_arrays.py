"""Arrays reused block after block: per thread, and checked before compiled loops fill them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from permafusion.composite.arrays import ThreadArrays, output


def test_each_thread_gets_its_own_array_back_by_name_shape_and_dtype():
    arrays = ThreadArrays()
    first = arrays.get("valid", (2, 3), bool)
    assert arrays.get("valid", (2, 3), bool) is first
    assert arrays.get("valid", (2, 4), bool) is not first
    assert arrays.get("valid", (2, 3), np.uint8) is not first
    assert arrays.get("other", (2, 3), bool) is not first
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(arrays.get, "valid", (2, 3), bool).result() is not first


def test_output_checks_the_array_it_is_given():
    assert output(None, (2, 3), np.float32).shape == (2, 3)
    given = np.empty((2, 3), np.float32)
    assert output(given, (2, 3), np.float32) is given
    for wrong in (np.empty((3, 2), np.float32), np.empty((2, 3), np.float64), np.empty((3, 2), np.float32).T):
        with pytest.raises(ValueError, match=r"C-contiguous float32 \(2, 3\)"):
            output(wrong, (2, 3), np.float32)
