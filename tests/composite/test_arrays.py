"""Arrays reused block after block: per thread, in small pages, checked before compiled loops fill them."""

from __future__ import annotations

import gc
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from permafusion.composite.arrays import HUGE_PAGE_THRESHOLD, ThreadArrays, empty, output


def test_each_thread_gets_its_own_memory_back_by_name_and_dtype_in_any_shape():
    arrays = ThreadArrays()
    first = arrays.get("valid", (2, 3), bool)
    first[...] = True
    again = arrays.get("valid", (3, 2), bool)
    assert again.flags.c_contiguous and again.shape == (3, 2) and again.all()  # what it held
    assert np.shares_memory(arrays.get("valid", (1, 4), bool), first)  # smaller: the same memory
    assert not np.shares_memory(arrays.get("valid", (2, 3), np.uint8), first)
    assert not np.shares_memory(arrays.get("other", (2, 3), bool), first)
    with ThreadPoolExecutor(1) as pool:
        assert not np.shares_memory(pool.submit(arrays.get, "valid", (2, 3), bool).result(), first)
    bigger = arrays.get("valid", (4, 4), bool)  # larger than the memory: new memory
    assert not np.shares_memory(bigger, first)
    reserved = arrays.get("block", (1, 2), np.uint16, capacity=100)
    assert np.shares_memory(arrays.get("block", (10, 10), np.uint16), reserved)


def test_output_checks_the_array_it_is_given():
    assert output(None, (2, 3), np.float32).shape == (2, 3)
    given = np.empty((2, 3), np.float32)
    assert output(given, (2, 3), np.float32) is given
    for wrong in (np.empty((3, 2), np.float32), np.empty((2, 3), np.float64), np.empty((3, 2), np.float32).T):
        with pytest.raises(ValueError, match=r"C-contiguous float32 \(2, 3\)"):
            output(wrong, (2, 3), np.float32)


def _mapping_flags(array: np.ndarray) -> list[str] | None:
    """The VmFlags of the memory mapping that holds the middle of ``array``, None if none holds it."""
    middle = array.__array_interface__["data"][0] + array.nbytes // 2
    inside = False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if len(fields) >= 5 and "-" in fields[0] and not fields[0].endswith(":"):
            low, high = (int(address, 16) for address in fields[0].split("-"))
            inside = low <= middle < high
        elif inside and fields[0] == "VmFlags:":
            return fields[1:]
    return None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/smaps")
def test_large_arrays_are_their_own_mapping_without_huge_pages_and_go_back_when_dropped():
    shape = (3, HUGE_PAGE_THRESHOLD // 4)
    array = empty(shape, np.float32)
    assert array.shape == shape and array.dtype == np.float32 and array.flags.c_contiguous
    array[:] = 1.5  # writable, faulted in
    assert "hg" not in (_mapping_flags(array) or ["hg"])  # no MADV_HUGEPAGE on it
    numpys = np.ones(shape, np.float32)
    if "hg" not in (_mapping_flags(numpys) or []):
        pytest.skip("numpy does not ask for huge pages here: nothing to compare with")
    middle = array.__array_interface__["data"][0] + array.nbytes // 2
    view = array[1:]
    del array
    assert view.sum() == 1.5 * view.size  # a view keeps the mapping
    del view
    gc.collect()
    ranges = (line.split()[0].split("-") for line in Path("/proc/self/maps").read_text().splitlines())
    still_mapped = any(int(low, 16) <= middle < int(high, 16) for low, high in ranges)
    assert not still_mapped


def test_small_arrays_are_numpys_own():
    small = empty((2, 3), np.uint16)
    assert small.shape == (2, 3) and small.dtype == np.uint16 and small.flags.owndata
