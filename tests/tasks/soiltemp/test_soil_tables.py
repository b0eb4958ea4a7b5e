"""The tidy formats: missing values are allowed, a malformed file names file, line and column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from permafusion.tasks.soiltemp.tables import TableError, read_drivers, read_observations, read_stations

STATIONS = """station,lat,lon,elevation,lithology,soil_organic_carbon,ground_ice
A,64.8,-147.7,135,silt,25.5,high
B,70.2,-148.5,,gravel,,low
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_station_table_types_its_columns(tmp_path):
    stations = read_stations(_write(tmp_path, "stations.csv", STATIONS))
    assert list(stations.index) == ["A", "B"]
    assert stations["elevation"].dtype == np.float64 and np.isnan(stations.loc["B", "elevation"])
    assert stations["lithology"].tolist() == ["silt", "gravel"]  # text: a class


def test_observations_and_drivers_allow_missing_values(tmp_path):
    observations = read_observations(
        _write(
            tmp_path,
            "obs.csv",
            "station,date,depth_m,temperature_c\nA,2001-01-01,0.5,-3.2\nA,2001-01-02,0.5,\n",
        ),
        stations=["A", "B"],
    )
    assert np.isnan(observations["temperature_c"].iloc[1]) and observations["depth_m"].tolist() == [0.5, 0.5]
    drivers = read_drivers(
        _write(tmp_path, "drv.csv", "station,date,t2m,tp\nB,2001-01-01,-20.5,\nB,2001-01-02,,0.3\n"),
        stations=["A", "B"],
        variables=["t2m", "tp"],
    )
    assert drivers["t2m"].isna().sum() == 1 and drivers["tp"].isna().sum() == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "station,date,depth_m,temperature_c\nA,2001-01-01,0.5,1\nA,2001-13-01,0.5,1\n",
            "line 3, column 2 ('date')",
        ),
        (
            "station,date,depth_m,temperature_c\nA,2001-01-01,half,1\n",
            "line 2, column 3 ('depth_m'): 'half' is not",
        ),
        ("station,date,depth_m,temperature_c\nA,2001-01-01,0.5,1,2\n", "not a CSV table"),
        ("station,date,depth,temperature_c\nA,2001-01-01,0.5,1\n", "line 1: missing column(s) ['depth_m']"),
        (
            "station,date,depth_m,temperature_c\nZ,2001-01-01,0.5,1\n",
            "line 2, column 1 ('station'): station 'Z'",
        ),
        ("station,date,depth_m,temperature_c\nA,2001-01-01,0.5,1\nA,2001-01-01,0.5,2\n", "line 3, column 2"),
        (
            "station,date,depth_m,temperature_c\nA,2001-01-01,0.5,95\n",
            "line 2, column 4 ('temperature_c'): 95.0 is outside",
        ),
        ("station,date,depth_m,temperature_c\nA,2001-01-01,,1\n", "line 2, column 3 ('depth_m'): empty"),
    ],
)
def test_malformed_observations_name_file_line_and_column(tmp_path, text, message):
    path = _write(tmp_path, "obs.csv", text)
    with pytest.raises(TableError) as error:
        read_observations(path, stations=["A"])
    assert str(path) in str(error.value) and message in str(error.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "station,lat,lon\nA,64.8,-147.7\nA,65,-140\n",
            "line 3, column 1 ('station'): station 'A' is listed twice",
        ),
        ("station,lat,lon\nA,95,-147.7\n", "line 2, column 2 ('lat'): 95.0 is outside"),
        ("station,lat\nA,64.8\n", "missing column(s) ['lon']"),
        ("station,lat,lon\n,64.8,-147.7\n", "line 2, column 1 ('station'): empty station id"),
    ],
)
def test_malformed_station_table_names_line_and_column(tmp_path, text, message):
    with pytest.raises(TableError, match=None) as error:
        read_stations(_write(tmp_path, "stations.csv", text))
    assert message in str(error.value)


def test_drivers_without_a_variable_say_which(tmp_path):
    path = _write(tmp_path, "drv.csv", "station,date,t2m\nA,2001-01-01,1\n")
    with pytest.raises(TableError, match=r"missing column\(s\) \['stl1'\]"):
        read_drivers(path, stations=["A"], variables=["t2m", "stl1"])
    with pytest.raises(TableError, match="no such file"):
        read_stations(tmp_path / "nothing.csv")
