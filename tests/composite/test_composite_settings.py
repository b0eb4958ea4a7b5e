import numpy as np
import pytest

from permafusion.composite import OpticalSettings, SarSettings
from permafusion.composite.dataset import make_dataset, month_starts
from permafusion.geo.grid import GridSpec


def test_settings_from_plain_dicts():
    sar = SarSettings.from_mapping({"speckle_filter": "none", "window": 7, "polarizations": ["vv"]})
    assert sar == SarSettings(speckle_filter="none", window=7, polarizations=("vv",))
    opt = OpticalSettings.from_mapping({"mask_classes": [0, 1, 3, 8, 9, 10], "resampling_20m": "bilinear"})
    assert not opt.mask_snow and opt.mask_classes == (0, 1, 3, 8, 9, 10)
    assert OpticalSettings().mask_snow and OpticalSettings().bands == (
        "B02",
        "B03",
        "B04",
        "B08",
        "B11",
        "B12",
    )


@pytest.mark.parametrize(
    ("cls", "data", "message"),
    [
        (SarSettings, {"speckle_filter": "gamma"}, "speckle_filter"),
        (SarSettings, {"window": 4}, "odd"),
        (SarSettings, {"windw": 5}, "unknown sar setting"),
        (SarSettings, {"polarizations": []}, "empty"),
        (OpticalSettings, {"mask_classes": [12]}, "0..11"),
        (OpticalSettings, {"bands": ["B02", "B02"]}, "duplicates"),
        (OpticalSettings, {"resampling_20m": "cubic"}, "resampling_20m"),
        (OpticalSettings, {"bands": ["B02", "SCL"]}, "SCL"),
    ],
)
def test_settings_reject_bad_values(cls, data, message):
    with pytest.raises(ValueError, match=message):
        cls.from_mapping(data)


def test_months_are_validated():
    np.testing.assert_array_equal(
        month_starts(["2023-12", "2024-01"]), np.array(["2023-12-01", "2024-01-01"], dtype="datetime64[ns]")
    )
    with pytest.raises(ValueError, match="YYYY-MM"):
        month_starts(["2024-13"])
    with pytest.raises(ValueError, match="duplicates"):
        month_starts(["2024-01", "2024-01"])


def test_dataset_contract():
    grid = GridSpec(32645, (400000.0, 3000000.0, 400040.0, 3000020.0), 10.0)
    ds = make_dataset(
        "backscatter",
        np.zeros((1, 2, 2, 4), np.float32),
        np.zeros((1, 2, 4), np.uint16),
        grid=grid,
        times=month_starts(["2024-01"]),
        bands=["vv", "vh"],
    )
    assert ds.backscatter.dims == ("time", "band", "y", "x")
    np.testing.assert_array_equal(ds.x, [400005.0, 400015.0, 400025.0, 400035.0])
    np.testing.assert_array_equal(ds.y, [3000015.0, 3000005.0])
    assert ds.attrs == {
        "epsg": 32645,
        "transform": [10.0, 0.0, 400000.0, 0.0, -10.0, 3000020.0],
        "resolution": 10.0,
    }
    assert ds.rio.crs.to_epsg() == 32645 and ds.rio.transform() == grid.transform
