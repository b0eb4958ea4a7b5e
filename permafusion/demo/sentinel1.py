"""Synthetic Sentinel-1 RTC acquisitions: gamma0 VV/VH in linear power, as Planetary Computer serves them.

What readers of the real product must cope with, and the demo therefore reproduces:

- the raster covers more than the AOI, on its own 10 m grid offset by whole pixels (window, do not assume);
- values are linear power (convert to dB after averaging), float32, nodata -32768 outside the swath
  (descending passes here clip one corner of the raster);
- some scenes carry GRD border noise: a strip of exact zeros along the near/far-range edge, which must be
  masked like nodata;
- multiplicative speckle (gamma distributed, ~4.4 equivalent looks);
- ascending and descending passes alternate (``sat:orbit_state``), look from opposite sides and so see
  slopes differently.

The signal: frozen ground (November-April) backscatters several dB less than thawed ground, except in talik
cells; a deepening active layer wets up and brightens in August-September; open water is dark (~-21 dB VV),
lake ice less so; bare slump scars are rough and bright.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import numpy as np
import shapely
from affine import Affine

from permafusion.demo.scene import DemoScene, peak_map, smooth_noise, thaw_fraction, thaw_map

#: Nodata value of PC's sentinel-1-rtc assets (their ``raster:bands``).
S1_NODATA = -32768.0

#: Equivalent number of looks of IW GRDH (``sar:looks_equivalent_number``): the speckle gamma shape.
EQUIVALENT_LOOKS = 4.4

#: Whole-pixel trims (top, bottom, left, right) of the world grid per pass, so the two geometries' raster
#: origins differ from each other and from the processing grid.
_TRIMS: dict[str, tuple[int, int, int, int]] = {"ascending": (3, 5, 0, 7), "descending": (0, 4, 6, 2)}

#: Share of the raster's shorter side cut off by the swath edge in descending scenes (top-right corner).
_SWATH_EDGE_FRACTION = 0.22

#: S1B failed on 2021-12-23; S1C took over S1A's companion slot in 2025.
_S1B_END = dt.date(2021, 12, 23)
_S1C_START = dt.date(2025, 5, 20)

OrbitState = Literal["ascending", "descending"]


@dataclass(frozen=True)
class S1Acquisition:
    """One planned Sentinel-1 IW acquisition over the scene.

    Attributes:
        index: position in the acquisition plan (seeds this scene's randomness).
        start: UTC start time of the slice.
        platform: ``SENTINEL-1A`` / ``-1B`` / ``-1C``.
        orbit_state: ``ascending`` or ``descending``.
        absolute_orbit: absolute orbit number.
        relative_orbit: relative orbit (track) number.
        border_noise: (edge, width in pixels) of a zero-valued border-noise strip, or None.
    """

    index: int
    start: dt.datetime
    platform: str
    orbit_state: OrbitState
    absolute_orbit: int
    relative_orbit: int
    border_noise: tuple[Literal["left", "right"], int] | None

    @property
    def end(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=25)

    @property
    def datatake_id(self) -> int:
        return (self.absolute_orbit * 8 + 3) % 0xFFFFFF

    @property
    def item_id(self) -> str:
        """PC style id, e.g. ``S1A_IW_GRDH_1SDV_20230104T001512_20230104T001537_046610_059604_rtc``."""
        fmt = "%Y%m%dT%H%M%S"
        unit = self.platform[-2:].replace("-", "")
        return (
            f"S{unit}_IW_GRDH_1SDV_{self.start:{fmt}}_{self.end:{fmt}}_"
            f"{self.absolute_orbit:06d}_{self.datatake_id:06X}_rtc"
        )


def _platform(day: dt.date, k: int) -> str:
    """Which satellite flies pass ``k``: A/B alternate before S1B's loss, A alone after, then A/C."""
    if day < _S1B_END and (k // 2) % 2 == 1:
        return "SENTINEL-1B"
    if day >= _S1C_START and (k // 2) % 2 == 1:
        return "SENTINEL-1C"
    return "SENTINEL-1A"


def plan_s1_acquisitions(
    *,
    start: dt.date,
    end: dt.date,
    revisit_days: int,
    lon: float,
    rng: np.random.Generator,
    gap_probability: float = 0.08,
    border_noise_probability: float = 0.2,
) -> list[S1Acquisition]:
    """Acquisition dates, passes and quirks over ``[start, end]``.

    Passes alternate descending/ascending every ``revisit_days`` (so each geometry repeats every
    2 x ``revisit_days``, like S1A alone with 6 days); a few acquisitions are dropped (planning conflicts,
    downlink failures), which opens 12-18 day gaps.

    Args:
        start: first day.
        end: last day (inclusive).
        revisit_days: days between consecutive acquisitions.
        lon: longitude of the scene centre (sets the UTC overpass time: ~06:00 / ~18:00 local solar time).
        rng: random generator (consumed).
        gap_probability: chance that a planned acquisition is missing.
        border_noise_probability: chance that a scene carries a strip of zero-valued border noise.

    Returns:
        The acquisitions in time order (at least one carries border noise when there are several).
    """
    if revisit_days < 1:
        raise ValueError(f"sar_revisit_days must be >= 1, got {revisit_days}")
    first = int(rng.integers(0, revisit_days))
    plan: list[S1Acquisition] = []
    n_days = (end - start).days
    for k, offset in enumerate(range(first, n_days + 1, revisit_days)):
        missing = rng.random() < gap_probability
        noisy = rng.random() < border_noise_probability
        width = int(rng.integers(15, 90))
        if missing:
            continue
        day = start + dt.timedelta(days=offset)
        state: OrbitState = "descending" if k % 2 == 0 else "ascending"
        local_hour = 6.1 if state == "descending" else 18.1
        utc = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) + dt.timedelta(hours=local_hour - lon / 15.0)
        utc += dt.timedelta(seconds=int(rng.integers(0, 60)))
        # Absolute orbit from a real S1A reference (2024-04-19, orbit 53498), 175 orbits per 12 days.
        absolute = (
            53498 + round((day - dt.date(2024, 4, 19)).days * 175 / 12) + (0 if state == "descending" else 7)
        )
        relative = (absolute - 73) % 175 + 1
        edge: Literal["left", "right"] = "left" if state == "ascending" else "right"
        plan.append(
            S1Acquisition(
                index=k,
                start=utc,
                platform=_platform(day, k),
                orbit_state=state,
                absolute_orbit=absolute,
                relative_orbit=relative,
                border_noise=(edge, width) if noisy else None,
            )
        )
    if len(plan) > 2 and not any(a.border_noise for a in plan):
        # Guarantee the quirk exists even in short periods, so readers are always tested against it.
        a = plan[len(plan) // 2]
        edge = "left" if a.orbit_state == "ascending" else "right"
        plan[len(plan) // 2] = S1Acquisition(**{**a.__dict__, "border_noise": (edge, 60)})
    return plan


@dataclass(frozen=True)
class S1Raster:
    """Where a pass's raster lies: a whole-pixel window of the scene's world grid."""

    rows: slice
    cols: slice
    transform: Affine
    wedge_px: int  # size of the nodata corner cut by the swath edge (0: none)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.rows.stop - self.rows.start, self.cols.stop - self.cols.start)

    def footprint(self) -> shapely.Polygon:
        """Valid-data footprint in the scene CRS (raster box minus the swath-edge corner)."""
        h, w = self.shape
        minx, maxy = self.transform.c, self.transform.f
        res = self.transform.a
        maxx, miny = minx + w * res, maxy - h * res
        box = shapely.box(minx, miny, maxx, maxy)
        if self.wedge_px == 0:
            return box
        cut = self.wedge_px * res
        return box.difference(shapely.Polygon([(maxx - cut, maxy), (maxx, maxy), (maxx, maxy - cut)]))


def s1_raster(scene: DemoScene, orbit_state: OrbitState) -> S1Raster:
    """The raster window a pass covers (fixed per geometry, as for a real relative orbit)."""
    top, bottom, left, right = _TRIMS[orbit_state]
    h, w = scene.world.shape
    rows, cols = slice(top, h - bottom), slice(left, w - right)
    transform = scene.world.transform @ Affine.translation(left, top)
    wedge = round(_SWATH_EDGE_FRACTION * min(h, w)) if orbit_state == "descending" else 0
    return S1Raster(rows=rows, cols=cols, transform=transform, wedge_px=wedge)


#: Mantissa bits kept in the written gamma0 (of float32's 23): 0.4 % relative precision, <= 0.02 dB, far
#: below speckle (~2 dB), and the COGs shrink by half because the noise bits no longer defeat compression.
_MANTISSA_BITS = 8


def _round_mantissa(a: np.ndarray) -> np.ndarray:
    """Round float32 values to :data:`_MANTISSA_BITS` mantissa bits (round half up on the bit pattern)."""
    drop = 23 - _MANTISSA_BITS
    bits = a.view(np.uint32)
    mask = np.uint32((0xFFFFFFFF << drop) & 0xFFFFFFFF)
    return ((bits + np.uint32(1 << (drop - 1))) & mask).view(np.float32)


def render_s1(
    scene: DemoScene, acq: S1Acquisition, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, S1Raster]:
    """Simulate one acquisition's VV and VH gamma0 (linear power, float32) on its raster window.

    Args:
        scene: the synthetic scene.
        acq: the acquisition.
        rng: random generator of this acquisition (consumed).

    Returns:
        (vv, vh, raster): arrays with -32768 outside the swath and 0 in border noise, and their window.
    """
    raster = s1_raster(scene, acq.orbit_state)
    win = (raster.rows, raster.cols)
    shape = raster.shape
    p = {name: arr[win] for name, arr in scene.params.items()}
    thaw = thaw_fraction(acq.start)  # scene-wide: lakes, rain
    ground_thaw = thaw_map(acq.start, p["thaw_doy"], p["refreeze_doy"])  # per pixel: the class's dates
    wetting = peak_map(acq.start, p["wet_doy"], 25.0)
    years = scene.years_since_start(acq.start)

    # Residual terrain effect after RTC: slopes facing the sensor stay a little brighter. Ascending passes
    # look east (sensor in the west), descending passes look west.
    facing = np.degrees(np.arctan(scene.dzdx[win])) * (1.0 if acq.orbit_state == "ascending" else -1.0)
    # Scene-wide calibration/weather offset, and rain-wetted soil in the thawed season (patchy showers).
    offset = rng.normal(0.0, 0.25)
    rain = thaw * rng.uniform(0.0, 1.0) * (0.7 + 0.3 * smooth_noise(rng, shape, 80))

    land = (
        p["vv_thaw"]
        - p["freeze_drop"] * (1.0 - ground_thaw)
        + p["sar_wet_bump"] * wetting
        + p["sar_trend"] * np.float32(years)
        + 0.08 * facing
        + rain
        + (offset + (0.3 if acq.orbit_state == "ascending" else 0.0))
    )
    # Open water is specular (dark); lake ice in winter scatters more. Bare slump scars: rough soil.
    water_db = -15.0 - 6.0 * thaw + rng.normal(0.0, 0.7)
    scar_db = -8.0 - 4.0 * (1.0 - thaw)
    water = scene.water_onset[win] <= years
    scar = scene.scar_onset[win] <= years
    vv_db = np.where(water, water_db, np.where(scar, scar_db, land))
    vh_db = np.where(water, water_db - 7.0, np.where(scar, scar_db - 9.0, land + p["vh_offset"]))

    looks = EQUIVALENT_LOOKS
    vv = np.power(10.0, vv_db * 0.1).astype(np.float32)
    vv *= rng.standard_gamma(looks, size=shape, dtype=np.float32) / looks
    vh = np.power(10.0, vh_db * 0.1).astype(np.float32)
    vh *= rng.standard_gamma(looks, size=shape, dtype=np.float32) / looks

    vv, vh = _round_mantissa(vv), _round_mantissa(vh)
    if acq.border_noise is not None:
        edge, width = acq.border_noise
        strip = np.s_[:, :width] if edge == "left" else np.s_[:, shape[1] - width :]
        vv[strip] = 0.0
        vh[strip] = 0.0
    if raster.wedge_px:
        rows, cols = np.ogrid[0 : shape[0], 0 : shape[1]]
        outside = (shape[1] - 1 - cols) + rows < raster.wedge_px
        vv[outside] = S1_NODATA
        vh[outside] = S1_NODATA
    return vv, vh, raster


def s1_datetime_str(when: dt.datetime) -> str:
    """RFC 3339 UTC timestamp with microseconds, like PC's item ``datetime``."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def center_time(acq: S1Acquisition) -> dt.datetime:
    """Mid-slice time (PC's ``datetime`` of an RTC item)."""
    return acq.start + (acq.end - acq.start) / 2


__all__ = [
    "EQUIVALENT_LOOKS",
    "S1_NODATA",
    "S1Acquisition",
    "S1Raster",
    "center_time",
    "plan_s1_acquisitions",
    "render_s1",
    "s1_datetime_str",
    "s1_raster",
]
