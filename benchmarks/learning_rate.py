"""The training recipe: PermaFusionNet at the paper's learning rate (1e-4) against the demo's (3e-3), on a
run's patches, same seeds and epochs (and optionally another batch size).

Trains the AOI's model settings (``train`` of the AOI's run: preset, batch, crop) once per learning rate and
seed and prints the best validation mean F1 with its epoch and the test mean F1 of that checkpoint; last
line ``lr=<lr> batch=<b> val_mf1=<mean> test_mf1=<mean>`` per learning rate, averaged over the seeds.

    python benchmarks/learning_rate.py results/demo_experiment --epochs 20 --seeds 0 1
    python benchmarks/learning_rate.py results/demo_experiment --rates 3e-3 --batch-size 4 --seeds 0 1 2 3 4
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from permafusion.tasks.degradation.evaluate import evaluate
from permafusion.tasks.degradation.train import TrainSettings, train_model

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="the AOI's results folder, e.g. results/demo_experiment")
    parser.add_argument("--aoi", help="AOI file name (default: the run folder's name)")
    parser.add_argument("--rates", type=float, nargs="+", default=[1e-4, 3e-3])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--batch-size", type=int, help="patches per step (default: the AOI's)")
    args = parser.parse_args()
    aoi = yaml.safe_load((REPO / "config" / "aois" / f"{args.aoi or args.run.name}.yaml").read_text())
    patches, index = args.run / "patches" / "patches.zarr", args.run / "patches" / "index.csv"
    logging.basicConfig(level=logging.WARNING)
    recipe = {**aoi.get("train", {}), "epochs": args.epochs}
    if args.batch_size:
        recipe["batch_size"] = args.batch_size
    summary = []
    for rate in args.rates:
        val, test = [], []
        for seed in args.seeds:
            settings = TrainSettings.from_mapping({**recipe, "learning_rate": rate, "seed": seed})
            with tempfile.TemporaryDirectory() as folder:
                files = {"checkpoint": Path(folder) / "model.pt", "history": Path(folder) / "history.csv"}
                train_model(patches=patches, index=index, settings=settings, **files)
                history = pd.read_csv(files["history"])
                best = history.loc[history["val_mean_f1"].idxmax()]
                scores = evaluate(checkpoint=files["checkpoint"], patches=patches, index=index, n_boot=1)
            val.append(float(best["val_mean_f1"]))
            test.append(float(scores["model"]["mean_f1"]))
            print(f"lr {rate:g} batch {settings.batch_size} seed {seed}: best val mF1 {val[-1]:.3f} "
                  f"(epoch {int(best['epoch'])}), test mF1 {test[-1]:.3f}", flush=True)  # fmt: skip
        summary.append(
            f"lr={rate:g} batch={settings.batch_size} val_mf1={np.mean(val):.3f} test_mf1={np.mean(test):.3f}"
        )
    print("\n".join(summary))


if __name__ == "__main__":
    main()
