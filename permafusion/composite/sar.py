"""Sentinel-1 monthly backscatter arithmetic on plain numpy arrays.

Backscatter is averaged in LINEAR power (gamma0), never in dB: the mean of dB values is the log of the
geometric mean, biased low by speckle. The order is: valid samples -> monthly linear mean -> Lee filter ->
dB. Arrays are ``(n, band, y, x)`` for stacks of acquisitions, ``(band, y, x)`` for a month.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from permafusion.composite.arrays import output

#: Nodata value of Planetary Computer ``sentinel-1-rtc`` assets (``raster:bands[0].nodata``).
RTC_NODATA = -32768.0


def valid_power(power: np.ndarray) -> np.ndarray:
    """Where linear power is a real measurement.

    Invalid are NaN, the RTC nodata value -32768 and every value <= 0: gamma0 in linear power is
    strictly positive, and the zero-valued strips along swath borders are noise, not dark targets.
    """
    with np.errstate(invalid="ignore"):
        return np.asarray(np.isfinite(power) & (power > 0))


def valid_observations(power: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """(n, y, x) mask of acquisitions valid in every polarization of a (n, band, y, x) stack.

    :func:`valid_power` of every band, in one compiled pass over the stack; into ``out`` (a C-contiguous
    bool array, overwritten) when given.
    """
    if power.ndim != 4:
        raise ValueError(f"expected a (n, band, y, x) stack, got shape {power.shape}")
    n, bands, height, width = power.shape
    valid = output(out, (n, height, width), bool)
    valid.fill(True)
    if bands:
        pixels = height * width
        _valid_kernel(_as_float32(power).reshape(n, bands, pixels), valid.reshape(n, pixels))
    return valid


def monthly_mean(
    power: np.ndarray, valid: np.ndarray, out: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Mean linear power over the valid acquisitions of a month.

    Summed in float32, acquisition by acquisition: for a month of a few dozen acquisitions the relative
    error stays below 1e-6, far under speckle. One compiled pass, with no stack-sized temporary.

    Args:
        power: (n, band, y, x) linear power.
        valid: (n, y, x) boolean mask of usable acquisitions (see :func:`valid_observations`).
        out: a C-contiguous float32 (band, y, x) array for the mean (default: a new one).

    Returns:
        ``(mean, count)``: float32 (band, y, x) mean, NaN where no acquisition is valid (``out`` when
        given), and uint16 (y, x) number of valid acquisitions.
    """
    if power.ndim != 4 or valid.shape != power.shape[:1] + power.shape[2:]:
        raise ValueError(f"power {power.shape} and valid {valid.shape} must be (n, band, y, x) and (n, y, x)")
    n, bands, height, width = power.shape
    pixels = height * width
    mean = output(out, (bands, height, width), np.float32)
    count = np.empty((height, width), np.uint16)
    _mean_kernel(
        _as_float32(power).reshape(n, bands, pixels),
        np.ascontiguousarray(valid, dtype=bool).reshape(n, pixels),
        mean.reshape(bands, pixels),
        count.reshape(pixels),
    )
    return mean, count


