"""A month of scenes, block by block: read every scene's block, reduce it, hand the rows on.

- :class:`BlockReader` reads (scene, band, y, x) blocks of a month's items onto the grid: assets on the
  grid's lattice straight from their windows (:mod:`permafusion.composite.lattice`), the others through
  stackstac's warp (:func:`permafusion.composite.read.stack_assets`).
- :func:`reduce_by_blocks` runs ``reduce(read(block))`` on a thread pool, a bounded number of blocks
  ahead, and hands each finished row of blocks to ``emit`` in order. Memory is a few blocks of scenes
  plus one row of results, whatever the size of the tile; ``emit`` may write the row to disk.
- :class:`RowStencil` applies a moving-window filter (the Lee filter) to those rows, one row late, with
  its neighbours' edge rows: no block is read twice for its halo.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pystac

from permafusion.composite import read
from permafusion.composite.arrays import ThreadArrays, empty
from permafusion.composite.lattice import LatticeReader, Placement, placement
from permafusion.geo.grid import GridSpec

log = logging.getLogger(__name__)

#: A block of the grid: (rows, cols) slices.
Block = tuple[slice, slice]


class BlockReader:
    """(n, band, h, w) blocks of ``assets`` of ``items`` on ``grid``, in item order.

    An item is read from its windows when every asset it has lies on the grid's lattice (and needs
    nearest resampling where its pixels are larger than the grid's); otherwise all its assets go
    through stackstac's warp with ``resampling``. Missing assets and areas outside a scene hold the fill
    value: 0 for integer ``dtype`` (Sentinel-2's no-DN value), NaN for floats; so do the files' nodata
    pixels.

    Args:
        items: the scenes (not modified; copies are signed right before reading).
        grid: the output grid.
        assets: asset keys, in output band order.
        dtype: output dtype; integer only with all-nearest resampling (whole DNs).
        resampling: per asset key, "nearest" (default) or "bilinear".
        sign: as for :func:`permafusion.composite.read.stack_assets`.
        chunksize: block side of the stackstac arrays (match the blocks read).
    """

    def __init__(
        self,
        items: Sequence[pystac.Item],
        *,
        grid: GridSpec,
        assets: Sequence[str],
        dtype: np.dtype | type,
        resampling: Mapping[str, read.ResamplingName] | None = None,
        sign: read.Signer | None = None,
        chunksize: int = 512,
    ) -> None:
        self.n = len(items)
        self.grid, self.chunksize = grid, chunksize
        #: where the blocks start (row, column): set by :meth:`prepare` to the files' tile lattice
        self.origin = (0, 0)
        #: pixels of the largest block
        self.area = min(chunksize, grid.shape[0]) * min(chunksize, grid.shape[1])
        self._buffers = ThreadArrays()
        self.assets = list(assets)
        self.dtype = np.dtype(dtype)
        self.fill = 0 if np.issubdtype(self.dtype, np.integer) else np.nan
        how = {key: (resampling or {}).get(key, "nearest") for key in self.assets}
        if np.issubdtype(self.dtype, np.integer) and set(how.values()) != {"nearest"}:
            raise ValueError("integer blocks need nearest resampling for every asset")

        direct: list[int] = []
        placements: list[dict[str, Placement]] = []
        for item in items:
            places = {key: placement(item, key, grid) for key in self.assets if key in item.assets}
            on_lattice = all(
                p is not None and (p.scale == 1 or how[key] == "nearest") for key, p in places.items()
            )
            placements.append({k: p for k, p in places.items() if p is not None} if on_lattice else {})
            if on_lattice:
                direct.append(len(placements) - 1)
        self.direct = direct
        self.warped = [i for i in range(self.n) if i not in set(direct)]

        signed, hrefs = read.prepare_items([items[i] for i in direct], sign)
        copies: list[pystac.Item] = list(items)
        for i, copy in zip(direct, signed, strict=True):
            copies[i] = copy
        self.lattice = LatticeReader(
            copies, grid=grid, assets=self.assets, placements=placements, signed_to_unsigned=hrefs, sign=sign
        )
        # one stackstac array per resampling method, over the items that need a warp
        self.stacks: list[tuple[list[int], read.AssetStack]] = []
        if self.warped:
            for method in sorted(set(how.values())):
                keys = [key for key in self.assets if how[key] == method]
                stack = read.stack_assets(
                    [items[i] for i in self.warped],
                    grid=grid,
                    assets=keys,
                    resampling=method,  # type: ignore[arg-type]
                    sign=sign,
                    chunksize=chunksize,
                )
                self.stacks.append(([self.assets.index(k) for k in keys], stack))

    def prepare(self, threads: int) -> None:
        """Plan the reads of the on-lattice assets by their files' tiles.

        Blocks of ``chunksize`` start on the tile lattice most files share
        (:meth:`LatticeReader.block_origin`), so that their tiles are decoded once without a cache,
        and are read row by row (see :meth:`LatticeReader.plan`); GDAL's block cache gets what the
        other files need, within ``composite.gdal_cache_mb``. The tiles are learnt from one file per
        asset key (:meth:`LatticeReader.survey`); the others open as the first blocks read them.
        With warped items nothing is planned: the blocks stay on the grid's corner (stackstac's
        chunks) and the cache at that setting, as stackstac's reads are not planned here.

        Raises:
            AssetReadError: a file opened to plan cannot be, or does not lie where its metadata says.
        """
        if not self.direct or self.warped:
            return
        self.lattice.survey(threads)
        self.origin = self.lattice.block_origin(self.chunksize)
        needed = self.lattice.plan(self.chunksize, self.grid.shape[1], threads, self.origin)
        self.lattice.env = read.gdal_env(needed)
        if needed > read.GDAL_CACHE_MB * 2**20:
            log.warning(
                "%d items need a %.0f MB GDAL block cache to decode each source tile once; "
                "composite.gdal_cache_mb is %d MB, so tiles shared by two rows of blocks are "
                "decoded twice (raise it, or chunksize to the files' tile size)",
                self.n,
                needed / 2**20,
                read.GDAL_CACHE_MB,
            )

    def read(self, rows: slice, cols: slice) -> np.ndarray:
        """The (n, band, h, w) block at grid ``rows`` and ``cols``.

        The array is this thread's buffer, overwritten by its next call: reduce it before reading more.
        (Fresh arrays of this size cost more in page faults than the reads themselves.)

        Raises:
            AssetReadError: an asset cannot be opened or read (hrefs in the message unsigned).
        """
        planes = (len(self.assets), rows.stop - rows.start, cols.stop - cols.start)
        out = self._buffers.get("block", (self.n, *planes), self.dtype, capacity=self._capacity(self.n))
        # every plane is written whole below (fill values included), so the buffer is not cleared
        if len(self.direct) == self.n:
            self.lattice.read_into(out, rows, cols, self.direct, self.fill)
        elif self.direct:
            n = len(self.direct)
            part = self._buffers.get("direct", (n, *planes), self.dtype, capacity=self._capacity(n))
            self.lattice.read_into(part, rows, cols, self.direct, self.fill)
            out[self.direct] = part
        for bands, stack in self.stacks:
            block = read.compute(
                stack.data.data[:, :, rows, cols], signed_to_unsigned=stack.signed_to_unsigned
            )
            if np.issubdtype(self.dtype, np.integer):
                block = np.nan_to_num(block, nan=0.0)  # stackstac's NaN fill is the no-DN value 0
            for j, band in enumerate(bands):
                out[self.warped, band] = block[:, j]
        return out

    def _capacity(self, n: int) -> int:
        """Values in the largest block of ``n`` items."""
        return n * len(self.assets) * self.area

    def close(self) -> None:
        self.lattice.close()


def edges(length: int, size: int, origin: int = 0) -> list[int]:
    """Block edges along one axis of ``length`` pixels: 0, then every ``size`` from ``origin``, then the end.

    With an ``origin`` (0 <= origin < size), the first block is ``origin`` pixels and the others lie on
    the lattice ``origin + k * size``: that of the source files' tiles, so no two blocks share a tile.
    """
    if not 0 <= origin < size:
        raise ValueError(f"block origin must lie in [0, {size}), got {origin}")
    return [0, *range(origin or size, length, size), length]


def blocks(shape: tuple[int, int], size: int, origin: tuple[int, int] = (0, 0)) -> Iterator[Block]:
    """The grid's blocks of at most ``size`` x ``size`` pixels, row by row (edges: :func:`edges`)."""
    row_edges, col_edges = edges(shape[0], size, origin[0]), edges(shape[1], size, origin[1])
    for top, bottom in itertools.pairwise(row_edges):
        for left, right in itertools.pairwise(col_edges):
            yield slice(top, bottom), slice(left, right)


