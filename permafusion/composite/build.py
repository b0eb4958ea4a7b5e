"""Monthly SAR and optical composites of one tile: items -> blocks of scenes -> numpy arithmetic -> rows.

Memory stays bounded: months are processed one after the other, and within a month the per-pixel
reduction runs block by block (``settings.chunksize`` pixels a side, all of the month's acquisitions of
one block in memory at a time, :mod:`permafusion.composite.blocks`). Finished rows of blocks go into
memory, or with ``out`` straight into the Zarr store, so a 10980 x 10980 tile-month never needs its
2.9 GB result in memory. The Lee filter runs on the same blocks, read with a ``window // 2`` overlap.

Speed (``benchmarks/composite.py``): assets on the grid's lattice are read from their windows without a
warp, and with all-nearest resampling (the default) the optical median runs on uint16 DNs in a loop
compiled by numba (:mod:`permafusion.composite.sortnet`), bit-identical to the float path; so does
the Lee filter. Per-block arrays are reused, not allocated afresh (:mod:`permafusion.composite.arrays`):
on a machine where new memory is dear, its page faults cost more than the arithmetic.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pystac
import xarray as xr

from permafusion.composite import optical, sar
from permafusion.composite.arrays import ThreadArrays, empty
from permafusion.composite.blocks import BlockReader, RowStencil, reduce_by_blocks
from permafusion.composite.dataset import make_dataset, month_starts
from permafusion.composite.mosaic import acquisition_groups, mosaic_first_valid
from permafusion.composite.read import ResamplingName, Signer
from permafusion.composite.settings import ORBIT_STATES, S2_20M_BANDS, OpticalSettings, SarSettings
from permafusion.composite.store import CompositeWriter, open_composite
from permafusion.core.progress import Progress
from permafusion.geo.grid import GridSpec

log = logging.getLogger(__name__)


def _item_time(item: pystac.Item) -> datetime:
    when = item.datetime or pystac.utils.str_to_datetime(item.properties["start_datetime"])
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _item_order(item: pystac.Item) -> tuple[datetime, str]:
    return _item_time(item), item.id


def items_by_month(items: Sequence[pystac.Item], months: Sequence[str]) -> dict[str, list[pystac.Item]]:
    """Items of each month ("YYYY-MM"), sorted by time; items outside ``months`` are dropped."""
    out: dict[str, list[pystac.Item]] = {m: [] for m in months}
    for item in sorted(items, key=_item_order):
        key = _item_time(item).strftime("%Y-%m")
        if key in out:
            out[key].append(item)
    return out


class _InMemory:
    """Rows of a composite collected into (time, band, y, x) and (time, y, x) arrays, per suffix."""

    def __init__(self, n_months: int, n_bands: int, grid: GridSpec, groups: int) -> None:
        # Not cleared: every row of every month is written (empty months as NaN and 0). A NaN fill here
        # would fault in the whole result before the first read; written row by row, its pages come in
        # on the main thread while the reader threads decode.
        self.values = [empty((n_months, n_bands, *grid.shape), np.float32) for _ in range(groups)]
        self.counts = [empty((n_months, *grid.shape), np.uint16) for _ in range(groups)]

    def write(self, t: int, rows: slice, values: np.ndarray, counts: np.ndarray, group: int = 0) -> None:
        self.values[group][t, :, rows] = values
        self.counts[group][t, rows] = counts


def _composite(
    name: str,
    items: Sequence[pystac.Item],
    *,
    grid: GridSpec,
    months: Sequence[str],
    bands: Sequence[str],
    month_reducer: Callable[[str, list[pystac.Item]], _MonthReducer],
    threads: int,
    size: int,
    finish: Callable[[np.ndarray], np.ndarray] | None = None,
    halo: int = 0,
    suffixes: Sequence[str] = ("",),
    out: str | Path | None,
    pool: bool = False,
) -> xr.Dataset:
    """The month loop shared by both sensors: every month's rows go to memory or straight into ``out``.

    A reduced row holds, per suffix (variable group, e.g. one per orbit direction), the bands and then
    the valid count. ``finish`` maps whole rows (with ``halo`` rows of their neighbours, see
    :class:`RowStencil`) to their final values before they are stored. ``pool`` reduces the items of
    all ``months`` together into one time step, stamped with the first month.
    """
    n_bands, planes = len(bands), len(bands) + 1
    periods = items_by_month(items, months)
    if pool:
        periods = {months[0]: sorted((it for p in periods.values() for it in p), key=_item_order)}
    times = month_starts(list(periods))
    sink: _InMemory | CompositeWriter
    sink = (
        _InMemory(len(periods), n_bands, grid, len(suffixes))
        if out is None
        else CompositeWriter(out, name=name, grid=grid, times=times, bands=bands, suffixes=suffixes)
    )
    with sink if isinstance(sink, CompositeWriter) else nullcontext():
        for t, (month, month_items) in enumerate(periods.items()):
            start, observed = time.perf_counter(), 0
            # a line every 30 s on a long month; the month's summary below closes it
            progress = Progress(grid.shape[0], label=f"{name} {month} rows", log=log, final=False)

            def emit(rows: slice, row: np.ndarray, t: int = t, progress: Progress = progress) -> None:
                nonlocal observed
                progress.advance(rows.stop - rows.start)
                for group in range(len(suffixes)):
                    part = row[group * planes : (group + 1) * planes]
                    sink.write(t, rows, part[:n_bands], part[n_bands].astype(np.uint16), group)
                observed += int((row[n_bands] > 0).sum())

            if not month_items:
                log.info("%s %s: no items, month left empty", name, month)
                empty = np.full((planes * len(suffixes), size, grid.shape[1]), np.nan, np.float32)
                empty[n_bands::planes] = 0
                for top in range(0, grid.shape[0], size):
                    rows = slice(top, min(top + size, grid.shape[0]))
                    emit(rows, empty[:, : rows.stop - rows.start])
                continue
            reducer = month_reducer(month, month_items)
            stencil = None if finish is None else RowStencil(halo, finish, emit)
            try:
                reducer.reader.prepare(threads)
                reduce_by_blocks(
                    grid.shape,
                    size=size,
                    n_out=planes * len(suffixes),
                    work=reducer.work,
                    emit=emit if stencil is None else stencil,
                    threads=threads,
                    rows_kept=0 if stencil is None else stencil.ROWS_KEPT,  # the sink copies rows
                    origin=reducer.reader.origin,
                )
                if stencil is not None:
                    stencil.close()
            finally:
                reducer.reader.close()
            log.info(
                "%s %s: %d items (%d warped), %d acquisitions, %.0f%% of pixels observed, %.1f s",
                name,
                month,
                len(month_items),
                len(reducer.reader.warped),
                reducer.acquisitions,
                100 * observed / (grid.shape[0] * grid.shape[1]),
                time.perf_counter() - start,
            )
    if isinstance(sink, CompositeWriter):
        return open_composite(sink.path)
    return make_dataset(
        name, sink.values, sink.counts, grid=grid, times=times, bands=bands, suffixes=suffixes
    )


class _MonthReducer:
    """One month's reader and the per-block reduction: (rows, cols) -> (band..., count) float32.

    ``reduce(block, out)`` fills ``out`` with the block's result (see :func:`reduce_by_blocks`).
    """

    def __init__(
        self, reader: BlockReader, groups: np.ndarray, reduce: Callable[[np.ndarray, np.ndarray], None]
    ):
        self.reader = reader
        self.acquisitions = int(groups.max()) + 1
        self._reduce = reduce

    def work(self, rows: slice, cols: slice, out: np.ndarray) -> None:
        self._reduce(self.reader.read(rows, cols), out)


def build_sar_composite(
    items: Sequence[pystac.Item],
    *,
    grid: GridSpec,
    months: Sequence[str],
    settings: SarSettings,
    sign: Signer | None = None,
    threads: int = 1,
    out: str | Path | None = None,
) -> xr.Dataset:
    """Monthly Sentinel-1 backscatter composites on ``grid``.

    Per month: valid samples (finite, > 0, not -32768) of all acquisitions are averaged in linear power
    (overlapping slices of one pass count once), Lee-filtered (``settings.speckle_filter``), converted
    to dB. With ``settings.separate_orbits`` the same is done for the ascending and the descending passes
    alone too (the scenes are read once), stored beside the all-pass composite as
    ``backscatter_ascending`` / ``valid_count_ascending`` and ``..._descending``.

    Args:
        items: Sentinel-1 RTC items (assets named by ``settings.polarizations``, linear gamma0).
        grid: output grid.
        months: "YYYY-MM" strings; the result has exactly these time steps, in this order.
        settings: compositing settings.
        sign: applied to item copies right before reading (e.g. ``planetary_computer.sign``).
        threads: blocks read and reduced at once.
        out: a Zarr store to stream the result into (written atomically); None keeps it in memory.

    Returns:
        Dataset with ``backscatter`` float32 (time, band, y, x) in dB and ``valid_count`` uint16
        (time, y, x); see :func:`permafusion.composite.dataset.make_dataset`. Lazy, from ``out``, when
        ``out`` is given.

    Raises:
        AssetReadError: if any asset cannot be read.
    """
    bands = list(settings.polarizations)
    n_bands = len(bands)
    lee = settings.speckle_filter == "lee"
    orbits = ORBIT_STATES if settings.separate_orbits else ()
    suffixes = ("", *(f"_{orbit}" for orbit in orbits))
    scratch = ThreadArrays()

    def month_reducer(month: str, month_items: list[pystac.Item]) -> _MonthReducer:
        groups = acquisition_groups(month_items)
        # an acquisition (one pass) has one orbit direction: that of its first item
        first = {int(g): item for g, item in reversed(list(zip(groups, month_items, strict=True)))}
        direction = np.array([_orbit_state(first[g]) if orbits else "" for g in range(len(first))])
        reader = BlockReader(
            month_items, grid=grid, assets=bands, dtype=np.float32, sign=sign, chunksize=settings.chunksize
        )

        def reduce(block: np.ndarray, out: np.ndarray) -> None:
            valid = sar.valid_observations(block, out=_mask(scratch, block, reader))
            block, valid = mosaic_first_valid(block, valid, groups)
            # stored in this order: all passes, then each direction
            for start, orbit in zip(range(0, len(out), n_bands + 1), (None, *orbits), strict=True):
                use = slice(None) if orbit is None else direction == orbit
                _, out[start + n_bands] = sar.monthly_mean(
                    block[use], valid[use], out=out[start : start + n_bands]
                )

        return _MonthReducer(reader, groups, reduce)

    def finish(rows: np.ndarray) -> np.ndarray:
        out = scratch.get("finished", rows.shape, np.float32)  # (the sink copies it)
        for start in range(0, len(rows), n_bands + 1):
            mean, count = rows[start : start + n_bands], rows[start + n_bands]
            values = out[start : start + n_bands]
            if lee:  # filtered into ``values``, then taken to dB in place
                mean = sar.speckle_filter_month(
                    mean, count, window=settings.window, enl=settings.enl, threads=threads, out=values
                )
            sar.to_db(mean, out=values)
            out[start + n_bands] = count
        return out

    # The Lee filter needs window // 2 neighbours: it runs on whole rows of blocks, one row late, with
    # the edge rows of the rows above and below (and mirrors at the tile's edges, as over the whole tile).
    return _composite(
        "backscatter",
        items,
        grid=grid,
        months=months,
        bands=bands,
        month_reducer=month_reducer,
        threads=threads,
        size=settings.chunksize,
        finish=finish,
        halo=settings.window // 2 if lee else 0,
        suffixes=suffixes,
        out=out,
    )


def _mask(scratch: ThreadArrays, block: np.ndarray, reader: BlockReader) -> np.ndarray:
    """This thread's (n, y, x) array for the per-observation mask of a (n, band, y, x) block."""
    n, _, height, width = block.shape
    return scratch.get("valid", (n, height, width), bool, capacity=n * reader.area)


