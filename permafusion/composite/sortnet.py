"""Per-pixel middle values of a uint16 image stack, with a sorting network compiled by numba.

A monthly median sorts a few dozen values per pixel. ``np.sort`` sorts along the last axis only, so a
(scene, band, y, x) stack would first have to be transposed; a network of whole-plane
``np.minimum``/``np.maximum`` avoids that but makes hundreds of passes over memory and numpy calls per
block. Here one compiled loop takes a few hundred pixels at a time into a buffer that stays in the CPU's
cache, pads their masked observations, runs the network on it (each comparator a vectorized min/max over
the buffer's rows) and keeps the two middle ranks: about ten times faster than the numpy network, and it
releases the GIL, so the block engine's threads run it in parallel (``benchmarks/composite.py``).

The network is Batcher's odd-even merge sort for the next power of two, with the comparators that touch
padding dropped (padding sorts last, so they never swap), and then those that the middle ranks do not
depend on: 108 comparators for n = 24.
"""

from __future__ import annotations

from functools import lru_cache

import numba
import numpy as np

from permafusion.composite.arrays import output

#: Pixels sorted at once: the buffers (3 x n x this many uint16) stay in the L2 cache for n of a few dozen.
PIXELS_AT_ONCE = 512

#: What masked observations become: as many below every DN as above, give or take one (see :func:`median`).
_PAD_LOW, _PAD_HIGH = np.uint16(0), np.uint16(np.iinfo(np.uint16).max)


