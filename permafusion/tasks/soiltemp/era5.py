"""ERA5-Land from the Copernicus Climate Data Store: requesting it, and reading every form it arrives in.

**Source.** The default is the CDS point time-series dataset ``reanalysis-era5-land-timeseries`` (one
request per station, hourly series at the nearest grid cell, small files), through ``cdsapi``; the hourly
gridded ``reanalysis-era5-land`` over a small box around the station is the alternative (``source:
cds-gridded``), for stations the time-series service does not serve. ``cdsapi.Client()`` reads the URL
and key from the user's ``~/.cdsapirc`` (or ``CDSAPI_URL``/``CDSAPI_KEY``) itself: this module never
reads, logs or stores them.

**Forms delivered** (all read by :func:`open_cds`, tested on real CDS files in
``shared/fixtures/era5-land``):

- legacy CDS netCDF3 (``grib_to_netcdf``): ``time``, int16 packed with scale/offset;
- new CDS netCDF4 (cfgrib): ``valid_time``, float32 with NaN fill, variables split over ``data_0/1/2.nc``,
  longitudes 0..360 in GRIB-2 members;
- a zip archive named ``.nc`` (or ``.zip``) holding those members;
- GRIB 1 and 2 (cfgrib): ``time`` x ``step`` with a 2-D ``valid_time``.

**Accumulations** (``tp``, ``ssrd``, ``strd``, ``e``, ``ro``, ``smlt`` ...) run from 00 UTC, and the value
stamped 00 UTC of day D is the total of day D-1. So the daily total of day D is the value at D+1 00 UTC
(:func:`daily_point`). Series of hourly amounts (not running totals: values that fall within a day) are
summed over the hours ending in day D (01 UTC of D to 00 UTC of D+1) instead.
"""

from __future__ import annotations

import logging
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd
import xarray as xr

LOG = logging.getLogger(__name__)

#: CDS request names of the task's variables.
CDS_NAMES: dict[str, str] = {
    "t2m": "2m_temperature",
    "d2m": "2m_dewpoint_temperature",
    "tp": "total_precipitation",
    "sde": "snow_depth",
    "snowc": "snow_cover",
    "ssrd": "surface_solar_radiation_downwards",
    "stl1": "soil_temperature_level_1",
    "stl2": "soil_temperature_level_2",
    "stl3": "soil_temperature_level_3",
    "stl4": "soil_temperature_level_4",
    "swvl1": "volumetric_soil_water_layer_1",
}
#: Short names under which cfgrib / grib_to_netcdf may deliver a variable.
ALIASES: dict[str, tuple[str, ...]] = {"t2m": ("t2m", "2t"), "d2m": ("d2m", "2d")}
ACCUMULATED = frozenset({"tp", "ssrd", "strd", "e", "ro", "smlt", "sf", "ssr", "str", "pev", "es"})
KELVIN = frozenset({"t2m", "d2m", "stl1", "stl2", "stl3", "stl4", "skt"})
#: Multiplier from CDS units to the task's (tp m -> mm, radiation J m-2 -> MJ m-2).
SCALE = {"tp": 1000.0, "ssrd": 1e-6, "strd": 1e-6, "e": 1000.0, "ro": 1000.0, "smlt": 1000.0}

Source = Literal["cds-timeseries", "cds-gridded"]


class Era5Error(ValueError):
    """A CDS file that cannot be read or lacks what the task needs; the message names the file."""


def _kind(path: Path) -> str:
    head = path.read_bytes()[:8]
    if head.startswith(b"PK"):
        return "zip"
    if head.startswith(b"CDF"):
        return "netcdf3"
    if head.startswith(b"\x89HDF"):
        return "netcdf4"
    if head.startswith(b"GRIB"):
        return "grib"
    raise Era5Error(f"{path}: not netCDF, GRIB or zip (starts with {head!r}); download it again")


