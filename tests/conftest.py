from pathlib import Path

import pytest

SHARED_FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "stac"


@pytest.fixture(scope="session")
def stac_fixtures() -> Path:
    """Real Planetary Computer / Earth Search metadata in ../shared/fixtures/stac (skip when absent)."""
    if not SHARED_FIXTURES.is_dir():
        pytest.skip(
            f"real STAC fixtures not found at {SHARED_FIXTURES} (../shared is not beside the checkout)"
        )
    return SHARED_FIXTURES
