"""Write the complete demo dataset: imagery COGs, STAC catalog, DEM, labels and truth.

Layout of ``out_dir``::

    sentinel-1-rtc/<item-id>/{vv,vh}.tif      gamma0 linear power, float32, nodata -32768
    sentinel-2-l2a/<item-id>/{B02..SCL}.tif   uint16 DN (+1000 from baseline 04.00 on), nodata 0
    cop-dem-glo-30/<item-id>/data.tif         float32 elevation, EPSG:4326
    labels.gpkg                               layer "labels": class_code, class_name, Polygon; EPSG:4326
    truth.tif                                 uint8 class codes 1..4 on exactly the processing grid
    stac/collections/<collection>.json        STAC Collections
    stac/items/<collection>.json              FeatureCollections of STAC Items (hrefs: absolute paths)
    demo.json                                 the settings that produced the data

Everything is derived from ``seed`` through independent random streams (one per scene part and per
acquisition), so the arrays are identical run to run and do not depend on thread scheduling.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from affine import Affine
from pyproj import Transformer

from permafusion.core.files import atomic_write
from permafusion.demo import stac_items
from permafusion.demo.cog import write_cog
from permafusion.demo.dem import render_dem
from permafusion.demo.labels import label_polygons, truth_raster
from permafusion.demo.scene import DEFAULT_CLASS_FRACTIONS, DemoScene, build_scene
from permafusion.demo.sentinel1 import S1_NODATA, S1Acquisition, plan_s1_acquisitions, render_s1
from permafusion.demo.sentinel2 import (
    S2_BANDS,
    S2_BANDS_20M,
    S2Acquisition,
    mgrs_tile,
    plan_s2_acquisitions,
    render_s2,
    s2_footprint,
)
from permafusion.geo.grid import GridSpec

log = logging.getLogger(__name__)

COLLECTIONS: tuple[str, ...] = ("sentinel-1-rtc", "sentinel-2-l2a", "cop-dem-glo-30")

# Independent random streams: (part,) or (part, acquisition index) spawn keys under the user's seed.
_SCENE, _LABELS, _DEM, _S1_PLAN, _S1_SCENE, _S2_PLAN, _S2_SCENE = range(7)

T = TypeVar("T")
R = TypeVar("R")


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def _years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar day ``years`` earlier (28 February for 29 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def generate_demo_data(
    *,
    grid: GridSpec,
    start: dt.date,
    end: dt.date,
    seed: int,
    out_dir: Path,
    sar_revisit_days: int = 6,
    optical_revisit_days: int = 5,
    labeled_fraction: float = 0.7,
    cell_size_m: float = 1500.0,
    margin_m: float = 600.0,
    class_fractions: tuple[float, float, float, float] = DEFAULT_CLASS_FRACTIONS,
    empty_optical_months: tuple[int, ...] = (12, 1),
    history_years: int = 4,
    workers: int | None = None,
) -> None:
    """Generate the synthetic demo dataset for ``grid`` over ``[start, end]`` into ``out_dir``.

    The data are written to a sibling folder ``<out_dir>.tmp`` (a stale one is removed first) and moved to
    ``out_dir`` only when complete, replacing any previous ``out_dir``; a failure leaves no ``out_dir`` behind
    (and an existing one untouched).

    Args:
        grid: processing grid (UTM); truth and labels cover exactly this grid, imagery a little more.
        start: first day of the period.
        end: last day of the period (inclusive).
        seed: random seed; the same seed gives the same arrays.
        out_dir: destination folder.
        sar_revisit_days: days between Sentinel-1 acquisitions (passes alternate descending/ascending).
        optical_revisit_days: days between Sentinel-2 acquisitions.
        labeled_fraction: share of the truth cells (per class) covered by a label polygon, in (0, 1].
        cell_size_m: typical width of a truth cell (Voronoi polygon).
        margin_m: how far the imagery extends beyond ``grid`` on each side (at least ~100 m).
        class_fractions: share of the cells per class code 1..4.
        empty_optical_months: calendar months without any Sentinel-2 scene.
        history_years: years the scene's evolution (lake growth, slump retreat, each class's VV trend)
            runs before ``start``: the imaged period is the last part of a longer one.
        workers: threads rendering and writing scenes (default: up to 2, the CPU count if lower).

    Raises:
        ValueError: on an empty period, a non-positive revisit, or a ``labeled_fraction`` outside (0, 1].
    """
    if end < start:
        raise ValueError(f"demo period is empty: start {start} is after end {end}")
    if history_years < 0:
        raise ValueError(f"history_years must be >= 0 (demo.history_years), got {history_years}")
    if not 0.0 < labeled_fraction <= 1.0:
        raise ValueError(f"labeled_fraction must be in (0, 1], got {labeled_fraction}")
    if sar_revisit_days < 1 or optical_revisit_days < 1:
        raise ValueError(
            f"revisit intervals must be >= 1 day, got sar {sar_revisit_days}, optical {optical_revisit_days}"
        )
    if margin_m < 100.0:
        raise ValueError(f"margin_m must be >= 100 m so imagery extends beyond the grid, got {margin_m}")
    final = Path(out_dir).absolute()
    t0 = time.perf_counter()
    # written into <out_dir>.tmp and swapped into place whole; a failure leaves the previous data
    with atomic_write(final) as tmp:
        tmp.mkdir()
        _generate_into(
            tmp,
            final=final,
            grid=grid,
            start=start,
            end=end,
            seed=seed,
            sar_revisit_days=sar_revisit_days,
            optical_revisit_days=optical_revisit_days,
            labeled_fraction=labeled_fraction,
            cell_size_m=cell_size_m,
            margin_m=margin_m,
            class_fractions=class_fractions,
            history_years=history_years,
            empty_optical_months=empty_optical_months,
            workers=workers or max(1, min(2, os.cpu_count() or 1)),
        )
    log.info("demo data written to %s in %.1f s", final, time.perf_counter() - t0)


def _parallel_map(func: Callable[[T], R], jobs: Sequence[T], workers: int, what: str) -> list[R]:
    """Run jobs on a thread pool (numpy and GDAL release the GIL), in order, logging progress."""
    results: list[R] = []
    step = max(len(jobs) // 5, 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for i, result in enumerate(pool.map(func, jobs), start=1):
            results.append(result)
            if i % step == 0 or i == len(jobs):
                log.info("%s: %d/%d scenes", what, i, len(jobs))
    return results


def _centre_lonlat(grid: GridSpec) -> tuple[float, float]:
    to_lonlat = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    minx, miny, maxx, maxy = grid.bounds
    lon, lat = to_lonlat.transform((minx + maxx) / 2, (miny + maxy) / 2)
    return float(lon), float(lat)


def _generate_into(
    tmp: Path,
    *,
    final: Path,
    grid: GridSpec,
    start: dt.date,
    end: dt.date,
    seed: int,
    sar_revisit_days: int,
    optical_revisit_days: int,
    labeled_fraction: float,
    cell_size_m: float,
    margin_m: float,
    class_fractions: tuple[float, float, float, float],
    history_years: int,
    empty_optical_months: tuple[int, ...],
    workers: int,
) -> None:
    t0 = time.perf_counter()
    scene = build_scene(
        grid=grid,
        start=_years_before(start, history_years),
        end=end,
        rng=_rng(seed, _SCENE),
        cell_size_m=cell_size_m,
        margin_m=margin_m,
        class_fractions=class_fractions,
    )
    log.info(
        "scene: %d cells on a %dx%d world grid (%.1f s)",
        len(scene.cells),
        *scene.world.shape,
        time.perf_counter() - t0,
    )
    lon, lat = _centre_lonlat(grid)
    catalog_final = final / "stac"

    # --- truth and labels ---------------------------------------------------------------------------
    write_cog(tmp / "truth.tif", truth_raster(scene, grid), transform=grid.transform, crs=grid.crs, nodata=0)
    labels = label_polygons(scene, grid, _rng(seed, _LABELS), labeled_fraction=labeled_fraction)
    labels.to_file(tmp / "labels.gpkg", layer="labels", driver="GPKG")
    log.info("labels: %d polygons", len(labels))

    # --- DEM: the grid's lon/lat box plus half the margin (still inside the scene) ---------------------
    west, south, east, north = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True).transform_bounds(
        *grid.bounds, densify_pts=21
    )
    pad_lat = 0.5 * margin_m / 111_320.0
    pad_lon = pad_lat / max(np.cos(np.radians(lat)), 0.1)
    dem_tiles = render_dem(
        scene, (west - pad_lon, south - pad_lat, east + pad_lon, north + pad_lat), _rng(seed, _DEM)
    )
    dem_items = []
    for dem_tile in dem_tiles:
        rel = Path("cop-dem-glo-30") / dem_tile.item_id / "data.tif"
        write_cog(tmp / rel, dem_tile.data, transform=dem_tile.transform, crs="EPSG:4326", nodata=None)
        dem_items.append(stac_items.dem_item(dem_tile, href=final / rel, catalog_dir=catalog_final))

    # --- Sentinel-1 -------------------------------------------------------------------------------------
    s1_plan = plan_s1_acquisitions(
        start=start, end=end, revisit_days=sar_revisit_days, lon=lon, rng=_rng(seed, _S1_PLAN)
    )

    def make_s1(acq: S1Acquisition) -> dict[str, Any]:
        vv, vh, raster = render_s1(scene, acq, _rng(seed, _S1_SCENE, acq.index))
        rel = Path("sentinel-1-rtc") / acq.item_id
        sizes: dict[str, int] = {}
        for key, arr in (("vv", vv), ("vh", vh)):
            path = tmp / rel / f"{key}.tif"
            write_cog(path, arr, transform=raster.transform, crs=grid.crs, nodata=S1_NODATA)
            sizes[key] = path.stat().st_size
        return stac_items.s1_item(
            acq,
            raster,
            epsg=grid.epsg,
            hrefs={k: final / rel / f"{k}.tif" for k in ("vv", "vh")},
            file_sizes=sizes,
            catalog_dir=catalog_final,
        )

    s1_items = _parallel_map(make_s1, s1_plan, workers, "sentinel-1-rtc")

    # --- Sentinel-2 -------------------------------------------------------------------------------------
    s2_plan = plan_s2_acquisitions(
        start=start,
        end=end,
        revisit_days=optical_revisit_days,
        lon=lon,
        rng=_rng(seed, _S2_PLAN),
        empty_months=empty_optical_months,
    )
    world = scene.world
    cx, cy = (grid.bounds[0] + grid.bounds[2]) / 2, (grid.bounds[1] + grid.bounds[3]) / 2
    tile = mgrs_tile(lon, lat, grid.epsg, cx, cy)

    def make_s2(acq: S2Acquisition) -> dict[str, Any]:
        rendered = render_s2(scene, acq, _rng(seed, _S2_SCENE, acq.index), lat=lat)
        rel = Path("sentinel-2-l2a") / acq.item_id(tile)
        t10, t20 = world.transform, world.transform @ Affine.scale(2.0)
        for name in S2_BANDS:
            transform = t20 if name in S2_BANDS_20M else t10
            write_cog(
                tmp / rel / f"{name}.tif", rendered.dn[name], transform=transform, crs=grid.crs, nodata=0
            )
        write_cog(tmp / rel / "SCL.tif", rendered.scl, transform=t20, crs=grid.crs, nodata=0)
        return stac_items.s2_item(
            acq,
            rendered,
            tile=tile,
            epsg=grid.epsg,
            transform10=t10,
            shape10=world.shape,
            footprint=s2_footprint(world, acq.swath_edge),
            hrefs={k: final / rel / f"{k}.tif" for k in (*S2_BANDS, "SCL")},
            catalog_dir=catalog_final,
        )

    s2_items = _parallel_map(make_s2, s2_plan, workers, "sentinel-2-l2a")

    # --- STAC catalog -----------------------------------------------------------------------------------
    _write_catalog(
        tmp / "stac",
        scene,
        start,
        end,
        {"sentinel-1-rtc": s1_items, "sentinel-2-l2a": s2_items, "cop-dem-glo-30": dem_items},
    )
    settings = {
        "seed": seed,
        "grid": {"epsg": grid.epsg, "bounds": list(grid.bounds), "resolution": grid.resolution},
        "start": start.isoformat(),
        "end": end.isoformat(),
        "sar_revisit_days": sar_revisit_days,
        "optical_revisit_days": optical_revisit_days,
        "labeled_fraction": labeled_fraction,
        "cell_size_m": cell_size_m,
        "margin_m": margin_m,
        "class_fractions": list(class_fractions),
        "empty_optical_months": list(empty_optical_months),
        "items": {
            "sentinel-1-rtc": len(s1_items),
            "sentinel-2-l2a": len(s2_items),
            "cop-dem-glo-30": len(dem_items),
        },
        "labels": len(labels),
    }
    (tmp / "demo.json").write_text(json.dumps(settings, indent=2))


def _write_catalog(
    stac_dir: Path, scene: DemoScene, start: dt.date, end: dt.date, items: dict[str, list]
) -> None:
    """Collections with the demo's extent, and one FeatureCollection of items per collection."""
    (stac_dir / "collections").mkdir(parents=True, exist_ok=True)
    (stac_dir / "items").mkdir(parents=True, exist_ok=True)
    to_lonlat = Transformer.from_crs(scene.world.crs, "EPSG:4326", always_xy=True)
    bbox = [float(v) for v in to_lonlat.transform_bounds(*scene.world.bounds, densify_pts=21)]
    interval = (f"{start.isoformat()}T00:00:00Z", f"{end.isoformat()}T23:59:59Z")
    for cid in COLLECTIONS:
        coll_interval = (
            ("2021-04-22T00:00:00Z", "2021-04-22T00:00:00Z") if cid == "cop-dem-glo-30" else interval
        )
        coll = stac_items.collection(cid, bbox=bbox, interval=coll_interval, items=items[cid])
        (stac_dir / "collections" / f"{cid}.json").write_text(json.dumps(coll, indent=2))
        (stac_dir / "items" / f"{cid}.json").write_text(
            json.dumps(stac_items.item_collection(items[cid]), indent=1)
        )


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: ``python -m permafusion.demo --grid grid.json --start ... --end ... --out DIR``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--grid", type=Path, required=True, help="GridSpec JSON (permafusion.geo.grid.GridSpec.to_json)"
    )
    parser.add_argument("--start", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--end", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sar-revisit-days", type=int, default=6)
    parser.add_argument("--optical-revisit-days", type=int, default=5)
    parser.add_argument("--labeled-fraction", type=float, default=0.7)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    generate_demo_data(
        grid=GridSpec.from_json(args.grid),
        start=args.start,
        end=args.end,
        seed=args.seed,
        out_dir=args.out,
        sar_revisit_days=args.sar_revisit_days,
        optical_revisit_days=args.optical_revisit_days,
        labeled_fraction=args.labeled_fraction,
        workers=args.workers,
    )
