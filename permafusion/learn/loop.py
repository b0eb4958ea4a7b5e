"""The training loop every task shares: train, validate, keep the best epoch, resume where a run stopped.

A task (:class:`permafusion.learn.task.TrainingTask`) brings its data, model, loss and scores; the loop
brings the rest, the same for all tasks:

- AdamW and cosine annealing over the epochs (stepped once per epoch), gradient clipping;
- shuffling per epoch (``default_rng([seed, epoch])``, the same order on every process) and augmentation
  randomness per epoch and process (``[seed, epoch, rank]``), so a resumed run draws exactly what an
  uninterrupted one would;
- precision (bf16 autocast on CUDA by default; the loss in fp32), deterministic kernels on CPU;
- DistributedDataParallel inside a process group, sharded validation, writes on rank 0 only;
- the checkpoint of the best epoch by the task's monitored score (ties keep the earlier epoch), a history
  CSV, and the resumable state after every epoch (:mod:`permafusion.learn.state`).
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch

from permafusion.core.devices import autocast, autocast_dtype, place_model, resolve_device
from permafusion.core.files import write_csv
from permafusion.core.progress import Progress, eta
from permafusion.learn.runtime import Processes, epoch_seed
from permafusion.learn.settings import LoopSettings
from permafusion.learn.state import (
    STATE_FORMAT,
    incompatibility,
    rng_states,
    save_torch,
    set_rng_states,
    state_path,
)
from permafusion.learn.task import TrainingTask

LOG = logging.getLogger(__name__)

#: Version of the checkpoint dict the loop writes.
CHECKPOINT_FORMAT = 1


@dataclass
class _Progress:
    """What the loop carries from epoch to epoch (and through a resume)."""

    rows: list[dict[str, float]] = field(default_factory=list)
    best_score: float = -math.inf
    best_epoch: int = 0
    best_metrics: dict[str, Any] | None = None
    best_checkpoint: dict[str, Any] | None = None
    resumed_from: int = 0
    seconds_before: float = 0.0


@dataclass(frozen=True)
class RunFiles:
    """Where a run writes: the best checkpoint, the per-epoch history, and (derived) the state."""

    checkpoint: Path
    history: Path

    @property
    def state(self) -> Path:
        return state_path(self.checkpoint)


def _score(report: Mapping[str, Any], task: TrainingTask) -> float:
    value = report.get(task.monitor)
    if value is None or not math.isfinite(value):
        return -math.inf
    return float(value) if task.maximize else -float(value)


def _history_columns(task: TrainingTask) -> list[str]:
    return ["epoch", "train_loss", "val_loss", *task.history_metrics, "learning_rate", "seconds"]


def _write_history(rows: list[dict[str, float]], task: TrainingTask, path: Path) -> None:
    write_csv(pd.DataFrame(rows, columns=_history_columns(task)), path)


def _cpu_copy(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in state.items()}


def _train_epoch(
    model: torch.nn.Module,
    task: TrainingTask,
    *,
    epoch: int,
    optimizer: torch.optim.Optimizer,
    settings: LoopSettings,
    device: torch.device,
    amp: torch.dtype | None,
    procs: Processes,
    log: logging.Logger = LOG,
) -> float:
    """One pass over the shuffled training samples; the mean loss per sample over all processes.

    A long epoch logs its batches done every minute (see :class:`permafusion.core.progress.Progress`).
    """
    model.train()
    rng = np.random.default_rng([settings.seed, epoch, procs.rank])
    generator = torch.Generator(device=device)
    generator.manual_seed(epoch_seed(settings.seed, epoch, procs.rank))
    total, count = 0.0, 0
    size = task.sizes()[0]
    batches = list(procs.local_batches(size, batch_size=settings.batch_size, seed=settings.seed, epoch=epoch))
    progress = Progress(
        len(batches), label=f"epoch {epoch}/{settings.epochs} batches", log=log, every_s=60.0, final=False
    )
    for idx in batches:
        batch = task.train_batch(idx, rng=rng, generator=generator)
        optimizer.zero_grad(set_to_none=True)
        with autocast(device, amp):
            outputs = task.forward(model, batch)
        loss = task.loss(outputs.float(), batch)
        loss.backward()
        if settings.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip)
        optimizer.step()
        total += float(loss.detach()) * len(idx)
        count += len(idx)
        progress.advance()
    summed = procs.all_sum(np.array([total, count]), device)
    return float(summed[0] / summed[1])


@torch.no_grad()
def validate(
    model: torch.nn.Module,
    task: TrainingTask,
    *,
    settings: LoopSettings,
    device: torch.device,
    amp: torch.dtype | None = None,
    procs: Processes | None = None,
) -> tuple[float, dict[str, Any]]:
    """Mean loss per sample and the task's metrics on the validation samples (sharded over processes)."""
    procs = procs or Processes()
    model.eval()
    total, count = 0.0, 0
    statistics: np.ndarray | None = None
    mine = procs.shard(task.sizes()[1])
    for start in range(0, len(mine), settings.eval_batch_size):
        idx = mine[start : start + settings.eval_batch_size]
        batch = task.val_batch(idx)
        with autocast(device, amp):
            outputs = task.forward(model, batch)
        outputs = outputs.float()
        total += float(task.loss(outputs, batch)) * len(idx)
        count += len(idx)
        stats = np.asarray(task.val_statistics(outputs, batch), dtype=np.float64)
        statistics = stats if statistics is None else statistics + stats
    if statistics is None:  # a process without validation samples still takes part in the reduction
        statistics = np.asarray(task.val_statistics(*_empty_outputs(task, model, device)), np.float64)
    summed = procs.all_sum(np.concatenate([[total, count], statistics.ravel()]), device)
    report = task.summarize(summed[2:].reshape(statistics.shape))
    return float(summed[0] / max(summed[1], 1)), report


