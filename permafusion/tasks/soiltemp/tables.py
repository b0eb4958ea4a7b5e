"""The tidy tables of the task, read and checked: stations, observations and (optionally) drivers.

Formats (CSV, one header line, comma separated, dates ``YYYY-MM-DD``, empty cell = missing):

- **stations**: ``station`` (id), ``lat``, ``lon`` (degrees), then optional ``elevation`` (m) and any
  static feature columns: numeric ones (e.g. ``soil_organic_carbon`` in kg m-2) are used as numbers,
  text ones (e.g. ``lithology``, ``ground_ice``) as classes (one-hot). Missing statics are allowed.
- **observations**: ``station``, ``date``, ``depth_m`` (> 0, metres below the surface), ``temperature_c``
  (°C, empty where the logger had a gap). Missing values are masked in the loss and the metrics.
- **drivers** (in place of ERA5-Land): ``station``, ``date``, one column per variable of
  :data:`permafusion.tasks.soiltemp.drivers.VARIABLES` (daily values in the units listed there).

A malformed file stops with :class:`TableError` naming the file, the line (1 is the header) and the column.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

STATION_COLUMNS = ("station", "lat", "lon")
OBSERVATION_COLUMNS = ("station", "date", "depth_m", "temperature_c")


class TableError(ValueError):
    """A tidy input table that cannot be used; the message names file, line and column."""


def _read(path: Path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise TableError(f"{path}: no such file")
    with path.open(newline="") as handle:  # every row as wide as the header (pandas would shift it)
        rows = csv.reader(handle)
        header = next(rows, None)
        if not header:
            raise TableError(f"{path}, line 1: no header; the first line names the columns")
        for line, row in enumerate(rows, start=2):
            if row and len(row) != len(header):
                raise TableError(
                    f"{path}, line {line}: {len(row)} fields, but the header has {len(header)} "
                    f"({', '.join(header)}); not a CSV table of this format"
                )
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.ParserError as error:
        raise TableError(
            f"{path}: not a CSV table ({error}); write one header line and comma-separated rows"
        ) from None


def _require(frame: pd.DataFrame, columns: Sequence[str], path: Path) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise TableError(
            f"{path}, line 1: missing column(s) {missing}; the header has {list(frame.columns)} and needs "
            f"{list(columns)}"
        )


def _where(path: Path, frame: pd.DataFrame, row: int, column: str) -> str:
    return f"{path}, line {row + 2}, column {list(frame.columns).index(column) + 1} ({column!r})"


def _numbers(
    frame: pd.DataFrame,
    column: str,
    path: Path,
    *,
    allow_missing: bool,
    low: float = -np.inf,
    high: float = np.inf,
    what: str = "a number",
) -> np.ndarray:
    text = frame[column].str.strip()
    values = pd.to_numeric(text.where(text != ""), errors="coerce").to_numpy(dtype=np.float64)
    bad = (text != "") & ~np.isfinite(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise TableError(f"{_where(path, frame, row, column)}: {text.iloc[row]!r} is not {what}")
    if not allow_missing and (text == "").any():
        row = int(np.flatnonzero(text == "")[0])
        raise TableError(f"{_where(path, frame, row, column)}: empty; every row needs {what}")
    out = (values < low) | (values > high)
    if out.any():
        row = int(np.flatnonzero(out)[0])
        raise TableError(
            f"{_where(path, frame, row, column)}: {values[row]} is outside {low}..{high}; fix the value"
        )
    return values


def _dates(frame: pd.DataFrame, path: Path) -> pd.Series:
    text = frame["date"].str.strip()
    dates = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    bad = dates.isna()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise TableError(f"{_where(path, frame, row, 'date')}: {text.iloc[row]!r} is not a date YYYY-MM-DD")
    return dates


def _ids(frame: pd.DataFrame, path: Path) -> pd.Series:
    ids = frame["station"].str.strip()
    if (ids == "").any():
        row = int(np.flatnonzero(ids == "")[0])
        raise TableError(f"{_where(path, frame, row, 'station')}: empty station id")
    return ids


def _known(frame: pd.DataFrame, ids: pd.Series, stations: Sequence[str], path: Path) -> None:
    unknown = ~ids.isin(list(stations))
    if unknown.any():
        row = int(np.flatnonzero(unknown)[0])
        raise TableError(
            f"{_where(path, frame, row, 'station')}: station {ids.iloc[row]!r} is not in the station table; "
            "add it there or remove its rows"
        )


def read_stations(path: str | Path) -> pd.DataFrame:
    """The station table, indexed by station id, with lat, lon and the static features.

    Raises:
        TableError: missing columns, duplicate ids, unreadable or out-of-range coordinates.
    """
    path = Path(path)
    frame = _read(path)
    _require(frame, STATION_COLUMNS, path)
    ids = _ids(frame, path)
    duplicated = ids.duplicated()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated)[0])
        raise TableError(f"{_where(path, frame, row, 'station')}: station {ids.iloc[row]!r} is listed twice")
    out = pd.DataFrame(index=pd.Index(ids, name="station"))
    out["lat"] = _numbers(frame, "lat", path, allow_missing=False, low=-90, high=90, what="a latitude")
    out["lon"] = _numbers(frame, "lon", path, allow_missing=False, low=-180, high=180, what="a longitude")
    for column in frame.columns:
        if column in STATION_COLUMNS:
            continue
        text = frame[column].str.strip()
        numeric = pd.to_numeric(text.where(text != ""), errors="coerce")
        if numeric.notna().sum() == (text != "").sum():  # every given value is a number: a numeric static
            out[column] = numeric.to_numpy(dtype=np.float64)
        else:
            out[column] = text.where(text != "").to_numpy(dtype=object)
    if out.empty:
        raise TableError(f"{path}: no station rows") from None
    return out


def read_observations(path: str | Path, *, stations: Sequence[str]) -> pd.DataFrame:
    """Observations (station, date, depth_m, temperature_c), temperature NaN where missing.

    Raises:
        TableError: missing columns, bad dates or numbers, unknown stations, a repeated (station, date,
            depth).
    """
    path = Path(path)
    frame = _read(path)
    _require(frame, OBSERVATION_COLUMNS, path)
    ids = _ids(frame, path)
    _known(frame, ids, stations, path)
    out = pd.DataFrame(
        {
            "station": ids.to_numpy(),
            "date": _dates(frame, path),
            "depth_m": _numbers(
                frame, "depth_m", path, allow_missing=False, low=0.0, high=1000.0, what="a depth in metres"
            ),
            "temperature_c": _numbers(
                frame,
                "temperature_c",
                path,
                allow_missing=True,
                low=-80.0,
                high=60.0,
                what="a temperature in °C",
            ),
        }
    )
    repeated = out.duplicated(["station", "date", "depth_m"])
    if repeated.any():
        row = int(np.flatnonzero(repeated)[0])
        raise TableError(
            f"{_where(path, frame, row, 'date')}: a second value for station {out['station'].iloc[row]!r} at "
            f"{out['depth_m'].iloc[row]} m on that date; keep one row per station, date and depth"
        )
    if out.empty:
        raise TableError(f"{path}: no observation rows") from None
    return out


def read_drivers(path: str | Path, *, stations: Sequence[str], variables: Sequence[str]) -> pd.DataFrame:
    """User drivers (station, date, one column per variable), NaN where missing.

    Raises:
        TableError: missing columns, bad dates or numbers, unknown stations, repeated (station, date).
    """
    path = Path(path)
    frame = _read(path)
    _require(frame, ("station", "date", *variables), path)
    ids = _ids(frame, path)
    _known(frame, ids, stations, path)
    out = pd.DataFrame({"station": ids.to_numpy(), "date": _dates(frame, path)})
    for variable in variables:
        out[variable] = _numbers(frame, variable, path, allow_missing=True)
    repeated = out.duplicated(["station", "date"])
    if repeated.any():
        row = int(np.flatnonzero(repeated)[0])
        raise TableError(f"{_where(path, frame, row, 'date')}: a second row for this station and date")
    return out
