"""Arrays reused block after block instead of allocated afresh.

A fresh array of a few megabytes costs more in page faults than the arithmetic done on it, each time
its memory goes back to the OS and comes again (``benchmarks/composite.py``): the block engine keeps its
buffers per thread (:class:`ThreadArrays`), and the per-block arithmetic writes into arrays it is given
(:func:`output`).
"""

from __future__ import annotations

import threading

import numpy as np


class ThreadArrays:
    """Arrays kept per thread and reused, by name and shape."""

    def __init__(self) -> None:
        self._local = threading.local()

    def get(self, name: str, shape: tuple[int, ...], dtype: np.dtype | type) -> np.ndarray:
        """This thread's ``name`` array of ``shape`` and ``dtype``, as its last use left it."""
        arrays: dict[tuple[str, tuple[int, ...], np.dtype], np.ndarray]
        arrays = self._local.__dict__.setdefault("arrays", {})
        key = (name, shape, np.dtype(dtype))
        array = arrays.get(key)
        if array is None:
            array = arrays[key] = np.empty(shape, dtype)
        return array


def output(out: np.ndarray | None, shape: tuple[int, ...], dtype: np.dtype | type) -> np.ndarray:
    """``out`` checked to be a C-contiguous ``shape`` array of ``dtype`` (what compiled loops fill), or a
    new one when it is None.

    Raises:
        ValueError: ``out`` is not such an array.
    """
    if out is None:
        return np.empty(shape, dtype)
    if out.shape != shape or out.dtype != np.dtype(dtype) or not out.flags.c_contiguous:
        raise ValueError(
            f"out must be a C-contiguous {np.dtype(dtype)} {shape} array, got {out.dtype} {out.shape}"
        )
    return out