def _empty_outputs(task: TrainingTask, model: torch.nn.Module, device: torch.device) -> tuple[Any, Any]:
    batch = task.val_batch(np.arange(0))
    return task.forward(model, batch).float(), batch


def _resume(
    files: RunFiles,
    *,
    resume: bool | Literal["if_compatible"],
    identity: Mapping[str, Any],
    defaults: Mapping[str, Any],
    data: str,
    log: logging.Logger,
) -> dict[str, Any] | None:
    """The saved state to continue from, or None to start afresh (see :func:`fit`'s ``resume``)."""
    if not resume:
        return None
    if not files.state.is_file():
        log.info("no training state at %s: starting from epoch 1", files.state)
        return None
    reason: str | None
    try:
        state = torch.load(files.state, map_location="cpu", weights_only=True)
    except Exception as error:  # a truncated or foreign file: nothing to continue from
        reason = f"it cannot be read ({type(error).__name__}: {error})"
    else:
        reason = incompatibility(state, settings=identity, defaults=defaults, data=data)
    if reason is None:
        return state
    if resume is True:
        raise ValueError(
            f"cannot resume from {files.state}: {reason}; restore them, or delete the state file (or "
            "train with resume off) to start over"
        )
    log.info("not resuming from %s: %s; starting from epoch 1", files.state, reason)
    return None


def _restore(
    state: Mapping[str, Any],
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    files: RunFiles,
    task: TrainingTask,
    procs: Processes,
) -> _Progress:
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    set_rng_states(state["rng"])
    progress = _Progress(
        rows=[dict(r) for r in state["history"]],
        best_score=float(state["best_score"]),
        best_epoch=int(state["best_epoch"]),
        best_metrics=state["best_metrics"],
        best_checkpoint=state.get("best_checkpoint"),
        resumed_from=int(state["epoch"]),
        seconds_before=float(state["seconds"]),
    )
    if procs.main:  # the outputs as they were after that epoch, should they have been deleted
        if progress.best_checkpoint is not None and not files.checkpoint.is_file():
            save_torch(progress.best_checkpoint, files.checkpoint)
        _write_history(progress.rows, task, files.history)
    return progress


