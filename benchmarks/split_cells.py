"""How many labelled cells of each class a synthetic AOI's split puts in train, val and test, before any
imagery is made: the scene and its label polygons are generated as the demo generator does, and the
polygons are dealt out as ``patches.split_unit: cell`` deals labelled regions (stratified by class,
weighted by area; a shrunk polygon is one region).

    python benchmarks/split_cells.py config/aois/demo_experiment.yaml
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path

import yaml

from permafusion.demo.generate import _LABELS, _SCENE, _rng, _years_before
from permafusion.demo.labels import label_polygons
from permafusion.demo.scene import build_scene
from permafusion.geo.tiles import map_grid, processing_tiles
from permafusion.learn.splits import SPLITS, assign_splits


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("aoi", type=Path, help="a synthetic AOI file (with a `demo` section)")
    parser.add_argument("--tile-size-px", type=int, default=10240)
    args = parser.parse_args()
    aoi = yaml.safe_load(args.aoi.read_text())
    demo = aoi.get("demo", {})
    fractions = {"train": 0.6, "val": 0.2, "test": 0.2, **aoi.get("patches", {}).get("fractions", {})}
    bbox = tuple(aoi["bbox"])
    grid = map_grid(processing_tiles(bbox, tile_size_px=args.tile_size_px), bbox)
    seed = int(demo.get("seed", 42))
    scene = build_scene(
        grid=grid,
        start=_years_before(aoi["start"], int(demo.get("history_years", 4))),
        end=aoi["end"],
        rng=_rng(seed, _SCENE),
        cell_size_m=float(demo.get("cell_size_m", 1500.0)),
    )
    labels = label_polygons(
        scene, grid, _rng(seed, _LABELS), labeled_fraction=float(demo.get("labeled_fraction", 0.7))
    ).to_crs(grid.crs)
    codes = labels["class_code"].to_numpy()
    keys = [str(i) for i in range(len(labels))]
    seed_split = int(aoi.get("patches", {}).get("seed", 0))
    split = assign_splits(keys, fractions, seed=seed_split, strata=codes, weights=labels.geometry.area)
    counts = collections.Counter((int(code), split[key]) for code, key in zip(codes, keys, strict=True))
    for code in sorted(set(codes)):
        print(f"class {code}: " + ", ".join(f"{s} {counts[(int(code), s)]}" for s in SPLITS))
    print("test_cells_min=" + str(min(counts[(int(c), "test")] for c in set(codes))))


if __name__ == "__main__":
    main()
