"""Why a thaw-slump run's predicted objects outnumber the labelled ones, from its maps and labels.

For every site and labelled year with a scene, the predicted slump mask (class band of
``results/<aoi>/rts/maps/<site>/<year>.tif``) is compared with that year's outlines, objects under
``rts.min_area_m2`` dropped as in the series, and each predicted object is sorted by
:func:`permafusion.tasks.rts.objects.object_kinds`: matched, fragment, merged, spurious, mis-sized.
Prints one line per site and year, then per kind the objects' size (pixels) and mean smoothed slope
(degrees, band 3 of ``rts/terrain/<site>.tif`` where it exists) as 10th/50th/90th percentiles; last line
``objects=<json>`` with the totals.

    python benchmarks/rts_objects.py results/rts_demo --min-area-m2 1000
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import rasterio
from scipy import ndimage

from permafusion.geo.grid import GridSpec
from permafusion.tasks.rts.classes import SLUMP
from permafusion.tasks.rts.labels import read_slump_labels, site_label_raster
from permafusion.tasks.rts.objects import KINDS, label_objects, object_kinds

SMOOTHED_SLOPE_BAND = 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="the AOI's results folder, e.g. results/rts_demo")
    parser.add_argument("--labels", type=Path, help="label file (default: <run>/source/labels.gpkg)")
    parser.add_argument("--min-area-m2", type=float, default=1000.0)
    args = parser.parse_args()
    label_file = args.labels or args.run / "source" / "labels.gpkg"
    labels = read_slump_labels(label_file, aoi_bbox=[-180, -90, 180, 90])
    years = set(int(y) for y in labels["year"])
    total = dict.fromkeys(("true", "predicted", *KINDS), 0)
    traits: dict[str, list[tuple[float, float]]] = {kind: [] for kind in KINDS}
    for tif in sorted((args.run / "rts" / "maps").glob("*/*.tif")):
        site, year = tif.parent.name, int(tif.stem)
        with rasterio.open(tif) as src:
            classes = src.read(1)
            grid = GridSpec.from_transform(src.crs.to_epsg(), list(src.transform)[:6], classes.shape)
        if year not in years or not (classes > 0).any():
            continue
        min_pixels = max(1, int(np.ceil(args.min_area_m2 / grid.resolution**2)))
        truth = site_label_raster(labels, grid, year=year) == SLUMP
        kinds, objects, _ = object_kinds(truth, classes == SLUMP, min_pixels=min_pixels)
        out = {"true": label_objects(truth, min_pixels=min_pixels)[1], "predicted": len(kinds)}
        out.update({kind: int((kinds == kind).sum()) for kind in KINDS})
        print(site, year, " ".join(f"{k}={v}" for k, v in out.items()))
        for key, value in out.items():
            total[key] += value
        index = np.arange(1, len(kinds) + 1)
        sizes = np.bincount(objects.ravel(), minlength=len(kinds) + 1)[1:]
        slopes = np.full(len(kinds), np.nan)
        terrain = args.run / "rts" / "terrain" / f"{site}.tif"
        if terrain.is_file() and len(kinds):
            with rasterio.open(terrain) as src:
                slopes = np.asarray(ndimage.mean(src.read(SMOOTHED_SLOPE_BAND), objects, index))
        for kind, size, slope in zip(kinds, sizes, slopes, strict=True):
            traits[kind].append((float(size), float(slope)))
    for kind, values in traits.items():
        if values:
            size, slope = np.asarray(values).T
            print(
                f"{kind}: n={len(values)} size px p10/50/90 {np.percentile(size, [10, 50, 90]).round(0)} "
                f"mean slope deg {np.nanpercentile(slope, [10, 50, 90]).round(1)}"
            )
    print(f"objects={json.dumps(total)}")


if __name__ == "__main__":
    main()