def fit(
    task: TrainingTask,
    *,
    settings: LoopSettings,
    files: RunFiles,
    identity: Mapping[str, Any],
    defaults: Mapping[str, Any] | None = None,
    resume: bool | Literal["if_compatible"] = False,
    log: logging.Logger = LOG,
) -> dict[str, Any]:
    """Train ``task``'s model, keep the best validation epoch, write checkpoint, history and state.

    Args:
        task: the task (data, model, loss, scores).
        settings: the loop's settings.
        files: the checkpoint and history to write (the state goes beside the checkpoint).
        identity: every setting that decides the run (a flat, JSON-ready mapping): recorded in the
            checkpoint and compared with a saved state before resuming.
        defaults: the default of each setting of ``identity`` (a setting an older state lacks had it).
        resume: continue from the state file if there is one (else start afresh); a state of other settings
            or data is an error, or with ``"if_compatible"`` is replaced by a fresh start (so is an
            unreadable one, with the reason logged). Without it any state file is overwritten. When the
            state's run had finished, its best checkpoint is written again (the workflow deletes outputs of
            a job it reruns).
        log: where progress goes.

    Returns:
        ``{"best_epoch", "val_metrics", "epochs", "seconds", "resumed_from"}`` (``resumed_from``: the last
        epoch of the state resumed, 0 for a fresh run).

    Raises:
        ValueError: for a batch size not divisible by the number of processes, a state file of other
            settings or data with ``resume=True``, or a monitored score undefined in every epoch.
    """
    procs = Processes.current()
    if settings.batch_size % procs.world:
        raise ValueError(
            f"batch_size={settings.batch_size} (the global batch) is not divisible by the {procs.world} "
            "processes; change either"
        )
    if not procs.main:
        log = logging.getLogger(f"{log.name}.rank{procs.rank}")
        log.setLevel(logging.WARNING)
    device = resolve_device(settings.device)
    amp = autocast_dtype(settings.precision, device)
    identity = dict(identity)
    previous = (
        torch.get_num_threads(),
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.benchmark,
    )
    try:
        if settings.threads:
            torch.set_num_threads(settings.threads)
        if device.type == "cuda":
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.backends.cudnn.benchmark = False
        # CPU kernels used here are deterministic; on CUDA some are not and only warn.
        torch.use_deterministic_algorithms(True, warn_only=device.type != "cpu")
        torch.manual_seed(settings.seed)
        model = place_model(task.build_model(), device)
        n_params = sum(p.numel() for p in model.parameters())
        optimizer = torch.optim.AdamW(
            model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay
        )
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=settings.epochs)
        data = task.fingerprint()
        state = _resume(files, resume=resume, identity=identity, defaults=defaults or {}, data=data, log=log)
        progress = _Progress()
        if state is not None:
            progress = _restore(
                state,
                model=model,
                optimizer=optimizer,
                scheduler=scheduler,
                files=files,
                task=task,
                procs=procs,
            )
            log.info(
                "resuming from %s after epoch %d/%d", files.state, progress.resumed_from, settings.epochs
            )
        task.prepare(device)
        trained: torch.nn.Module = model
        if procs.world > 1:
            trained = torch.nn.parallel.DistributedDataParallel(
                model, device_ids=[device.index] if device.type == "cuda" else None
            )
        log.info(
            "%s parameters on %s x %d process(es), %s",
            f"{n_params:,}",
            device,
            procs.world,
            "fp32" if amp is None else f"{amp} autocast",
        )
        started = time.perf_counter()
        for epoch in range(progress.resumed_from + 1, settings.epochs + 1):
            tick = time.perf_counter()
            lr = optimizer.param_groups[0]["lr"]
            train_loss = _train_epoch(
                trained,
                task,
                epoch=epoch,
                optimizer=optimizer,
                settings=settings,
                device=device,
                amp=amp,
                procs=procs,
                log=log,
            )
            scheduler.step()
            val_loss, report = validate(model, task, settings=settings, device=device, amp=amp, procs=procs)
            score = _score(report, task)
            improved = score > progress.best_score
            if improved:
                progress.best_score, progress.best_epoch, progress.best_metrics = score, epoch, report
            seconds = time.perf_counter() - tick
            progress.rows.append(
                {
                    "epoch": epoch,
                    "train_loss": train_loss,
                    "val_loss": val_loss,
                    **{
                        column: math.nan if report.get(key) is None else report[key]
                        for column, key in task.history_metrics.items()
                    },
                    "learning_rate": lr,
                    "seconds": seconds,
                }
            )
            if procs.main:
                weights = _cpu_copy(model.state_dict())
                if improved:
                    progress.best_checkpoint = {
                        "format_version": CHECKPOINT_FORMAT,
                        "state_dict": weights,
                        **task.checkpoint_fields(model),
                        "settings": identity,
                        "best_epoch": epoch,
                        "val_metrics": report,
                        "parameters": n_params,
                        "seed": settings.seed,
                        "processes": procs.world,
                    }
                    save_torch(progress.best_checkpoint, files.checkpoint)
                save_torch(
                    {
                        "format_version": STATE_FORMAT,
                        "epoch": epoch,
                        "model": weights,
                        "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(),
                        "rng": rng_states(),
                        "seeds": {"seed": settings.seed, "shuffle": [settings.seed, epoch + 1]},
                        "settings": identity,
                        "best_score": progress.best_score,
                        "best_epoch": progress.best_epoch,
                        "best_metrics": progress.best_metrics,
                        "history": progress.rows,
                        "seconds": progress.seconds_before + time.perf_counter() - started,
                        "processes": procs.world,
                        "data": data,
                        "best_checkpoint": progress.best_checkpoint,
                    },
                    files.state,
                )
                _write_history(progress.rows, task, files.history)
            procs.barrier()
            metrics = ", ".join(
                f"{column} {progress.rows[-1][column]:.3f}" for column in task.history_metrics
            )
            log.info(
                "epoch %d/%d: train loss %.4f, val loss %.4f, %s, %.1f s, %s%s",
                epoch,
                settings.epochs,
                train_loss,
                val_loss,
                metrics,
                seconds,
                eta(time.perf_counter() - started, epoch - progress.resumed_from, settings.epochs - epoch),
                " (best so far, checkpoint written)" if improved else "",
            )
        elapsed = progress.seconds_before + time.perf_counter() - started
    finally:
        torch.set_num_threads(previous[0])
        torch.use_deterministic_algorithms(previous[1], warn_only=previous[2])
        torch.backends.cudnn.benchmark = previous[3]
    if progress.best_metrics is None:
        raise ValueError(
            f"the validation {task.monitor} was undefined in every epoch: the validation samples have no "
            "labeled target"
        )
    log.info(
        "done in %.0f s: best epoch %d, val %s %.3f, checkpoint %s",
        elapsed,
        progress.best_epoch,
        task.monitor,
        progress.best_metrics[task.monitor],
        files.checkpoint,
    )
    return {
        "best_epoch": progress.best_epoch,
        "val_metrics": progress.best_metrics,
        "epochs": settings.epochs,
        "seconds": elapsed,
        "resumed_from": progress.resumed_from,
    }
