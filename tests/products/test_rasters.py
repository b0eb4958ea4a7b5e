import numpy as np
import pytest
import rasterio
from rio_cogeo.cogeo import cog_validate

from permafusion.geo.grid import GridSpec
from permafusion.products.maps import write_class_cog
from permafusion.products.modality import monthly_mean_by_class, plot_monthly_by_class
from permafusion.products.rasters import (
    SCALED_NODATA,
    from_scaled_bytes,
    mosaic_to_cog,
    to_scaled_bytes,
    write_fraction_cog,
)
from permafusion.tasks.degradation.classes import DEGRADATION

GRID = GridSpec(32646, (488000.0, 3850000.0, 490560.0, 3852560.0), 10.0)
LEFT = GridSpec(32646, (488000.0, 3850000.0, 489280.0, 3852560.0), 10.0)
RIGHT = GridSpec(32646, (489280.0, 3850000.0, 490560.0, 3852560.0), 10.0)


def test_scaled_bytes_round_trip_and_nodata():
    values = np.array([0.0, 0.5, 1.0, 1.2, -0.1, np.nan, 0.333])
    scaled = to_scaled_bytes(values)
    assert list(scaled) == [0, 100, 200, 200, 0, SCALED_NODATA, 67]
    back = from_scaled_bytes(scaled)
    assert np.isnan(back[5]) and back[6] == pytest.approx(0.335)


def test_fraction_tiles_mosaic_into_a_valid_cog(tmp_path):
    rng = np.random.default_rng(0)
    whole = rng.random((3, *GRID.shape)).astype(np.float32)
    whole[:, :10, :10] = np.nan
    for name, grid, part in (("a", LEFT, whole[..., :128]), ("b", RIGHT, whole[..., 128:])):
        write_fraction_cog(
            part, grid, tmp_path / f"{name}.tif", descriptions=["x", "y", "z"], tags={"K": "v"}
        )
    mosaic_to_cog([tmp_path / "a.tif", tmp_path / "b.tif"], GRID, tmp_path / "m.tif", block=64)
    valid, errors, _ = cog_validate(str(tmp_path / "m.tif"))
    assert valid, errors
    with rasterio.open(tmp_path / "m.tif") as dataset:
        assert dataset.nodata == SCALED_NODATA and dataset.scales == (0.005,) * 3
        assert dataset.descriptions == ("x", "y", "z") and dataset.tags()["K"] == "v"
        np.testing.assert_array_equal(dataset.read(), to_scaled_bytes(whole))


def test_monthly_mean_by_class_and_plot(tmp_path):
    classes = np.ones(GRID.shape, np.uint8)
    classes[:, 128:] = 3
    classes[0, 0] = 0
    weights = np.zeros((2, *GRID.shape), np.float32)
    weights[0, :, :128], weights[0, :, 128:] = 0.2, 0.8
    weights[1] = 0.5
    weights[1, 5, 5] = np.nan
    write_class_cog(classes, GRID, tmp_path / "c.tif", scheme=DEGRADATION)
    write_fraction_cog(weights, GRID, tmp_path / "w.tif", descriptions=["2023-01", "2023-02"])
    table = monthly_mean_by_class(tmp_path / "w.tif", tmp_path / "c.tif", scheme=DEGRADATION)
    row = table.set_index(["month", "class_code"])
    assert row.loc[("2023-01", 1), "mean_sar_weight"] == pytest.approx(0.2)
    assert row.loc[("2023-01", 3), "mean_sar_weight"] == pytest.approx(0.8)
    assert row.loc[("2023-02", 1), "pixels"] == 256 * 128 - 2
    assert row.loc[("2023-01", 2), "pixels"] == 0 and np.isnan(row.loc[("2023-01", 2), "mean_sar_weight"])
    plot_monthly_by_class(table, tmp_path / "p.png", scheme=DEGRADATION, title="t")
    assert (tmp_path / "p.png").stat().st_size > 10_000