def _open_grib(path: Path) -> list[xr.Dataset]:
    import cfgrib

    # a throw-away index: cfgrib scans the file once instead of once per group of messages (5x faster on a
    # month of hourly fields), and nothing is written beside the user's file
    with tempfile.TemporaryDirectory() as folder:
        index = str(Path(folder) / "grib.{short_hash}.idx")
        return [ds.load() for ds in cfgrib.open_datasets(str(path), backend_kwargs={"indexpath": index})]


def open_cds(path: str | Path) -> list[xr.Dataset]:
    """Every dataset in a CDS download (a zip gives one per member), loaded into memory and normalised
    (:func:`normalise`).

    Raises:
        Era5Error: for a file of another kind or an unreadable member.
    """
    path = Path(path)
    kind = _kind(path)
    try:
        if kind == "zip":
            out: list[xr.Dataset] = []
            with tempfile.TemporaryDirectory() as folder, zipfile.ZipFile(path) as archive:
                for member in sorted(archive.namelist()):
                    if member.endswith("/"):
                        continue
                    extracted = Path(archive.extract(member, folder))
                    out += open_cds(extracted)
            return out
        if kind == "grib":
            return [normalise(ds, source=str(path)) for ds in _open_grib(path)]
        engine = "netcdf4" if kind == "netcdf4" else "scipy"
        try:
            with xr.open_dataset(path, engine=engine) as ds:
                return [normalise(ds.load(), source=str(path))]
        except (ImportError, ValueError):
            with xr.open_dataset(path) as ds:
                return [normalise(ds.load(), source=str(path))]
    except Era5Error:
        raise
    except Exception as error:
        raise Era5Error(f"{path}: cannot be read as {kind} ({type(error).__name__}: {error})") from error


def normalise(ds: xr.Dataset, *, source: str = "dataset") -> xr.Dataset:
    """One time axis ``time`` (valid time), longitudes in -180..180, ERA5-Land short names, auxiliary
    coordinates (``number``, ``expver``, ``surface``, ``step``) dropped."""
    if "step" in ds.dims and "time" not in ds.dims and "time" in ds.coords:  # one base time
        ds = ds.expand_dims("time")
    if "step" in ds.dims and "time" in ds.dims:  # GRIB forecast fields: base time x step
        valid = (ds["time"] + ds["step"]).transpose("time", "step").values.reshape(-1)
        stacked = ds.drop_vars(["valid_time"], errors="ignore").stack(flat=("time", "step"))
        stacked = stacked.drop_vars(["flat", "time", "step"], errors="ignore").assign_coords(flat=valid)
        ds = stacked.rename(flat="time")
        keep = np.zeros(ds.sizes["time"], dtype=bool)
        for name in ds.data_vars:
            other = [d for d in ds[name].dims if d != "time"]
            keep |= ds[name].notnull().any(dim=other).values if other else ds[name].notnull().values
        ds = ds.isel(time=np.flatnonzero(keep)).sortby("time")
    elif "time" in ds.dims and "valid_time" in ds.coords and ds["valid_time"].dims == ("time",):
        # GRIB with one step per base time (e.g. only 23-24): the valid time is base time + step
        ds = ds.assign_coords(time=ds["valid_time"].values).drop_vars("valid_time")
    elif "valid_time" in ds.dims:
        ds = ds.drop_vars(["time"], errors="ignore").rename(valid_time="time")
    elif "time" not in ds.dims and "valid_time" in ds.coords:
        ds = ds.expand_dims("valid_time").drop_vars(["time"], errors="ignore").rename(valid_time="time")
    elif "time" not in ds.dims and "time" in ds.coords:
        ds = ds.expand_dims("time")
    if "time" not in ds.dims:
        raise Era5Error(f"{source}: no time axis (`time` or `valid_time`) in dims {dict(ds.sizes)}")
    ds = ds.drop_vars(
        [
            c
            for c in ("number", "expver", "surface", "step", "valid_time", "depthBelowLandLayer")
            if c in ds.coords
        ]
    )
    for short, names in ALIASES.items():
        for name in names:
            if name in ds.data_vars and name != short and short not in ds.data_vars:
                ds = ds.rename({name: short})
    if "longitude" in ds.coords and float(ds["longitude"].max()) > 180:
        ds = ds.assign_coords(longitude=((ds["longitude"] + 180) % 360) - 180).sortby("longitude")
    return ds


