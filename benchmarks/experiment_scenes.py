"""Tables 2-3 of the degradation comparison over several scenes of the demo generator and their training
seeds: the experiment preset run once per scene seed, then pooled.

Each scene runs ``snakemake --cores <cores> tables --config aoi=<aoi> demo_seed=<scene>
results=<results>/scene<scene>`` (a finished scene is not run again: Snakemake finds nothing to do), then
``table2_scenes.md`` and ``table3_scenes.md`` are written to ``<results>/`` and printed, with the wall time
of each scene's run and a last line ``paper_order=<json>`` (:func:`permafusion.tasks.degradation.scene_tables.
paper_order`).

    python benchmarks/experiment_scenes.py --scenes 11 12 --results results/scenes
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from permafusion.tasks.degradation.scene_tables import write_scene_tables

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, nargs="+", default=[11, 12], help="demo_seed of each scene")
    parser.add_argument("--aoi", default="demo_experiment", help="a synthetic AOI with `experiments.seeds`")
    parser.add_argument("--results", type=Path, default=REPO / "results" / "scenes")
    parser.add_argument("--cores", default="all")
    args = parser.parse_args()
    results = args.results.resolve()
    folders = {}
    for scene in args.scenes:
        run = results / f"scene{scene}"
        command = [
            sys.executable, "-m", "snakemake", "--cores", str(args.cores), "tables",
            "--config", f"aoi={args.aoi}", f"demo_seed={scene}", f"results={run}",
        ]  # fmt: skip
        start = time.perf_counter()
        subprocess.run(command, cwd=REPO, check=True)
        print(f"scene {scene}: {time.perf_counter() - start:.0f} s wall time", flush=True)
        folders[str(scene)] = run / args.aoi / "tables"
    order = write_scene_tables(folders, results)
    for name in ("table2_scenes.md", "table3_scenes.md"):
        print((results / name).read_text())
    print(f"paper_order={json.dumps(order)}")


if __name__ == "__main__":
    main()
