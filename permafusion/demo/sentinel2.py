"""Synthetic Sentinel-2 L2A acquisitions: B02 B03 B04 B08 (10 m), B11 B12 and SCL (20 m) as uint16 DNs.

Reproduced quirks of the real archive:

- digital numbers are reflectance x 10000, plus 1000 (``BOA_ADD_OFFSET``) from processing baseline 04.00
  (2022-01-25) on: a period crossing that date needs harmonisation or its composites jump;
- nodata is DN 0 (SCL 0); every third scene comes from the neighbouring relative orbit, whose swath edge
  cuts off one corner of the raster;
- clouds (SCL 8/9, bright in every band), thin cirrus (10), cloud shadows (3, dark, displaced away from the
  sun), snow (11, bright in the visible and dark in SWIR), water (6), vegetation (4), bare soil (5);
- no acquisitions at all in December and January (as in a catalog searched with a cloud-cover limit over a
  snowy polar-night winter) and mostly snow in the shoulder months.

The Scene Classification Layer is computed from the very reflectances written (plus the simulated cloud
and shadow geometry), so a mask built from SCL agrees with the pixels it masks.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import shapely

from permafusion.demo.scene import (
    DemoScene,
    peak_map,
    smooth_noise,
    snow_probability,
    thaw_fraction,
)
from permafusion.geo.grid import GridSpec

#: Band order of the reflectance stack rendered here.
S2_BANDS: tuple[str, ...] = ("B02", "B03", "B04", "B08", "B11", "B12")
S2_BANDS_10M: tuple[str, ...] = ("B02", "B03", "B04", "B08")
S2_BANDS_20M: tuple[str, ...] = ("B11", "B12")

#: First day of processing baseline 04.00, which added BOA_ADD_OFFSET = -1000 to the L2A digital numbers.
OFFSET_BASELINE_START = dt.date(2022, 1, 25)
BOA_ADD_OFFSET = 1000

#: Real baseline history (first day, baseline); only "< 04.00 or not" matters to readers.
_BASELINES: tuple[tuple[dt.date, str], ...] = (
    (dt.date(2023, 12, 13), "05.10"),
    (dt.date(2022, 12, 6), "05.09"),
    (OFFSET_BASELINE_START, "04.00"),
    (dt.date(2021, 6, 30), "03.01"),
    (dt.date(1900, 1, 1), "02.14"),
)

# Endmember reflectances per band (B02 B03 B04 B08 B11 B12), typical of alpine tundra on the plateau.
_GREEN_VEG = np.array([0.030, 0.070, 0.040, 0.380, 0.200, 0.100], dtype=np.float32)
_SOIL = np.array([0.080, 0.110, 0.140, 0.210, 0.300, 0.240], dtype=np.float32)  # dry soil, senesced grass
_SCAR = np.array([0.120, 0.160, 0.200, 0.260, 0.360, 0.300], dtype=np.float32)  # fresh bare slump floor
_WATER = np.array([0.060, 0.060, 0.040, 0.020, 0.010, 0.007], dtype=np.float32)  # turbid thermokarst lake
_ICE = np.array([0.450, 0.440, 0.420, 0.350, 0.050, 0.040], dtype=np.float32)  # snowy lake ice
_SNOW = np.array([0.880, 0.860, 0.830, 0.750, 0.120, 0.090], dtype=np.float32)
_CLOUD = np.array([0.550, 0.540, 0.530, 0.560, 0.420, 0.320], dtype=np.float32)
_CIRRUS = np.array([1.00, 0.85, 0.75, 0.60, 0.40, 0.25], dtype=np.float32)  # relative cirrus brightening
#: How much soil wetness darkens each band (water absorbs most in the SWIR).
_WET_DARKENING = np.array([0.15, 0.15, 0.15, 0.20, 0.45, 0.50], dtype=np.float32)

#: SCL codes used here.
SCL_NODATA, SCL_SHADOW, SCL_VEGETATION, SCL_NOT_VEGETATED, SCL_WATER = 0, 3, 4, 5, 6
SCL_CLOUD_MEDIUM, SCL_CLOUD_HIGH, SCL_CIRRUS, SCL_SNOW = 8, 9, 10, 11
SCL_VALUES: frozenset[int] = frozenset({0, 3, 4, 5, 6, 8, 9, 10, 11})

#: Cloud optical-thickness proxy (0..1) above which a pixel is flagged cloud, and high-probability cloud.
_CLOUD_TAU, _HIGH_CLOUD_TAU = 0.3, 0.65


def processing_baseline(day: dt.date) -> str:
    """The L2A processing baseline of products sensed on ``day`` (PC serves these, not reprocessed ones)."""
    for first, baseline in _BASELINES:
        if day >= first:
            return baseline
    raise AssertionError("unreachable")


def dn_offset(baseline: str) -> int:
    """DN offset of a baseline: 1000 from 04.00 on, else 0 (reflectance = (DN - offset) / 10000)."""
    return BOA_ADD_OFFSET if tuple(int(x) for x in baseline.split(".")) >= (4, 0) else 0


def mgrs_tile(lon: float, lat: float, epsg: int, x: float, y: float) -> str:
    """MGRS 100 km square (Sentinel-2 tile id) of a point, from its UTM coordinates.

    Args:
        lon: longitude (for the zone number when ``epsg`` is not UTM-north/south).
        lat: latitude (for the latitude band letter).
        epsg: UTM EPSG code of ``x``/``y`` (326zz or 327zz).
        x: easting.
        y: northing.
    """
    zone = epsg % 100 if epsg // 100 in (326, 327) else min(int((lon + 180) // 6) + 1, 60)
    band = "CDEFGHJKLMNPQRSTUVWX"[min(max(int((lat + 80) // 8), 0), 19)]
    columns = ("ABCDEFGH", "JKLMNPQR", "STUVWXYZ")[(zone - 1) % 3]
    rows = "ABCDEFGHJKLMNPQRSTUV"
    col = columns[int(x // 100_000) - 1]
    row = rows[(int(y // 100_000) + (5 if zone % 2 == 0 else 0)) % 20]
    return f"{zone:02d}{band}{col}{row}"


@dataclass(frozen=True)
class S2Acquisition:
    """One planned Sentinel-2 acquisition (one MGRS tile).

    Attributes:
        index: position in the plan (seeds this scene's randomness).
        sensed: UTC sensing time.
        platform: ``Sentinel-2A`` / ``-2B`` / ``-2C``.
        relative_orbit: relative orbit number.
        swath_edge: whether the swath edge cuts a corner of the raster off (nodata there).
    """

    index: int
    sensed: dt.datetime
    platform: str
    relative_orbit: int
    swath_edge: bool

    @property
    def baseline(self) -> str:
        return processing_baseline(self.sensed.date())

    @property
    def generated(self) -> dt.datetime:
        """Processing time (a few hours after sensing)."""
        return self.sensed + dt.timedelta(hours=2, minutes=47, seconds=13 + self.index % 40)

    def item_id(self, tile: str) -> str:
        """PC style id, e.g. ``S2B_MSIL2A_20230419T044709_R119_T46SEV_20230419T073422``."""
        fmt = "%Y%m%dT%H%M%S"
        unit = "S2" + self.platform[-1]
        return f"{unit}_MSIL2A_{self.sensed:{fmt}}_R{self.relative_orbit:03d}_T{tile}_{self.generated:{fmt}}"


def plan_s2_acquisitions(
    *,
    start: dt.date,
    end: dt.date,
    revisit_days: int,
    lon: float,
    rng: np.random.Generator,
    empty_months: tuple[int, ...] = (12, 1),
) -> list[S2Acquisition]:
    """Acquisitions every ``revisit_days`` over ``[start, end]``, none in ``empty_months``.

    Args:
        start: first day.
        end: last day (inclusive).
        revisit_days: days between acquisitions (5 with two satellites).
        lon: scene longitude (overpass ~10:30 local solar time).
        rng: random generator (consumed).
        empty_months: calendar months without any scene.

    Returns:
        The acquisitions in time order.
    """
    if revisit_days < 1:
        raise ValueError(f"optical_revisit_days must be >= 1, got {revisit_days}")
    main_orbit = int(lon * 3.7) % 143 + 1  # any fixed track number; neighbour track is 100 orbits away
    first = int(rng.integers(0, revisit_days))
    plan: list[S2Acquisition] = []
    for k, offset in enumerate(range(first, (end - start).days + 1, revisit_days)):
        day = start + dt.timedelta(days=offset)
        jitter = int(rng.integers(0, 30))
        if day.month in empty_months:
            continue
        edge = k % 3 == 2
        utc = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) + dt.timedelta(
            hours=10.5 - lon / 15.0 + (0.02 if edge else 0.0), seconds=jitter
        )
        # S2A/S2B alternate on the same track; S2C replaced S2A on 2025-01-21.
        platform = (
            "Sentinel-2B" if k % 2 else ("Sentinel-2C" if day >= dt.date(2025, 1, 21) else "Sentinel-2A")
        )
        plan.append(
            S2Acquisition(
                index=k,
                sensed=utc,
                platform=platform,
                relative_orbit=(main_orbit + 100 * edge - 1) % 143 + 1,
                swath_edge=edge,
            )
        )
    return plan


def solar_angles(when: dt.datetime, lat: float) -> tuple[float, float]:
    """Approximate mean solar zenith and azimuth (degrees) at the ~10:30 local overpass."""
    doy = when.timetuple().tm_yday
    declination = 23.44 * math.sin(2 * math.pi * (doy - 81) / 365.0)
    hour_angle = -22.5  # 10:30 local solar time
    la, de, ha = (math.radians(v) for v in (lat, declination, hour_angle))
    cos_z = math.sin(la) * math.sin(de) + math.cos(la) * math.cos(de) * math.cos(ha)
    zenith = math.degrees(math.acos(min(max(cos_z, -1.0), 1.0)))
    azimuth = math.degrees(
        math.atan2(math.sin(ha), math.cos(ha) * math.sin(la) - math.tan(de) * math.cos(la))
    )
    return zenith, (azimuth + 180.0) % 360.0


@dataclass(frozen=True)
class S2Rendered:
    """One rendered acquisition: DNs per band, SCL, and the SCL class shares (percent of the raster)."""

    dn: dict[str, np.ndarray]
    scl: np.ndarray
    percentages: dict[str, float]
    baseline: str
    solar_zenith: float
    solar_azimuth: float


def _shift(a: np.ndarray, drow: int, dcol: int) -> np.ndarray:
    """Array shifted by whole pixels, zero-filled (no wrap-around)."""
    out = np.zeros_like(a)
    h, w = a.shape
    if abs(drow) >= h or abs(dcol) >= w:
        return out
    src_r = slice(max(-drow, 0), h - max(drow, 0))
    dst_r = slice(max(drow, 0), h - max(-drow, 0))
    src_c = slice(max(-dcol, 0), w - max(dcol, 0))
    dst_c = slice(max(dcol, 0), w - max(-dcol, 0))
    out[dst_r, dst_c] = a[src_r, src_c]
    return out


def _up2(a: np.ndarray) -> np.ndarray:
    """20 m -> 10 m by pixel replication (each 20 m pixel covers 2x2 10 m pixels)."""
    return np.repeat(np.repeat(a, 2, axis=0), 2, axis=1)


def _down2(a: np.ndarray) -> np.ndarray:
    """10 m -> 20 m by 2x2 block mean over the last two axes (how L2A's 20 m bands integrate)."""
    # Four strided adds: ~5x faster than reshape(...).mean() on a (6, h, w) stack.
    total = a[..., 0::2, 0::2] + a[..., 1::2, 0::2]
    total += a[..., 0::2, 1::2]
    total += a[..., 1::2, 1::2]
    total *= np.asarray(0.25, dtype=a.dtype)
    return total


def _cloud_cover_target(rng: np.random.Generator, month: int) -> float:
    """Scene cloud fraction: many clear scenes, some partly cloudy, a few overcast (more in the monsoon)."""
    monsoon = 6 <= month <= 9
    if rng.random() < (0.2 if monsoon else 0.35):
        return 0.0
    if rng.random() < (0.18 if monsoon else 0.08):
        return float(rng.uniform(0.85, 1.0))
    return float(rng.beta(1.5, 2.0) if monsoon else rng.beta(1.2, 3.0))


def _swath_edge_px20(h2: int, w2: int) -> int:
    """Leg length (20 m pixels) of the top-left corner triangle beyond the neighbouring track's swath edge."""
    return round(0.3 * min(h2, w2))


def s2_footprint(world: GridSpec, swath_edge: bool) -> shapely.Polygon:
    """Valid-data footprint of a scene in the world CRS (the raster box minus the swath-edge corner)."""
    minx, miny, maxx, maxy = world.bounds
    box = shapely.box(minx, miny, maxx, maxy)
    if not swath_edge:
        return box
    h, w = world.shape
    cut = _swath_edge_px20(h // 2, w // 2) * 2 * world.resolution
    return box.difference(shapely.Polygon([(minx, maxy), (minx + cut, maxy), (minx, maxy - cut)]))


def render_s2(scene: DemoScene, acq: S2Acquisition, rng: np.random.Generator, *, lat: float) -> S2Rendered:
    """Simulate one acquisition over the whole scene (world grid, 10 m and 20 m).

    Args:
        scene: the synthetic scene (its world shape must be even, which :func:`world_grid` guarantees).
        acq: the acquisition.
        rng: random generator of this acquisition (consumed).
        lat: scene latitude (sun angles).

    Returns:
        DNs for :data:`S2_BANDS` (10 m or 20 m), SCL (20 m) and SCL class percentages.
    """
    h, w = scene.world.shape
    h2, w2 = h // 2, w // 2
    when = acq.sensed
    thaw = thaw_fraction(when)  # scene-wide: lake ice
    years = scene.years_since_start(when)
    zenith, azimuth = solar_angles(when, lat)
    p = scene.params
    green = peak_map(when, p["green_doy"], 40.0)  # per pixel: the class's own timing
    late = peak_map(when, p["wet_doy"], 25.0)

    # --- surface reflectance (6, h, w) -------------------------------------------------------------
    veg = p["vegfrac"] * green
    wet = p["wet"] + p["wet_bump"] * late
    soil = p["soil_bright"]
    tex = 1.0 + 0.04 * p["texture"]
    refl = np.empty((len(S2_BANDS), h, w), dtype=np.float32)
    gain = 1.0 + rng.normal(0.0, 0.015, size=len(S2_BANDS))  # residual atmospheric-correction error
    for b in range(len(S2_BANDS)):
        band = _SOIL[b] * soil
        band += veg * (_GREEN_VEG[b] - band)
        band *= (1.0 - _WET_DARKENING[b] * wet) * tex * np.float32(gain[b])
        refl[b] = band
    water = scene.water_onset <= years
    scar = scene.scar_onset <= years
    refl[:, water] = (_WATER if thaw >= 0.5 else _ICE)[:, None]
    refl[:, scar] = _SCAR[:, None] * tex[scar][None, :]

    # --- snow (20 m field; more on high ground) --------------------------------------------------------
    snow_p = float(np.clip(snow_probability(when) + rng.normal(0.0, 0.08), 0.0, 1.0))
    if snow_p > 0.01:
        field = 0.6 * smooth_noise(rng, (h2, w2), 20) + 0.8 * _down2(scene.elevation_anomaly)
        thr = np.quantile(field, 1.0 - snow_p)
        snow = _up2(np.clip((field - thr) * 3.0 + 0.5, 0.0, 1.0).astype(np.float32))
        refl += snow[None] * (_SNOW[:, None, None] - refl)

    # --- atmosphere: clouds, their shadows, thin cirrus (20 m fields) ----------------------------------
    cover = _cloud_cover_target(rng, when.month)
    tau = np.zeros((h2, w2), dtype=np.float32)
    if cover > 0:
        field = smooth_noise(rng, (h2, w2), float(rng.uniform(12, 40)))
        thr = np.quantile(field, 1.0 - cover)
        tau = np.clip(_CLOUD_TAU + 1.2 * (field - thr), 0.0, 1.0).astype(np.float32)
    # Shadows fall away from the sun, at height * tan(zenith) (clouds ~1-2.5 km up), on the 20 m grid.
    dist_px = rng.uniform(1000.0, 2500.0) * math.tan(math.radians(min(zenith, 75.0))) / 20.0
    away = math.radians(azimuth + 180.0)
    drow, dcol = round(-dist_px * math.cos(away)), round(dist_px * math.sin(away))
    caster = _shift(tau, drow, dcol)
    shadow = (caster >= _CLOUD_TAU) & (tau < _CLOUD_TAU)
    darkening = np.where(shadow, 1.0 - 0.6 * np.clip(caster / 0.6, 0.0, 1.0), 1.0).astype(np.float32)
    cirrus = np.zeros((h2, w2), dtype=np.float32)
    if rng.random() < 0.3:
        cirrus = (0.06 * np.clip(smooth_noise(rng, (h2, w2), 60) - rng.uniform(-0.5, 1.0), 0.0, None)).astype(
            np.float32
        )
    # (Skipped when absent: most of a scene's rendering time is these full-stack operations.)
    if shadow.any():
        refl *= _up2(darkening)[None]
    if cover > 0:
        refl += _up2(tau)[None] * (_CLOUD[:, None, None] - refl)
    if cirrus.any():
        refl += _up2(cirrus)[None] * _CIRRUS[:, None, None]

    # --- nodata beyond the swath edge (top-left corner), decided on the 20 m grid ----------------------
    rows20, cols20 = np.ogrid[0:h2, 0:w2]
    nodata20 = (rows20 + cols20 < _swath_edge_px20(h2, w2)) if acq.swath_edge else np.zeros((h2, w2), bool)
    nodata10 = _up2(nodata20)

    # --- SCL from the 20 m reflectances written ---------------------------------------------------------
    r20 = _down2(refl)
    b02, b03, b04, b08, b11, _b12 = r20
    eps = np.float32(1e-6)
    ndvi = (b08 - b04) / (b08 + b04 + eps)
    ndsi = (b03 - b11) / (b03 + b11 + eps)
    ndwi = (b03 - b08) / (b03 + b08 + eps)
    scl = np.full((h2, w2), SCL_NOT_VEGETATED, dtype=np.uint8)
    scl[ndvi > 0.4] = SCL_VEGETATION
    scl[(ndwi > 0.1) & (b08 < 0.08)] = SCL_WATER
    scl[(ndsi > 0.4) & (b03 > 0.25)] = SCL_SNOW
    scl[shadow & (cirrus <= 0.02)] = SCL_SHADOW
    scl[(cirrus > 0.02) & (tau < _CLOUD_TAU)] = SCL_CIRRUS
    scl[tau >= _CLOUD_TAU] = SCL_CLOUD_MEDIUM
    scl[tau >= _HIGH_CLOUD_TAU] = SCL_CLOUD_HIGH
    scl[nodata20] = SCL_NODATA
    del b02

    # --- digital numbers ---------------------------------------------------------------------------------
    baseline = acq.baseline
    offset = np.float32(dn_offset(baseline))
    dn: dict[str, np.ndarray] = {}
    for b, name in enumerate(S2_BANDS):
        values = r20[b] if name in S2_BANDS_20M else refl[b]
        mask = nodata20 if name in S2_BANDS_20M else nodata10
        digital = np.clip(np.rint(values * 10000.0) + offset, 1, 65535).astype(np.uint16)
        digital[mask] = 0
        dn[name] = digital

    counts = np.bincount(scl.ravel(), minlength=12).astype(float)
    total = float(scl.size)
    valid = max(total - counts[SCL_NODATA], 1.0)
    pct = {
        "nodata_pixel_percentage": 100 * counts[SCL_NODATA] / total,
        "cloud_shadow_percentage": 100 * counts[SCL_SHADOW] / valid,
        "vegetation_percentage": 100 * counts[SCL_VEGETATION] / valid,
        "not_vegetated_percentage": 100 * counts[SCL_NOT_VEGETATED] / valid,
        "water_percentage": 100 * counts[SCL_WATER] / valid,
        "medium_proba_clouds_percentage": 100 * counts[SCL_CLOUD_MEDIUM] / valid,
        "high_proba_clouds_percentage": 100 * counts[SCL_CLOUD_HIGH] / valid,
        "thin_cirrus_percentage": 100 * counts[SCL_CIRRUS] / valid,
        "snow_ice_percentage": 100 * counts[SCL_SNOW] / valid,
    }
    # eo:cloud_cover follows Sen2Cor's CLOUDY_PIXEL_PERCENTAGE: medium + high probability clouds + cirrus.
    pct["cloud_cover"] = (
        pct["medium_proba_clouds_percentage"]
        + pct["high_proba_clouds_percentage"]
        + pct["thin_cirrus_percentage"]
    )
    return S2Rendered(
        dn=dn,
        scl=scl,
        percentages={k: round(float(v), 6) for k, v in pct.items()},
        baseline=baseline,
        solar_zenith=zenith,
        solar_azimuth=azimuth,
    )
