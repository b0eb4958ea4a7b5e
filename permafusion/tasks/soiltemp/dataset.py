"""The task's arrays: daily features and targets per station, statics, latitude bands, and splits.

Everything a model, a baseline or a projection needs, built once from the tidy tables and stored as one
``.npz`` file (arrays) with a JSON sidecar (names): ``dynamic`` (stations, days, features), ``targets``
(stations, days, depths) with NaN where nothing was observed, ``statics`` (stations, static features),
``band`` (stations,), and the split of every (station, day).

Splits (both leave whole units out, :mod:`permafusion.learn.splits`):

- ``station``: stations are grouped in spatial blocks (``block_deg`` cells of latitude and longitude) and
  whole blocks go to train, val or test, stratified by latitude band; test stations are never seen in
  training, on any day.
- ``time``: every station trains on the years before ``val_start``, validates until ``test_start`` and is
  tested after it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from permafusion.core.files import write_json, write_npz
from permafusion.learn.splits import assign_splits, time_split
from permafusion.tasks.soiltemp.drivers import DERIVED, daily_frame, derived_features, latitude_band

SplitKind = Literal["station", "time"]
SPLIT_CODES = {"train": 0, "val": 1, "test": 2}


#: The arrays a series set stores besides its dates (names and depths go to the JSON beside them).
_ARRAYS = ("dynamic", "targets", "statics", "band", "lat", "lon")


@dataclass
class SeriesSet:
    """Daily series of every station on one calendar.

    Attributes:
        stations: station ids.
        dates: the days (datetime64[D]).
        dynamic: (S, D, F) float32 drivers and derived features (NaN where unknown).
        feature_names: the F names.
        targets: (S, D, Z) float32 observed soil temperature, NaN where missing.
        depths: the Z depths in metres.
        statics: (S, K) float32 static features (numbers and one-hot classes; NaN where missing).
        static_names: the K names.
        band: (S,) latitude band of each station.
        band_labels: names of the bands.
        lat, lon: station coordinates.
    """

    stations: list[str]
    dates: np.ndarray
    dynamic: np.ndarray
    feature_names: list[str]
    targets: np.ndarray
    depths: list[float]
    statics: np.ndarray
    static_names: list[str]
    band: np.ndarray
    band_labels: list[str]
    lat: np.ndarray
    lon: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        s, d = len(self.stations), len(self.dates)
        if self.dynamic.shape[:2] != (s, d) or self.dynamic.shape[2] != len(self.feature_names):
            raise ValueError(f"dynamic {self.dynamic.shape} does not match {s} stations x {d} days")
        if self.targets.shape != (s, d, len(self.depths)):
            raise ValueError(f"targets {self.targets.shape} do not match ({s}, {d}, {len(self.depths)})")
        if self.statics.shape != (s, len(self.static_names)):
            raise ValueError(f"statics {self.statics.shape} do not match ({s}, {len(self.static_names)})")

    def save(self, path: str | Path) -> None:
        """Arrays to ``path`` (.npz) and names to ``path`` with ``.json``, both atomically."""
        path = Path(path)
        days = self.dates.astype("datetime64[D]").astype(np.int64)
        write_npz({"dates": days, **{name: getattr(self, name) for name in _ARRAYS}}, path)
        write_json(
            {
                "stations": self.stations,
                "feature_names": self.feature_names,
                "depths": self.depths,
                "static_names": self.static_names,
                "band_labels": self.band_labels,
                "meta": self.meta,
            },
            path.with_suffix(".json"),
        )

    @classmethod
    def load(cls, path: str | Path) -> SeriesSet:
        path = Path(path)
        names = json.loads(path.with_suffix(".json").read_text())
        with np.load(path) as arrays:
            return cls(
                stations=names["stations"],
                dates=arrays["dates"].astype("datetime64[D]"),
                dynamic=arrays["dynamic"],
                feature_names=names["feature_names"],
                targets=arrays["targets"],
                depths=[float(d) for d in names["depths"]],
                statics=arrays["statics"],
                static_names=names["static_names"],
                band=arrays["band"],
                band_labels=names["band_labels"],
                lat=arrays["lat"],
                lon=arrays["lon"],
                meta=names.get("meta", {}),
            )

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for array in (self.dynamic, self.targets, self.statics, self.band):
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()[:16]

    def feature(self, name: str) -> np.ndarray:
        """(S, D) values of one dynamic feature."""
        return self.dynamic[:, :, self.feature_names.index(name)]


def encode_statics(stations: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Numeric columns as they are, text columns one-hot (``column=class``); lat/lon are not statics."""
    columns, names = [], []
    for column in stations.columns:
        if column in ("lat", "lon"):
            continue
        values = stations[column]
        if values.dtype == object:
            for category in sorted({str(v) for v in values.dropna()}):
                columns.append((values == category).to_numpy(dtype=np.float32))
                names.append(f"{column}={category}")
        else:
            columns.append(values.to_numpy(dtype=np.float32))
            names.append(str(column))
    array = np.stack(columns, axis=1) if columns else np.zeros((len(stations), 0), np.float32)
    return array.astype(np.float32), names


