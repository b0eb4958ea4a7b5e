"""The machine a benchmark ran on, as JSON: GPU, driver, CUDA, PyTorch, Python, CPUs.

python benchmarks/env_info.py > env.json
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime

import torch
from hardware import cpu_model


def nvidia_smi(query: str) -> str | None:
    try:
        out = subprocess.run(
            ["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def main() -> None:
    cuda = torch.cuda.is_available()
    info = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if cuda else None,
        "cuda_available": cuda,
        "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if cuda else [],
        "gpu_memory_gib": [
            round(torch.cuda.get_device_properties(i).total_memory / 2**30, 1)
            for i in range(torch.cuda.device_count())
        ]
        if cuda
        else [],
        "driver": nvidia_smi("driver_version"),
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "platform": platform.platform(),
    }
    print(json.dumps(info, indent=2))


if __name__ == "__main__":
    main()
