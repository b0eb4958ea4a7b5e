"""Arrays reused block after block instead of allocated afresh.

A fresh array of a few megabytes costs more in page faults than the arithmetic done on it, each time
its memory goes back to the OS and comes again (``benchmarks/composite.py``): the block engine keeps its
buffers per thread (:class:`ThreadArrays`), and the per-block arithmetic writes into arrays it is given
(:func:`output`). Its large arrays come from :func:`empty`, in small pages.
"""

from __future__ import annotations

import math
import mmap
import threading

import numpy as np

#: numpy asks for transparent huge pages for arrays from this size on (its ``madvise`` threshold).
HUGE_PAGE_THRESHOLD = 4 * 2**20


def empty(shape: tuple[int, ...], dtype: np.dtype | type) -> np.ndarray:
    """An array like ``np.empty``'s, whose memory is its own anonymous mapping, in 4 KiB pages.

    numpy backs arrays of 4 MiB and more with transparent huge pages. On a virtual machine that hands
    free memory back to its host (virtio-balloon free page reporting, as on the CI-class machines), a
    huge page faulted in fresh is backed anew by the host: the composite's buffers, each filled once
    and dropped, cost 2-3 times the system time in huge pages (``benchmarks/composite.py``). Small
    pages cost more faults where memory is cheap, a fraction of that. The mapping goes back to the OS
    when the array (and every view of it) is gone. Smaller arrays are numpy's own.
    """
    dtype = np.dtype(dtype)
    count = math.prod(shape)
    if count * dtype.itemsize < HUGE_PAGE_THRESHOLD:
        return np.empty(shape, dtype)
    memory = mmap.mmap(-1, count * dtype.itemsize, flags=mmap.MAP_PRIVATE)  # anonymous, zero-filled
    return np.frombuffer(memory, dtype, count=count).reshape(shape)


class ThreadArrays:
    """Arrays kept per thread and reused, by name and dtype, whatever their shape.

    Blocks come in a few shapes (smaller at the grid's edges): each name has one memory per thread,
    of the largest size asked for, and an array of any shape is a C-contiguous view of its start.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def get(self, name: str, shape: tuple[int, ...], dtype: np.dtype | type, capacity: int = 0) -> np.ndarray:
        """This thread's ``name`` array of ``shape`` and ``dtype``, holding what its last use left.

        ``capacity`` (elements) reserves room for the largest shape to come, so that a small first
        block does not make the memory be taken twice.
        """
        memories: dict[tuple[str, np.dtype], np.ndarray]
        memories = self._local.__dict__.setdefault("memories", {})
        key, size = (name, np.dtype(dtype)), math.prod(shape)
        memory = memories.get(key)
        if memory is None or memory.size < size:
            memory = memories[key] = empty((max(size, capacity),), dtype)
        return memory[:size].reshape(shape)


def output(out: np.ndarray | None, shape: tuple[int, ...], dtype: np.dtype | type) -> np.ndarray:
    """``out`` checked to be a C-contiguous ``shape`` array of ``dtype`` (what compiled loops fill), or a
    new one when it is None.

    Raises:
        ValueError: ``out`` is not such an array.
    """
    if out is None:
        return empty(shape, dtype)
    if out.shape != shape or out.dtype != np.dtype(dtype) or not out.flags.c_contiguous:
        raise ValueError(
            f"out must be a C-contiguous {np.dtype(dtype)} {shape} array, got {out.dtype} {out.shape}"
        )
    return out
