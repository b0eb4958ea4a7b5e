"""Training throughput of a task's paper-size model: PermaFusionNet (T=12 months, 128x128 patches, batch
16; ``--task degradation``), the slump U-Net (5 x 64x64 tiles, batch 32; ``--task rts``) or the soil GRU
(90-day windows; ``--task soil_temperature``).

Times full training steps (forward, the task's loss, backward, gradient clipping, AdamW) on random inputs,
and counts the FLOPs of one forward + backward with ``torch.utils.flop_counter.FlopCounterMode``, so

    achieved TFLOP/s = counted FLOPs per step x steps / seconds.

On a GPU the step runs under bf16 autocast (the training default there), eager and under
``torch.compile`` (``--compile``), and the same run measures the dense bf16 matmul peak (a loop of large
``torch.matmul``); the last line is ``mfu=<achieved / peak>`` of the faster of the two. On
CPU the step runs in fp32; the run also measures an fp32 matmul peak for scale, and the last line is
``cpu_tflops=<achieved>``. The paper batch of 16 does not fit a small CPU in time or memory: there
``--batch`` and ``--steps`` default lower, and the output says so.

Results go to ``benchmarks/results/train_throughput[_<task>]_<device>.json`` with the hardware named.

    python benchmarks/train_throughput.py                 # GPU if there is one, else CPU
    python benchmarks/train_throughput.py --device cpu --batch 1 --steps 2
    python benchmarks/train_throughput.py --task rts
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from hardware import device_peak, hardware_name, resolve, timed_steps
from torch.utils.flop_counter import FlopCounterMode

from permafusion.learn.losses import CombinedLoss
from permafusion.tasks.degradation.models.registry import build_model, count_parameters

PAPER_BATCH, PAPER_STEPS, T, SIZE = 16, 12, 12, 128
RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Workload:
    """One task's model and a synthetic batch of its paper size: ``loss()`` runs forward and loss."""

    name: str
    model: torch.nn.Module
    loss: Callable[[torch.nn.Module], torch.Tensor]
    batch: int
    shape: str


def workload(task: str, device: torch.device, *, preset: str, batch: int | None, on_gpu: bool) -> Workload:
    """The paper-size model of ``task`` (``preset="small"`` for the demo sizes) and its synthetic inputs."""
    if task == "degradation":
        n = batch or (PAPER_BATCH if on_gpu else 2)
        model = build_model("permafusionnet", preset=preset).to(device)
        cs, co = getattr(model, "input_channels", (2, 6))  # bands plus the validity masks the model reads
        sar = torch.randn(n, T, cs, SIZE, SIZE, device=device)
        optical = torch.randn(n, T, co, SIZE, SIZE, device=device)
        label = torch.randint(1, 5, (n, SIZE, SIZE), device=device)
        loss_fn = CombinedLoss()
        return Workload(
            "permafusionnet",
            model,
            lambda net: loss_fn(net(sar, optical).float(), label),
            n,
            f"T={T} x {SIZE}x{SIZE}",
        )
    if task == "rts":
        from permafusion.tasks.rts.losses import bce_dice_loss
        from permafusion.tasks.rts.unet import SlumpUNet

        n = batch or (32 if on_gpu else 4)  # seed 001: batch 32 of 64 px tiles, B2 B3 B4 B8 + slope
        widths = (64, 128, 256, 512, 1024) if preset == "paper" else (8, 16, 32, 64, 128)
        model = SlumpUNet(in_channels=5, widths=widths).to(device)
        x = torch.rand(n, 5, 64, 64, device=device)
        labels = torch.randint(1, 3, (n, 64, 64), device=device)
        return Workload("rts_unet", model, lambda net: bce_dice_loss(net(x).float(), labels), n, "5 x 64x64")
    if task == "soil_temperature":
        from permafusion.learn.regression import masked_mse
        from permafusion.tasks.soiltemp.models import build_model as build_sequence_model

        n = batch or (1024 if on_gpu else 128)
        window, features, statics, bands, depths = 90, 16, 4, 4, 4  # the schema's default window of days
        model = build_sequence_model(
            "gru", features=features, statics=statics, bands=bands, depths=depths, hidden=64, layers=2
        ).to(device)
        x = torch.randn(n, window, features, device=device)
        static = torch.randn(n, statics, device=device)
        band = torch.randint(0, bands, (n,), device=device)
        target = torch.randn(n, depths, device=device)
        return Workload(
            "soil_gru",
            model,
            lambda net: masked_mse(net(x, static, band).float(), target),
            n,
            f"window {window} days x {features} features",
        )
    raise ValueError(f"unknown task {task!r}")


