"""Training patches: 128x128 windows x 12 monthly steps, split train/validation/test by labelled region.

Neighbouring patches share texture and often the same ground-truth polygon, so a random per-patch split
leaks. By default (``split_unit: cell``) every labelled region (a survey polygon) goes whole to one split
and a patch keeps only its split's labels, so no polygon is scored in a split it was trained in; with
``split_unit: block`` blocks of ``block`` x ``block`` patches go whole to one split.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import rasterio
from scipy import ndimage

from permafusion.core.classes import NODATA
from permafusion.core.files import atomic_write, write_csv
from permafusion.learn.splits import SPLITS, assign_regions, assign_splits
from permafusion.series.gaps import GapFill, fill_gaps
from permafusion.series.stack import latest_months, per_tile
from permafusion.tasks.degradation.classes import DEGRADATION
from permafusion.tasks.degradation.patch_store import PatchArrays, PatchStoreWriter

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class PatchSettings:
    """How patches are cut and split.

    Args:
        size: patch side in pixels.
        stride: step between patch origins (size = no overlap).
        time_steps: monthly steps per patch.
        step_months: months between consecutive steps, counted back from the period's last month
            (:func:`permafusion.series.stack.model_months`).
        min_labeled_fraction: patches with fewer labeled pixels are dropped.
        block: split unit of ``split_unit="block"``, in patches per side.
        fractions: share of patches (``block``) or labelled pixels (``cell``) per split.
        seed: seed of the shuffle.
        split_unit: ``"cell"``: every labelled region (a connected component of labelled pixels: one
            survey polygon, or touching polygons together) goes whole to one split, and a patch keeps only
            the labels of its split's regions, so no labelled region is seen in two splits; a window that
            holds regions of several splits gives one patch per split. ``"block"``: blocks of ``block`` x
            ``block`` patches go whole to one split with all their labels (a region crossing a block edge
            is then labelled in two splits).
    """

    size: int = 128
    stride: int = 128
    time_steps: int = 12
    step_months: int = 1
    min_labeled_fraction: float = 0.05
    block: int = 2
    fractions: Mapping[str, float] = field(default_factory=lambda: {"train": 0.6, "val": 0.2, "test": 0.2})
    seed: int = 0
    split_unit: Literal["cell", "block"] = "cell"

    def __post_init__(self) -> None:
        if self.split_unit not in ("cell", "block"):
            raise ValueError(f"patches.split_unit={self.split_unit!r} must be 'cell' or 'block'")
        if self.size % 16:
            raise ValueError(f"patches.size={self.size} must be a multiple of 16 (four 2x2 poolings)")
        if not 0 < self.stride <= self.size:
            raise ValueError(f"patches.stride={self.stride} must be in 1..size")
        if set(self.fractions) != set(SPLITS) or abs(sum(self.fractions.values()) - 1) > 1e-6:
            raise ValueError(
                f"patches.fractions {dict(self.fractions)} must give train, val, test summing to 1"
            )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> PatchSettings:
        return cls(**dict(values))


def patch_windows(shape: tuple[int, int], *, size: int, stride: int) -> list[tuple[int, int]]:
    """Origins (row, col) of every whole window of ``size`` inside ``shape``, row-major."""
    height, width = shape
    return [(r, c) for r in range(0, height - size + 1, stride) for c in range(0, width - size + 1, stride)]


@dataclass(frozen=True)
class TileSource:
    """One tile's inputs to patch cutting, as arrays (or lazy arrays) with .shape and slicing."""

    name: str
    sar: Any  # (T, 2, H, W) dB
    optical: Any  # (T, 6, H, W) reflectance
    label: np.ndarray  # (H, W) codes 0..4


def _class_counts(label: np.ndarray) -> dict[int, int]:
    return {code: int((label == code).sum()) for code in DEGRADATION.codes}


def labelled_regions(label: np.ndarray) -> np.ndarray:
    """Connected labelled regions of a label raster (4-connected, labelled pixels only): int32 ids from 1,
    0 where unlabelled. Survey polygons shrunk inward are separate regions; touching ones merge."""
    regions, _ = ndimage.label((label > 0) & (label <= DEGRADATION.num_classes))
    return regions.astype(np.int32)


