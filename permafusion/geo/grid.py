"""The processing grid: one UTM zone, a fixed pixel size, bounds snapped to whole pixels.

Every composite, label raster, patch and map of a tile lives on the same :class:`GridSpec`, so arrays
line up pixel for pixel without resampling between stages.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from affine import Affine
from pyproj import Transformer


@dataclass(frozen=True)
class GridSpec:
    """A north-up raster grid.

    Args:
        epsg: EPSG code of the (projected) CRS.
        bounds: (minx, miny, maxx, maxy) in CRS units; each a whole multiple of ``resolution``.
        resolution: pixel size in CRS units (metres for UTM).
    """

    epsg: int
    bounds: tuple[float, float, float, float]
    resolution: float = 10.0

    def __post_init__(self) -> None:
        minx, miny, maxx, maxy = self.bounds
        if not (maxx > minx and maxy > miny):
            raise ValueError(f"grid bounds {self.bounds} are empty: need minx < maxx and miny < maxy")
        if self.resolution <= 0:
            raise ValueError(f"grid resolution must be positive, got {self.resolution}")
        for value in self.bounds:
            if not math.isclose(value / self.resolution, round(value / self.resolution), abs_tol=1e-6):
                raise ValueError(f"grid bound {value} is not a multiple of the resolution {self.resolution}")
        object.__setattr__(self, "bounds", tuple(float(v) for v in self.bounds))

    @cached_property
    def transform(self) -> Affine:
        return Affine(self.resolution, 0.0, self.bounds[0], 0.0, -self.resolution, self.bounds[3])

    @cached_property
    def shape(self) -> tuple[int, int]:
        """(height, width) in pixels."""
        minx, miny, maxx, maxy = self.bounds
        return (round((maxy - miny) / self.resolution), round((maxx - minx) / self.resolution))

    @property
    def crs(self) -> str:
        return f"EPSG:{self.epsg}"

    def raster_profile(self, *, dtype: str, count: int = 1, nodata: float | None = None) -> dict[str, Any]:
        """A rasterio GeoTIFF profile for a raster on this grid."""
        return {
            "driver": "GTiff",
            "dtype": dtype,
            "count": count,
            "height": self.shape[0],
            "width": self.shape[1],
            "crs": self.crs,
            "transform": self.transform,
            "nodata": nodata,
        }

    def window_bounds(self, row_off: int, col_off: int, height: int, width: int) -> tuple[float, ...]:
        """CRS bounds of a pixel window of this grid."""
        minx = self.bounds[0] + col_off * self.resolution
        maxy = self.bounds[3] - row_off * self.resolution
        return (minx, maxy - height * self.resolution, minx + width * self.resolution, maxy)

    def to_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_mapping(), indent=2))

    def to_mapping(self) -> dict[str, object]:
        return {"epsg": self.epsg, "bounds": list(self.bounds), "resolution": self.resolution}

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> GridSpec:
        bounds = tuple(float(v) for v in data["bounds"])
        return cls(epsg=int(data["epsg"]), bounds=bounds, resolution=float(data["resolution"]))  # type: ignore[arg-type]

    @classmethod
    def from_transform(cls, epsg: int, transform: Sequence[float], shape: tuple[int, int]) -> GridSpec:
        """The grid of a north-up raster given its affine (a, b, c, d, e, f) and (height, width)."""
        a, _, c, _, e, f = (float(v) for v in transform[:6])
        if e >= 0 or a <= 0 or not math.isclose(a, -e):
            raise ValueError(f"transform {list(transform)} is not north-up with square pixels")
        bounds = (c, f + e * shape[0], c + a * shape[1], f)
        return cls(int(epsg), bounds, a)

    @classmethod
    def from_json(cls, path: str | Path) -> GridSpec:
        return cls.from_mapping(json.loads(Path(path).read_text()))


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the WGS 84 UTM zone containing a point (no Norway/Svalbard exceptions)."""
    if not (-180.0 <= lon <= 180.0 and -80.0 <= lat <= 84.0):
        raise ValueError(f"({lon}, {lat}) is outside the UTM range (lat -80..84)")
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return (32600 if lat >= 0 else 32700) + zone


def snap_bounds(bounds: tuple[float, ...], resolution: float) -> tuple[float, float, float, float]:
    """Grow bounds outward to whole multiples of ``resolution``."""
    minx, miny, maxx, maxy = bounds
    return (
        math.floor(minx / resolution) * resolution,
        math.floor(miny / resolution) * resolution,
        math.ceil(maxx / resolution) * resolution,
        math.ceil(maxy / resolution) * resolution,
    )


def project_bbox(
    bbox_lonlat: tuple[float, float, float, float], epsg: int
) -> tuple[float, float, float, float]:
    """Bounds in ``epsg`` of a lon/lat bbox, densified so curved edges are enclosed."""
    transformer = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
    minx, miny, maxx, maxy = transformer.transform_bounds(*bbox_lonlat, densify_pts=21)
    return (minx, miny, maxx, maxy)


def grid_for_bbox(bbox_lonlat: tuple[float, float, float, float], resolution: float = 10.0) -> GridSpec:
    """The grid covering a lon/lat bbox in the UTM zone of its centre."""
    lon = (bbox_lonlat[0] + bbox_lonlat[2]) / 2
    lat = (bbox_lonlat[1] + bbox_lonlat[3]) / 2
    epsg = utm_epsg(lon, lat)
    return GridSpec(epsg, snap_bounds(project_bbox(bbox_lonlat, epsg), resolution), resolution)
