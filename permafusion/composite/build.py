"""Monthly SAR and optical composites of one tile: items -> stackstac -> numpy arithmetic -> Dataset.

Memory stays bounded: months are processed one after the other, and within a month the per-pixel
reduction runs block by block (``settings.chunksize`` pixels a side, all of the month's acquisitions of
one block in memory at a time), one row of blocks per dask compute, each block written straight into the
(time, band, y, x) result. The Lee filter runs on the same blocks with a ``window // 2`` overlap. The
result itself (float32, 2.9 GB for 6 bands of a 10980 x 10980 tile-month) is the one array held whole.

Speed (``benchmarks/composite.py``): with all-nearest resampling (the default) the optical median runs on
uint16 DNs with one sort per pixel, and 20 m bands lying on the grid's 2x lattice are read at 20 m and
repeated 2 x 2, which is what nearest resampling to 10 m gives. Both are bit-identical to the float path.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import dask.array as da
import numpy as np
import pystac
import xarray as xr

from permafusion.composite import optical, sar
from permafusion.composite.dataset import make_dataset, month_starts
from permafusion.composite.mosaic import acquisition_groups, mosaic_first_valid
from permafusion.composite.read import ResamplingName, Signer, compute, stack_assets
from permafusion.composite.settings import S2_20M_BANDS, OpticalSettings, SarSettings
from permafusion.grid import GridSpec

log = logging.getLogger(__name__)


def _item_time(item: pystac.Item) -> datetime:
    when = item.datetime or pystac.utils.str_to_datetime(item.properties["start_datetime"])
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def items_by_month(items: Sequence[pystac.Item], months: Sequence[str]) -> dict[str, list[pystac.Item]]:
    """Items of each month ("YYYY-MM"), sorted by time; items outside ``months`` are dropped."""
    out: dict[str, list[pystac.Item]] = {m: [] for m in months}
    for item in sorted(items, key=lambda it: (_item_time(it), it.id)):
        key = _item_time(item).strftime("%Y-%m")
        if key in out:
            out[key].append(item)
    return out


def _reduce_blocks(reducer: Callable[..., np.ndarray], n_out: int, *stacks: da.Array) -> da.Array:
    """Apply ``reducer`` ((n, band, y, x) blocks -> (n_out, y, x)) per spatial block with all of n and band.

    With several stacks the reducer gets one block of each; they must have the same number of spatial
    blocks (a 20 m stack has half the block size of the 10 m one). The output has the first's chunks.
    """
    stacks = tuple(s.rechunk({0: -1, 1: -1}) for s in stacks)
    return da.map_blocks(
        reducer,
        *stacks,
        drop_axis=0,
        chunks=((n_out,), *stacks[0].chunks[2:]),
        dtype=np.float32,
        meta=np.empty((0, 0, 0), np.float32),
    )


def _store(reduced: da.Array, n_bands: int, values: np.ndarray, counts: np.ndarray) -> Any:
    """A delayed write of (band..., count) blocks straight into ``values`` (band, y, x) and ``counts``."""
    return da.store(
        [reduced[:n_bands], reduced[n_bands].astype(np.uint16)], [values, counts], lock=False, compute=False
    )


def _coarse_grid(items: Sequence[pystac.Item], grid: GridSpec, assets: Sequence[str]) -> GridSpec | None:
    """The 2x coarser grid over ``grid`` when every one of ``assets`` lies on it, else None.

    Then nearest resampling to ``grid`` is a 2 x 2 repeat of each coarse pixel, and reading at the coarse
    grid (a quarter of the pixels, usually without a warp) and repeating gives the same values.
    """
    res = 2 * grid.resolution
    if grid.shape[0] % 2 or grid.shape[1] % 2:
        return None
    try:
        coarse = GridSpec(grid.epsg, grid.bounds, res)
    except ValueError:
        return None

    def on_lattice(offset: float) -> bool:
        return abs(offset / res - round(offset / res)) < 1e-6

    for item in items:
        code = item.properties.get("proj:epsg") or str(item.properties.get("proj:code", "")).split(":")[-1]
        for key in assets:
            asset = item.assets.get(key)
            if asset is None:
                continue
            epsg = asset.extra_fields.get("proj:epsg") or code
            transform = asset.extra_fields.get("proj:transform") or item.properties.get("proj:transform")
            if str(epsg) != str(grid.epsg) or not transform or len(transform) < 6:
                return None
            a, b, c, d, e, f = (float(v) for v in transform[:6])
            if not (a == res and e == -res and b == 0 and d == 0):
                return None
            if not (on_lattice(grid.bounds[0] - c) and on_lattice(f - grid.bounds[3])):
                return None
    return coarse


def _upsample2(block: np.ndarray) -> np.ndarray:
    """Nearest 2x upsampling of the last two axes."""
    return np.repeat(np.repeat(block, 2, axis=-2), 2, axis=-1)


def build_sar_composite(
    items: Sequence[pystac.Item],
    *,
    grid: GridSpec,
    months: Sequence[str],
    settings: SarSettings,
    sign: Signer | None = None,
    threads: int = 1,
) -> xr.Dataset:
    """Monthly Sentinel-1 backscatter composites on ``grid``.

    Per month: valid samples (finite, > 0, not -32768) of all acquisitions are averaged in linear power
    (overlapping slices of one pass count once), Lee-filtered (``settings.speckle_filter``), converted
    to dB.

    Args:
        items: Sentinel-1 RTC items (assets named by ``settings.polarizations``, linear gamma0).
        grid: output grid.
        months: "YYYY-MM" strings; the result has exactly these time steps, in this order.
        settings: compositing settings.
        sign: applied to item copies right before reading (e.g. ``planetary_computer.sign``).
        threads: dask threads used for reading and reducing.

    Returns:
        Dataset with ``backscatter`` float32 (time, band, y, x) in dB and ``valid_count`` uint16
        (time, y, x); see :func:`permafusion.composite.dataset.make_dataset`.

    Raises:
        AssetReadError: if any asset cannot be read.
    """
    bands = settings.polarizations
    n_bands = len(bands)
    values = np.full((len(months), n_bands, *grid.shape), np.nan, np.float32)
    counts = np.zeros((len(months), *grid.shape), np.uint16)
    lee = settings.speckle_filter == "lee"
    for t, (month, month_items) in enumerate(items_by_month(items, months).items()):
        if not month_items:
            log.info("SAR %s: no items, month left empty", month)
            continue
        start = time.perf_counter()
        stack = stack_assets(month_items, grid=grid, assets=bands, sign=sign, chunksize=settings.chunksize)
        groups = acquisition_groups(month_items)

        def reducer(block: np.ndarray, groups: np.ndarray = groups) -> np.ndarray:
            valid = sar.valid_observations(block)
            block, valid = mosaic_first_valid(block, valid, groups)
            mean, count = sar.monthly_mean(block, valid)
            return np.concatenate([mean, count[None].astype(np.float32)])

        def finish(block: np.ndarray) -> np.ndarray:
            mean, count = block[:n_bands], block[n_bands]
            if lee:
                mean = sar.speckle_filter_month(mean, count, window=settings.window, enl=settings.enl)
            return np.concatenate([sar.to_db(mean), block[n_bands:]])

        reduced = _reduce_blocks(reducer, n_bands + 1, stack.data.data)
        # The Lee filter needs window // 2 neighbours: blocks overlap by that much (mirrored at the
        # tile edges, as scipy's "reflect" mode), so the month is filtered block by block too.
        depth = settings.window // 2 if lee else 0
        finished = da.map_overlap(
            finish,
            reduced,
            depth={0: 0, 1: depth, 2: depth},
            boundary="reflect",
            dtype=np.float32,
            meta=np.empty((0, 0, 0), np.float32),
        )
        compute(
            _store(finished, n_bands, values[t], counts[t]),
            signed_to_unsigned=stack.signed_to_unsigned,
            threads=threads,
        )
        log.info(
            "SAR %s: %d items, %d acquisitions, %.0f%% of pixels observed, %.1f s",
            month,
            len(month_items),
            groups.max() + 1,
            100 * (counts[t] > 0).mean(),
            time.perf_counter() - start,
        )
    return make_dataset("backscatter", values, counts, grid=grid, times=month_starts(months), bands=bands)


def build_optical_composite(
    items: Sequence[pystac.Item],
    *,
    grid: GridSpec,
    months: Sequence[str],
    settings: OpticalSettings,
    sign: Signer | None = None,
    threads: int = 1,
) -> xr.Dataset:
    """Monthly Sentinel-2 L2A median reflectance composites on ``grid``.

    Per month: DNs are harmonized across the 04.00 baseline offset, pixels whose SCL class is in
    ``settings.mask_classes`` or with nodata in any band are dropped, overlapping tiles of one datatake
    count once, and the per-band median of the remaining observations is taken.

    Args:
        items: Sentinel-2 L2A items (assets ``settings.bands`` and ``settings.scl_asset``).
        grid: output grid (10 m); 20 m bands are resampled with ``settings.resampling_20m``, SCL with
            nearest.
        months: "YYYY-MM" strings; the result has exactly these time steps, in this order.
        settings: compositing settings.
        sign: applied to item copies right before reading (e.g. ``planetary_computer.sign``).
        threads: dask threads used for reading and reducing.

    Returns:
        Dataset with ``reflectance`` float32 (time, band, y, x) and ``valid_count`` uint16 (time, y, x);
        see :func:`permafusion.composite.dataset.make_dataset`.

    Raises:
        AssetReadError: if any asset cannot be read.
        ValueError: if an item has a malformed ``s2:processing_baseline``.
    """
    bands = settings.bands
    n_bands = len(bands)
    scl = settings.scl_asset
    mask_classes = settings.mask_classes
    fine = [b for b in bands if b not in S2_20M_BANDS]
    coarse = [b for b in bands if b in S2_20M_BANDS] + [scl]
    # All nearest (the default): DNs stay whole numbers and the median runs on uint16.
    integer_dn = settings.resampling_20m == "nearest"

    values = np.full((len(months), n_bands, *grid.shape), np.nan, np.float32)
    counts = np.zeros((len(months), *grid.shape), np.uint16)
    for t, (month, month_items) in enumerate(items_by_month(items, months).items()):
        if not month_items:
            log.info("optical %s: no items, month left empty", month)
            continue
        start = time.perf_counter()
        offsets = np.array(
            [
                optical.has_baseline_offset(it.properties.get("s2:processing_baseline"), _item_time(it))
                for it in month_items
            ]
        )
        grid20 = (
            _coarse_grid(month_items, grid, coarse) if integer_dn and settings.chunksize % 2 == 0 else None
        )
        parts: list[tuple[list[str], GridSpec, ResamplingName, int]]
        if grid20 is not None:  # 20 m bands and SCL read at 20 m, repeated 2 x 2 per block
            parts = [
                (fine, grid, "nearest", settings.chunksize),
                (coarse, grid20, "nearest", settings.chunksize // 2),
            ]
        else:  # SCL (categorical) always nearest
            method: ResamplingName = settings.resampling_20m
            parts = [
                (fine + ([scl] if method != "nearest" else []), grid, "nearest", settings.chunksize),
                ([b for b in coarse if b != scl or method == "nearest"], grid, method, settings.chunksize),
            ]
        parts = [part for part in parts if part[0]]
        stacks = [
            stack_assets(month_items, grid=g, assets=assets, resampling=how, sign=sign, chunksize=size)
            for assets, g, how, size in parts
        ]
        read_order = [b for part in parts for b in part[0]]
        upsample = [part[1] is not grid for part in parts]
        order = [read_order.index(b) for b in bands]
        scl_index = read_order.index(scl)
        hrefs = {k: v for s in stacks for k, v in s.signed_to_unsigned.items()}
        groups = acquisition_groups(month_items)

        def reducer(
            *blocks: np.ndarray,
            offsets: np.ndarray = offsets,
            groups: np.ndarray = groups,
            order: list[int] = order,
            scl_index: int = scl_index,
            upsample: list[bool] = upsample,
        ) -> np.ndarray:
            full = [_upsample2(b) if up else b for b, up in zip(blocks, upsample, strict=True)]
            block = full[0] if len(full) == 1 else np.concatenate(full, axis=1)
            scl_ok = optical.scl_valid(block[:, scl_index], mask_classes)
            if integer_dn:
                dn = block[:, order]
                with np.errstate(invalid="ignore"):
                    valid = scl_ok & (dn > 0).all(axis=1)  # NaN compares False: nodata too
                harmonized = optical.harmonized_dn(dn, offsets, valid)
                harmonized, valid = mosaic_first_valid(harmonized, valid, groups, fill=optical.DN_MASKED)
                median, count = optical.monthly_median_dn(harmonized, valid)
            else:
                refl = optical.harmonize(block[:, order], offsets)
                valid = optical.valid_observations(refl, scl_ok)
                refl, valid = mosaic_first_valid(refl, valid, groups)
                median, count = optical.monthly_median(refl, valid)
            return np.concatenate([median, count[None].astype(np.float32)])

        reduced = _reduce_blocks(reducer, n_bands + 1, *(s.data.data for s in stacks))
        # One row of blocks per compute: dask would otherwise read ahead far more blocks than it reduces.
        row = 0
        for height in reduced.chunks[1]:
            rows = slice(row, row + height)
            compute(
                _store(reduced[:, rows], n_bands, values[t][:, rows], counts[t][rows]),
                signed_to_unsigned=hrefs,
                threads=threads,
            )
            row += height
        log.info(
            "optical %s: %d items, %d acquisitions, %.0f%% of pixels observed, %.1f s",
            month,
            len(month_items),
            groups.max() + 1,
            100 * (counts[t] > 0).mean(),
            time.perf_counter() - start,
        )
    return make_dataset("reflectance", values, counts, grid=grid, times=month_starts(months), bands=bands)