def reduce_by_blocks(
    shape: tuple[int, int],
    *,
    size: int,
    n_out: int,
    work: Callable[[slice, slice, np.ndarray], None],
    emit: Callable[[slice, np.ndarray], None],
    rows_kept: int,
    threads: int = 1,
    origin: tuple[int, int] = (0, 0),
) -> None:
    """Run ``work`` on every block of a ``shape`` grid and ``emit`` the results row of blocks by row.

    Args:
        shape: (height, width) of the grid.
        size: block side in pixels.
        origin: where the block lattice starts, (row, column) (:func:`edges`).
        n_out: planes of a block's result: ``work(rows, cols, out)`` fills the C-contiguous float32
            (n_out, h, w) array ``out`` (which holds an earlier block's result: every value must be set).
        work: reads and reduces one block; called from ``threads`` threads at once.
        emit: gets (rows, (n_out, h, width) float32) for each row of blocks, in order, from this thread.
            The array is overwritten ``rows_kept + 1`` rows later.
        rows_kept: rows of blocks ``emit`` holds on to after it returns (:attr:`RowStencil.ROWS_KEPT`),
            0 for a sink that copies each row (each row buffer more is fresh memory to fault in).
        threads: blocks worked on at once.
    """
    width = shape[1]
    # a few rows in turn instead of a fresh array per row: a fresh one costs its page faults
    n_rows = len(edges(shape[0], size, origin[0])) - 1
    in_turn = min(rows_kept + 1, n_rows)
    buffers = [empty((n_out, min(size, shape[0]), width), np.float32) for _ in range(in_turn)]
    row: np.ndarray | None = None
    row_number = -1
    # The blocks' results go into memory of a whole block's size, whatever their shape, handed back
    # once copied into their row (faulted in once, as above).
    capacity = n_out * min(size, shape[0]) * min(size, width)
    free: list[np.ndarray] = []

    def run(block: Block) -> np.ndarray:
        rows, cols = block
        try:
            memory = free.pop()  # (a list's pop and append are atomic)
        except IndexError:
            memory = empty((capacity,), np.float32)
        work(rows, cols, _shaped(memory, n_out, block))
        return memory

    # a row of blocks ahead: the readers go on while ``emit`` works on a row (the Lee filter)
    ahead = 2 * threads + len(edges(width, size, origin[1])) - 1
    for block, memory in _in_order(run, blocks(shape, size, origin), threads, ahead):
        rows, cols = block
        if cols.start == 0:
            row_number += 1
            row = buffers[row_number % len(buffers)][:, : rows.stop - rows.start]
        assert row is not None
        row[:, :, cols] = _shaped(memory, n_out, block)
        free.append(memory)
        if cols.stop == width:
            emit(rows, row)


