"""The synthetic permafrost scene behind the demo data: truth map, terrain and per-pixel signatures.

The scene lives on a 10 m "world" grid a little larger than the processing grid, because the sensors'
rasters cover more than the AOI (readers must window). Everything a sensor needs is precomputed here as
static maps, so rendering one acquisition is a handful of vectorised operations:

- the truth map: Voronoi cells (jittered seed points, ~``cell_size_m`` across), each one degradation class;
- class parameters (backscatter level, freeze/thaw contrast, late-summer wetting, vegetation cover, soil
  wetness), varied per cell and textured per pixel, and smoothed across cell borders so boundary pixels mix
  their neighbours' signatures (labels are sharp, signals are not: the task is learnable but not trivial);
- thermokarst lakes and retrogressive thaw slump scars in class-3 cells as "onset" maps (the time, in years
  since the period start, at which a pixel turns to water or bare scar), so lakes grow month by month and
  slump headwalls retreat upslope;
- small ponds in talik (class 4) cells and a few in tundra cells;
- a plateau surface (4500-4700 m) with gentle relief; slump scars are placed on its steeper slopes.

Seasonal curves (:func:`thaw_fraction`, :func:`greenness`, :func:`late_summer`, :func:`snow_probability`)
describe a Tibetan-plateau year: ground frozen November-April, a short growing season peaking in July,
active-layer wetting late in summer, and snow in the cold months.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import shapely
from rasterio import features
from scipy import ndimage

from permafusion.demo.signatures import (
    BORDER_BLEND_SIGMA_PX,
    CELL_SD,
    CLASS_PARAMS,
    DEFAULT_CLASS_FRACTIONS,
    PATCH_LOOKALIKE,
    PATCH_SHARE,
    PIXEL_PHASE_SD_DAYS,
)
from permafusion.geo.grid import GridSpec
from permafusion.tasks.degradation.classes import DEGRADATION

#: Pixel size of the scene (and of the sensors' 10 m bands), metres.
SCENE_RESOLUTION = 10.0


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], scale_px: float) -> np.ndarray:
    """Spatially correlated Gaussian noise with zero mean and unit variance.

    White noise on a coarse lattice (one node every ``scale_px`` pixels), smoothed, then interpolated up:
    much cheaper than filtering full-resolution noise with a wide kernel.

    Args:
        rng: random generator (consumed).
        shape: (rows, cols) of the output.
        scale_px: correlation length in output pixels (>= 1).

    Returns:
        float32 array of ``shape``.
    """
    scale = max(float(scale_px), 1.0)
    coarse_shape = (math.ceil(shape[0] / scale) + 4, math.ceil(shape[1] / scale) + 4)
    coarse = ndimage.gaussian_filter(rng.standard_normal(coarse_shape, dtype=np.float32), 0.8)
    # Bilinear up-sampling: smooth enough once the lattice itself is smoothed, and ~5x faster than cubic.
    fine = ndimage.zoom(coarse, scale, order=1, prefilter=False, grid_mode=False)
    off = int(scale)
    fine = fine[off : off + shape[0], off : off + shape[1]]
    std = float(fine.std())
    return ((fine - fine.mean()) / (std if std > 0 else 1.0)).astype(np.float32)


def _doy(day: dt.date | dt.datetime) -> float:
    """Day of year as a float (1.0 = 1 January), with a fraction of the day for datetimes."""
    if isinstance(day, dt.datetime):
        return day.timetuple().tm_yday + (day.hour + day.minute / 60) / 24
    return float(day.timetuple().tm_yday)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def thaw_fraction(day: dt.date | dt.datetime) -> float:
    """Share of the ground that is thawed: 0 in winter, 1 in summer (thaw in May, refreeze in Oct-Nov)."""
    doy = _doy(day)
    return _sigmoid((doy - 140.0) / 7.0) * _sigmoid((300.0 - doy) / 7.0)


def thaw_map(day: dt.date | dt.datetime, thaw_doy: np.ndarray, refreeze_doy: np.ndarray) -> np.ndarray:
    """Per-pixel thawed share on ``day`` for per-pixel thaw and refreeze days (float32)."""
    doy = np.float32(_doy(day))
    x = np.clip((doy - thaw_doy) / np.float32(7.0), -30, 30)
    y = np.clip((refreeze_doy - doy) / np.float32(7.0), -30, 30)
    return (1.0 / (1.0 + np.exp(-x)) / (1.0 + np.exp(-y))).astype(np.float32)


def peak_map(day: dt.date | dt.datetime, peak_doy: np.ndarray, width_days: float) -> np.ndarray:
    """A Gaussian seasonal pulse per pixel, 1 on its own ``peak_doy``, ``width_days`` wide (float32)."""
    return np.exp(-(((np.float32(_doy(day)) - peak_doy) / np.float32(width_days)) ** 2)).astype(np.float32)


def greenness(day: dt.date | dt.datetime) -> float:
    """Relative green vegetation cover: a short alpine growing season peaking in late July."""
    return math.exp(-(((_doy(day) - 205.0) / 40.0) ** 2))


def late_summer(day: dt.date | dt.datetime) -> float:
    """Weight of the late-summer (August-September) active-layer wetting, peaking in early September."""
    return math.exp(-(((_doy(day) - 245.0) / 25.0) ** 2))


#: Mean share of snow-covered ground per calendar month (January..December).
_SNOW_BY_MONTH = (0.95, 0.90, 0.75, 0.45, 0.12, 0.02, 0.0, 0.0, 0.03, 0.25, 0.70, 0.90)


def snow_probability(day: dt.date | dt.datetime) -> float:
    """Mean snow-covered share of the ground on a day (interpolated between mid-month values)."""
    pos = (_doy(day) - 15.5) / 30.44  # 0.0 = mid January
    lo = math.floor(pos)
    frac = pos - lo
    return (1 - frac) * _SNOW_BY_MONTH[lo % 12] + frac * _SNOW_BY_MONTH[(lo + 1) % 12]


@dataclass(frozen=True)
class DemoScene:
    """Static layers of the synthetic scene, on ``world`` (10 m, larger than the processing grid).

    Attributes:
        world: the 10 m grid the maps below live on.
        start: first day of the simulated period; onsets are counted in years from it.
        cells: Voronoi cells (UTM polygons) covering ``world``.
        cell_classes: class code per cell.
        cell_id: int32 map, index into ``cells`` per pixel.
        class_map: uint8 map of class codes.
        elevation: float32 surface elevation (m), including slump scars and lake basins.
        slope_deg: float32 slope of the smooth surface (degrees).
        dzdx: float32 elevation gradient towards east (m/m), used for radar look-direction effects.
        params: float32 signature maps keyed like :data:`CLASS_PARAMS`, plus ``texture`` (unit noise).
        water_onset: float32 years since ``start`` at which a pixel is open water (inf: never).
        scar_onset: float32 years since ``start`` at which a pixel is bare slump scar (inf: never).
    """

    world: GridSpec
    start: dt.date
    cells: list[shapely.Polygon]
    cell_classes: np.ndarray
    cell_id: np.ndarray
    class_map: np.ndarray
    elevation: np.ndarray
    slope_deg: np.ndarray
    dzdx: np.ndarray
    params: dict[str, np.ndarray]
    water_onset: np.ndarray
    scar_onset: np.ndarray

    def years_since_start(self, when: dt.date | dt.datetime) -> float:
        """Time since the start of the period in (Julian) years."""
        if isinstance(when, dt.datetime):
            start = dt.datetime.combine(self.start, dt.time(), tzinfo=when.tzinfo)
            return (when - start).total_seconds() / (365.25 * 86400.0)
        return (when - self.start).days / 365.25

    @cached_property
    def elevation_anomaly(self) -> np.ndarray:
        """Elevation minus its mean, scaled to unit variance (snow lingers longer up high)."""
        e = self.elevation - self.elevation.mean()
        return (e / max(float(e.std()), 1e-6)).astype(np.float32)


def world_grid(grid: GridSpec, margin_m: float) -> GridSpec:
    """The 10 m scene grid: ``grid`` grown by ``margin_m`` and snapped outward to 60 m.

    60 m is a common multiple of the 10/20 m Sentinel-2 pixel sizes and of 30 m, so every sensor raster
    cut from the world grid starts on whole pixels of its own resolution.
    """
    step = 60.0
    minx, miny, maxx, maxy = grid.bounds
    return GridSpec(
        grid.epsg,
        (
            math.floor((minx - margin_m) / step) * step,
            math.floor((miny - margin_m) / step) * step,
            math.ceil((maxx + margin_m) / step) * step,
            math.ceil((maxy + margin_m) / step) * step,
        ),
        SCENE_RESOLUTION,
    )


def _voronoi_cells(rng: np.random.Generator, world: GridSpec, cell_size_m: float) -> list[shapely.Polygon]:
    """Voronoi cells of jittered lattice points: sizes vary but stay close to ``cell_size_m``."""
    minx, miny, maxx, maxy = world.bounds
    xs = np.arange(minx + cell_size_m / 2, maxx, cell_size_m)
    ys = np.arange(miny + cell_size_m / 2, maxy, cell_size_m)
    gx, gy = np.meshgrid(xs, ys)
    jitter = rng.uniform(-0.42, 0.42, size=(2, *gx.shape)) * cell_size_m
    points = shapely.points(gx.ravel() + jitter[0].ravel(), gy.ravel() + jitter[1].ravel())
    box = shapely.box(minx, miny, maxx, maxy)
    regions = shapely.voronoi_polygons(shapely.multipoints(points), extend_to=box)
    cells = [shapely.intersection(cell, box) for cell in shapely.get_parts(regions)]
    # Order cells by position (voronoi_polygons does not promise an order) so that class assignment,
    # and with it the whole scene, depends on the seed only.
    cells = [c for c in cells if not c.is_empty and c.area > 0]
    cells.sort(key=lambda c: (round(-c.centroid.y, 3), round(c.centroid.x, 3)))
    return cells


def _assign_classes(rng: np.random.Generator, n: int, fractions: tuple[float, ...]) -> np.ndarray:
    """Class code per cell, with counts proportional to ``fractions`` and every class present."""
    raw = np.asarray(fractions, dtype=float) / sum(fractions) * n
    counts = np.floor(raw).astype(int)
    # Largest remainders take the leftover cells; then make sure no class is missing.
    for i in np.argsort(-(raw - counts))[: n - counts.sum()]:
        counts[i] += 1
    for i in range(len(counts)):
        if counts[i] == 0 and n >= len(counts):
            counts[int(np.argmax(counts))] -= 1
            counts[i] = 1
    codes = np.repeat(np.asarray(DEGRADATION.codes, dtype=np.uint8), counts)
    return rng.permutation(codes)


def _elevation(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """A plateau at ~4600 m: broad hills (~1 km), smaller knolls, and a gentle regional tilt."""
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    tilt = rng.uniform(-1, 1, size=2) * 0.004 * SCENE_RESOLUTION  # up to 0.4 % regional slope
    relief = (
        45.0 * smooth_noise(rng, shape, 90)
        + 10.0 * smooth_noise(rng, shape, 30)
        + tilt[0] * (rows - shape[0] / 2)
        + tilt[1] * (cols - shape[1] / 2)
    )
    # Soft limit (tanh) keeps the surface inside ~4490-4710 m without the flat tops a clip would cut.
    return (4600.0 + 110.0 * np.tanh(relief / 110.0)).astype(np.float32)


def _paint_onset(onset: np.ndarray, window: tuple[slice, slice], values: np.ndarray) -> None:
    """Keep the earliest onset per pixel (several features may cover one pixel)."""
    np.minimum(onset[window], values.astype(np.float32), out=onset[window])


def _pixel_window(
    world: GridSpec, cx: float, cy: float, radius: float
) -> tuple[tuple[slice, slice], np.ndarray, np.ndarray]:
    """Pixel window around a point plus the x/y offsets (m) of its pixel centres from the point."""
    h, w = world.shape
    res = world.resolution
    col = (cx - world.bounds[0]) / res
    row = (world.bounds[3] - cy) / res
    r = radius / res
    r0, r1 = max(int(row - r), 0), min(int(row + r) + 2, h)
    c0, c1 = max(int(col - r), 0), min(int(col + r) + 2, w)
    ys = world.bounds[3] - (np.arange(r0, r1) + 0.5) * res - cy
    xs = world.bounds[0] + (np.arange(c0, c1) + 0.5) * res - cx
    return (slice(r0, r1), slice(c0, c1)), xs[None, :], ys[:, None]


def _random_point_in(
    rng: np.random.Generator, polygon: shapely.Polygon, inset: float
) -> shapely.Point | None:
    """A random point at least ``inset`` metres inside ``polygon`` (None when the polygon is too small)."""
    inner = polygon.buffer(-inset)
    if inner.is_empty:
        return None
    minx, miny, maxx, maxy = inner.bounds
    for _ in range(50):
        p = shapely.Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if inner.contains(p):
            return p
    return None


def build_scene(
    *,
    grid: GridSpec,
    start: dt.date,
    end: dt.date,
    rng: np.random.Generator,
    cell_size_m: float = 1500.0,
    margin_m: float = 600.0,
    class_fractions: tuple[float, float, float, float] = DEFAULT_CLASS_FRACTIONS,
) -> DemoScene:
    """Build the static synthetic scene around ``grid``.

    Args:
        grid: the processing grid; the scene covers it plus ``margin_m`` on every side.
        start: first day of the period (lakes and slumps grow from their state on this day).
        end: last day of the period.
        rng: random generator (consumed; the scene depends on nothing else).
        cell_size_m: typical width of a truth cell (Voronoi polygon).
        margin_m: extra scene extent around ``grid``, so sensor rasters can be larger than the AOI.
        class_fractions: share of cells per class code 1..4.

    Returns:
        The scene.
    """
    world = world_grid(grid, margin_m)
    shape = world.shape
    years = max((end - start).days / 365.25, 1 / 365.25)

    cells = _voronoi_cells(rng, world, cell_size_m)
    cell_classes = _assign_classes(rng, len(cells), class_fractions)
    cell_id = features.rasterize(
        ((cell, i) for i, cell in enumerate(cells)),
        out_shape=shape,
        transform=world.transform,
        fill=-1,
        dtype="int32",
    )
    # Voronoi cells tile the box, but a pixel centre on a shared edge can fall between them: give such
    # pixels their nearest labelled neighbour.
    if (cell_id < 0).any():
        idx = ndimage.distance_transform_edt(cell_id < 0, return_distances=False, return_indices=True)
        cell_id = cell_id[tuple(idx)]
    class_map = cell_classes[cell_id].astype(np.uint8)

    # --- terrain -----------------------------------------------------------------------------------
    elevation = _elevation(rng, shape)
    dzdrow, dzdx = np.gradient(elevation, SCENE_RESOLUTION)
    dzdy = -dzdrow  # rows run southward; y (northing) runs north
    slope_deg = np.degrees(np.arctan(np.hypot(dzdx, dzdy))).astype(np.float32)

    # --- signature parameters: class mean + per-cell deviation, blended across borders, then textured
    params: dict[str, np.ndarray] = {}
    codes = cell_classes.astype(int)
    patch_field = smooth_noise(rng, shape, 8)
    patches = patch_field > np.quantile(patch_field, 1.0 - PATCH_SHARE)
    for name, sd in CELL_SD.items():
        deviation = rng.normal(0.0, sd, size=len(codes))
        per_cell = np.array([CLASS_PARAMS[c][name] for c in codes]) + deviation
        lookalike = np.array([CLASS_PARAMS[PATCH_LOOKALIKE[c]][name] for c in codes]) + deviation
        raw = np.where(patches, lookalike.astype(np.float32)[cell_id], per_cell.astype(np.float32)[cell_id])
        params[name] = ndimage.gaussian_filter(raw, BORDER_BLEND_SIGMA_PX)
    # Within-cell texture at a few scales: patterned ground, micro-relief, vegetation patches.
    params["vv_thaw"] += 1.0 * smooth_noise(rng, shape, 6) + 0.4 * smooth_noise(rng, shape, 2)
    params["freeze_drop"] += 0.5 * smooth_noise(rng, shape, 10)
    params["sar_wet_bump"] *= 1 + 0.25 * smooth_noise(rng, shape, 6)
    params["wet_bump"] *= 1 + 0.25 * smooth_noise(rng, shape, 6)
    params["vegfrac"] = np.clip(
        params["vegfrac"] * (1 + 0.2 * smooth_noise(rng, shape, 4) + 0.1 * smooth_noise(rng, shape, 1.5)),
        0.02,
        0.95,
    )
    params["wet"] = np.clip(params["wet"] + 0.05 * smooth_noise(rng, shape, 8), 0.0, 0.9)
    params["wet_bump"] = np.clip(params["wet_bump"], 0.0, None)
    params["sar_wet_bump"] = np.clip(params["sar_wet_bump"], 0.0, None)
    params["soil_bright"] *= 1 + 0.06 * smooth_noise(rng, shape, 3)
    params["texture"] = smooth_noise(rng, shape, 2)
    for name in ("thaw_doy", "refreeze_doy", "green_doy", "wet_doy"):
        params[name] += PIXEL_PHASE_SD_DAYS * smooth_noise(rng, shape, 5)
    params = {k: v.astype(np.float32) for k, v in params.items()}

    # --- water and slump scars as onset maps ----------------------------------------------------------
    water_onset = np.full(shape, np.inf, dtype=np.float32)
    scar_onset = np.full(shape, np.inf, dtype=np.float32)
    shore = smooth_noise(rng, shape, 3)  # irregular shorelines
    for i, (cell, code) in enumerate(zip(cells, codes, strict=True)):
        area_km2 = cell.area / 1e6
        if code == 3:
            # Thermokarst lakes: present at the start, growing by tens of metres a year.
            for _ in range(int(rng.integers(2, 6))):
                r0 = rng.uniform(50.0, 150.0)
                rate = rng.uniform(30.0, 80.0)
                r_end = r0 + rate * years
                p = _random_point_in(rng, cell, r_end + 20.0)
                if p is None:
                    continue
                win, dx, dy = _pixel_window(world, p.x, p.y, 1.3 * r_end + 20.0)
                d = np.hypot(dx, dy) * (1.0 + 0.2 * shore[win])
                _paint_onset(water_onset, win, np.where(d <= r0, -1.0, (d - r0) / rate))
            # Retrogressive thaw slumps: on the steepest spots of the cell, headwall retreating upslope.
            ys, xs = np.nonzero(cell_id == i)
            if ys.size == 0:
                continue
            for _ in range(int(rng.integers(2, 6))):
                pick = rng.integers(0, ys.size, size=min(300, ys.size))
                ok = water_onset[ys[pick], xs[pick]] > years
                if not ok.any():
                    continue
                pick = pick[ok]
                best = pick[np.argmax(slope_deg[ys[pick], xs[pick]])]
                r, c = int(ys[best]), int(xs[best])
                gx, gy = float(dzdx[r, c]), float(dzdy[r, c])
                norm = math.hypot(gx, gy)
                ux, uy = (gx / norm, gy / norm) if norm > 0 else (0.0, 1.0)  # upslope unit vector
                half_width = rng.uniform(40.0, 90.0)
                down_len = rng.uniform(150.0, 350.0)
                head0, retreat = 10.0, rng.uniform(25.0, 60.0)
                cx = world.bounds[0] + (c + 0.5) * world.resolution
                cy = world.bounds[3] - (r + 0.5) * world.resolution
                radius = max(down_len, head0 + retreat * years) + half_width + 20.0
                win, dx, dy = _pixel_window(world, cx, cy, radius)
                u = dx * ux + dy * uy  # along slope, positive upslope
                v = -dx * uy + dy * ux  # across slope
                across = np.clip(1.0 - (v / half_width) ** 2, 0.0, None)
                inside_across = across > 0
                lower = (u < 0) & ((u / down_len) ** 2 + (v / half_width) ** 2 <= 1.0)
                # Upslope part: the headwall reaches u at the time head0 + retreat * t >= u / sqrt(across).
                reach = np.divide(u, np.sqrt(across), out=np.full_like(u, np.inf), where=inside_across)
                upper_onset = np.where((u >= 0) & inside_across, (reach - head0) / retreat, np.inf)
                _paint_onset(scar_onset, win, np.where(lower, -1.0, np.maximum(upper_onset, -1.0)))
        # Ponds: common in talik cells, rare on stable tundra, static through the period.
        pond_rate = {4: 6.0, 2: 1.0, 1: 0.5}.get(int(code), 0.0)
        for _ in range(int(rng.poisson(pond_rate * area_km2))):
            rad = rng.uniform(12.0, 35.0) if code == 4 else rng.uniform(10.0, 22.0)
            p = _random_point_in(rng, cell, rad + 10.0)
            if p is None:
                continue
            win, dx, dy = _pixel_window(world, p.x, p.y, rad * 1.3 + 10.0)
            d = np.hypot(dx, dy) * (1.0 + 0.2 * shore[win])
            _paint_onset(water_onset, win, np.where(d <= rad, -1.0, np.inf))
    # A scar never overrides water (the lake wins where both would be).
    scar_onset = np.where(water_onset <= scar_onset, np.inf, scar_onset).astype(np.float32)

    # Scars are a few metres below the surrounding slope; lake surfaces lie a little below their shores.
    elevation = elevation - 4.0 * (scar_onset <= 0) - 2.0 * (water_onset <= 0)

    return DemoScene(
        world=world,
        start=start,
        cells=cells,
        cell_classes=cell_classes,
        cell_id=cell_id.astype(np.int32),
        class_map=class_map,
        elevation=elevation.astype(np.float32),
        slope_deg=slope_deg,
        dzdx=dzdx.astype(np.float32),
        params=params,
        water_onset=water_onset,
        scar_onset=scar_onset,
    )