def point_series(datasets: Sequence[xr.Dataset], *, lat: float, lon: float) -> pd.DataFrame:
    """Hourly (or whatever the files hold) values at the grid cell nearest to (lat, lon), all datasets
    merged on time; columns are variable names, values in the file's units."""
    frames = []
    for ds in datasets:
        point = ds
        if "latitude" in ds.dims:
            point = point.sel(latitude=lat, method="nearest")
        if "longitude" in ds.dims:
            point = point.sel(longitude=lon, method="nearest")
        for name in list(point.data_vars):
            values = point[name]
            extra = [d for d in values.dims if d != "time"]
            if extra:
                values = values.isel({d: 0 for d in extra})
            frames.append(values.to_series().rename(name))
    if not frames:
        raise Era5Error("no variable in the files")
    table = pd.concat(frames, axis=1)
    table = table.T.groupby(level=0).first().T  # the same variable in two files: merge
    table.index = pd.DatetimeIndex(table.index).tz_localize(None)
    return table.sort_index()


def _is_running_total(values: pd.Series) -> bool:
    """True when values rise through the hours of a day (running totals reset at 01 UTC)."""
    hourly = values.dropna()
    hours = hourly.index.hour
    inside = hourly[(hours >= 1)]
    if inside.empty:
        return True  # only 00 UTC stamps: daily totals of the previous day
    steps = inside.groupby(inside.index.normalize()).diff().dropna()
    if steps.empty:
        return True
    return bool((steps >= -1e-9).mean() > 0.95)


def daily_point(table: pd.DataFrame, *, variables: Sequence[str]) -> pd.DataFrame:
    """Daily values in the task's units from a point series: means of instantaneous variables over each
    day's stamps, daily totals of accumulated ones (de-shifted: the total of day D is stamped D+1 00 UTC).

    Returns:
        A frame indexed by day with one column per variable found; a variable absent from the files is
        absent here (the caller decides whether that is an error).
    """
    out: dict[str, pd.Series] = {}
    for name in variables:
        if name not in table.columns:
            continue
        values = table[name].astype(np.float64)
        if name in ACCUMULATED:
            if _is_running_total(values):
                at_midnight = values[values.index.hour == 0]
                daily = pd.Series(
                    at_midnight.to_numpy(), index=at_midnight.index.normalize() - pd.Timedelta(days=1)
                )
            else:  # hourly amounts: sum the hours ending in each day
                daily = values.groupby((values.index - pd.Timedelta(hours=1)).normalize()).sum(min_count=1)
        else:
            daily = values.groupby(values.index.normalize()).mean()
        if name in KELVIN:
            daily = daily - 273.15
        daily = daily * SCALE.get(name, 1.0)
        if name == "snowc" and daily.max() <= 1.0 + 1e-9 and daily.max() > 0:
            daily = daily * 100.0  # a fraction rather than %
        out[name] = daily
    frame = pd.DataFrame(out)
    frame.index.name = "date"
    return frame


def read_station_drivers(
    paths: Sequence[str | Path], *, lat: float, lon: float, variables: Sequence[str]
) -> pd.DataFrame:
    """Daily drivers of one station from its CDS downloads (any mix of the delivered forms)."""
    datasets: list[xr.Dataset] = []
    for path in paths:
        datasets += open_cds(path)
    return daily_point(point_series(datasets, lat=lat, lon=lon), variables=variables)


# ------------------------------------------------------------------------------------------ requesting
class Retriever(Protocol):
    """What :func:`retrieve_station` needs of a client (``cdsapi.Client`` has it; tests pass a fake)."""

    def retrieve(self, name: str, request: Mapping[str, Any], target: str | None = None) -> Any: ...


