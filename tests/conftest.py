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


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--device",
        default="cpu",
        help="torch device of the model, training and prediction tests that take the `device` fixture "
        "(cpu, cuda, cuda:1); benchmarks/gpu_check.sh runs them on CUDA",
    )


@pytest.fixture(scope="session")
def device(request: pytest.FixtureRequest) -> str:
    """The device chosen with --device; a CUDA device the machine lacks skips the test, saying so."""
    import torch

    name = str(request.config.getoption("--device"))
    if name.startswith("cuda") and not torch.cuda.is_available():
        pytest.skip(f"--device {name}, but torch sees no CUDA device here")
    return name


@pytest.fixture(scope="session")
def tiny_demo_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The results folder of one local run of the tiny demo AOI (`--cores 2`), made once per session and
    shared by the workflow tests that read or extend it."""
    from workflow_support import snakemake

    results = tmp_path_factory.mktemp("tiny_demo") / "results"
    snakemake("--config", "aoi=demo_tiny", f"results={results}")
    return results
