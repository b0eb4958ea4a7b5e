"""Why a thaw-slump run's predicted objects outnumber the labelled ones, from its maps and labels.

For every site and labelled year with a scene, the predicted slump mask (class band of
``results/<aoi>/rts/maps/<site>/<year>.tif``) is compared with that year's outlines, objects under
``rts.min_area_m2`` dropped as in the series, and each predicted object is sorted by
:func:`permafusion.tasks.rts.objects.object_breakdown`: matched, fragment, merged, spurious, mis-sized.
Prints one line per site and year, then the totals; last line ``objects=<json>``.

    python benchmarks/rts_objects.py results/rts_demo --min-area-m2 1000
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import rasterio

from permafusion.geo.grid import GridSpec
from permafusion.tasks.rts.classes import SLUMP
from permafusion.tasks.rts.labels import read_slump_labels, site_label_raster
from permafusion.tasks.rts.objects import label_objects, object_breakdown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="the AOI's results folder, e.g. results/rts_demo")
    parser.add_argument("--labels", type=Path, help="label file (default: <run>/source/labels.gpkg)")
    parser.add_argument("--min-area-m2", type=float, default=1000.0)
    args = parser.parse_args()
    label_file = args.labels or args.run / "source" / "labels.gpkg"
    labels = read_slump_labels(label_file, aoi_bbox=[-180, -90, 180, 90])
    years = set(int(y) for y in labels["year"])
    total: dict[str, int] = {}
    for tif in sorted((args.run / "rts" / "maps").glob("*/*.tif")):
        site, year = tif.parent.name, int(tif.stem)
        with rasterio.open(tif) as src:
            classes = src.read(1)
            grid = GridSpec.from_transform(src.crs.to_epsg(), list(src.transform)[:6], classes.shape)
        if year not in years or not (classes > 0).any():
            continue
        min_pixels = max(1, int(np.ceil(args.min_area_m2 / grid.resolution**2)))
        truth = site_label_raster(labels, grid, year=year) == SLUMP
        out = object_breakdown(truth, classes == SLUMP, min_pixels=min_pixels)
        out["true"] = label_objects(truth, min_pixels=min_pixels)[1]  # as the series counts them
        print(site, year, " ".join(f"{k}={v}" for k, v in out.items()))
        for key, value in out.items():
            total[key] = total.get(key, 0) + value
    print(f"objects={json.dumps(total)}")


if __name__ == "__main__":
    main()
