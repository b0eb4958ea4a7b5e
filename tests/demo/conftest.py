"""Shared demo-data fixture: one small dataset generated once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest
from demo_support import PERIOD, small_grid

from permafusion.demo import generate_demo_data


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "data"
    generate_demo_data(
        grid=small_grid(), start=PERIOD[0], end=PERIOD[1], seed=7, out_dir=out, cell_size_m=700.0
    )
    return out