def _region_splits(tiles: Sequence[TileSource], settings: PatchSettings) -> dict[str, str]:
    """The split of every labelled region of every tile, stratified by class, weighted by pixels."""
    keys, classes, sizes = [], [], []
    for tile in tiles:
        regions = labelled_regions(tile.label)
        ids = regions.ravel()
        codes = tile.label.ravel()
        for rid in np.unique(ids[ids > 0]):
            inside = ids == rid
            counts = np.bincount(codes[inside], minlength=DEGRADATION.num_classes + 1)
            keys.append(f"{tile.name}:{int(rid)}")
            classes.append(int(counts[1:].argmax()) + 1)
            sizes.append(int(inside.sum()))
    if not keys:
        return {}
    return assign_splits(keys, settings.fractions, seed=settings.seed, strata=classes, weights=sizes)


def _patch_row(tile: str, row_off: int, col_off: int, window: np.ndarray, **extra: Any) -> dict[str, Any]:
    counts = _class_counts(window)
    return {
        "tile": tile,
        "row_off": row_off,
        "col_off": col_off,
        **extra,
        "labeled_fraction": sum(counts.values()) / window.size,
        "dominant_class": max(counts, key=lambda code: counts[code]),
        **{f"pixels_class_{code}": counts[code] for code in DEGRADATION.codes},
    }


def index_patches(tiles: Sequence[TileSource], settings: PatchSettings) -> pd.DataFrame:
    """One row per kept patch: where it is, what it holds, which split it belongs to.

    With ``split_unit="cell"`` the row's ``regions`` column lists the labelled regions (ids of
    :func:`labelled_regions` in its tile, ``;``-separated) whose labels the patch keeps.
    """
    rows = []
    size, minimum = settings.size, settings.min_labeled_fraction * settings.size**2
    region_split = _region_splits(tiles, settings) if settings.split_unit == "cell" else {}
    for tile in tiles:
        regions = labelled_regions(tile.label) if settings.split_unit == "cell" else None
        for row_off, col_off in patch_windows(tile.label.shape, size=size, stride=settings.stride):
            window = tile.label[row_off : row_off + size, col_off : col_off + size]
            if regions is None:
                if sum(_class_counts(window).values()) < minimum:
                    continue
                span = size * settings.block
                block = f"{tile.name}/{row_off // span}/{col_off // span}"
                rows.append(_patch_row(tile.name, row_off, col_off, window, block=block))
                continue
            ids = regions[row_off : row_off + size, col_off : col_off + size]
            present = [int(r) for r in np.unique(ids[ids > 0])]
            for split in SPLITS:
                keep = [r for r in present if region_split[f"{tile.name}:{r}"] == split]
                masked = np.where(np.isin(ids, keep), window, NODATA)
                if sum(_class_counts(masked).values()) < minimum:
                    continue
                extra = {"split": split, "regions": ";".join(str(r) for r in keep)}
                rows.append(_patch_row(tile.name, row_off, col_off, masked, **extra))
    index = pd.DataFrame(rows)
    if index.empty:
        raise ValueError(
            f"no {settings.size}x{settings.size} patch has {settings.min_labeled_fraction:.0%} labeled "
            "pixels: "
            "check that the label polygons overlap the AOI, or lower `patches.min_labeled_fraction`"
        )
    if settings.split_unit == "block":
        splits = assign_splits(
            index["block"], settings.fractions, seed=settings.seed, strata=index["dominant_class"]
        )
        index["split"] = index["block"].map(splits)
    index.insert(0, "patch_id", range(len(index)))
    return index


def dataset_table(index: pd.DataFrame) -> pd.DataFrame:
    """Patches per class (dominant labeled class) and split, with totals: the paper's Table 1."""
    table = pd.crosstab(index["dominant_class"], index["split"]).reindex(
        index=list(DEGRADATION.codes), columns=list(SPLITS), fill_value=0
    )
    table["total"] = table.sum(axis=1)
    table.loc["total"] = table.sum(axis=0)
    table.insert(0, "class", [DEGRADATION.names.get(code, "total") for code in table.index])  # type: ignore[call-overload]
    table.index.name = "class_code"
    return table.reset_index()


