"""The on-disk training set: a Zarr group of patch arrays plus a CSV index.

Layout of ``<name>.zarr`` (N patches, T time steps, P pixels a side):

- ``sar``      float32 (N, T, 2, P, P): VV, VH backscatter in dB; NaN where a month had no valid observation.
- ``optical``  float32 (N, T, 6, P, P): B02 B03 B04 B08 B11 B12 surface reflectance; NaN where no valid
  observation.
- ``label``    uint8   (N, P, P): class codes 1..4, 0 where unlabeled (ignored by losses and metrics).

Values stay physical (dB, reflectance) so that normalisation is decided, and recorded, by training.
One chunk holds one patch, so a loader reads exactly the patches it needs. The group's attributes name the
bands, ``time_steps``, ``step_months`` (months between steps) and ``patch_size``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from permafusion.core.classes import NODATA
from permafusion.learn.splits import SPLITS

SAR_BANDS: tuple[str, ...] = ("vv", "vh")
OPTICAL_BANDS: tuple[str, ...] = ("B02", "B03", "B04", "B08", "B11", "B12")


@dataclass(frozen=True)
class PatchArrays:
    sar: np.ndarray
    optical: np.ndarray
    label: np.ndarray


class PatchStoreWriter:
    """Writes patches one at a time into a fresh Zarr group of known size."""

    def __init__(
        self, path: str | Path, *, count: int, time_steps: int, patch_size: int, step_months: int = 1
    ) -> None:
        import zarr  # here, not at the top: training imports on GPU nodes without the geospatial stack

        self.root = zarr.open_group(str(path), mode="w")
        p, t = patch_size, time_steps
        self.root.attrs.update(
            {
                "sar_bands": list(SAR_BANDS),
                "optical_bands": list(OPTICAL_BANDS),
                "time_steps": t,
                "step_months": step_months,
                "patch_size": p,
            }
        )
        self.sar = self.root.create_array(
            "sar",
            shape=(count, t, len(SAR_BANDS), p, p),
            chunks=(1, t, len(SAR_BANDS), p, p),
            dtype="float32",
            fill_value=np.nan,
        )
        self.optical = self.root.create_array(
            "optical",
            shape=(count, t, len(OPTICAL_BANDS), p, p),
            chunks=(1, t, len(OPTICAL_BANDS), p, p),
            dtype="float32",
            fill_value=np.nan,
        )
        self.label = self.root.create_array(
            "label", shape=(count, p, p), chunks=(1, p, p), dtype="uint8", fill_value=0
        )

    def write(self, index: int, patch: PatchArrays) -> None:
        self.sar[index] = patch.sar
        self.optical[index] = patch.optical
        self.label[index] = patch.label


def write_patch_store(path: str | Path, sar: np.ndarray, optical: np.ndarray, label: np.ndarray) -> None:
    """Write whole arrays at once (tests and small data sets)."""
    writer = PatchStoreWriter(path, count=sar.shape[0], time_steps=sar.shape[1], patch_size=sar.shape[-1])
    writer.sar[:] = sar
    writer.optical[:] = optical
    writer.label[:] = label


def read_patches(path: str | Path, indices: Sequence[int] | None = None) -> PatchArrays:
    """Read all patches, or the given ones in the given order, into memory."""
    import zarr

    root = zarr.open_group(str(path), mode="r")

    def read(name: str) -> np.ndarray:
        array = root[name]
        if not isinstance(array, zarr.Array):
            raise ValueError(f"{path}/{name} is not an array: rebuild the patches")
        if indices is None:
            return np.asarray(array[:])
        return np.asarray(array.get_orthogonal_selection((np.asarray(indices, dtype=int),)))

    return PatchArrays(sar=read("sar"), optical=read("optical"), label=read("label"))


def read_step_months(path: str | Path) -> int:
    """Months between the store's time steps (1 for stores written without the attribute)."""
    import zarr

    every = zarr.open_group(str(path), mode="r").attrs.get("step_months", 1)
    if not isinstance(every, int):
        raise ValueError(
            f"{path}: step_months {every!r} is not a whole number of months; rebuild the patches"
        )
    return every


def read_split_ids(index: Path) -> dict[str, list[int]]:
    """Patch ids (rows of the store) per split from the index CSV."""
    table = pd.read_csv(index)
    missing = {"patch_id", "split"} - set(table.columns)
    if missing:
        raise ValueError(
            f"patch index {index} lacks columns {sorted(missing)}; rebuild it with the patches step"
        )
    return {split: sorted(int(i) for i in table.loc[table["split"] == split, "patch_id"]) for split in SPLITS}


def load_split(patches: Path, ids: list[int], *, split: str, index: Path) -> PatchArrays:
    """Read the patches of one split, with a clear error for an empty split or missing labels."""
    if not ids:
        raise ValueError(
            f"the {split!r} split of {index} is empty: assign patches to it "
            "(raise its fraction in the patch settings or add labeled areas)"
        )
    data = read_patches(patches, ids)
    if not np.any(data.label != NODATA):
        raise ValueError(f"the {split!r} split of {index} has no labeled pixel: check the label rasters")
    return data


def region_clusters(index: pd.DataFrame, patch_ids: Sequence[int]) -> np.ndarray | None:
    """Bootstrap units of patches split by labelled region: patches that share a region are one unit.

    A region (a truth cell) that spans two patches makes their errors dependent, so a bootstrap over
    patches would count it twice; resampling these units resamples whole cells (a unit may hold several).

    Args:
        index: the patch index (``patch_id``, ``tile``, ``regions``).
        patch_ids: the scored patches, in scoring order.

    Returns:
        One unit number per patch of ``patch_ids``, or None for an index without ``regions`` (split by
        blocks: each patch is its own unit).
    """
    if "regions" not in index.columns:
        return None
    rows = index.set_index("patch_id").loc[list(patch_ids)]
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[str, int] = {}
    for i, (tile, regions) in enumerate(zip(rows["tile"], rows["regions"], strict=True)):
        for region in str(regions).split(";"):
            if region in ("", "nan"):
                continue
            key = f"{tile}:{region}"
            if key in first:
                parent[find(i)] = find(first[key])
            else:
                first[key] = i
    roots = [find(i) for i in range(len(rows))]
    return np.unique(roots, return_inverse=True)[1]
