"""One acquisition, several items: mosaic overlapping slices/tiles before compositing.

Adjacent Sentinel-1 slices of one pass and neighbouring Sentinel-2 MGRS tiles of one datatake overlap;
a pixel in the overlap would otherwise count as two observations of the same instant. Items sharing
platform, relative orbit and UTC date are one acquisition; the first valid value (in item order) wins.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pystac


def acquisition_key(item: pystac.Item) -> tuple[str, str, str]:
    props = item.properties
    when = item.datetime or pystac.utils.str_to_datetime(props["start_datetime"])
    return (
        str(props.get("platform", "")).lower(),
        str(props.get("sat:relative_orbit", "")),
        when.date().isoformat(),
    )


def acquisition_groups(items: Sequence[pystac.Item]) -> np.ndarray:
    """Group index per item, numbered in order of first appearance."""
    ids: dict[tuple[str, str, str], int] = {}
    return np.array([ids.setdefault(acquisition_key(item), len(ids)) for item in items], dtype=np.intp)


def one_item_each(groups: np.ndarray) -> bool:
    """Whether every acquisition of ``groups`` (see :func:`acquisition_groups`) is a single item."""
    return np.array_equal(groups, np.arange(len(groups)))


def mosaic_first_valid(
    values: np.ndarray, valid: np.ndarray, groups: np.ndarray, *, fill: float | int = np.nan
) -> tuple[np.ndarray, np.ndarray]:
    """Merge (n, band, y, x) observations into (g, band, y, x) acquisitions.

    Args:
        values: (n, band, y, x) data.
        valid: (n, y, x) usable observations.
        groups: (n,) group index in ``0..g-1``.
        fill: value where no member is valid (NaN suits floats; e.g. 65535 for uint16 DNs).

    Returns:
        ``(values, valid)`` per group; ``fill`` and False where no member is valid.
    """
    if one_item_each(groups):
        return values, valid
    n_groups = int(groups.max()) + 1
    out = np.full((n_groups,) + values.shape[1:], fill, dtype=values.dtype)
    out_valid = np.zeros((n_groups,) + valid.shape[1:], dtype=bool)
    for i, g in enumerate(groups):
        take = valid[i] & ~out_valid[g]
        out[g][:, take] = values[i][:, take]
        out_valid[g] |= take
    return out, out_valid
