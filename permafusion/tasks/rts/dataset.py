"""The task's dataset: every labelled (site, year) image cut into tiles, with site, year and role.

One ``.npz`` holds all tiles of all labelled images (inputs in the stored channel order, label codes,
site, year, tile origin, whether the image is its site's test image). Models choose their channels, their
training sites and their undersampling from it, so the primary model and the leave-one-site-out folds
read one file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np

from permafusion.core.files import write_npz
from permafusion.tasks.rts.labels import label_years as label_years_by_site
from permafusion.tasks.rts.labels import site_label_raster
from permafusion.tasks.rts.scenes import BANDS
from permafusion.tasks.rts.stack import read_site_image
from permafusion.tasks.rts.tiles import Tiles, cut_tiles

#: All channels a site image stack holds, in order: Sentinel-2 B02 B03 B04 B08 (reflectance) and slope.
ALL_CHANNELS: tuple[str, ...] = (*BANDS, "slope")


#: The per-tile arrays a tile set stores, beside its channel names.
_ARRAYS = ("x", "y", "site", "year", "row", "col", "test")


@dataclass(frozen=True)
class TileSet:
    """All tiles: x (N, C, S, S) float32, y (N, S, S) uint8, per-tile site, year, origin and test flag."""

    x: np.ndarray
    y: np.ndarray
    site: np.ndarray
    year: np.ndarray
    row: np.ndarray
    col: np.ndarray
    test: np.ndarray
    channels: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.y)

    @property
    def positive(self) -> np.ndarray:
        return (self.y == 2).reshape(len(self.y), -1).any(axis=1)

    def channel_index(self, names: Sequence[str]) -> list[int]:
        """Positions of ``names`` among the stored channels.

        Raises:
            ValueError: a channel that the dataset does not hold.
        """
        missing = [n for n in names if n not in self.channels]
        if missing:
            raise ValueError(
                f"input channels {missing} are not in the dataset (it holds {list(self.channels)}): "
                "fix `rts.channels`"
            )
        return [self.channels.index(n) for n in names]

    def save(self, path: str | Path) -> None:
        arrays = {name: getattr(self, name) for name in _ARRAYS}
        write_npz({**arrays, "channels": np.asarray(self.channels)}, path)

    @classmethod
    def load(cls, path: str | Path) -> TileSet:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in _ARRAYS}
            arrays["site"] = arrays["site"].astype(str)
            return cls(**arrays, channels=tuple(str(c) for c in data["channels"]))


def build_tileset(
    *,
    sites: dict[str, dict[str, Any]],
    labels: gpd.GeoDataFrame,
    label_years: Sequence[int] | None,
    test_year: int | None,
    tile_size: int,
    min_valid: float,
    label_file: str = "labels",
) -> tuple[TileSet, dict[str, Any]]:
    """Tiles of every labelled (site, year) image that has a scene, and a description of the images.

    Args:
        sites: site -> ``{"grid": GridSpec, "bbox": [...], "terrain": path or None,
            "scenes": {year: (tif, json)}}``.
        labels: dated polygons (:func:`permafusion.tasks.rts.labels.read_slump_labels`).
        label_years: years whose labels are used (None: every year of the label file).
        test_year: the held-out image's year for every site (None: each site's last labelled year
            with a scene).
        tile_size, min_valid: tiling (:func:`permafusion.tasks.rts.tiles.cut_tiles`).
        label_file: named in errors.

    Raises:
        ValueError: no labelled image, or no slump pixel in any of them.
    """
    years_of = label_years_by_site(labels, {name: s["bbox"] for name, s in sites.items()})
    parts: list[tuple[str, int, Tiles, bool]] = []
    described: dict[str, Any] = {}
    for name, site in sites.items():
        usable = []
        for year in years_of[name]:
            if label_years is not None and year not in label_years:
                continue
            info = json.loads(Path(site["scenes"][year][1]).read_text()) if year in site["scenes"] else None
            if info is not None and info["status"] == "ok":
                usable.append(year)
        test = test_year if test_year in usable else (usable[-1] if usable and test_year is None else None)
        described[name] = {"label_years": usable, "test_year": test}
        for year in usable:
            image = read_site_image(
                site["scenes"][year][0], site["terrain"], ALL_CHANNELS if site["terrain"] else BANDS
            )
            if site["terrain"] is None:  # no DEM: a NaN-free zero slope keeps the channel order
                image = np.concatenate([image, np.zeros_like(image[:1])])
            raster = site_label_raster(labels, site["grid"], year=year)
            parts.append(
                (name, year, cut_tiles(image, raster, size=tile_size, min_valid=min_valid), year == test)
            )
    if not parts:
        raise ValueError(
            f"no labelled image: the label file {label_file} has years {sorted(set(labels['year']))} and no "
            "site has a usable scene in them; check `rts.label_years`, the label file's years, and the "
            "scenes' cloud limit"
        )
    tileset = TileSet(
        x=np.concatenate([t.x for _, _, t, _ in parts]),
        y=np.concatenate([t.y for _, _, t, _ in parts]),
        site=np.concatenate([np.full(len(t.y), s) for s, _, t, _ in parts]),
        year=np.concatenate([np.full(len(t.y), y, np.int64) for _, y, t, _ in parts]),
        row=np.concatenate([t.rows for _, _, t, _ in parts]),
        col=np.concatenate([t.cols for _, _, t, _ in parts]),
        test=np.concatenate([np.full(len(t.y), f) for _, _, t, f in parts]),
        channels=ALL_CHANNELS,
    )
    if not tileset.positive.any():
        raise ValueError(
            f"no tile of the labelled images holds a slump pixel: the positive set is empty. Check that the "
            f"polygons of {label_file} lie in the sites and years with scenes"
        )
    return tileset, described
