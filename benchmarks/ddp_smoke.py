"""A DistributedDataParallel smoke run of the degradation task under torchrun: NCCL on GPUs, gloo on CPU.

Trains the small PermaFusionNet for 2 epochs on synthetic in-memory patches through the engine's loop in
every process of the group, and (rank 0) writes the checkpoint and a JSON summary: world size, backend,
device, seconds, whether the checkpoint reloads. No patch store or geospatial package is needed.

    python -m torch.distributed.run --nproc_per_node=1 benchmarks/ddp_smoke.py --out OUTDIR   # 1 GPU, NCCL
    python -m torch.distributed.run --nproc_per_node=2 benchmarks/ddp_smoke.py --out OUTDIR --device cpu
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from permafusion.learn.distributed import backend_for, run_in_group, torchrun_ranks
from permafusion.learn.loop import RunFiles, fit
from permafusion.tasks.degradation.patch_store import PatchArrays
from permafusion.tasks.degradation.predict import load_model
from permafusion.tasks.degradation.train import DegradationTask, TrainSettings


def synthetic_patches(n: int, *, seed: int, size: int = 32, steps: int = 4) -> PatchArrays:
    """Patches whose class (a quadrant pattern) shows in both sensors' levels, so training has a signal."""
    rng = np.random.default_rng(seed)
    label = np.ones((n, size, size), dtype=np.uint8)
    for i in range(n):
        code = rng.integers(1, 5, size=4)
        half = size // 2
        label[i, :half, :half], label[i, :half, half:] = code[0], code[1]
        label[i, half:, :half], label[i, half:, half:] = code[2], code[3]
    level = label.astype(np.float32)[:, None, None]
    sar = rng.normal(-15, 1, (n, steps, 2, size, size)).astype(np.float32) + 2 * level
    optical = rng.normal(0.1, 0.02, (n, steps, 6, size, size)).astype(np.float32) + 0.05 * level
    return PatchArrays(sar=sar, optical=optical, label=label)


def train_in_group(device: str, out: Path, precision: str) -> dict[str, Any]:
    settings = TrainSettings.from_mapping(
        {"preset": "small", "epochs": 2, "batch_size": 8, "device": device, "precision": precision}
    )
    task = DegradationTask(
        settings=settings,
        train=synthetic_patches(32, seed=0),
        val=synthetic_patches(8, seed=1),
        data_files=[],
    )
    files = RunFiles(checkpoint=out / "ddp_checkpoint.pt", history=out / "ddp_history.csv")
    start = time.perf_counter()
    result = fit(task, settings=settings, files=files, identity=settings.to_dict())
    return {**result, "seconds": time.perf_counter() - start, "checkpoint": str(files.checkpoint)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, required=True, help="folder for the checkpoint and ddp_smoke.json"
    )
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda")
    parser.add_argument("--precision", default="auto", help="auto, fp32 or bf16")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    ranks = torchrun_ranks()
    args.out.mkdir(parents=True, exist_ok=True)
    result = run_in_group(
        train_in_group, **ranks, init_method="env://", device=args.device, args=(args.out, args.precision)
    )
    if ranks["rank"] == 0:
        model, _ = load_model(result["checkpoint"])
        payload = torch.load(result["checkpoint"], map_location="cpu", weights_only=True)
        summary = {
            "benchmark": "ddp_smoke",
            "world_size": ranks["world_size"],
            "backend": backend_for(args.device),
            "device": args.device,
            "cuda": torch.cuda.is_available(),
            "precision": args.precision,
            "processes_in_checkpoint": payload["processes"],
            "best_epoch": result["best_epoch"],
            "val_mean_f1": result["val_metrics"]["mean_f1"],
            "seconds": result["seconds"],
            "checkpoint_reloads": not model.training,
        }
        (args.out / "ddp_smoke.json").write_text(json.dumps(summary, indent=2) + "\n")
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
