"""Process groups for multi-process training: under ``torchrun`` or spawned locally, NCCL or gloo.

A task's training entry point hands a function to :func:`run_in_group` (under torchrun, with the ranks
of :func:`torchrun_ranks`) or :func:`spawn` (local processes); the function gets this process's device
and runs the task's training, and :func:`permafusion.learn.loop.fit` sees the group and shards. On CUDA
there is one process per GPU with NCCL; on CPU (``device="cpu"``, or no CUDA) the backend is gloo.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

Result = TypeVar("Result")


def backend_for(device: str) -> str:
    """``"nccl"`` for CUDA training, ``"gloo"`` for CPU."""
    if device == "cpu" or (device == "auto" and not torch.cuda.is_available()):
        return "gloo"
    return "nccl"


def process_device(device: str, local_rank: int) -> str:
    """This process's device: ``cuda:<local rank>`` for CUDA training, else ``"cpu"``."""
    return "cpu" if backend_for(device) == "gloo" else f"cuda:{local_rank}"


def torchrun_ranks() -> dict[str, int]:
    """``rank``, ``world_size`` and ``local_rank`` from the variables torchrun sets.

    Raises:
        RuntimeError: when not started by torchrun (no RANK).
    """
    if "RANK" not in os.environ:
        raise RuntimeError("start it with python -m torch.distributed.run (torchrun), which sets RANK")
    return {
        "rank": int(os.environ["RANK"]),
        "world_size": int(os.environ["WORLD_SIZE"]),
        "local_rank": int(os.environ.get("LOCAL_RANK", os.environ["RANK"])),
    }


def run_in_group(
    fn: Callable[..., Result],
    *,
    rank: int,
    world_size: int,
    local_rank: int,
    init_method: str,
    device: str,
    args: tuple[Any, ...] = (),
) -> Result:
    """Call ``fn(process_device, *args)`` inside an initialised process group, then destroy the group."""
    backend = backend_for(device)
    mine = process_device(device, local_rank)
    if mine.startswith("cuda"):
        torch.cuda.set_device(torch.device(mine))
    dist.init_process_group(backend, init_method=init_method, rank=rank, world_size=world_size)
    try:
        return fn(mine, *args)
    finally:
        dist.destroy_process_group()


def _spawned(
    rank: int, fn: Callable[..., Any], world_size: int, init_method: str, device: str, args: Any
) -> None:
    run_in_group(
        fn,
        rank=rank,
        world_size=world_size,
        local_rank=rank,
        init_method=init_method,
        device=device,
        args=args,
    )


def spawn(
    fn: Callable[..., Any], *, nprocs: int, init_file: Path, device: str, args: tuple[Any, ...] = ()
) -> None:
    """Run ``fn(process_device, *args)`` in ``nprocs`` local processes of one group.

    Args:
        fn: a module-level function (it is pickled into the processes).
        nprocs: number of processes (one per GPU on CUDA).
        init_file: a path, not yet existing, for the file rendezvous of the processes.
        device: the training device setting (``"auto"``, ``"cpu"``, ``"cuda"``).
        args: further arguments of ``fn``.
    """
    init_method = Path(init_file).resolve().as_uri()
    mp.spawn(_spawned, args=(fn, nprocs, init_method, device, args), nprocs=nprocs, join=True)


def spawn_training(
    on_device: Callable[[str, dict[str, Any]], Any],
    *,
    nprocs: int,
    init_file: Path,
    train_kwargs: dict[str, Any],
) -> None:
    """A task's training in ``nprocs`` local processes: ``on_device(process_device, train_kwargs)`` in each,
    on the device of ``train_kwargs["settings"].device`` (one process per GPU on CUDA, gloo on CPU).

    Args:
        on_device: a module-level function (it is pickled into the processes).
        nprocs: number of processes; the batch size stays the global batch, split over them.
        init_file: a path, not yet existing, for the file rendezvous of the processes.
        train_kwargs: the task's training arguments, ``settings`` among them.
    """
    spawn(
        on_device,
        nprocs=nprocs,
        init_file=init_file,
        device=train_kwargs["settings"].device,
        args=(train_kwargs,),
    )


def torchrun_parser(prog: str, description: str | None) -> argparse.ArgumentParser:
    """The arguments every task's torchrun entry point takes; the task adds its data's."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--history", type=Path, required=True)
    parser.add_argument("--settings", default="{}", help="training settings as a JSON object")
    parser.add_argument("--resume", action="store_true", help="continue from the training state")
    parser.add_argument(
        "--resume-if-compatible",
        action="store_true",
        help="continue from a training state of the same settings and data; start over otherwise",
    )
    return parser


def resume_setting(args: argparse.Namespace) -> bool | str:
    """The ``resume`` of :func:`permafusion.learn.loop.fit` from :func:`torchrun_parser`'s flags."""
    return "if_compatible" if args.resume_if_compatible else bool(args.resume)


def torchrun_command(module: str, args: Sequence[str], *, nprocs: int) -> list[str]:
    """``python -m torch.distributed.run`` of ``module`` in ``nprocs`` processes on this node.

    The rendezvous is standalone (a free local port), so it works inside one scheduler allocation
    without a shared address.
    """
    if nprocs < 1:
        raise ValueError(f"torchrun needs at least 1 process, got {nprocs}")
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={nprocs}",
        "-m",
        module,
        *args,
    ]


def run_torchrun(
    module: str, args: Sequence[str], *, nprocs: int, threads_per_process: int, log: logging.Logger
) -> None:
    """Run a task's torchrun entry point (``module``) in ``nprocs`` processes, its output into ``log``.

    Args:
        module: the entry point, e.g. ``permafusion.tasks.degradation.train``.
        args: its arguments.
        nprocs: processes (one per GPU on CUDA, gloo processes on CPU).
        threads_per_process: torch CPU threads of each process (``OMP_NUM_THREADS``).
        log: where the processes' output goes, line by line.

    Raises:
        RuntimeError: when torchrun exits with an error, naming its exit status.
    """
    command = torchrun_command(module, args, nprocs=nprocs)
    env = {**os.environ, "OMP_NUM_THREADS": str(max(1, threads_per_process))}
    log.info("running %s", shlex.join(command))
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            log.info("torchrun: %s", line.rstrip())
    if process.returncode:
        raise RuntimeError(
            f"torchrun of {module} in {nprocs} processes exited with status {process.returncode}; "
            "its output is in the log above"
        )


def run_under_torchrun(
    on_device: Callable[[str, dict[str, Any]], Any],
    train_kwargs: dict[str, Any],
    *,
    parser: argparse.ArgumentParser,
) -> Any:
    """``on_device(process_device, train_kwargs)`` in the process group torchrun set up, with logging."""
    if "RANK" not in os.environ:
        parser.error("start it with python -m torch.distributed.run (torchrun), which sets RANK")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    device = train_kwargs["settings"].device
    return run_in_group(
        on_device, **torchrun_ranks(), init_method="env://", device=device, args=(train_kwargs,)
    )
