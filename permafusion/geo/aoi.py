"""Area-of-interest settings: what to map, where and when, checked before any work starts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

CatalogKind = Literal["stac_api", "local"]
Signing = Literal["none", "planetary_computer"]


class AOIError(ValueError):
    """An AOI file or setting that cannot be used; the message names what to change."""


@dataclass(frozen=True)
class Catalog:
    """Where items come from: a STAC API URL, or local item files served on loopback for the search."""

    kind: CatalogKind
    url: str | None = None
    signing: Signing = "none"
    server_side_query: bool = False  # the API implements the STAC `query` extension
    collections: Mapping[str, str] | None = None  # sensor -> collection id
    item_files: tuple[str, ...] = ()  # local catalogs: ItemCollection JSON files
    collection_files: tuple[str, ...] = ()  # local catalogs: Collection JSON files
    path: str | None = None  # local catalogs: a folder of STAC Collection and Item files to serve


@dataclass(frozen=True)
class AOI:
    """A validated area of interest.

    Args:
        name: short identifier, also the results folder name.
        bbox: (west, south, east, north) in degrees, WGS 84.
        start, end: first and last day of the period (inclusive).
        catalog: the STAC source.
        labels: GeoPackage of ground-truth polygons, or None when the AOI has none.
        source: the file the settings came from (named in error messages).
        years: calendar years mapped each on its own (from its January..December composites) with the
            same model, in increasing order; empty: only the period is mapped.
    """

    name: str
    bbox: tuple[float, float, float, float]
    start: dt.date
    end: dt.date
    catalog: Catalog
    labels: str | None = None
    source: str = "<config>"
    years: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        west, south, east, north = self.bbox
        where = f"in {self.source}"
        if not (-180 <= west <= 180 and -180 <= east <= 180):
            raise AOIError(f"bbox longitudes {west}, {east} {where} are outside -180..180: fix `bbox`")
        if not (-90 <= south <= 90 and -90 <= north <= 90):
            raise AOIError(f"bbox latitudes {south}, {north} {where} are outside -90..90: fix `bbox`")
        if east < 0 < west and south < north:  # e.g. [170, 60, -170, 70]: a box over 180°, not a swap
            raise AOIError(
                f"bbox {list(self.bbox)} {where} crosses the antimeridian (180°): its west {west} lies east "
                f"of its east {east}. An AOI is mapped in one piece: split it into two AOIs, "
                f"[{west}, {south}, 180, {north}] and [-180, {south}, {east}, {north}]"
            )
        if west >= east or south >= north:
            raise AOIError(
                f"bbox {list(self.bbox)} {where} is empty or inverted: write it as [west, south, east, north]"
            )
        if not (south >= -80 and north <= 84):
            raise AOIError(f"bbox {list(self.bbox)} {where} leaves the UTM range (80°S..84°N): fix `bbox`")
        if self.end <= self.start:
            raise AOIError(f"`end` {self.end} is not after `start` {self.start} {where}: fix the period")
        if list(self.years) != sorted(set(self.years)) or len(self.years) == 1:
            raise AOIError(
                f"`years` {list(self.years)} {where} must list two or more different years in increasing "
                "order (e.g. [2019, 2023]), or be left out"
            )
        if self.catalog.kind == "stac_api" and not self.catalog.url:
            raise AOIError(f"`catalog.url` is missing {where}: a stac_api catalog needs the API's URL")

    def months(self) -> list[str]:
        """The period's months as 'YYYY-MM', start month to end month inclusive."""
        months = []
        year, month = self.start.year, self.start.month
        while (year, month) <= (self.end.year, self.end.month):
            months.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return months

    def year_months(self, year: int) -> list[str]:
        """The months of one of the mapped ``years``, January to December, as 'YYYY-MM'."""
        return [f"{year:04d}-{month:02d}" for month in range(1, 13)]

    def all_months(self) -> list[str]:
        """Every month imagery is needed for: the period's and those of the mapped ``years``, in order."""
        return sorted({*self.months(), *(m for year in self.years for m in self.year_months(year))})

    def first_and_last_day(self) -> tuple[dt.date, dt.date]:
        """The first and last day imagery is needed for (the period and the mapped years together)."""
        if not self.years:
            return self.start, self.end
        return min(self.start, dt.date(self.years[0], 1, 1)), max(self.end, dt.date(self.years[-1], 12, 31))

    def datetime_range(self, month: str | None = None) -> str:
        """The period, or one month ("YYYY-MM") of it or of a mapped year, as a STAC datetime interval; a
        month of the period is clipped to the period, unless it is also a month of a mapped year."""
        start, end = self.start, self.end
        if month is not None:
            if month not in self.all_months():
                period = f"{self.start}..{self.end}"
                raise AOIError(
                    f"month {month} is outside the period {period} and the `years` of {self.source}"
                )
            if int(month[:4]) in self.years:  # a month of a mapped year: the whole calendar month
                start, end = dt.date.min, dt.date.max
            year, number = (int(part) for part in month.split("-"))
            first = dt.date(year, number, 1)
            after = dt.date(year + number // 12, number % 12 + 1, 1)
            start, end = max(start, first), min(end, after - dt.timedelta(days=1))
        return f"{start.isoformat()}T00:00:00Z/{end.isoformat()}T23:59:59Z"


def _as_date(value: Any, key: str, source: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise AOIError(f"`{key}` = {value!r} in {source} is not a date: write it as YYYY-MM-DD") from None


def aoi_from_mapping(
    settings: Mapping[str, Any], *, extent: str = "default", source: str = "<config>"
) -> AOI:
    """Build an AOI from its (schema-validated) settings.

    Args:
        settings: the AOI file's content.
        extent: "default" uses `bbox`; "full" uses `full_bbox` (the whole study area).
        source: where the settings came from, for error messages.
    """
    if extent == "full":
        if "full_bbox" not in settings:
            raise AOIError(f"extent=full asked for, but {source} has no `full_bbox`")
        bbox = settings["full_bbox"]
    elif extent == "default":
        bbox = settings["bbox"]
    else:
        raise AOIError(f"extent={extent!r} is not one of 'default', 'full'")
    cat = settings["catalog"]
    catalog = Catalog(
        kind=cat["kind"],
        url=cat.get("url"),
        signing=cat.get("signing", "none"),
        server_side_query=bool(cat.get("server_side_query", False)),
        collections=dict(cat.get("collections", {})),
        item_files=tuple(cat.get("item_files", ())),
        collection_files=tuple(cat.get("collection_files", ())),
        path=cat.get("path"),
    )
    if len(bbox) != 4:
        raise AOIError(f"`bbox` in {source} needs 4 numbers [west, south, east, north], got {bbox}")
    return AOI(
        name=settings["name"],
        bbox=tuple(float(v) for v in bbox),  # type: ignore[arg-type]
        start=_as_date(settings["start"], "start", source),
        end=_as_date(settings["end"], "end", source),
        catalog=catalog,
        labels=settings.get("labels"),
        source=source,
        years=tuple(int(year) for year in settings.get("years") or ()),
    )