def timed_run(
    device: torch.device,
    *,
    task: str,
    preset: str,
    batch: int | None,
    steps: int,
    amp: torch.dtype | None,
    compiled: bool,
    peak: float,
) -> dict[str, Any]:
    """Time ``steps`` training steps (after 2 warm-ups) of a fresh model; FLOPs counted on the eager model."""
    torch.manual_seed(0)
    work = workload(task, device, preset=preset, batch=batch, on_gpu=device.type == "cuda")
    model = work.model
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-5)
    forward = torch.compile(model) if compiled else model

    def forward_backward(net: torch.nn.Module) -> torch.Tensor:
        with torch.autocast(device.type, dtype=amp) if amp else torch.autocast(device.type, enabled=False):
            loss = work.loss(net)
        loss.backward()
        return loss

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        forward_backward(forward)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    counter = FlopCounterMode(display=False)
    with counter:
        forward_backward(model)
    flops_per_step = counter.get_total_flops()
    optimizer.zero_grad(set_to_none=True)
    seconds = timed_steps(step, device, steps=steps, warmup=2)
    achieved = flops_per_step * steps / seconds / 1e12
    return {
        "model": work.name,
        "input": work.shape,
        "batch": work.batch,
        "compiled": compiled,
        "parameters": count_parameters(model),
        "seconds": seconds,
        "seconds_per_step": seconds / steps,
        "samples_per_s": work.batch * steps / seconds,
        "flops_per_step": flops_per_step,
        "achieved_tflops": achieved,
        "fraction_of_matmul_peak": achieved / peak,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ...")
    parser.add_argument("--batch", type=int, default=None, help=f"patches per step (paper {PAPER_BATCH})")
    parser.add_argument("--steps", type=int, default=None, help="timed steps (after 2 warm-up steps)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--out", type=Path, default=None, help="JSON file (default benchmarks/results/...)")
    parser.add_argument("--preset", default="paper", choices=["paper", "small"], help="model widths")
    parser.add_argument(
        "--task",
        default="degradation",
        choices=["degradation", "rts", "soil_temperature"],
        help="PermaFusionNet (degradation), the slump U-Net (rts) or the soil GRU (soil_temperature)",
    )
    parser.add_argument(
        "--compile", choices=["off", "on", "both"], default=None, help="torch.compile (GPU default: both)"
    )
    args = parser.parse_args()

    device = resolve(args.device)
    on_gpu = device.type == "cuda"
    if args.threads:
        torch.set_num_threads(args.threads)
    steps = args.steps or (PAPER_STEPS if on_gpu else 3)
    compile_modes = {"off": [False], "on": [True], "both": [False, True]}[
        args.compile or ("both" if on_gpu else "off")
    ]
    amp = torch.bfloat16 if on_gpu else None
    notes = []
    if not on_gpu and args.batch is None:
        notes.append("CPU: a smaller batch than the paper's (degradation 2 of 16, rts 4 of 32)")
    if args.preset != "paper":
        notes.append(f"{args.preset} preset instead of the paper's widths")
    if on_gpu:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    hardware = hardware_name(device)
    print(f"device: {device} = {hardware}")
    for note in notes:
        print(f"NOTE: {note}")

    peak, peak_description = device_peak(device)
    runs = [
        timed_run(
            device,
            task=args.task,
            preset=args.preset,
            batch=args.batch,
            steps=steps,
            amp=amp,
            compiled=compiled,
            peak=peak,
        )
        for compiled in compile_modes
    ]
    best = max(runs, key=lambda run: run["samples_per_s"])
    result = {
        "benchmark": "train_throughput",
        "task": args.task,
        "model": best["model"],
        "input": best["input"],
        "preset": args.preset,
        "parameters": best["parameters"],
        "device": str(device),
        "hardware": hardware,
        "precision": "bf16 autocast" if amp else "fp32",
        "batch": best["batch"],
        "timed_steps": steps,
        "runs": runs,
        "seconds_per_step": best["seconds_per_step"],
        "samples_per_s": best["samples_per_s"],
        "flops_per_step": best["flops_per_step"],
        "flop_count": "FlopCounterMode over one forward + backward (optimizer step not counted)",
        "achieved_tflops": best["achieved_tflops"],
        "matmul_peak_tflops": peak,
        "matmul_peak": peak_description,
        "fraction_of_matmul_peak": best["fraction_of_matmul_peak"],
        "best_run": "torch.compile" if best["compiled"] else "eager",
        "notes": notes,
        "torch": torch.__version__,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    suffix = "" if args.task == "degradation" else f"_{args.task}"
    out = args.out or RESULTS / f"train_throughput{suffix}_{device.type}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")

    print(f"{best['model']}: {best['parameters']:,} parameters; batch {best['batch']} x {best['input']}")
    for run in runs:
        print(
            f"{'torch.compile' if run['compiled'] else 'eager'}: {steps} steps in {run['seconds']:.2f} s, "
            f"{run['samples_per_s']:.3f} samples/s, {run['achieved_tflops']:.4f} TFLOP/s"
        )
    print(f"counted FLOPs per step (fwd+bwd): {best['flops_per_step'] / 1e12:.3f} TFLOP")
    print(f"dense matmul peak (same run): {peak:.4f} TFLOP/s ({peak_description})")
    print(f"written: {out}")
    if on_gpu:
        print(f"mfu={best['fraction_of_matmul_peak']:.4f}")
    else:
        print(f"cpu_tflops={best['achieved_tflops']:.4f}")


if __name__ == "__main__":
    main()
