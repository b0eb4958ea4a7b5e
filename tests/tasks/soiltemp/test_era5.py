"""Reading ERA5-Land as the CDS delivers it (real files in shared/fixtures/era5-land, see PROVENANCE.md)
and the point time-series shape (files made here); requests go through a fake client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from permafusion.tasks.soiltemp import era5

FIXTURES = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "era5-land"
needs_fixtures = pytest.mark.skipif(not FIXTURES.is_dir(), reason="CDS fixtures not present")
NC4 = FIXTURES / "cds-netcdf4"
GRIB = FIXTURES / "cds-grib"
LEGACY = FIXTURES / "cds-legacy-netcdf3"


@needs_fixtures
def test_zip_named_nc_reads_as_its_member():
    zipped = era5.open_cds(NC4 / "LorenzoCane_Di-hydro" / "ERA5L_2020_01.nc")
    member = era5.open_cds(NC4 / "LorenzoCane_Di-hydro" / "data_0.nc")
    assert len(zipped) == len(member) == 1
    xr.testing.assert_identical(zipped[0]["tp"], member[0]["tp"])
    assert zipped[0].sizes["time"] == 744 and "valid_time" not in zipped[0].coords


@needs_fixtures
def test_accumulated_precipitation_is_de_shifted_to_the_previous_day():
    ds = era5.open_cds(NC4 / "LorenzoCane_Di-hydro" / "data_0.nc")
    table = era5.point_series(ds, lat=44.0, lon=20.0)
    daily = era5.daily_point(table, variables=["tp"])
    # the total of 2020-01-01 is the value stamped 2020-01-02 00 UTC, in mm
    stamped = float(table.loc["2020-01-02 00:00", "tp"])
    assert daily.loc["2020-01-01", "tp"] == pytest.approx(stamped * 1000.0)
    # it is the day's largest running total: later hours of the day are not larger
    day = table.loc["2020-01-01 01:00":"2020-01-01 23:00", "tp"]
    assert (day.to_numpy() <= stamped + 1e-9).all() and day.is_monotonic_increasing
    assert daily.index.min() == pd.Timestamp("2019-12-31")  # the first stamp (01-01 00 UTC) closes 12-31
    assert daily.index.max() == pd.Timestamp("2020-01-30")  # 01-31 is not closed within the file


@needs_fixtures
def test_new_cds_netcdf4_split_in_three_files_merges_and_fixes_longitudes():
    folder = NC4 / "LisethMarinero_Proyecto"
    datasets = [ds for name in ("data_0.nc", "data_1.nc", "data_2.nc") for ds in era5.open_cds(folder / name)]
    assert float(datasets[2]["longitude"].min()) == pytest.approx(-90.0)  # was 270..271
    land = datasets[1]["t2m"].isel(time=0).stack(cell=("latitude", "longitude")).dropna("cell")
    lat, lon = (float(land["latitude"][0]), float(land["longitude"][0]))  # 62 of 121 cells are sea (NaN)
    table = era5.point_series(datasets, lat=lat, lon=lon)
    assert {"t2m", "stl1", "stl4", "swvl1", "snowc", "ssrd", "tp"} <= set(table.columns)
    daily = era5.daily_point(table, variables=["t2m", "stl1", "ssrd", "tp", "snowc"])
    assert 15 < daily.loc["2025-10-17", "t2m"] < 30 and 15 < daily.loc["2025-10-17", "stl1"] < 32  # K -> °C
    # 00 UTC accumulations are the previous day's totals
    assert daily["ssrd"].dropna().index[0] == pd.Timestamp("2025-10-16")
    assert 10 < daily["ssrd"].dropna().iloc[0] < 25  # MJ m-2 per day


@needs_fixtures
def test_legacy_packed_netcdf3_is_unpacked():
    ds = era5.open_cds(LEGACY / "cgadal-packages_pydune" / "ERA5LAND_winddata.nc")[0]
    assert ds.sizes["time"] == 8760 and ds["u10"].dtype.kind == "f"
    assert float(ds["u10"].min()) > -7.3 and float(ds["u10"].max()) < 11.1
    table = era5.point_series([ds], lat=53.77, lon=20.23)
    assert len(era5.daily_point(table, variables=["u10"])) == 365


@needs_fixtures
def test_grib_base_time_and_step_become_valid_time():
    tp = era5.open_cds(next(GRIB.glob("BLSQ_openhexa-templates-ds/total_precipitation_*.grib")))[0]
    times = pd.DatetimeIndex(tp["time"].values)
    assert times[0] == pd.Timestamp("2024-12-01 00:00") and len(times) == 31
    daily = era5.daily_point(era5.point_series([tp], lat=15.0, lon=-17.0), variables=["tp"])
    assert daily.index[0] == pd.Timestamp("2024-11-30")  # step 23-24 of 11-30 is the 11-30 total
    evaporation = era5.open_cds(GRIB / "LorenzoCane_Di-hydro" / "data.grib")[0]
    times = pd.DatetimeIndex(evaporation["time"].values)
    assert times[0] == pd.Timestamp("2023-03-01 00:00") and len(times) == 24  # the NaN half is dropped


@pytest.mark.slow
@needs_fixtures
def test_zipped_grib_with_mixed_editions_gives_every_variable():
    datasets = era5.open_cds(GRIB / "LorenzoCane_Di-hydro" / "ERA5L_2020_01.zip")
    table = era5.point_series(datasets, lat=44.0, lon=20.0)
    assert {"t2m", "d2m", "snowc", "tp", "rsn"} <= set(table.columns)
    daily = era5.daily_point(table, variables=["t2m", "snowc", "tp"])
    assert daily["t2m"].min() > -25 and daily["t2m"].max() < 15
    assert daily["snowc"].min() >= 0 and daily["snowc"].max() <= 100


def _point_file(path: Path, *, hourly_amounts: bool) -> np.ndarray:
    """A file of the point time-series shape: ``valid_time`` only, scalar latitude/longitude."""
    times = pd.date_range("2021-01-01 00:00", "2021-01-04 00:00", freq="h")
    amounts = np.where(times.hour % 2 == 0, 0.001, 0.0)  # 1 mm every second hour
    running = np.zeros(len(times))
    for i, t in enumerate(times):
        running[i] = amounts[i] + (running[i - 1] if i and t.hour != 1 else 0.0)
    tp = amounts if hourly_amounts else running
    ds = xr.Dataset(
        {
            "tp": ("valid_time", tp, {"GRIB_stepType": "accum", "units": "m"}),
            "t2m": ("valid_time", 273.15 + np.sin(np.arange(len(times))), {"units": "K"}),
        },
        coords={"valid_time": times, "latitude": 64.84, "longitude": -147.72},
    )
    ds.to_netcdf(path)
    return amounts


@pytest.mark.parametrize("hourly_amounts", [False, True])
def test_point_time_series_files_give_daily_totals_either_way(tmp_path, hourly_amounts):
    path = tmp_path / "station.nc"
    amounts = _point_file(path, hourly_amounts=hourly_amounts)
    daily = era5.read_station_drivers([path], lat=64.84, lon=-147.72, variables=["tp", "t2m"])
    # the hours ending in each day (01 UTC .. next 00 UTC) total 12 mm
    for day in ("2021-01-01", "2021-01-02", "2021-01-03"):
        assert daily.loc[day, "tp"] == pytest.approx(12.0), day
    assert abs(daily["t2m"].mean()) < 1.0
    assert amounts.sum() > 0


def test_a_file_of_another_kind_is_named(tmp_path):
    path = tmp_path / "page.nc"
    path.write_text("<html>login required</html>")
    with pytest.raises(era5.Era5Error, match="page.nc: not netCDF, GRIB or zip"):
        era5.open_cds(path)


class FakeClient:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], str | None]] = []

    def retrieve(self, name: str, request: Any, target: str | None = None) -> None:
        self.calls.append((name, dict(request), target))
        Path(str(target)).write_bytes(b"CDF\x02fake")


def test_timeseries_request_and_atomic_download(tmp_path):
    client = FakeClient()
    target = tmp_path / "era5" / "fairbanks.nc"
    era5.retrieve_station(
        target=target,
        source="cds-timeseries",
        lat=64.85,
        lon=-147.72,
        start="2000-01-01",
        end="2020-12-31",
        variables=["t2m", "tp", "stl4"],
        client=client,
    )
    name, request, written = client.calls[0]
    assert name == "reanalysis-era5-land-timeseries"
    assert request["variable"] == ["2m_temperature", "total_precipitation", "soil_temperature_level_4"]
    assert request["location"] == {"latitude": 64.85, "longitude": -147.72}
    assert request["date"] == ["2000-01-01/2020-12-31"]
    assert written != str(target) and target.read_bytes().startswith(b"CDF")
    gridded_name, gridded = era5.station_request(
        source="cds-gridded", lat=64.85, lon=-147.72, start="2020-01-01", end="2020-12-31", variables=["t2m"]
    )
    assert gridded_name == "reanalysis-era5-land" and gridded["area"] == [64.9, -147.77, 64.8, -147.67]
    with pytest.raises(ValueError, match="no CDS name"):
        era5.station_request(source="cds-timeseries", lat=0, lon=0, start="a", end="b", variables=["u10"])
