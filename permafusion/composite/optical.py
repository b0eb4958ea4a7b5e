"""Sentinel-2 L2A monthly reflectance arithmetic on plain numpy arrays.

From processing baseline 04.00 (acquisitions from 2022-01-25 on) L2A digital numbers carry
``BOA_ADD_OFFSET = -1000``: reflectance = (DN - 1000) / 10000, before that DN / 10000. DN 0 is nodata in
both. Harmonizing before compositing keeps a month from jumping by 0.1 at the baseline change.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import numba
import numpy as np

from permafusion.composite.arrays import output
from permafusion.composite.mosaic import mosaic_first_valid, one_item_each
from permafusion.composite.sortnet import median

QUANTIFICATION = 10000.0
BASELINE_OFFSET_DN = 1000.0
#: First processing baseline whose DNs carry the +1000 offset, and the date it went operational.
OFFSET_BASELINE = (4, 0)
OFFSET_START = datetime(2022, 1, 25, tzinfo=UTC)


def has_baseline_offset(processing_baseline: str | None, acquired: datetime | None = None) -> bool:
    """Whether a scene's DNs carry the +1000 offset.

    Uses ``s2:processing_baseline`` ("04.00" and later have it); when an item lacks it, falls back on the
    acquisition time (from 2022-01-25 on).

    Raises:
        ValueError: if neither is given, or the baseline is not like "04.00".
    """
    if processing_baseline:
        try:
            major, minor = (int(p) for p in str(processing_baseline).split("."))
        except ValueError:
            raise ValueError(f"s2:processing_baseline {processing_baseline!r} is not like '04.00'") from None
        return (major, minor) >= OFFSET_BASELINE
    if acquired is None:
        raise ValueError("need s2:processing_baseline or the acquisition time to harmonize Sentinel-2 DNs")
    if acquired.tzinfo is None:
        acquired = acquired.replace(tzinfo=UTC)
    return acquired >= OFFSET_START


def dn_to_reflectance(dn: np.ndarray, *, offset: bool) -> np.ndarray:
    """Surface reflectance (float32) from L2A DNs; NaN where DN is 0 (nodata) or not finite.

    With ``offset`` the 1000 DN offset is removed first and values below it clip to 0, as older
    baselines could not represent negative reflectance either, so the series stays homogeneous.
    """
    dn = np.asarray(dn, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(dn) & (dn > 0)
    value = np.maximum(dn - BASELINE_OFFSET_DN, 0.0) if offset else dn
    return np.where(valid, value / QUANTIFICATION, np.nan).astype(np.float32)


def harmonize(dn: np.ndarray, offsets: Iterable[bool]) -> np.ndarray:
    """Reflectance of a (n, band, y, x) DN stack, ``offsets[i]`` telling whether scene i has the offset."""
    offsets = list(offsets)
    if dn.ndim != 4 or len(offsets) != dn.shape[0]:
        raise ValueError(f"need a (n, band, y, x) stack and n offsets, got {dn.shape} and {len(offsets)}")
    out = np.empty(dn.shape, dtype=np.float32)
    for i, offset in enumerate(offsets):
        out[i] = dn_to_reflectance(dn[i], offset=offset)
    return out


def scl_valid(scl: np.ndarray, mask_classes: Iterable[int]) -> np.ndarray:
    """Where the scene classification keeps a pixel: SCL present (finite) and not in ``mask_classes``."""
    scl = np.asarray(scl)
    mask_classes = list(mask_classes)
    if scl.dtype in (np.uint8, np.uint16):
        if scl.size and int(scl.max()) < 16:  # SCL's classes are 0-11: one bit test per pixel
            kept = np.uint16(0xFFFF & ~sum(1 << c for c in set(mask_classes) if 0 <= c < 16))
            return (np.right_shift(kept, scl, dtype=np.uint16) & np.uint16(1)).astype(bool)
        keep = np.ones(np.iinfo(scl.dtype).max + 1, bool)  # one table lookup per pixel
        keep[[c for c in mask_classes if 0 <= c <= np.iinfo(scl.dtype).max]] = False
        return keep[scl]
    finite = np.isfinite(scl) if np.issubdtype(scl.dtype, np.floating) else np.ones(scl.shape, bool)
    classes = np.where(finite, scl, -1).astype(np.int16)
    return finite & ~np.isin(classes, np.fromiter(mask_classes, dtype=np.int16))


def valid_observations(reflectance: np.ndarray, scl_ok: np.ndarray) -> np.ndarray:
    """(n, y, x) observations kept by the SCL mask and finite in every band of (n, band, y, x)."""
    return scl_ok & np.isfinite(reflectance).all(axis=1)


def median_of_dns(
    block: np.ndarray,
    *,
    offsets: Iterable[bool],
    groups: np.ndarray,
    mask_classes: Iterable[int],
    out: np.ndarray | None = None,
    valid: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The monthly median reflectance of whole L2A DNs, on 16-bit integers until the two middle values.

    Args:
        block: (n, band + 1, y, x) uint16, as read: the bands' DNs (0 where no data), then the scene
            classification. Not modified.
        offsets: per scene, whether its DNs carry the baseline 04.00 offset.
        groups: per scene, its acquisition (see :func:`permafusion.composite.mosaic.acquisition_groups`).
        mask_classes: SCL classes to drop.
        out: a C-contiguous float32 (band, y, x) array for the median (default: a new one).
        valid: a (n, y, x) bool array to hold the observations kept, overwritten (default: a new one).
            Passing the same arrays block after block saves their page faults.

    Returns:
        ``(median, count)``: float32 (band, y, x) median reflectance, NaN where no observation is kept,
        and uint16 (y, x) kept acquisitions; bit-identical to :func:`monthly_median` of
        :func:`harmonize` after the same masking and mosaicking, and many times faster.
    """
    if block.dtype != np.uint16 or block.ndim != 4 or block.shape[1] < 2:
        raise ValueError(
            f"need a uint16 (n, band + 1, y, x) block of DNs and SCL, got {block.dtype} {block.shape}"
        )
    bands = block.shape[1] - 1
    valid = _valid_dns(block, mask_classes, out=valid)
    dn = block[:, :bands]
    offset_dn = np.where(list(offsets), np.uint16(BASELINE_OFFSET_DN), np.uint16(0)).astype(np.uint16)
    if not one_item_each(groups):  # the items of an acquisition might differ in baseline: harmonize first
        dn = dn - np.minimum(dn, offset_dn[:, None, None, None])
        block, valid = mosaic_first_valid(dn, valid, groups, fill=0)  # the fill is masked, so padded
        offset_dn = np.zeros(len(block), np.uint16)
    return median(block, valid, offset_dn, divisor=QUANTIFICATION, bands=bands, out=out)


