"""What the benchmarks share: the hardware's name, device synchronisation, and the dense matmul peak that
model throughput is compared with in the same run."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable

import torch


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo (platform's answer elsewhere)."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{cpu_model()} ({torch.get_num_threads()} torch threads, {os.cpu_count()} logical CPUs)"


def resolve(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_steps(step: Callable[[], object], device: torch.device, *, steps: int, warmup: int) -> float:
    """Seconds of ``steps`` calls of ``step`` after ``warmup`` untimed ones (allocator, kernel choice,
    compilation), the device synchronised at both ends."""
    for _ in range(warmup):
        step()
    synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    synchronize(device)
    return time.perf_counter() - start


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


def device_peak(device: torch.device) -> tuple[float, str]:
    """The peak a model on ``device`` is compared with: bf16 on CUDA (its training and inference
    precision there), fp32 on CPU; with a description."""
    if device.type == "cuda":
        dtype, n, seconds = torch.bfloat16, 8192, 5.0
    else:
        dtype, n, seconds = torch.float32, 2048, 3.0
    return matmul_peak(device, dtype, n=n, seconds=seconds), f"{dtype} {n}x{n} torch.matmul loop, same run"