def _orbit_state(item: pystac.Item) -> str:
    state = item.properties.get("sat:orbit_state")
    if state not in ORBIT_STATES:
        raise ValueError(
            f"Sentinel-1 item {item.id!r} has sat:orbit_state {state!r}: composites per orbit direction "
            "(`sar.orbit_state: separate`) need 'ascending' or 'descending' on every item; use `both`"
        )
    return str(state)


def build_optical_composite(
    items: Sequence[pystac.Item],
    *,
    grid: GridSpec,
    months: Sequence[str],
    settings: OpticalSettings,
    sign: Signer | None = None,
    threads: int = 1,
    out: str | Path | None = None,
    pool: bool = False,
) -> xr.Dataset:
    """Monthly Sentinel-2 L2A median reflectance composites on ``grid``, or one over all the months.

    Per month: DNs are harmonized across the 04.00 baseline offset, pixels whose SCL class is in
    ``settings.mask_classes`` or with nodata in any band are dropped, overlapping tiles of one datatake
    count once, and the per-band median of the remaining observations is taken. With ``pool`` the
    observations of all ``months`` form one period: a single time step (stamped with the first month)
    holding the median over every acquisition of the period, not a median of monthly medians.

    Args:
        items: Sentinel-2 L2A items (assets ``settings.bands`` and ``settings.scl_asset``).
        grid: output grid (10 m); 20 m bands are resampled with ``settings.resampling_20m``, SCL with
            nearest.
        months: "YYYY-MM" strings; the result has exactly these time steps, in this order (one, the
            first, with ``pool``).
        settings: compositing settings.
        sign: applied to item copies right before reading (e.g. ``planetary_computer.sign``).
        threads: blocks read and reduced at once.
        out: a Zarr store to stream the result into (written atomically); None keeps it in memory.
        pool: one median over all the months' acquisitions instead of one per month.

    Returns:
        Dataset with ``reflectance`` float32 (time, band, y, x) and ``valid_count`` uint16 (time, y, x);
        see :func:`permafusion.composite.dataset.make_dataset`. Lazy, from ``out``, when ``out`` is given.

    Raises:
        AssetReadError: if any asset cannot be read.
        ValueError: if an item has a malformed ``s2:processing_baseline``.
    """
    bands = list(settings.bands)
    n_bands = len(bands)
    mask_classes = settings.mask_classes
    scratch = ThreadArrays()
    # All nearest (the default): DNs stay whole numbers and the median runs on uint16.
    integer_dn = settings.resampling_20m == "nearest"
    resampling: dict[str, ResamplingName] = {
        band: settings.resampling_20m for band in bands if band in S2_20M_BANDS
    }

    def month_reducer(month: str, month_items: list[pystac.Item]) -> _MonthReducer:
        offsets = np.array(
            [
                optical.has_baseline_offset(it.properties.get("s2:processing_baseline"), _item_time(it))
                for it in month_items
            ]
        )
        groups = acquisition_groups(month_items)
        reader = BlockReader(
            month_items,
            grid=grid,
            assets=[*bands, settings.scl_asset],  # SCL (categorical) always nearest
            dtype=np.uint16 if integer_dn else np.float32,
            resampling=resampling,
            sign=sign,
            chunksize=settings.chunksize,
        )

        def reduce(block: np.ndarray, out: np.ndarray) -> None:
            if integer_dn:
                _, out[n_bands] = optical.median_of_dns(
                    block,
                    offsets=offsets,
                    groups=groups,
                    mask_classes=mask_classes,
                    out=out[:n_bands],
                    valid=_mask(scratch, block, reader),
                )
            else:
                dn, scl = block[:, :n_bands], block[:, n_bands]
                refl = optical.harmonize(dn, offsets)
                valid = optical.valid_observations(refl, optical.scl_valid(scl, mask_classes))
                refl, valid = mosaic_first_valid(refl, valid, groups)
                out[:n_bands], out[n_bands] = optical.monthly_median(refl, valid)

        return _MonthReducer(reader, groups, reduce)

    return _composite(
        "reflectance",
        items,
        grid=grid,
        months=months,
        bands=bands,
        month_reducer=month_reducer,
        threads=threads,
        size=settings.chunksize,
        out=out,
        pool=pool,
    )