def write_patches(
    tiles: Sequence[TileSource],
    index: pd.DataFrame,
    store: str | Path,
    settings: PatchSettings,
    *,
    gap_fill: Mapping[str, GapFill] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Cut every indexed patch out of its tile and write it to the Zarr store.

    Args:
        gap_fill: temporal filling of unobserved months per sensor ("sar", "optical"); None fills nothing.
            Filling is per pixel along time, so doing it window by window gives the same values as
            doing it on the whole tile.
    """
    fill = {"sar": "none", "optical": "none", **(gap_fill or {})}

    def window(values: Any, rows: slice, cols: slice, method: GapFill) -> np.ndarray:
        array = np.asarray(values[:, :, rows, cols], dtype=np.float32)
        observed = np.asarray(np.isfinite(array).all(axis=1))
        return fill_gaps(array, observed, method)[0]

    by_name = {tile.name: tile for tile in tiles}
    regions = (
        {tile.name: labelled_regions(tile.label) for tile in tiles} if "regions" in index.columns else {}
    )
    writer = PatchStoreWriter(
        store,
        count=len(index),
        time_steps=settings.time_steps,
        step_months=settings.step_months,
        patch_size=settings.size,
    )
    size = settings.size
    for position, row in enumerate(index.itertuples()):
        tile = by_name[row.tile]
        rows = slice(row.row_off, row.row_off + size)
        cols = slice(row.col_off, row.col_off + size)
        label = tile.label[rows, cols].copy()
        label[label > DEGRADATION.num_classes] = NODATA
        if regions:  # split by labelled region: only this patch's regions keep their labels
            keep = [int(r) for r in str(row.regions).split(";") if r not in ("", "nan")]
            label[~np.isin(regions[row.tile][rows, cols], keep)] = NODATA
        writer.write(
            row.patch_id,
            PatchArrays(
                sar=window(tile.sar, rows, cols, fill["sar"]),
                optical=window(tile.optical, rows, cols, fill["optical"]),
                label=label,
            ),
        )
        if progress is not None:
            progress(position + 1, len(index))


def build_patch_set(
    *,
    tiles: Sequence[str],
    sar: Sequence[str | Path],
    optical: Sequence[str | Path],
    labels: Sequence[str | Path],
    settings: PatchSettings,
    gap_fill: Mapping[str, GapFill] | None,
    regions: Mapping[str, Sequence[float]] | None,
    store: str | Path,
    index_path: str | Path,
    table_path: str | Path,
    log: logging.Logger = LOG,
) -> pd.DataFrame:
    """The whole patch step of an AOI: cut, split, store the patches and write the index and Table 1.

    Args:
        tiles: tile names, in the order of the label rasters.
        sar: every tile's monthly SAR stores, tile after tile (see :func:`permafusion.series.stack.per_tile`).
        optical: the same for optical.
        labels: one label raster per tile.
        settings: how patches are cut and split.
        gap_fill: temporal filling per sensor ("sar", "optical").
        regions: named regions (name -> west, south, east, north in degrees) for leave-one-region-out;
            the index gets a ``region`` column when given.
        store: the Zarr patch store, written atomically.
        index_path: the patch index CSV.
        table_path: Table 1 as CSV.
        log: where progress goes.

    Returns:
        The patch index.
    """
    sar_by_tile, optical_by_tile = per_tile(sar, tiles), per_tile(optical, tiles)
    sources, grids = [], {}
    for name, label_path in zip(tiles, labels, strict=True):
        with rasterio.open(label_path) as dataset:
            label = dataset.read(1)
            grids[name] = (dataset.crs, dataset.transform)
        sources.append(
            TileSource(
                name,
                latest_months(
                    sar_by_tile[name], "sar", steps=settings.time_steps, every=settings.step_months
                ),
                latest_months(
                    optical_by_tile[name], "optical", steps=settings.time_steps, every=settings.step_months
                ),
                label,
            )
        )
    index = index_patches(sources, settings)
    log.info("%d patches: %s", len(index), index["split"].value_counts().to_dict())
    if regions:
        index["region"] = assign_regions(index, tile_grids=grids, regions=regions, patch_size=settings.size)
        log.info("patches per region: %s", index["region"].value_counts().to_dict())

    def progress(done: int, total: int) -> None:
        if done % 50 == 0 or done == total:
            log.info("patches written: %d/%d", done, total)

    with atomic_write(store) as tmp:
        write_patches(sources, index, tmp, settings, gap_fill=gap_fill, progress=progress)
    write_csv(index, index_path)
    table = dataset_table(index)
    write_csv(table, table_path)
    log.info("dataset table (patches per dominant class and split):\n%s", table.to_string(index=False))
    return index