def station_request(
    *, source: Source, lat: float, lon: float, start: str, end: str, variables: Sequence[str]
) -> tuple[str, dict[str, Any]]:
    """The CDS dataset name and request of one station's drivers.

    Raises:
        ValueError: for an unknown source or a variable without a CDS name.
    """
    unknown = [v for v in variables if v not in CDS_NAMES]
    if unknown:
        raise ValueError(f"no CDS name for {unknown}; known: {sorted(CDS_NAMES)}")
    names = [CDS_NAMES[v] for v in variables]
    if source == "cds-timeseries":
        return "reanalysis-era5-land-timeseries", {
            "variable": names,
            "location": {"longitude": round(float(lon), 4), "latitude": round(float(lat), 4)},
            "date": [f"{start}/{end}"],
            "data_format": "netcdf",
        }
    if source == "cds-gridded":
        box = [round(lat + 0.05, 2), round(lon - 0.05, 2), round(lat - 0.05, 2), round(lon + 0.05, 2)]
        days = pd.date_range(start, end, freq="D")
        return "reanalysis-era5-land", {
            "variable": names,
            "year": sorted({f"{d.year}" for d in days}),
            "month": [f"{m:02d}" for m in range(1, 13)],
            "day": [f"{d:02d}" for d in range(1, 32)],
            "time": [f"{h:02d}:00" for h in range(24)],
            "area": box,
            "data_format": "netcdf",
            "download_format": "unarchived",
        }
    raise ValueError(f"unknown ERA5-Land source {source!r}: use 'cds-timeseries' or 'cds-gridded'")


def retrieve_station(
    *,
    target: str | Path,
    source: Source,
    lat: float,
    lon: float,
    start: str,
    end: str,
    variables: Sequence[str],
    client: Retriever | None = None,
) -> Path:
    """Download one station's drivers to ``target`` (written whole or not at all).

    ``client`` defaults to ``cdsapi.Client()``, which takes the URL and key from ``~/.cdsapirc``.
    """
    from permafusion.core.files import atomic_write

    dataset, request = station_request(
        source=source, lat=lat, lon=lon, start=start, end=end, variables=variables
    )
    if client is None:
        import cdsapi

        client = cdsapi.Client()
    LOG.info(
        "requesting %s for %.4f N %.4f E, %s..%s, %d variables", dataset, lat, lon, start, end, len(variables)
    )
    with atomic_write(target) as tmp:
        client.retrieve(dataset, request, str(tmp))
    return Path(target)


def drivers_table(
    stations: pd.DataFrame,
    files: Mapping[str, Sequence[str | Path]],
    *,
    variables: Sequence[str],
    out: str | Path,
    log: logging.Logger = LOG,
) -> pd.DataFrame:
    """The tidy drivers table (station, date, variables) of every station from its downloads.

    Raises:
        Era5Error: when a station has no file or its files lack a variable.
    """
    from permafusion.core.files import write_csv

    frames = []
    for done, (station, row) in enumerate(stations.iterrows(), start=1):
        paths = files.get(str(station))
        if not paths:
            raise Era5Error(f"no ERA5-Land file for station {station!r}")
        daily = read_station_drivers(paths, lat=float(row["lat"]), lon=float(row["lon"]), variables=variables)
        missing = [v for v in variables if v not in daily.columns]
        if missing:
            raise Era5Error(
                f"{list(paths)}: no {missing} for station {station!r}; request them again or drop them from "
                "`soil_temperature.variables`"
            )
        daily = daily.reset_index()
        daily.insert(0, "station", station)
        daily["date"] = daily["date"].dt.strftime("%Y-%m-%d")
        frames.append(daily[["station", "date", *variables]])
        log.info("drivers of %s: %d days (%d/%d stations)", station, len(daily), done, len(stations))
    table = pd.concat(frames, ignore_index=True)
    write_csv(table, out)
    return table