def _as_float32(power: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(power, dtype=np.float32)


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _valid_kernel(power: np.ndarray, valid: np.ndarray) -> None:
    """:func:`valid_observations` on (n, band, pixel) and (n, pixel) arrays (``valid`` all True on entry)."""
    n, bands, pixels = power.shape
    for k in range(n):
        out = valid[k]
        for b in range(bands):
            row = power[k, b]
            for p in range(pixels):
                out[p] = out[p] and row[p] > 0 and row[p] < np.inf  # NaN fails both


@numba.njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")
def _mean_kernel(power: np.ndarray, valid: np.ndarray, mean: np.ndarray, count: np.ndarray) -> None:
    """:func:`monthly_mean` on (n, band, pixel) arrays; sums in acquisition order, as numpy's does."""
    n, bands, pixels = power.shape
    count[:] = 0
    for k in range(n):
        valid_k = valid[k]
        for p in range(pixels):
            count[p] += np.uint16(valid_k[p])
    zero = np.float32(0)
    for b in range(bands):
        total = mean[b]
        total[:] = zero
        for k in range(n):
            row, valid_k = power[k, b], valid[k]
            for p in range(pixels):
                total[p] += row[p] if valid_k[p] else zero
        for p in range(pixels):
            total[p] = total[p] / np.float32(count[p])  # 0 / 0: NaN where no acquisition is valid


def lee_filter(image: np.ndarray, *, window: int = 5, cu2: float | np.ndarray = 0.25) -> np.ndarray:
    """Classic Lee (1980) speckle filter of one linear-power image, ignoring NaN.

    With local mean ``m`` and variance ``v`` over a ``window`` x ``window`` box, local variation coefficient
    ``ci2 = v / m**2`` and speckle variation coefficient ``cu2`` (``1 / ENL``), the MMSE estimate under the
    multiplicative model is ``m + k * (x - m)`` with ``k = (1 - cu2 / ci2) / (1 + cu2)`` clipped to
    [0, 1]: flat areas (``ci2 <= cu2``) become their local mean, edges and point targets keep their
    value. Local statistics only use valid (finite) neighbours; NaN pixels stay NaN, gaps are not filled.

    Args:
        image: (y, x) linear power, NaN where invalid.
        window: odd box size in pixels.
        cu2: squared speckle variation coefficient, a scalar or a (y, x) array (e.g. ``1 / (ENL * n)``
            for a mean of ``n`` acquisitions).

    Returns:
        float32 (y, x) filtered image.
    """
    if image.ndim != 2:
        raise ValueError(f"lee_filter expects a (y, x) image, got shape {image.shape}")
    images = np.ascontiguousarray(image, dtype=np.float32)[None]
    cu2 = np.ascontiguousarray(np.broadcast_to(np.asarray(cu2, np.float32), image.shape))
    out = np.empty(images.shape, np.float32)
    _lee_filter(images, cu2, window, 0, image.shape[1], out)
    return out[0]


def _lee_filter(
    images: np.ndarray, cu2: np.ndarray, window: int, left: int, right: int, out: np.ndarray
) -> None:
    """Lee-filter columns ``left:right`` of each (y, x) image of a (band, y, x) stack into ``out``.

    ``cu2`` holds the squared speckle variation coefficients of those columns only: (y, right - left).
    """
    if window < 3 or window % 2 == 0:
        raise ValueError(f"Lee window must be an odd integer >= 3, got {window}")
    if window // 2 >= min(images.shape[1:]):
        raise ValueError(f"Lee window {window} is too large for an image of {images.shape[1:]} pixels")
    _lee_kernel(images, cu2, window // 2, left, right, out)


@numba.njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")
def _lee_kernel(
    images: np.ndarray, cu2: np.ndarray, halo: int, left: int, right: int, out: np.ndarray
) -> None:
    """:func:`lee_filter` of columns [left, right) of (band, y, x) ``images``, mirrored at their edges.

    The window's sums (of valid values, their squares, and their count) are taken in float64: along
    each source row once, into rings of the ``2 * halo + 1`` rows an output row needs, then down
    (2.5 times faster than scipy's box filters and numpy's passes in float32 it replaces). The loops
    over a row's columns each fill one array, so that LLVM can vectorize them.
    """
    bands, height, width = images.shape
    window, columns = 2 * halo + 1, right - left
    first, stop = left - halo, right + halo  # the source columns, before mirroring
    padded = np.empty(stop - first, np.float64)  # a source row's values, 0 where invalid
    padded_valid = np.empty(stop - first, np.float64)
    values = np.zeros((window, columns), np.float64)  # rings of row sums, a row per source row
    squares = np.zeros((window, columns), np.float64)
    counts = np.zeros((window, columns), np.float64)
    total = np.empty(columns, np.float64)
    total_squares = np.empty(columns, np.float64)
    total_counts = np.empty(columns, np.float64)
    inner_first, inner_stop = max(first, 0), min(stop, width)  # the source columns inside the image
    for b in range(bands):
        image = images[b]
        ready = -1  # the last source row summed into the rings
        for i in range(height):
            while ready < min(i + halo, height - 1):
                ready += 1
                row, slot = image[ready], ready % window
                for j in range(inner_first, inner_stop):
                    value = np.float64(row[j])
                    finite = np.abs(value) < np.inf  # False for NaN too
                    padded[j - first] = value if finite else 0.0
                    padded_valid[j - first] = 1.0 if finite else 0.0
                # beyond the image's edges (halo columns at most): scipy's "reflect"
                for edge_first, edge_stop in ((first, inner_first), (inner_stop, stop)):
                    for j in range(edge_first, edge_stop):
                        mirrored = -j - 1 if j < 0 else 2 * width - j - 1
                        padded[j - first] = padded[mirrored - first]
                        padded_valid[j - first] = padded_valid[mirrored - first]
                _window_sums(padded, window, values[slot], False)
                _window_sums(padded, window, squares[slot], True)
                _window_sums(padded_valid, window, counts[slot], False)
            total[:] = 0.0
            total_squares[:] = 0.0
            total_counts[:] = 0.0
            for d in range(-halo, halo + 1):
                source = i + d
                if source < 0 or source >= height:  # "reflect"
                    source = -source - 1 if source < 0 else 2 * height - source - 1
                slot = source % window
                _add(values[slot], total)
                _add(squares[slot], total_squares)
                _add(counts[slot], total_counts)
            row, out_row, cu2_row = image[i, left:right], out[b, i, left:right], cu2[i]
            for c in range(columns):
                x = np.float64(row[c])
                share = 1.0 / total_counts[c]
                mean = total[c] * share
                square = mean * mean
                var = max(total_squares[c] * share - square, 0.0)
                # k = (1 - cu2 / ci2) / (1 + cu2) with ci2 = var / mean**2, in [0, 1]; no variance
                # (-inf or NaN here): 0, the local mean
                noise = np.float64(cu2_row[c])
                k = min(max(0.0, (1.0 - noise * square / var) / (1.0 + noise)), 1.0)  # max(0, NaN) is 0
                filtered = np.float32(mean + k * (x - mean))
                out_row[c] = filtered if np.abs(x) < np.inf else np.float32(np.nan)


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _window_sums(padded: np.ndarray, window: int, sums: np.ndarray, squared: bool) -> None:
    """``sums[c]`` = the sum of ``padded[c : c + window]`` (of their squares with ``squared``)."""
    sums[:] = 0.0
    for d in range(window):
        shifted = padded[d : d + len(sums)]
        if squared:
            for c in range(len(sums)):
                sums[c] += shifted[c] * shifted[c]
        else:
            for c in range(len(sums)):
                sums[c] += shifted[c]


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _add(values: np.ndarray, total: np.ndarray) -> None:
    for c in range(len(total)):
        total[c] += values[c]


def to_db(power: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """10 * log10 of linear power, in float32; NaN where power is not positive. Into ``out`` if given."""
    power = np.asarray(power)
    db = output(out, power.shape, np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):  # no mask of valid power: fewer passes
        np.log10(power, out=db, casting="same_kind")  # NaN below 0, -inf at 0, +inf at +inf
    db *= np.float32(10)
    np.copyto(db, np.float32(np.nan), where=np.isinf(db))  # finite positive power has a finite log
    return db


def speckle_filter_month(
    mean: np.ndarray,
    count: np.ndarray,
    *,
    window: int,
    enl: float,
    columns: int = 512,
    threads: int = 1,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Lee-filter every band of a (band, y, x) monthly mean, with ``cu2 = 1 / (enl * count)``.

    Wide images are filtered ``columns`` at a time, ``threads`` strips at once: the same result as in
    one go (each output pixel sums the same neighbours), and a strip's sums stay in the CPU's cache.
    Into ``out``, a C-contiguous float32 array of ``mean``'s shape, if given (see
    :func:`permafusion.composite.arrays.output`).
    """
    images = np.ascontiguousarray(mean, dtype=np.float32)
    out = output(out, images.shape, np.float32)
    width = images.shape[-1]
    starts = range(0, width, columns)

    def strip(left: int) -> None:
        right = min(left + columns, width)
        with np.errstate(divide="ignore"):  # count 0: no valid pixel
            cu2 = np.float32(1) / (np.float32(enl) * np.asarray(count[:, left:right], np.float32))
        _lee_filter(images, cu2, window, left, right, out)

    if threads > 1 and len(starts) > 1:  # the compiled filter releases the GIL
        with ThreadPoolExecutor(min(threads, len(starts))) as pool:
            list(pool.map(strip, starts))
    else:
        for left in starts:
            strip(left)
    return out
