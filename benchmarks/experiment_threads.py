"""Threads per training in the comparison: N trainings one after another with all cores each, against the
same N trainings side by side with one thread each, on a run's patches.

The comparison (`snakemake --cores all tables`) trains many small networks (every method x five seeds); on
CPU the question is whether a training should take all cores or one. Both arms train the AOI's
``train`` settings for ``--model`` with seeds ``0 .. N-1`` (N = ``--cores``, default: all cores), the same
epochs, and score each checkpoint's test mean F1; the arms differ only in the thread count, so the scores
also show how much thread count alone moves a training's result. The scoring after each training runs
with torch's default threads in both arms, so side by side it competes for the cores: the speedup is a
lower bound of the pipeline's, whose scoring jobs take ``experiments.threads`` too. Last line
``speedup=<sequential seconds / side-by-side seconds>``.

    python benchmarks/experiment_threads.py results/demo_experiment --epochs 4
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from permafusion.tasks.degradation.evaluate import evaluate
from permafusion.tasks.degradation.train import TrainSettings, train_model

REPO = Path(__file__).resolve().parents[1]


def train_and_score(run: Path, mapping: dict[str, Any]) -> float:
    """Train one network with ``mapping`` as settings; its test mean F1."""
    logging.basicConfig(level=logging.WARNING)
    patches, index = run / "patches" / "patches.zarr", run / "patches" / "index.csv"
    settings = TrainSettings.from_mapping(mapping)
    with tempfile.TemporaryDirectory() as folder:
        files = {"checkpoint": Path(folder) / "model.pt", "history": Path(folder) / "history.csv"}
        train_model(patches=patches, index=index, settings=settings, **files)
        scores = evaluate(checkpoint=files["checkpoint"], patches=patches, index=index, n_boot=1)
    return float(scores["model"]["mean_f1"])


def timed_arm(run: Path, mappings: list[dict[str, Any]], *, side_by_side: bool) -> tuple[float, list[float]]:
    """Wall seconds and test mean F1s of the trainings, one process each, all at once or one at a time."""
    start = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with context.Pool(len(mappings) if side_by_side else 1) as pool:
        scores = pool.starmap(train_and_score, [(run, m) for m in mappings])
    return time.perf_counter() - start, scores


def fmt(scores: list[float]) -> str:
    """Scores to three decimals, space-separated."""
    return " ".join(f"{s:.3f}" for s in scores)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="the AOI's results folder, e.g. results/demo_experiment")
    parser.add_argument("--aoi", help="AOI file name (default: the run folder's name)")
    parser.add_argument("--model", default="permafusionnet")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    aoi = yaml.safe_load((REPO / "config" / "aois" / f"{args.aoi or args.run.name}.yaml").read_text())
    base = {**aoi.get("train", {}), "model": args.model, "epochs": args.epochs}
    seeds = range(args.cores)
    sequential, sequential_scores = timed_arm(
        args.run, [{**base, "seed": s, "threads": args.cores} for s in seeds], side_by_side=False
    )
    parallel, parallel_scores = timed_arm(
        args.run, [{**base, "seed": s, "threads": 1} for s in seeds], side_by_side=True
    )
    print(f"{args.model}, {args.epochs} epochs, seeds 0-{args.cores - 1}")
    print(f"one at a time, {args.cores} threads each: {sequential:.0f} s, test mF1 {fmt(sequential_scores)}")
    print(f"side by side, 1 thread each: {parallel:.0f} s, test mF1 {fmt(parallel_scores)}")
    print(f"speedup={sequential / parallel:.2f}")


if __name__ == "__main__":
    main()