def build_series(
    *,
    stations: pd.DataFrame,
    observations: pd.DataFrame,
    drivers: pd.DataFrame,
    variables: Sequence[str],
    start: str,
    end: str,
    band_edges: Sequence[float],
    band_labels: Sequence[str],
    reference_years: int = 10,
    max_gap_days: int = 10,
) -> SeriesSet:
    """Assemble a :class:`SeriesSet` from the checked tables (:mod:`permafusion.tasks.soiltemp.tables`).

    Raises:
        ValueError: when a station has no driver on any day of the period.
    """
    dates = pd.date_range(start, end, freq="D")
    ids = list(stations.index)
    depths = sorted(float(d) for d in observations["depth_m"].unique())
    dynamic = np.full((len(ids), len(dates), len(variables) + len(DERIVED)), np.nan, np.float32)
    for s, station in enumerate(ids):
        frame = daily_frame(
            drivers, station=station, dates=dates, variables=variables, max_gap_days=max_gap_days
        )
        if frame.isna().all().all():
            raise ValueError(
                f"station {station!r} has no driver value between {start} and {end}: fetch its drivers or "
                "remove it from the station table"
            )
        values = frame.to_numpy()
        t2m = values[:, list(variables).index("t2m")]
        dynamic[s, :, : len(variables)] = values
        dynamic[s, :, len(variables) :] = derived_features(dates, t2m, reference_days=365 * reference_years)
    targets = np.full((len(ids), len(dates), len(depths)), np.nan, np.float32)
    inside = observations[(observations["date"] >= dates[0]) & (observations["date"] <= dates[-1])]
    s_idx = pd.Index(ids).get_indexer(inside["station"])
    d_idx = (inside["date"] - dates[0]).dt.days.to_numpy()
    z_idx = pd.Index(depths).get_indexer(inside["depth_m"])
    targets[s_idx, d_idx, z_idx] = inside["temperature_c"].to_numpy(np.float32)
    statics, static_names = encode_statics(stations)
    lat = stations["lat"].to_numpy(np.float64)
    return SeriesSet(
        stations=[str(i) for i in ids],
        dates=dates.to_numpy().astype("datetime64[D]"),
        dynamic=dynamic,
        feature_names=[*variables, *DERIVED],
        targets=targets,
        depths=depths,
        statics=statics,
        static_names=static_names,
        band=latitude_band(lat, band_edges),
        band_labels=list(band_labels),
        lat=lat,
        lon=stations["lon"].to_numpy(np.float64),
        meta={"start": start, "end": end, "reference_years": reference_years},
    )


def station_blocks(lat: np.ndarray, lon: np.ndarray, *, block_deg: float) -> list[str]:
    """The spatial block (a cell of ``block_deg`` degrees) of each station."""
    rows = np.floor(np.asarray(lat) / block_deg).astype(int)
    cols = np.floor(np.asarray(lon) / block_deg).astype(int)
    return [f"{r}_{c}" for r, c in zip(rows, cols, strict=True)]


