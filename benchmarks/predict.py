"""Inference speed over a synthetic tile of 12 months, against the FLOP-counted floor of the same model.

Runs :func:`permafusion.tasks.degradation.predict.predict_probabilities` (overlapping 128 px windows,
blended, bf16 autocast on CUDA) over a random SAR + optical tile, counts the FLOPs of one batch of
windows with ``FlopCounterMode`` and the windows the tiling ran, and measures the dense matmul peak of the
device in the same run (bf16 on CUDA, fp32 on CPU). The floor is the tile's counted FLOPs at that peak:

    predict_over_floor = seconds of the whole tile / (counted FLOPs of all windows / matmul peak)

It prints km² per second (10 m pixels) and, as its last line, ``predict_over_floor=<ratio>``. A 2048 px
tile with the paper-size model takes tens of minutes on a small CPU, so on CPU the tile defaults to 512 px
(a NOTE says so); results go to ``benchmarks/results/predict_<device>.json`` unless ``--out`` is given.
``--products`` also times the map's product path on the same tile (four flips for the uncertainty's
second band, the gate weights) and prints ``products_over_plain=<ratio>`` before the last line.

    python benchmarks/predict.py                        # GPU if there is one, else CPU
    python benchmarks/predict.py --device cpu --size 256 --preset small
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from hardware import device_peak, hardware_name, resolve, synchronize
from torch.utils.flop_counter import FlopCounterMode

from permafusion.core.devices import autocast, autocast_dtype
from permafusion.tasks.degradation.models.registry import build_model, count_parameters
from permafusion.tasks.degradation.predict import predict_probabilities
from permafusion.tasks.degradation.windows import predict_windows

STEPS, WINDOW, OVERLAP, PIXEL_M = 12, 128, 32, 10.0
RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ...")
    parser.add_argument(
        "--size", type=int, default=None, help="tile side in pixels (2048 on GPU, 512 on CPU)"
    )
    parser.add_argument("--preset", default="paper", choices=["paper", "small"], help="model widths")
    parser.add_argument("--batch", type=int, default=None, help="windows per forward pass (64 GPU, 8 CPU)")
    parser.add_argument("--out", type=Path, default=None, help="JSON file (default benchmarks/results/...)")
    parser.add_argument(
        "--products",
        action="store_true",
        help="also time the map's product path (4 flips for the uncertainty, gate weights) on the same tile",
    )
    args = parser.parse_args()

    device = resolve(args.device)
    on_gpu = device.type == "cuda"
    size = args.size or (2048 if on_gpu else 512)
    batch = args.batch or (64 if on_gpu else 8)
    notes = [] if size == 2048 else [f"tile of {size} px instead of 2048" + ("" if on_gpu else " (CPU)")]
    hardware = hardware_name(device)
    print(f"device: {device} = {hardware}")
    for note in notes:
        print(f"NOTE: {note}")

    torch.manual_seed(0)
    model = build_model("permafusionnet", preset=args.preset).to(device).eval()
    stats = {"sar": {"mean": [0.0] * 2, "std": [1.0] * 2}, "optical": {"mean": [0.0] * 6, "std": [1.0] * 6}}
    rng = np.random.default_rng(0)
    sar = rng.normal(-15, 3, (STEPS, 2, size, size)).astype(np.float32)
    optical = rng.random((STEPS, 6, size, size), dtype=np.float32)

    windows: list[int] = []  # batch sizes the tiling ran (predict calls forward_with_attention)
    forward_with_attention = model.forward_with_attention

    def counted(sar_batch: torch.Tensor, optical_batch: torch.Tensor) -> tuple[torch.Tensor, list]:
        windows.append(int(sar_batch.shape[0]))
        return forward_with_attention(sar_batch, optical_batch)

    model.forward_with_attention = counted  # type: ignore[method-assign]
    predict_probabilities(model, stats, sar[..., :WINDOW, :WINDOW], optical[..., :WINDOW, :WINDOW])  # warm-up
    windows.clear()
    synchronize(device)
    start = time.perf_counter()
    predict_probabilities(
        model, stats, sar, optical, window=WINDOW, overlap=OVERLAP, batch_size=batch, precision="auto"
    )
    synchronize(device)
    seconds = time.perf_counter() - start
    model.forward_with_attention = forward_with_attention  # type: ignore[method-assign]
    products_seconds = None
    if args.products:
        synchronize(device)
        start = time.perf_counter()
        predict_windows(
            model,
            stats,
            sar,
            optical,
            window=WINDOW,
            overlap=OVERLAP,
            batch_size=batch,
            tta=True,
            gate_level=-1,
        )
        synchronize(device)
        products_seconds = time.perf_counter() - start

    amp = autocast_dtype("auto", device)
    cs, co = getattr(model, "input_channels", (2, 6))  # bands plus the validity masks the model reads
    probe_s = torch.randn(batch, STEPS, cs, WINDOW, WINDOW, device=device)
    probe_o = torch.randn(batch, STEPS, co, WINDOW, WINDOW, device=device)
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter, autocast(device, amp):
        model.forward_with_attention(probe_s, probe_o)
    flops_per_window = counter.get_total_flops() / batch
    total_flops = flops_per_window * sum(windows)
    peak, peak_description = device_peak(device)
    floor_seconds = total_flops / (peak * 1e12)
    area_km2 = (size * PIXEL_M) ** 2 / 1e6
    result = {
        "benchmark": "predict",
        "model": "permafusionnet",
        "preset": args.preset,
        "parameters": count_parameters(model),
        "device": str(device),
        "hardware": hardware,
        "precision": "bf16 autocast" if amp else "fp32",
        "tile_px": size,
        "time_steps": STEPS,
        "window": WINDOW,
        "overlap": OVERLAP,
        "batch": batch,
        "windows": sum(windows),
        "seconds": seconds,
        "km2": area_km2,
        "km2_per_s": area_km2 / seconds,
        "flops_per_window": flops_per_window,
        "flop_count": "FlopCounterMode over one batch of windows (forward with attention)",
        "matmul_peak_tflops": peak,
        "matmul_peak": peak_description,
        "floor_seconds": floor_seconds,
        "predict_over_floor": seconds / floor_seconds,
        "products_seconds": products_seconds,
        "products_over_plain": None if products_seconds is None else products_seconds / seconds,
        "notes": notes,
        "torch": torch.__version__,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    out = args.out or RESULTS / f"predict_{device.type}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"tile {size}x{size} px x {STEPS} months ({area_km2:.1f} km²), {sum(windows)} windows of {WINDOW} px"
    )
    print(f"seconds: {seconds:.2f}; km²/s: {area_km2 / seconds:.3f}")
    print(
        f"GFLOP per window: {flops_per_window / 1e9:.1f}; floor {floor_seconds:.2f} s at {peak:.3f} TFLOP/s"
    )
    if products_seconds is not None:
        print(
            f"products (4 flips, gate weights): {products_seconds:.2f} s; "
            f"products_over_plain={products_seconds / seconds:.3f}"
        )
    print(f"written: {out}")
    print(f"predict_over_floor={seconds / floor_seconds:.3f}")


if __name__ == "__main__":
    main()