def _shaped(memory: np.ndarray, planes: int, block: Block) -> np.ndarray:
    """The first values of flat ``memory`` as a C-contiguous (planes, h, w) array for ``block``."""
    rows, cols = block
    shape = (planes, rows.stop - rows.start, cols.stop - cols.start)
    return memory[: math.prod(shape)].reshape(shape)


class RowStencil:
    """Finishes rows of blocks with a moving-window filter that needs ``halo`` rows of each neighbour.

    It holds on to :attr:`ROWS_KEPT` row of blocks (``rows_kept`` of :func:`reduce_by_blocks`): the one
    waiting for the rows below it. Of the one above, it keeps a copy of the last ``halo`` rows.

    Rows arrive in order (from :func:`reduce_by_blocks`); each is finished one row late, once the
    first ``halo`` rows below it are known, with the last ``halo`` rows above it, and handed on. The
    rows are whole grid rows, so a filter that mirrors at the array's edges mirrors at the grid's,
    exactly as over the whole grid at once.

    Args:
        halo: rows of context needed above and below; at most the height of a row of blocks (the
            first and last rows of the grid excepted: the grid's edge lies beyond them).
        finish: (planes, h, width) with context -> the same shape, filtered.
        emit: gets (rows, finished rows) in order.
    """

    #: Rows of blocks held after each call: the pending row.
    ROWS_KEPT = 1

    def __init__(
        self, halo: int, finish: Callable[[np.ndarray], np.ndarray], emit: Callable[[slice, np.ndarray], None]
    ) -> None:
        self.halo, self.finish, self.emit = halo, finish, emit
        self._pending: tuple[slice, np.ndarray] | None = None
        self._above: np.ndarray | None = None
        self._memory = ThreadArrays()  # rows with their context, and the rows above: reused row after row

    def __call__(self, rows: slice, row: np.ndarray) -> None:
        if self._pending is not None:
            self._finish_pending(below=row[:, : self.halo])
        self._pending = (rows, row)

    def close(self) -> None:
        """Finish the last row (mirrored at the grid's bottom edge)."""
        if self._pending is not None:
            self._finish_pending(below=None)
        self._pending = self._above = None

    def _finish_pending(self, below: np.ndarray | None) -> None:
        assert self._pending is not None
        rows, row = self._pending
        # (only the last row of blocks can be lower than the halo, and then ``below`` reaches the edge)
        parts = [part for part in (self._above, row, below) if part is not None and part.shape[1]]
        top = 0 if self._above is None else self._above.shape[1]
        if len(parts) > 1:
            shape = (row.shape[0], sum(part.shape[1] for part in parts), row.shape[2])
            row_with_context = np.concatenate(parts, axis=1, out=self._memory.get("rows", shape, row.dtype))
        else:
            row_with_context = row
        finished = self.finish(row_with_context)
        self.emit(rows, finished[:, top : top + row.shape[1]])
        last = row[:, max(0, row.shape[1] - self.halo) :]  # copied: ``row`` is overwritten once handed back
        self._above = self._memory.get("above", last.shape, row.dtype)
        self._above[...] = last


def _in_order(
    function: Callable[[Block], np.ndarray], items: Iterator[Block], threads: int, ahead: int
) -> Iterator[tuple[Block, np.ndarray]]:
    """(item, function(item)) in input order, ``threads`` at a time and at most ``ahead`` items ahead."""
    if threads <= 1:
        for item in items:
            yield item, function(item)
        return
    pool = ThreadPoolExecutor(max_workers=threads)
    pending: deque[tuple[Block, Future[np.ndarray]]] = deque()
    try:
        for item in items:
            pending.append((item, pool.submit(function, item)))
            if len(pending) >= ahead:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
