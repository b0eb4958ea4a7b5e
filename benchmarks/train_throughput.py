"""Training throughput of the paper-size PermaFusionNet (T=12 months, 128x128 patches, batch 16).

Times full training steps (forward, CE + Dice loss, backward, gradient clipping, AdamW) on random inputs,
and counts the FLOPs of one forward + backward with ``torch.utils.flop_counter.FlopCounterMode``, so

    achieved TFLOP/s = counted FLOPs per step x steps / seconds.

On a GPU the step runs under bf16 autocast (the training default there), and the same run measures the
dense bf16 matmul peak (a loop of large ``torch.matmul``); the last line is ``mfu=<achieved / peak>``. On
CPU the step runs in fp32; the run also measures an fp32 matmul peak for scale, and the last line is
``cpu_tflops=<achieved>``. The paper batch of 16 does not fit a small CPU in time or memory: there
``--batch`` and ``--steps`` default lower, and the output says so.

Results go to ``benchmarks/results/train_throughput_<device>.json`` with the hardware named.

    python benchmarks/train_throughput.py                 # GPU if there is one, else CPU
    python benchmarks/train_throughput.py --device cpu --batch 1 --steps 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from permafusion.learn.losses import CombinedLoss
from permafusion.tasks.degradation.models.registry import build_model, count_parameters

PAPER_BATCH, PAPER_STEPS, T, SIZE = 16, 12, 12, 128
RESULTS = Path(__file__).resolve().parent / "results"


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo (platform's answer elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_peak(device: torch.device, dtype: torch.dtype, *, n: int, seconds: float) -> float:
    """Dense matmul TFLOP/s of an n x n x n product repeated for about ``seconds``."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        torch.matmul(a, b)
    synchronize(device)
    iterations, start = 0, time.perf_counter()
    while True:
        for _ in range(10 if device.type == "cuda" else 1):
            torch.matmul(a, b)
            iterations += 1
        synchronize(device)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return 2.0 * n**3 * iterations / elapsed / 1e12


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ...")
    parser.add_argument("--batch", type=int, default=None, help=f"patches per step (paper {PAPER_BATCH})")
    parser.add_argument("--steps", type=int, default=None, help="timed steps (after 2 warm-up steps)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--out", type=Path, default=None, help="JSON file (default benchmarks/results/...)")
    args = parser.parse_args()

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else None
    device = device or torch.device(args.device)
    on_gpu = device.type == "cuda"
    if args.threads:
        torch.set_num_threads(args.threads)
    batch = args.batch or (PAPER_BATCH if on_gpu else 2)
    steps = args.steps or (PAPER_STEPS if on_gpu else 3)
    amp = torch.bfloat16 if on_gpu else None
    notes = []
    if batch != PAPER_BATCH:
        notes.append(f"batch {batch} instead of the paper's {PAPER_BATCH}" + ("" if on_gpu else " (CPU)"))
    if on_gpu:
        hardware = torch.cuda.get_device_name(device)
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    else:
        hardware = f"{cpu_model()} ({torch.get_num_threads()} torch threads, {os.cpu_count()} logical CPUs)"
    print(f"device: {device} = {hardware}")
    for note in notes:
        print(f"NOTE: {note}")

    torch.manual_seed(0)
    model = build_model("permafusionnet", preset="paper").to(device)
    model.train()
    loss_fn = CombinedLoss()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-5)
    sar = torch.randn(batch, T, 2, SIZE, SIZE, device=device)
    optical = torch.randn(batch, T, 6, SIZE, SIZE, device=device)
    label = torch.randint(1, 5, (batch, SIZE, SIZE), device=device)

    def forward_backward() -> torch.Tensor:
        with torch.autocast(device.type, dtype=amp) if amp else torch.autocast(device.type, enabled=False):
            logits = model(sar, optical)
        loss = loss_fn(logits.float(), label)
        loss.backward()
        return loss

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        forward_backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    counter = FlopCounterMode(display=False)
    with counter:
        forward_backward()
    flops_per_step = counter.get_total_flops()
    optimizer.zero_grad(set_to_none=True)

    for _ in range(2):  # warm-up: allocator, cuDNN algorithm choice
        step()
    synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    synchronize(device)
    seconds = time.perf_counter() - start

    samples_per_s = batch * steps / seconds
    achieved = flops_per_step * steps / seconds / 1e12
    if on_gpu:
        peak_dtype, peak_n, peak_s = torch.bfloat16, 8192, 5.0
    else:
        peak_dtype, peak_n, peak_s = torch.float32, 2048, 3.0
    peak = matmul_peak(device, peak_dtype, n=peak_n, seconds=peak_s)
    ratio = achieved / peak
    result = {
        "benchmark": "train_throughput",
        "model": "permafusionnet",
        "preset": "paper",
        "parameters": count_parameters(model),
        "device": str(device),
        "hardware": hardware,
        "precision": "bf16 autocast" if amp else "fp32",
        "batch": batch,
        "paper_batch": PAPER_BATCH,
        "time_steps": T,
        "patch_size": SIZE,
        "timed_steps": steps,
        "seconds": seconds,
        "seconds_per_step": seconds / steps,
        "samples_per_s": samples_per_s,
        "flops_per_step": flops_per_step,
        "flop_count": "FlopCounterMode over one forward + backward (optimizer step not counted)",
        "achieved_tflops": achieved,
        "matmul_peak_tflops": peak,
        "matmul_peak": f"{peak_dtype} {peak_n}x{peak_n} torch.matmul loop, same run",
        "fraction_of_matmul_peak": ratio,
        "notes": notes,
        "torch": torch.__version__,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    out = args.out or RESULTS / f"train_throughput_{device.type}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")

    print(
        f"parameters: {result['parameters']:,}; batch {batch} x T={T} x {SIZE}x{SIZE}, {result['precision']}"
    )
    print(f"steps: {steps} in {seconds:.2f} s ({seconds / steps:.3f} s/step)")
    print(f"samples/s: {samples_per_s:.3f}")
    print(f"counted FLOPs per step (fwd+bwd): {flops_per_step / 1e12:.3f} TFLOP")
    print(f"achieved: {achieved:.4f} TFLOP/s")
    print(f"dense {peak_dtype} matmul peak (same run): {peak:.4f} TFLOP/s; ratio {ratio:.3f}")
    print(f"written: {out}")
    if on_gpu:
        print(f"mfu={ratio:.4f}")
    else:
        print(f"cpu_tflops={achieved:.4f}")


if __name__ == "__main__":
    main()
