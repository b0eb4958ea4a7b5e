"""Direct window reads of assets that lie on the output grid's pixel lattice, without a warp.

A Sentinel-2 band on its MGRS tile, or a Sentinel-1 RTC scene in the tile's UTM zone, shares the grid's
CRS, its pixel edges fall on the grid's, and its pixel size is a whole multiple of the grid's (10 m or
20 m on a 10 m grid). Nearest resampling onto the grid is then an index calculation: grid pixel (i, j)
takes asset pixel ((row0 + i) // scale, (col0 + j) // scale), exactly what a warp with nearest
resampling gives (no grid pixel centre lies on an asset pixel edge). Reading such windows with rasterio
costs what decompressing the bytes costs; stackstac's per-chunk warp and dask graph cost several times
that (``benchmarks/composite.py``), so stackstac is kept for the assets that need a warp.

Datasets stay open for the whole month, one handle per asset used by one thread at a time (a GDAL
handle must not be used by two at once), and are closed together. They are opened as the first block
needs them, so that opening (which holds the GIL) overlaps the other threads' decoding; the reads are
planned before that from one file per asset key (:meth:`LatticeReader.survey`). Where the assets are
signed, a 403 on open or read (an expired token) is answered by signing afresh from the unsigned href,
once, as for stackstac's reads.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numba
import numpy as np
import pystac
import rasterio
from rasterio.windows import Window

from permafusion.composite import read
from permafusion.composite.arrays import empty
from permafusion.geo.grid import GridSpec
from permafusion.geo.http import redact
from permafusion.geo.signing import resign_href

log = logging.getLogger(__name__)

#: Largest pixel-size ratio read directly (60 m bands onto a 10 m grid).
MAX_SCALE = 6


@dataclass(frozen=True)
class Placement:
    """Where an asset lies on a grid: grid pixel (i, j) is asset pixel ((row0+i)//scale, (col0+j)//scale)."""

    scale: int
    row0: int
    col0: int

    def span(self, pixels: slice) -> tuple[int, int]:
        """The asset pixels [first, stop) that grid pixels ``pixels`` (rows or columns) fall in."""
        return pixels.start // self.scale, (pixels.stop - 1) // self.scale + 1


@dataclass(frozen=True)
class Layout:
    """What planning the reads needs of a file: its tiles and size (rows, columns), its data type."""

    tile: tuple[int, int]
    shape: tuple[int, int]
    dtype: np.dtype

    @classmethod
    def of(cls, dataset: Any) -> Layout:
        """The layout of an open rasterio dataset (its first band)."""
        tall, wide = dataset.block_shapes[0]
        return cls((tall, wide), (dataset.height, dataset.width), np.dtype(dataset.dtypes[0]))


def _asset_shape(item: pystac.Item, asset: pystac.Asset) -> tuple[int, int] | None:
    """The asset's size (rows, columns) from ``proj:shape`` (the asset's, else the item's); None if absent."""
    for where in (asset.extra_fields, item.properties):
        shape = where.get("proj:shape")
        if shape is not None and len(shape) == 2:
            return int(shape[0]), int(shape[1])
    return None


def _asset_epsg(item: pystac.Item, asset: pystac.Asset) -> int | None:
    for where in (asset.extra_fields, item.properties):
        epsg = where.get("proj:epsg")
        if epsg is not None:
            return int(epsg)
        code = where.get("proj:code")
        if isinstance(code, str) and code.upper().startswith("EPSG:"):
            return int(code.split(":", 1)[1])
    return None


def placement(item: pystac.Item, key: str, grid: GridSpec) -> Placement | None:
    """How asset ``key`` of ``item`` lies on ``grid``, from its projection metadata; None if it needs a warp.

    None when the metadata is missing, the CRS differs, the pixels are rotated or not a whole multiple of
    the grid's, or the asset's pixel edges are off the grid's lattice. The file itself is checked
    against this when opened (:class:`LatticeReader`).
    """
    asset = item.assets[key]
    transform = asset.extra_fields.get("proj:transform") or item.properties.get("proj:transform")
    if _asset_epsg(item, asset) != grid.epsg or not transform or len(transform) < 6:
        return None
    return placement_of(tuple(float(v) for v in transform[:6]), grid)


def placement_of(transform: tuple[float, ...], grid: GridSpec) -> Placement | None:
    """:func:`placement` for an affine ``transform`` (a, b, c, d, e, f) in the grid's CRS."""
    a, b, c, d, e, f = transform[:6]
    res = grid.resolution
    scale = round(a / res)
    if b != 0 or d != 0 or not 1 <= scale <= MAX_SCALE or a != scale * res or e != -a:
        return None
    col0, row0 = (grid.bounds[0] - c) / res, (f - grid.bounds[3]) / res
    if abs(col0 - round(col0)) > 1e-6 or abs(row0 - round(row0)) > 1e-6:
        return None
    return Placement(scale, round(row0), round(col0))


class LatticeReader:
    """Reads windows of on-lattice assets onto a grid; one open dataset per thread and asset.

    Args:
        items: signed copies (see :func:`permafusion.composite.read.prepare_items`), in output order.
        grid: the output grid.
        assets: asset keys in output band order.
        placements: ``placements[i][key]`` for every asset of item ``i`` that it has.
        signed_to_unsigned: signed href -> (item id, asset key, unsigned href), for error messages.
        sign: to sign afresh after a 403; None when hrefs are not signed.
    """

    def __init__(
        self,
        items: list[pystac.Item],
        *,
        grid: GridSpec,
        assets: list[str],
        placements: list[dict[str, Placement]],
        signed_to_unsigned: Mapping[str, tuple[str, str, str]],
        sign: read.Signer | None,
    ) -> None:
        self.grid = grid
        self.assets = assets
        self.placements = placements
        self.sign = sign
        self._hrefs = {
            (i, key): item.assets[key].get_absolute_href() or item.assets[key].href
            for i, item in enumerate(items)
            for key in placements[i]
        }
        self._names = {
            (i, key): signed_to_unsigned.get(href, (items[i].id, key, href.split("?", 1)[0]))
            for (i, key), href in self._hrefs.items()
        }
        self._shapes = {(i, key): _asset_shape(items[i], items[i].assets[key]) for i, key in self._hrefs}
        # each asset's layout, as :meth:`survey` found or assumed it (corrected as files open)
        self._layouts: dict[tuple[int, str], Layout] = {}
        # One handle per asset, shared by the threads under its own lock: GDAL caches decompressed
        # blocks per handle, so a source tile that two output blocks need is decompressed once.
        self._handles: dict[tuple[int, str], Any] = {}
        self._locks = {pair: threading.Lock() for pair in self._hrefs}
        self._calls = itertools.count()
        #: GDAL settings of the reads (:func:`permafusion.composite.read.gdal_env`)
        self.env = read.GDAL_ENV
        # Assets read by rows of source tiles (see :meth:`plan`): their first and last column under the
        # grid, a buffer for a row of tiles, and the top row (pixels) of the row last read into it.
        self._band_columns: dict[tuple[int, str], tuple[int, int]] = {}
        self._band_buffers: dict[tuple[int, str], np.ndarray] = {}
        self._band_tops: dict[tuple[int, str], int] = {}

    def read_into(
        self, out: np.ndarray, rows: slice, cols: slice, indices: Sequence[int], fill: float
    ) -> None:
        """Fill ``out[i]`` (band, h, w) with item ``indices[i]`` at grid ``rows`` and ``cols``.

        Pixels outside an asset, and the file's nodata pixels, get ``fill`` (0 for uint16 DNs, NaN for
        floats).

        Raises:
            AssetReadError: a file cannot be opened or read, or does not lie where its metadata says.
        """
        # Concurrent calls start at different items, so that threads rarely wait on the same handle.
        start = next(self._calls) * max(1, len(indices) // 2)
        with self.env.read:
            for k in range(len(indices)):
                slot = (start + k) % len(indices)
                index = indices[slot]
                for band, key in enumerate(self.assets):
                    where = self.placements[index].get(key)
                    if where is None:
                        out[slot, band].fill(fill)
                    else:
                        self._read(out[slot, band], index, key, where, rows, cols, fill)

    def _read(
        self, out: np.ndarray, index: int, key: str, where: Placement, rows: slice, cols: slice, fill: float
    ) -> None:
        """Read asset ``key`` of item ``index`` into ``out`` (h, w), the grid's ``rows`` and ``cols``."""

        def read_it(dataset: Any) -> None:
            window = _window(where, rows, cols, dataset.height, dataset.width)
            target = None if window is None else _target(window, where, rows, cols)
            if target != (0, out.shape[0], 0, out.shape[1]):  # the asset does not cover it all
                out.fill(fill)
            if window is not None and target is not None:
                r0, r1, c0, c1 = target
                first = (rows.start + r0, cols.start + c0)
                if (index, key) in self._band_columns:
                    _place(
                        self._from_band(dataset, index, key, window), window, where, first, out[r0:r1, c0:c1]
                    )
                else:
                    _read_window(dataset, window, where, first, out[r0:r1, c0:c1])

        self._attempt(index, key, read_it)

    def _attempt(self, index: int, key: str, action: Callable[[Any], None]) -> None:
        """``action(dataset)`` under the asset's lock; after a 403 of a signed href, sign afresh, retry once.

        Raises:
            AssetReadError: the file cannot be opened or read (its href unsigned in the message).
        """
        with self._locks[(index, key)]:
            for attempt in (1, 2):
                try:
                    action(self._dataset(index, key))
                    return
                except read.AssetReadError:
                    raise
                except Exception as error:  # rasterio/GDAL raise many types: report whichever it was
                    href = self._hrefs[(index, key)]
                    if attempt == 1 and self.sign is not None and read.is_expired_token(error, href):
                        self._resign(index, key)
                        continue
                    raise self._error(index, key, error) from None

    def survey(self, threads: int) -> None:
        """Learn every asset's layout for :meth:`block_origin` and :meth:`plan`, opening few files.

        Opening a file costs milliseconds of GIL-bound work (rasterio reads its georeferencing), about
        what decoding a block of it costs: done up front for every file it would hold up the reads by
        as much (a tenth of a Sentinel-2 month). So only one file per asset key is opened here, and
        any whose size the metadata lack (``proj:shape``), ``threads`` at a time; the others take the
        tiles and data type of their key's file and open as the first block reads them, while the
        other threads decode. A file that turns out otherwise is read through GDAL's cache instead of
        by rows of tiles (:meth:`_dataset`): same values, perhaps some tiles decoded twice.

        Raises:
            AssetReadError: a file opened here cannot be, or does not lie where its metadata says.
        """
        samples: dict[str, tuple[int, str]] = {}
        for index, key in sorted(self._hrefs):
            samples.setdefault(key, (index, key))
        with self.env.read:
            # in this thread: a thread's first open costs tens of milliseconds more (GDAL and PROJ
            # set up per thread), and the reader threads pay that anyway
            for index, key in samples.values():
                self._attempt(index, key, lambda _: None)
            unsized = sorted(pair for pair, shape in self._shapes.items() if shape is None)
            with ThreadPoolExecutor(max(1, threads)) as pool:
                opening = [pool.submit(self._attempt, index, key, lambda _: None) for index, key in unsized]
                try:
                    for future in opening:
                        future.result()
                except BaseException:  # the first failure stops the others before they start (and retry)
                    pool.shutdown(cancel_futures=True)
                    raise
        for pair, shape in self._shapes.items():
            if pair not in self._layouts:
                assert shape is not None  # those without were opened above
                self._layouts[pair] = replace(self._layouts[samples[pair[1]]], shape=shape)

    def block_origin(self, block: int) -> tuple[int, int]:
        """Where blocks of ``block`` px should start (row, column) so that most tiles lie in one block.

        Each asset whose tiles are a whole number of blocks proposes the offset of its tile lattice
        from the grid's, weighted by its tiles per grid pixel; the most proposed wins, (0, 0) when
        none is. A Sentinel-2 tile's bands share one lattice, which a processing tile anchored at its
        UTM zone's origin meets some way off its own blocks (an MGRS tile at x = 399960 m is 60 px
        off a 512 px lattice). Call :meth:`survey` first.
        """
        votes: dict[tuple[int, int], float] = {}
        for index, key in sorted(self._layouts):
            layout, where = self._layouts[(index, key)], self.placements[index][key]
            tall, wide = (side * where.scale for side in layout.tile)
            if tall % block == 0 and wide % block == 0:
                offset = (-where.row0 % block, -where.col0 % block)
                votes[offset] = votes.get(offset, 0.0) + 1.0 / (tall * wide)
        if not votes:
            return (0, 0)
        return max(votes, key=lambda offset: (votes[offset], offset == (0, 0)))

    def plan(self, block: int, width: int, threads: int, origin: tuple[int, int] = (0, 0)) -> int:
        """Plan the reads of blocks of ``block`` px, row by row; returns the GDAL block cache they need.

        ``origin``: where the block lattice starts (:func:`permafusion.composite.blocks.edges`).
        A source tile that two rows of blocks share must not be decompressed twice:
        - a coarser asset (20 m on a 10 m grid) whose rows of tiles each hold whole rows of blocks is
          read a row of tiles at a time, kept until the blocks move past it (a 20 m row of tiles across
          a 10980 px tile is 5.6 MB per asset), as long as these rows fit in ``gdal_cache_mb``;
        - any other must stay in GDAL's cache for a row of blocks: everything decoded in a row.
        Tiles only blocks side by side share need a few blocks' tiles, and tiles no two blocks share
        none. Call :meth:`survey` first.
        """
        row_bytes = block_bytes = band_bytes = 0
        shared_by_rows = shared_by_columns = False
        self._band_columns.clear()
        for index, key in sorted(self._layouts):
            layout, where = self._layouts[(index, key)], self.placements[index][key]
            (tile_height, tile_width), itemsize = layout.tile, layout.dtype.itemsize
            tile = tile_height * tile_width * itemsize
            tall, wide = tile_height * where.scale, tile_width * where.scale  # in grid pixels
            # tile edges at k * tall - row0 grid px, block edges at origin + k * block: these offsets
            # are where the tile lattices lie with respect to the blocks'
            row_offset, col_offset = where.row0 + origin[0], where.col0 + origin[1]
            first, stop = where.span(slice(where.col0, where.col0 + width))
            first, stop = max(first, 0), min(stop, layout.shape[1])
            band = tile_height * (stop - first) * itemsize
            if (
                where.scale > 1
                and tall % block == 0
                and row_offset % block == 0
                and stop > first
                and band_bytes + band <= read.GDAL_CACHE_MB * 2**20  # the same memory budget
            ):
                self._band_columns[(index, key)] = (first, stop)  # rows of blocks lie in rows of tiles
                band_bytes += band
                continue
            down = _tiles_per_block(block, tall, row_offset)
            side = _tiles_per_block(block, wide, col_offset)
            shared_by_rows |= _shared(block, tall, row_offset)
            shared_by_columns |= _shared(block, wide, col_offset)
            across = max(0, -(-stop // tile_width) - first // tile_width)  # tile columns under the grid
            row_bytes += across * down * tile
            block_bytes += side * down * tile
        self._allocate_bands()
        if shared_by_rows:
            needed = row_bytes
        elif shared_by_columns:
            needed = block_bytes * (threads + 1)
        else:
            needed = 0  # no tile is read twice
        return int(1.25 * needed)

    def _allocate_bands(self) -> None:
        """One buffer for the rows of tiles of all assets read by rows, carved into one per asset.

        One mapping (:func:`permafusion.composite.arrays.empty`), faulted in as the rows are first
        read and handed back whole when the month is done.
        """
        shapes = {
            pair: (self._layouts[pair].tile[0], stop - first, self._layouts[pair].dtype)
            for pair, (first, stop) in self._band_columns.items()
        }
        sizes = {
            pair: -(-height * width * dtype.itemsize // 64) * 64
            for pair, (height, width, dtype) in shapes.items()
        }
        memory = empty((sum(sizes.values()),), np.uint8)
        self._band_buffers.clear()
        self._band_tops.clear()
        start = 0
        for pair, (height, width, dtype) in shapes.items():
            part = memory[start : start + height * width * dtype.itemsize]
            self._band_buffers[pair] = part.view(dtype).reshape(height, width)
            start += sizes[pair]

    def _from_band(self, dataset: Any, index: int, key: str, window: Window) -> np.ndarray:
        """``window`` of an asset read by rows of tiles (its lock held): the row it lies in, read once."""
        tile_height = dataset.block_shapes[0][0]
        top = int(window.row_off) // tile_height * tile_height
        left = self._band_columns[(index, key)][0]
        buffer = self._band_buffers[(index, key)]
        if self._band_tops.get((index, key)) != top:
            height = min(tile_height, dataset.height - top)
            dataset.read(1, window=Window(left, top, buffer.shape[1], height), out=buffer[:height])
            _mark_nodata(buffer[:height], dataset.nodata)
            self._band_tops[(index, key)] = top
        r0, c0 = int(window.row_off) - top, int(window.col_off) - left
        return buffer[r0 : r0 + int(window.height), c0 : c0 + int(window.width)]

    def _dataset(self, index: int, key: str) -> Any:
        """The open handle of an asset (its lock held by the caller), checked against the metadata.

        A file whose tiles or data type are not those :meth:`survey` took for it from its key's first
        file leaves the reads by rows of tiles, planned for those: it is read through GDAL's cache.
        """
        pair = (index, key)
        dataset = self._handles.get(pair)
        if dataset is None:
            # (under read_into's GDAL settings: a nested rasterio.Env would, on leaving, put GDAL's
            # cache size back to its default of 5 % of RAM)
            dataset = rasterio.open(self._hrefs[pair])
            self._handles[pair] = dataset
            self._check(index, key, dataset)
            found = Layout.of(dataset)
            if self._layouts.setdefault(pair, found) != found:
                item_id, asset, _ = self._names[pair]
                log.debug(
                    "asset %r of item %r is laid out otherwise (%s): read through GDAL's cache",
                    asset,
                    item_id,
                    found,
                )
                self._layouts[pair] = found
                self._band_columns.pop(pair, None)
        return dataset

    def _check(self, index: int, key: str, dataset: Any) -> None:
        epsg = dataset.crs.to_epsg() if dataset.crs is not None else None
        actual = placement_of(tuple(dataset.transform)[:6], self.grid)
        shape = self._shapes[(index, key)]
        if (
            epsg != self.grid.epsg
            or actual != self.placements[index][key]
            or shape not in (None, (dataset.height, dataset.width))
        ):
            item_id, asset, unsigned = self._names[(index, key)]
            raise read.AssetReadError(
                f"asset {asset!r} of item {item_id!r} ({unsigned}) does not lie where its STAC metadata "
                f"says: the file has CRS {dataset.crs}, transform {tuple(dataset.transform)[:6]} and "
                f"{dataset.height} x {dataset.width} pixels. Fix the item's proj:* fields (or the file)."
            )

    def _resign(self, index: int, key: str) -> None:
        assert self.sign is not None
        href = self._hrefs[(index, key)]
        log.warning("HTTP 403 from %s (expired token?): signing it afresh and retrying once", redact(href))
        stale = self._handles.pop((index, key), None)
        if stale is not None:
            stale.close()
        self._hrefs[(index, key)] = resign_href(href, self.sign)

    def _error(self, index: int, key: str, error: BaseException) -> read.AssetReadError:
        item_id, asset, unsigned = self._names[(index, key)]
        return read.read_error(item_id, asset, unsigned, error)

    def close(self) -> None:
        """Close every dataset opened."""
        for pair, dataset in list(self._handles.items()):
            with self._locks[pair]:
                dataset.close()
        self._handles.clear()
        self._layouts.clear()
        self._band_buffers.clear()
        self._band_tops.clear()


def _shared(block: int, tile: int, offset: int) -> bool:
    """Whether two blocks of ``block`` px share a tile of ``tile`` px (edges at ``k * tile - offset``)."""
    return not (block % tile == 0 and offset % tile == 0)


def _tiles_per_block(block: int, tile: int, offset: int) -> int:
    """Most tiles of ``tile`` px (edges at ``k * tile - offset``) that one block of ``block`` px touches."""
    edges_on_block_edges = not _shared(block, tile, offset) or (tile % block == 0 and offset % block == 0)
    return -(-block // tile) + (0 if edges_on_block_edges else 1)


def _window(where: Placement, rows: slice, cols: slice, height: int, width: int) -> Window | None:
    """The window of asset pixels that grid ``rows`` and ``cols`` fall in, clipped to the file."""
    top, stop = where.span(slice(where.row0 + rows.start, where.row0 + rows.stop))
    left, right = where.span(slice(where.col0 + cols.start, where.col0 + cols.stop))
    top, stop, left, right = max(top, 0), min(stop, height), max(left, 0), min(right, width)
    if stop <= top or right <= left:
        return None
    return Window(left, top, right - left, stop - top)


def _target(window: Window, where: Placement, rows: slice, cols: slice) -> tuple[int, int, int, int] | None:
    """Grid pixels (r0, r1, c0, c1), relative to ``rows``/``cols``, covered by ``window``'s pixels."""
    s = where.scale
    top, left = int(window.row_off), int(window.col_off)
    r0 = max(top * s - where.row0 - rows.start, 0)
    r1 = min((top + int(window.height)) * s - where.row0 - rows.start, rows.stop - rows.start)
    c0 = max(left * s - where.col0 - cols.start, 0)
    c1 = min((left + int(window.width)) * s - where.col0 - cols.start, cols.stop - cols.start)
    return (r0, r1, c0, c1) if r1 > r0 and c1 > c0 else None


def _read_window(
    dataset: Any, window: Window, where: Placement, first: tuple[int, int], out: np.ndarray
) -> None:
    """Read ``window`` of ``dataset`` onto ``out``, whose first pixel is grid pixel ``first`` (row, col)."""
    if where.scale == 1 and out.dtype == np.dtype(dataset.dtypes[0]):  # straight into place
        dataset.read(1, window=window, out=out)
        _mark_nodata(out, dataset.nodata)
        return
    values = dataset.read(1, window=window)
    _mark_nodata(values, dataset.nodata)
    _place(values, window, where, first, out)


def _place(
    values: np.ndarray, window: Window, where: Placement, first: tuple[int, int], out: np.ndarray
) -> None:
    """Put ``window``'s pixels ``values`` onto ``out``, whose first pixel is grid pixel ``first``."""
    if where.scale == 1:
        out[...] = values
        return
    # where the first grid pixel lies in the window's first asset pixel
    row_start = where.row0 + first[0] - int(window.row_off) * where.scale
    col_start = where.col0 + first[1] - int(window.col_off) * where.scale
    _nearest(values, where.scale, row_start, col_start, out)


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _nearest(values: np.ndarray, scale: int, row_start: int, col_start: int, out: np.ndarray) -> None:
    """``out[i, j] = values[(row_start + i) // scale, (col_start + j) // scale]``: nearest upsampling.

    Compiled, and five times faster than numpy's takes for 20 m bands: a row repeating the one above
    is copied, and a 2x row with aligned columns duplicates each value in a loop LLVM vectorizes.
    """
    height, width = out.shape
    for i in range(height):
        row = out[i]
        if i > 0 and (row_start + i) // scale == (row_start + i - 1) // scale:
            above = out[i - 1]
            for j in range(width):
                row[j] = above[j]
            continue
        source = values[(row_start + i) // scale]
        if scale == 2 and col_start == 0:
            for j in range(width // 2):
                row[2 * j] = source[j]
                row[2 * j + 1] = source[j]
            if width % 2:
                row[width - 1] = source[width // 2]
        else:
            for j in range(width):
                row[j] = source[(col_start + j) // scale]


def _mark_nodata(values: np.ndarray, nodata: float | None) -> None:
    """Turn the file's nodata value into the fill value in place: NaN for floats, 0 (no DN) for integers."""
    if nodata is None or np.isnan(nodata):
        return
    if np.issubdtype(values.dtype, np.floating):
        values[values == nodata] = np.nan
    elif nodata != 0:
        values[values == nodata] = 0
