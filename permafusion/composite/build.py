"""Monthly SAR and optical composites of one tile: items -> stackstac -> numpy arithmetic -> Dataset.

Memory stays bounded twice over: months are processed one after the other, and within a month the
per-pixel reduction runs block by block (``settings.chunksize`` pixels a side) with all of the month's
acquisitions of one block in memory at a time. Only the (band, y, x) monthly result is held whole, which
the Lee filter needs for its neighbourhoods.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

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


def _reduce_blocks(stack: da.Array, reducer: Callable[[np.ndarray], np.ndarray], n_out: int) -> da.Array:
    """Apply ``reducer`` ((n, band, y, x) -> (n_out, y, x)) per spatial block with all of n and band."""
    stack = stack.rechunk({0: -1, 1: -1})
    return da.map_blocks(
        reducer,
        stack,
        drop_axis=0,
        chunks=((n_out,), *stack.chunks[2:]),
        dtype=np.float32,
        meta=np.empty((0, 0, 0), np.float32),
    )


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

        reduced = compute(
            _reduce_blocks(stack.data.data, reducer, n_bands + 1),
            signed_to_unsigned=stack.signed_to_unsigned,
            threads=threads,
        )
        mean, count = reduced[:n_bands], reduced[n_bands].astype(np.uint16)
        if settings.speckle_filter == "lee":
            mean = sar.speckle_filter_month(mean, count, window=settings.window, enl=settings.enl)
        values[t] = sar.to_db(mean)
        counts[t] = count
        log.info(
            "SAR %s: %d items, %d acquisitions, %.0f%% of pixels observed, %.1f s",
            month,
            len(month_items),
            groups.max() + 1,
            100 * (count > 0).mean(),
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
    # Group assets by resampling; SCL (categorical) always nearest.
    by_method: dict[ResamplingName, list[str]] = {"nearest": [], "bilinear": []}
    for band in bands:
        method: ResamplingName = settings.resampling_20m if band in S2_20M_BANDS else "nearest"
        by_method[method].append(band)
    by_method["nearest"].append(settings.scl_asset)
    read_order = [b for method in ("nearest", "bilinear") for b in by_method[method]]
    order = [read_order.index(b) for b in bands]
    scl_index = read_order.index(settings.scl_asset)
    mask_classes = settings.mask_classes

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
        stacks = [
            stack_assets(
                month_items,
                grid=grid,
                assets=assets,
                resampling=method,
                sign=sign,
                chunksize=settings.chunksize,
            )
            for method, assets in by_method.items()
            if assets
        ]
        hrefs = {k: v for s in stacks for k, v in s.signed_to_unsigned.items()}
        stacked = da.concatenate([s.data.data for s in stacks], axis=1)
        groups = acquisition_groups(month_items)

        def reducer(
            block: np.ndarray, offsets: np.ndarray = offsets, groups: np.ndarray = groups
        ) -> np.ndarray:
            scl_ok = optical.scl_valid(block[:, scl_index], mask_classes)
            refl = optical.harmonize(block[:, order], offsets)
            valid = optical.valid_observations(refl, scl_ok)
            refl, valid = mosaic_first_valid(refl, valid, groups)
            median, count = optical.monthly_median(refl, valid)
            return np.concatenate([median, count[None].astype(np.float32)])

        reduced = compute(
            _reduce_blocks(stacked, reducer, n_bands + 1), signed_to_unsigned=hrefs, threads=threads
        )
        values[t] = reduced[:n_bands]
        counts[t] = reduced[n_bands].astype(np.uint16)
        log.info(
            "optical %s: %d items, %d acquisitions, %.0f%% of pixels observed, %.1f s",
            month,
            len(month_items),
            groups.max() + 1,
            100 * (counts[t] > 0).mean(),
            time.perf_counter() - start,
        )
    return make_dataset("reflectance", values, counts, grid=grid, times=month_starts(months), bands=bands)
