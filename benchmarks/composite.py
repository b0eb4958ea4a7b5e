"""Composite speed and memory benchmark: the pipeline's own composites against the read floor.

    python benchmarks/composite.py              # 24 S2-like + 12 S1-like scenes of 2048 x 2048 (minutes)
    python benchmarks/composite.py --quick      # 8 + 4 scenes of 1024 x 1024
    python benchmarks/composite.py --full-tile  # peak memory of one 10980 x 10980 S2 tile-month (6 scenes)
    python benchmarks/composite.py --shift 100  # the grid 100 px off the files' 512 px COG tiles

Synthetic Cloud-Optimized GeoTIFFs (ZSTD, 512 px tiles) and Planetary-Computer-shaped pystac Items are
written under ``benchmarks/out/`` (git-ignored) once and reused. Every measurement runs in a fresh child
process, so its peak memory (``ru_maxrss``, which counts GDAL's and numpy's allocations alike) is its own.

- read floor: rasterio decompress-reads every band of every file in full (native resolution), with the
  same number of threads as the composite.
- composite: :func:`build_optical_composite` / :func:`build_sar_composite` for one tile-month, threads as
  given (default 2). Like the imports, loading the optical median's compiled kernel from numba's disk
  cache (or compiling it, the first time) is done before the clock starts, and its time printed apart:
  a composite job pays it once per process, for all the months of a tile.

Each ratio is the best of ``--repeat`` (3) runs of each, interleaved: a shared machine's speed changes
from run to run (by 10-20 %) and over a day (up to 2x), so compare ratios, and floors between runs.
Throughput is in megapixels of the output grid times scenes, per second, per thread. The last two lines
are ``sar_composite_over_read_floor=<ratio>`` and ``composite_over_read_floor=<ratio>`` (optical).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

OUT = Path(__file__).resolve().parent / "out"
EPSG = 32633
X0, Y0 = 399960.0, 7800040.0  # an MGRS-like tile origin (multiple of 60 m)
MONTH = "2023-07"
S2_10M = ("B02", "B03", "B04", "B08")
S2_20M = ("B11", "B12")


# ----------------------------------------------------------------------------------------- synthesis
def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cell: int) -> np.ndarray:
    """Smooth random field in [0, 1]: coarse uniform noise upsampled by bilinear interpolation."""
    from scipy.ndimage import zoom

    coarse = rng.random((shape[0] // cell + 2, shape[1] // cell + 2)).astype(np.float32)
    field = zoom(coarse, cell, order=1)[: shape[0], : shape[1]]
    return np.asarray(field, dtype=np.float32)


def _write_cog(path: Path, data: np.ndarray, res: float, nodata: float | None) -> None:
    import rasterio
    from rasterio.transform import from_origin

    profile = {
        "driver": "COG",
        "height": data.shape[0],
        "width": data.shape[1],
        "count": 1,
        "dtype": data.dtype,
        "crs": f"EPSG:{EPSG}",
        "transform": from_origin(X0, Y0, res, res),
        "nodata": nodata,
        "compress": "ZSTD",
        "predictor": 2 if data.dtype != np.float32 else 3,
        "blocksize": 512,
        "overviews": "NONE",
        "num_threads": "ALL_CPUS",
    }
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(data, 1)


def _asset(href: Path, shape: tuple[int, int], res: float, **extra: Any) -> Any:
    import pystac

    return pystac.Asset(
        str(href),
        media_type=pystac.MediaType.COG,
        roles=["data"],
        extra_fields={"proj:shape": list(shape), "proj:transform": [res, 0.0, X0, 0.0, -res, Y0], **extra},
    )


def make_s2(folder: Path, n: int, size: int, *, constant: bool = False) -> list[Any]:
    """``n`` Sentinel-2 L2A-like scenes of ``size`` x ``size`` 10 m pixels, all in ``MONTH``."""
    import pystac

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(42)
    half = size // 2
    surface = None if constant else _smooth_noise(rng, (size, size), 64)
    items = []
    for i in range(n):
        when = datetime(2023, 7, 1 + i % 28, 10, 30 + i // 28, tzinfo=UTC)
        name = f"S2{'AB'[i % 2]}_MSIL2A_{when:%Y%m%dT%H%M}_T33WXS"
        props = {
            "platform": f"Sentinel-2{'AB'[i % 2]}",
            "sat:relative_orbit": 22 + i // 28,
            "proj:epsg": EPSG,
            "s2:processing_baseline": "05.09",
            "eo:cloud_cover": 0.0,
        }
        item = pystac.Item(name, None, [15.0, 70.0, 17.0, 70.9], when, props)
        # clouds (SCL 8/9), their shadows (3) a few cells away, some cirrus (10), snow (11), vegetation (4)
        if constant:
            scl = np.full((half, half), 4, np.uint8)
            scl[: half // 3 * (i % 3)] = 9
        else:
            cloud = _smooth_noise(rng, (half, half), 32)
            threshold = rng.uniform(0.45, 0.95)  # per-scene cloud fraction from ~5 % to ~55 %
            scl = np.where(rng.random((half, half)) < 0.3, 5, 4).astype(np.uint8)
            scl[np.roll(cloud > threshold, (12, 8), axis=(0, 1))] = 3
            scl[cloud > threshold - 0.05] = 10
            scl[cloud > threshold] = 8
            scl[cloud > threshold + 0.03] = 9
            scl[_smooth_noise(rng, (half, half), 64) > 0.97] = 11
        if i % 5 == 4:  # a swath edge: nodata on the western part
            scl[:, : half // 4] = 0
        cloudy = np.repeat(np.repeat(np.isin(scl, (8, 9, 10)), 2, 0), 2, 1)
        edge = np.repeat(np.repeat(scl == 0, 2, 0), 2, 1)
        for b, band in enumerate(S2_10M + S2_20M):
            res = 10.0 if band in S2_10M else 20.0
            if constant:
                dn = np.full((size, size), 1000 + 400 * (b + 1) + 10 * i, np.uint16)
                dn[cloudy] = 9000
            else:
                refl = 0.02 + 0.25 * surface + 0.03 * b + 0.01 * rng.standard_normal((size, size), np.float32)
                refl = np.where(cloudy, 0.6 + 0.1 * rng.random((size, size), np.float32), refl)
                dn = np.clip(np.round(refl * 10000) + 1000, 1, 65535).astype(np.uint16)
            dn[edge] = 0
            if res == 20.0:
                dn = dn[::2, ::2]
            path = folder / f"{name}_{band}.tif"
            if not path.exists():
                _write_cog(path, dn, res, 0)
            item.add_asset(band, _asset(path, dn.shape, res))
        path = folder / f"{name}_SCL.tif"
        if not path.exists():
            _write_cog(path, scl, 20.0, 0)
        item.add_asset("SCL", _asset(path, scl.shape, 20.0))
        items.append(item)
    return items


def make_s1(folder: Path, n: int, size: int) -> list[Any]:
    """``n`` Sentinel-1 RTC-like scenes: float32 linear gamma0 with speckle, -32768 outside the swath."""
    import pystac

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    surface = 0.02 + 0.3 * _smooth_noise(rng, (size, size), 64)
    items = []
    for i in range(n):
        when = datetime(2023, 7, 1 + 2 * i % 28, 5, 0, tzinfo=UTC)
        name = f"S1A_IW_GRDH_1SDV_{when:%Y%m%dT%H%M%S}_rtc"
        props = {
            "platform": "SENTINEL-1A",
            "sat:relative_orbit": 51 + (i % 3) * 24,
            "proj:epsg": EPSG,
            "proj:shape": [size, size],
            "proj:transform": [10.0, 0.0, X0, 0.0, -10.0, Y0, 0.0, 0.0, 1.0],
            "sar:looks_equivalent_number": 4.4,
        }
        item = pystac.Item(name, None, [15.0, 70.0, 17.0, 70.9], when, props)
        for pol, scale in (("vv", 1.0), ("vh", 0.2)):
            path = folder / f"{name}_{pol}.tif"
            if not path.exists():
                power = (scale * surface * rng.gamma(4.4, 1 / 4.4, (size, size))).astype(np.float32)
                if i % 4 == 3:
                    power[:, : size // 5] = -32768.0
                    power[:, size // 5 : size // 5 + 3] = 0.0  # border noise strip
                _write_cog(path, power, 10.0, -32768.0)
            item.add_asset(pol, _asset(path, (size, size), 10.0))
        items.append(item)
    return items


def dataset(kind: str, n: int, size: int, *, constant: bool = False, shift: int = 0) -> tuple[list[Any], Any]:
    import pystac

    from permafusion.geo.grid import GridSpec

    folder = OUT / f"{kind}-{n}x{size}{'-const' if constant else ''}"
    catalog = folder / "items.json"
    if catalog.exists():
        items = [pystac.Item.from_dict(d) for d in json.loads(catalog.read_text())]
    else:
        started = time.perf_counter()
        items = make_s2(folder, n, size, constant=constant) if kind == "s2" else make_s1(folder, n, size)
        catalog.write_text(json.dumps([it.to_dict() for it in items]))
        print(f"# wrote {n} {kind} scenes of {size}^2 in {time.perf_counter() - started:.0f} s", flush=True)
    # ``shift``: the grid moved that many pixels east and south, so blocks straddle the files' COG tiles
    x0, y0 = X0 + 10.0 * shift, Y0 - 10.0 * shift
    grid = GridSpec(EPSG, (x0, y0 - 10.0 * size, x0 + 10.0 * size, y0), 10.0)
    return items, grid


# -------------------------------------------------------------------------------------- measurements
def read_floor(items: list[Any], threads: int) -> None:
    """Decompress-read every asset of every item in full, ``threads`` files at a time."""
    import rasterio

    hrefs = [a.href for it in items for a in it.assets.values()]

    def read(href: str) -> int:
        with rasterio.open(href) as ds:
            return int(ds.read(1).size)

    with rasterio.Env(GDAL_NUM_THREADS=1), ThreadPoolExecutor(threads) as pool:
        sum(pool.map(read, hrefs))


def composite(kind: str, items: list[Any], grid: Any, threads: int, zarr: Path | None) -> None:
    from permafusion.composite import (
        OpticalSettings,
        SarSettings,
        build_optical_composite,
        build_sar_composite,
    )

    # with ``zarr``, rows stream into the store as the composite rule does
    if kind == "s2":
        build_optical_composite(
            items, grid=grid, months=[MONTH], settings=OpticalSettings(), threads=threads, out=zarr
        )
    else:
        build_sar_composite(
            items, grid=grid, months=[MONTH], settings=SarSettings(), threads=threads, out=zarr
        )


def child(args: argparse.Namespace) -> None:
    """One measurement in this (fresh) process; prints a JSON line with wall time and peak RSS."""
    items, grid = dataset(args.kind, args.scenes, args.size, constant=args.constant, shift=args.shift)
    import rasterio  # noqa: F401

    import permafusion.composite  # noqa: F401  (imports are not part of either measurement)

    load = load_kernels() if args.measure == "composite" else 0.0
    started = time.perf_counter()
    if args.measure == "floor":
        read_floor(items, args.threads)
    else:
        zarr = OUT / f"{args.kind}-{args.scenes}x{args.size}.zarr" if args.write else None
        composite(args.kind, items, grid, args.threads, zarr)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    print(json.dumps({"seconds": seconds, "peak_bytes": peak, "kernel_load_seconds": load}))


def load_kernels() -> float:
    """Load the compiled median kernel from numba's on-disk cache (compiling it the first time); seconds.

    Like the imports, this is a cost per process, not per pixel: a composite job pays it once for a whole
    tile's months. It is timed and printed apart, not counted in the composite. Most of it is numba
    setting itself up on its first kernel; the other kernels then load in milliseconds, in the timing.
    """
    from permafusion.composite import sortnet

    started = time.perf_counter()
    sortnet.median(np.zeros((1, 1, 1, 1), np.uint16), np.ones((1, 1, 1), bool), np.zeros(1), divisor=1.0)
    return time.perf_counter() - started


def measure(
    what: str, kind: str, scenes: int, size: int, threads: int, shift: int = 0, **flags: bool
) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--child", what, "--kind", kind, "--shift", str(shift)]
    cmd += ["--scenes", str(scenes), "--size", str(size), "--threads", str(threads)]
    cmd += [f"--{name}" for name, on in flags.items() if on]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def compare(kind: str, scenes: int, size: int, threads: int, repeat: int, shift: int = 0) -> float:
    dataset(kind, scenes, size)  # synthesize once, outside the timings
    mpx = scenes * size * size / 1e6
    best: dict[str, dict[str, float]] = {}
    for _ in range(repeat):  # interleaved, best of ``repeat`` (page cache warm for both)
        for what in ("floor", "composite"):
            result = measure(what, kind, scenes, size, threads, shift)
            if what not in best or result["seconds"] < best[what]["seconds"]:
                best[what] = result
    label = "S2 optical" if kind == "s2" else "S1 SAR"
    shifted = f", grid shifted {shift} px" if shift else ""
    for what, result in best.items():
        load = result.get("kernel_load_seconds", 0.0)
        print(
            f"{label:10s} {what:9s}: {result['seconds']:6.2f} s, "
            f"{mpx / result['seconds'] / threads:6.1f} MP/s/core, peak {result['peak_bytes'] / 2**30:.2f} GiB"
            f"  ({scenes} scenes x {size}^2, {threads} threads{shifted})"
            + (f"; compiled kernel loaded before, in {load:.2f} s" if what == "composite" else "")
        )
    return best["composite"]["seconds"] / best["floor"]["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="8 + 4 scenes of 1024^2")
    parser.add_argument("--full-tile", action="store_true", help="peak memory of a 10980^2 tile-month")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs per measurement")
    parser.add_argument(
        "--shift", type=int, default=0, help="move the grid this many pixels off the files' COG tiles"
    )
    parser.add_argument("--child", choices=("floor", "composite"), help=argparse.SUPPRESS)
    parser.add_argument("--kind", choices=("s2", "s1"), default="s2", help=argparse.SUPPRESS)
    parser.add_argument("--scenes", type=int, default=24, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=2048, help=argparse.SUPPRESS)
    parser.add_argument("--constant", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--write", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.measure = args.child
        child(args)
        return
    if args.full_tile:
        scenes, size = 6, 10980
        dataset("s2", scenes, size, constant=True)
        result = measure("composite", "s2", scenes, size, args.threads, constant=True, write=True)
        print(
            f"S2 full tile-month ({scenes} scenes x {size}^2, build + write to Zarr): "
            f"{result['seconds']:.0f} s, peak {result['peak_bytes'] / 2**30:.2f} GiB"
        )
        print(f"full_tile_peak_gib={result['peak_bytes'] / 2**30:.2f}")
        return
    s2, s1, size = (8, 4, 1024) if args.quick else (24, 12, 2048)
    sar_ratio = compare("s1", s1, size, args.threads, args.repeat, args.shift)
    optical_ratio = compare("s2", s2, size, args.threads, args.repeat, args.shift)
    print(f"sar_composite_over_read_floor={sar_ratio:.2f}")
    print(f"composite_over_read_floor={optical_ratio:.2f}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