def _valid_dns(block: np.ndarray, mask_classes: Iterable[int], out: np.ndarray | None = None) -> np.ndarray:
    """(n, y, x) observations of a (n, band + 1, y, x) block of DNs and SCL that :func:`median_of_dns` keeps.

    As ``scl_valid(scl, mask_classes) & (dn > 0).all(axis=1)``, in one compiled pass over the block.
    """
    classes = set(mask_classes)
    if not classes <= set(range(15)):  # SCL's are 0..11; class 15 stands for all above 14, kept
        raise ValueError(f"mask_classes must be SCL classes 0..14, got {sorted(classes)}")
    n, planes, height, width = block.shape
    valid = output(out, (n, height, width), bool)
    masked_bits = sum(1 << c for c in classes)
    pixels = height * width
    _valid_kernel(
        np.ascontiguousarray(block).reshape(n, planes, pixels), masked_bits, valid.reshape(n, pixels)
    )
    return valid


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _valid_kernel(block: np.ndarray, masked_bits: int, valid: np.ndarray) -> None:
    """:func:`_valid_dns` on (scene, plane, pixel) arrays; SCL is the last plane, classes above 14 kept."""
    n, planes, pixels = block.shape
    bits = np.uint16(masked_bits)
    for k in range(n):
        scl, out = block[k, planes - 1], valid[k]
        for p in range(pixels):
            out[p] = ((bits >> min(scl[p], np.uint16(15))) & np.uint16(1)) == 0
        for b in range(planes - 1):
            dn = block[k, b]
            for p in range(pixels):
                out[p] = out[p] and dn[p] > 0  # DN 0: no data


def _sorted_middle(values: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper middle of the first ``count`` values of each pixel after sorting along axis 0.

    Masked values must sort last (NaN for floats). Returns (band, y, x) arrays.
    """
    n = values.shape[0]
    stack = np.ascontiguousarray(np.moveaxis(values, 0, -1))  # (band, y, x, n): a sort per pixel
    stack.sort(axis=-1)
    count = count.astype(np.intp)[None, :, :, None]
    low = np.take_along_axis(stack, np.maximum(count - 1, 0) // 2, axis=-1)[..., 0]
    high = np.take_along_axis(stack, np.minimum(count // 2, n - 1), axis=-1)[..., 0]
    return low, high


def _mean_of_middles(low: np.ndarray, high: np.ndarray, count: np.ndarray) -> np.ndarray:
    """float32 ``(low + high) / 2`` as numpy's (nan)median takes it; NaN where ``count`` is 0."""
    median = (low + high) / np.float32(2)
    median[:, count == 0] = np.nan
    return median.astype(np.float32, copy=False)


def monthly_median(reflectance: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel median over the valid observations of a month.

    Equal to ``np.nanmedian`` over the valid values (the mean of the two middle values for an even
    count), computed with one sort per pixel.

    Args:
        reflectance: (n, band, y, x) float reflectance.
        valid: (n, y, x) observations to use (see :func:`valid_observations`).

    Returns:
        ``(median, count)``: float32 (band, y, x), NaN where no observation is valid, and uint16 (y, x)
        number of valid observations.
    """
    if reflectance.ndim != 4 or valid.shape != reflectance.shape[:1] + reflectance.shape[2:]:
        raise ValueError(
            f"reflectance {reflectance.shape} and valid {valid.shape} must be (n, band, y, x) and (n, y, x)"
        )
    count = valid.sum(axis=0).astype(np.uint16)
    if reflectance.shape[0] == 0:
        return np.full(reflectance.shape[1:], np.nan, np.float32), count
    dtype = np.float32 if reflectance.dtype.itemsize <= 4 else np.float64
    masked = np.where(valid[:, None, :, :], reflectance, np.nan).astype(dtype, copy=False)  # NaN sorts last
    low, high = _sorted_middle(masked, count)
    return _mean_of_middles(low, high, count), count