def split_codes(
    series: SeriesSet,
    *,
    kind: SplitKind,
    fractions: Mapping[str, float] | None = None,
    block_deg: float = 2.0,
    val_start: str | None = None,
    test_start: str | None = None,
    seed: int = 0,
) -> np.ndarray:
    """(S, D) split code (:data:`SPLIT_CODES`) of every station and day.

    Raises:
        ValueError: for an unknown kind, missing dates of a time split, or fewer than 3 blocks.
    """
    s, d = len(series.stations), len(series.dates)
    if kind == "time":
        if not val_start or not test_start:
            raise ValueError("a time split needs `val_start` and `test_start` (YYYY-MM-DD)")
        names = time_split(list(series.dates), val_start=val_start, test_start=test_start)
        codes = np.array([SPLIT_CODES[n] for n in names], dtype=np.int8)
        return np.broadcast_to(codes, (s, d)).copy()
    if kind == "station":
        blocks = station_blocks(series.lat, series.lon, block_deg=block_deg)
        if len(set(blocks)) < 3:
            raise ValueError(
                f"the {s} stations fall in {len(set(blocks))} blocks of {block_deg}°; a station split "
                "needs at least 3: lower `split.block_deg`"
            )
        given = assign_splits(
            blocks, fractions or {"train": 0.6, "val": 0.2, "test": 0.2}, seed=seed, strata=list(series.band)
        )
        per_station = np.array([SPLIT_CODES[given[b]] for b in blocks], dtype=np.int8)
        return np.broadcast_to(per_station[:, None], (s, d)).copy()
    raise ValueError(f"unknown split {kind!r}: use 'station' or 'time'")


def time_split_dates(*, start: str, end: str, test_years: int, val_years: int) -> tuple[str, str]:
    """(val_start, test_start): the last ``test_years`` calendar years test, the ``val_years`` before
    them validate.

    Raises:
        ValueError: when no training year is left.
    """
    first, last = pd.Timestamp(start).year, pd.Timestamp(end).year
    test_start = last - test_years + 1
    val_start = test_start - val_years
    if val_start <= first:
        raise ValueError(
            f"the period {start}..{end} leaves no training year before the {val_years} validation and "
            f"{test_years} test years: lengthen the period or lower `split.val_years`/`split.test_years`"
        )
    return f"{val_start}-01-01", f"{test_start}-01-01"


def split_for(series: SeriesSet, kind: SplitKind, settings: Mapping[str, Any]) -> np.ndarray:
    """The split codes of ``kind`` from the workflow's ``soil_temperature.split`` settings."""
    if kind == "time":
        val_start, test_start = time_split_dates(
            start=str(series.dates[0]),
            end=str(series.dates[-1]),
            test_years=int(settings.get("test_years", 2)),
            val_years=int(settings.get("val_years", 2)),
        )
        return split_codes(series, kind="time", val_start=val_start, test_start=test_start)
    return split_codes(
        series,
        kind="station",
        fractions=settings.get("fractions"),
        block_deg=float(settings.get("block_deg", 2.0)),
        seed=int(settings.get("seed", 0)),
    )


def series_from_files(
    *,
    stations: str | Path,
    observations: str | Path,
    drivers: str | Path,
    variables: Sequence[str],
    start: str,
    end: str,
    band_edges: Sequence[float],
    reference_years: int = 10,
    max_gap_days: int = 10,
) -> SeriesSet:
    """:func:`build_series` from the tidy tables on disk, checked by
    :mod:`permafusion.tasks.soiltemp.tables`."""
    from permafusion.tasks.soiltemp import tables
    from permafusion.tasks.soiltemp.drivers import band_names

    if "t2m" not in variables:
        raise ValueError("the drivers need t2m (the scenario signal and the projections are built on it)")
    table = tables.read_stations(stations)
    ids = list(table.index)
    return build_series(
        stations=table,
        observations=tables.read_observations(observations, stations=ids),
        drivers=tables.read_drivers(drivers, stations=ids, variables=variables),
        variables=variables,
        start=start,
        end=end,
        band_edges=band_edges,
        band_labels=band_names(band_edges),
        reference_years=reference_years,
        max_gap_days=max_gap_days,
    )