@lru_cache(maxsize=128)
def batcher_pairs(n: int) -> tuple[tuple[int, int], ...]:
    """Comparators (i, j), i < j, of an odd-even merge sorting network for ``n`` inputs, in order."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    size = 1
    while size < n:
        size *= 2
    pairs: list[tuple[int, int]] = []
    merged = 1
    while merged < size:
        step = merged
        while step >= 1:
            for start in range(step % merged, size - step, 2 * step):
                for i in range(min(step, size - start - step)):
                    low, high = start + i, start + i + step
                    # only within one pair of merged runs, and never with padding (index >= n)
                    if low // (2 * merged) == high // (2 * merged) and high < n:
                        pairs.append((low, high))
            step //= 2
        merged *= 2
    return tuple(pairs)


@lru_cache(maxsize=128)
def pairs_for_ranks(n: int, ranks: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """The comparators of :func:`batcher_pairs` that the outputs at ``ranks`` depend on, in order."""
    needed, kept = {r for r in ranks if 0 <= r < n}, []
    for i, j in reversed(batcher_pairs(n)):
        if i in needed or j in needed:
            kept.append((i, j))
            needed |= {i, j}
    return tuple(reversed(kept))


def median(
    stack: np.ndarray,
    valid: np.ndarray,
    subtract: np.ndarray,
    *,
    divisor: float,
    bands: int | None = None,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The median of each pixel's valid observations, scaled, as ``np.nanmedian`` takes it.

    Each value ``v`` of scene ``i`` stands for ``max(v - subtract[i], 0) / divisor``, divided in float64
    and rounded to float32; an even count's two middle values are averaged in float32. That is
    ``np.nanmedian`` of the same values as float32 (Sentinel-2: DNs, their baseline offset, and the
    quantification value 10000), bit for bit.

    How: of a pixel's ``m`` masked observations the first ``(m + 1 - n % 2) // 2`` (in scene order)
    become 0 and the others 65535, as many below every valid value as above, give or take one. Then,
    whatever the count of valid ones, their middle values sit at the fixed sorted positions ``n // 2 - 1``
    and ``n // 2``, and the network needs to order only those two. A pad tying with an equal valid value
    changes nothing. Scenes with no valid observation at all are left out of ``n``.

    Args:
        stack: (n, plane, y, x) uint16 values, not modified.
        valid: (n, y, x) bool, the observations to use.
        subtract: (n,) uint16 taken off each scene's values.
        divisor: what the values are divided by.
        bands: the first this many planes are reduced (default: all). Pass a block as read, other
            planes after the bands, rather than a slice of it: a slice would be copied, since the
            compiled loops need contiguous rows to run vectorized.
        out: a C-contiguous float32 (band, y, x) array to put the median in (default: a new one).

    Returns:
        ``(median, count)``: float32 (band, y, x), NaN where no observation is valid (``out`` when
        given), and uint16 (y, x) number of valid observations.
    """
    n, planes, height, width = stack.shape
    bands = planes if bands is None else bands
    if stack.dtype != np.uint16 or valid.shape != (n, height, width) or len(subtract) != n or bands > planes:
        raise ValueError(
            f"need a uint16 (n, plane, y, x) stack, (n, y, x) valid and n values to subtract, got "
            f"{stack.dtype} {stack.shape}, {valid.shape} and {len(subtract)}; bands {bands}"
        )
    out = output(out, (bands, height, width), np.float32)
    out.fill(np.nan)
    count = np.zeros((height, width), np.uint16)
    scenes = np.flatnonzero(valid.any(axis=(1, 2)))  # clouded or outside the swath all over: not sorted
    if len(scenes):
        upper = len(scenes) // 2
        ranks = (max(upper - 1, 0), upper)
        _median_kernel(
            np.ascontiguousarray(stack).reshape(n, planes, -1),
            bands,
            scenes,
            np.ascontiguousarray(valid, dtype=bool).reshape(n, -1),
            np.asarray(subtract, np.uint16),
            float(divisor),
            np.array(pairs_for_ranks(len(scenes), ranks), np.intp).reshape(-1, 2),
            ranks,
            PIXELS_AT_ONCE,
            (out.reshape(bands, -1), count.reshape(-1)),
        )
    return out, count


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _median_kernel(
    stack: np.ndarray,
    bands: int,
    scenes: np.ndarray,
    valid: np.ndarray,
    subtract: np.ndarray,
    divisor: float,
    pairs: np.ndarray,
    ranks: tuple[int, int],
    at_once: int,
    out: tuple[np.ndarray, np.ndarray],
) -> None:
    """:func:`median` on (scene, plane, pixel) arrays. Every inner loop runs over one chunk's pixels
    through 1-d row views, so that LLVM vectorizes it."""
    median, count = out
    rank_low, rank_high = ranks
    n, pixels = len(scenes), stack.shape[2]
    values = np.empty((n, at_once), np.uint16)  # one band's chunk, padded, then sorted at the two ranks
    keep = np.empty((n, at_once), np.uint16)  # 0xFFFF where valid, else 0
    pads = np.empty((n, at_once), np.uint16)  # 0 where valid, else the pad
    masked = np.empty(at_once, np.uint16)
    low_pads = np.empty(at_once, np.uint16)
    odd = np.uint16(1 - n % 2)
    for start in range(0, pixels, at_once):
        m = min(at_once, pixels - start)
        masked[:m] = 0
        for k in range(n):
            valid_k = valid[scenes[k], start : start + m]
            for c in range(m):
                masked[c] += np.uint16(not valid_k[c])
        for c in range(m):
            low_pads[c] = (masked[c] + odd) // np.uint16(2)
            count[start + c] = np.uint16(n) - masked[c]
        masked[:m] = 0  # from here: masked observations seen so far, in scene order
        for k in range(n):
            valid_k, keep_k, pads_k = valid[scenes[k], start : start + m], keep[k], pads[k]
            for c in range(m):
                is_valid = valid_k[c]
                masked[c] += np.uint16(not is_valid)
                keep_k[c] = np.uint16(0xFFFF) if is_valid else np.uint16(0)
                pads_k[c] = _PAD_LOW if (is_valid or masked[c] <= low_pads[c]) else _PAD_HIGH
        for b in range(bands):
            for k in range(n):
                row, offset = stack[scenes[k], b, start : start + m], subtract[scenes[k]]
                out_k, keep_k, pads_k = values[k], keep[k], pads[k]
                for c in range(m):
                    out_k[c] = ((row[c] - min(row[c], offset)) & keep_k[c]) | pads_k[c]
            for q in range(pairs.shape[0]):
                first, second = values[pairs[q, 0]], values[pairs[q, 1]]
                for c in range(m):
                    a, z = first[c], second[c]
                    first[c] = min(a, z)
                    second[c] = max(a, z)
            median_b, count_m = median[b, start : start + m], count[start : start + m]
            lower, upper = values[rank_low], values[rank_high]
            for c in range(m):
                high = np.float32(upper[c] / divisor)
                low = high if count_m[c] & 1 else np.float32(lower[c] / divisor)  # odd: one middle value
                if count_m[c]:
                    median_b[c] = (low + high) / np.float32(2)
