"""Multi-process training with DistributedDataParallel: a torchrun entry point and a spawn helper.

On GPUs, one process per GPU with NCCL::

    python -m torch.distributed.run --nproc_per_node=2 -m permafusion.learn.distributed \\
        --patches patches.zarr --index index.csv --checkpoint model.pt --history history.csv \\
        --settings '{"preset": "small", "epochs": 100}' --resume

On CPU (``"device": "cpu"`` in the settings, or no CUDA) the backend is gloo. :func:`train_model` does the
sharding; only rank 0 writes the checkpoint, the training state and the history.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from permafusion.tasks.degradation.train import TrainSettings, train_model

LOG = logging.getLogger(__name__)


def backend_for(device: str) -> str:
    """``"nccl"`` for CUDA training, ``"gloo"`` for CPU."""
    if device == "cpu" or (device == "auto" and not torch.cuda.is_available()):
        return "gloo"
    return "nccl"


def process_device(device: str, local_rank: int) -> str:
    """This process's device: ``cuda:<local rank>`` for CUDA training, else ``"cpu"``."""
    return "cpu" if backend_for(device) == "gloo" else f"cuda:{local_rank}"


def _train_in_group(
    rank: int,
    world_size: int,
    local_rank: int,
    init_method: str,
    train_kwargs: dict[str, Any],
) -> dict[str, Any]:
    settings: TrainSettings = train_kwargs["settings"]
    backend = backend_for(settings.device)
    device = process_device(settings.device, local_rank)
    if device.startswith("cuda"):
        torch.cuda.set_device(torch.device(device))
    dist.init_process_group(backend, init_method=init_method, rank=rank, world_size=world_size)
    try:
        settings = TrainSettings.from_mapping({**settings.to_dict(), "device": device})
        return train_model(**{**train_kwargs, "settings": settings})
    finally:
        dist.destroy_process_group()


def _spawned(rank: int, world_size: int, init_method: str, train_kwargs: dict[str, Any]) -> None:
    _train_in_group(rank, world_size, rank, init_method, train_kwargs)


def spawn_training(*, nprocs: int, init_file: Path, **train_kwargs: Any) -> None:
    """Run :func:`train_model` in ``nprocs`` local processes (``torch.multiprocessing.spawn``).

    Args:
        nprocs: number of processes (one per GPU on CUDA).
        init_file: a path, not yet existing, for the file rendezvous of the processes.
        **train_kwargs: the keyword arguments of :func:`train_model`.
    """
    init_method = Path(init_file).resolve().as_uri()
    mp.spawn(_spawned, args=(nprocs, init_method, train_kwargs), nprocs=nprocs, join=True)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point under ``torchrun`` (reads RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT)."""
    parser = argparse.ArgumentParser(prog="python -m permafusion.learn.distributed", description=__doc__)
    parser.add_argument("--patches", type=Path, required=True)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--history", type=Path, required=True)
    parser.add_argument("--settings", default="{}", help="training settings as a JSON object")
    parser.add_argument("--resume", action="store_true", help="continue from the training state")
    args = parser.parse_args(argv)
    if "RANK" not in os.environ:
        parser.error("start it with python -m torch.distributed.run (torchrun), which sets RANK")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = TrainSettings.from_mapping(json.loads(args.settings))
    _train_in_group(
        int(os.environ["RANK"]),
        int(os.environ["WORLD_SIZE"]),
        int(os.environ.get("LOCAL_RANK", os.environ["RANK"])),
        "env://",
        {
            "patches": args.patches,
            "index": args.index,
            "checkpoint": args.checkpoint,
            "history": args.history,
            "settings": settings,
            "resume": args.resume,
            "log": LOG,
        },
    )


if __name__ == "__main__":
    main()
