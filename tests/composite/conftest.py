"""Fixtures shared by the composite tests (helpers stay in test_composite_read; import those, not this)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from test_composite_read import s1_item


@pytest.fixture
def sar_items(tmp_path):
    rng = np.random.default_rng(1)
    a = rng.uniform(0.01, 0.5, (30, 30))
    b = rng.uniform(0.01, 0.5, (30, 30))
    a[5, 5] = -32768.0  # nodata
    b[6, 6] = 0.0  # border noise
    items = [
        s1_item(tmp_path, "s1-b", datetime(2024, 1, 17, tzinfo=UTC), 124, b, b / 4),
        s1_item(tmp_path, "s1-a", datetime(2024, 1, 5, tzinfo=UTC), 51, a, a / 4),
        s1_item(tmp_path, "s1-c", datetime(2024, 3, 2, tzinfo=UTC), 51, a * 2, a / 2),
    ]
    return items, a, b
