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
from scipy import ndimage

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


def read_labels(path: str | Path, indices: Sequence[int]) -> np.ndarray:
    """The label arrays (N, P, P) of the given patches, in the given order, without their imagery."""
    import zarr

    array = zarr.open_group(str(path), mode="r")["label"]
    if not isinstance(array, zarr.Array):
        raise ValueError(f"{path}/label is not an array: rebuild the patches")
    return np.asarray(array.get_orthogonal_selection((np.asarray(indices, dtype=int),)))


def region_units(index: pd.DataFrame, patch_ids: Sequence[int], labels: np.ndarray) -> np.ndarray | None:
    """The bootstrap unit of every pixel of the scored patches: the labelled region (truth cell) it lies in.

    Patches split by region hold only their split's regions, and regions never touch (survey polygons are
    shrunk inward), so the connected labelled areas of a split's patches laid back on their tile are its
    regions, whole also where one spans several patches. Resampling them resamples truth cells, however
    the cells chain patches together.

    Args:
        index: the patch index (``patch_id``, ``tile``, ``row_off``, ``col_off``, ``regions``).
        patch_ids: the scored patches, in scoring order.
        labels: their (N, P, P) label arrays, in the same order (:func:`read_labels`).

    Returns:
        (N, P, P) int32 unit numbers from 0, -1 where unlabelled; None for an index without ``regions``
        (split by blocks: each patch is then its own unit).
    """
    if "regions" not in index.columns:
        return None
    rows = index.set_index("patch_id").loc[list(patch_ids)].reset_index()
    size = labels.shape[-1]
    labelled = labels != NODATA
    units = np.full(labels.shape, -1, dtype=np.int32)
    first = 0
    for _, patches in rows.groupby("tile", sort=True):
        positions = patches.index.to_numpy()
        canvas = np.zeros((patches["row_off"].max() + size, patches["col_off"].max() + size), dtype=bool)
        for i, r, c in zip(positions, patches["row_off"], patches["col_off"], strict=True):
            canvas[r : r + size, c : c + size] |= labelled[i]
        regions, count = ndimage.label(canvas)
        for i, r, c in zip(positions, patches["row_off"], patches["col_off"], strict=True):
            units[i] = np.where(labelled[i], regions[r : r + size, c : c + size] - 1 + first, -1)
        first += count
    return units
