"""Where the time and money of a whole-AOI run go, on paper from unit costs measured in the same run.

    python benchmarks/scale.py --aoi tibet --extent full
    python benchmarks/scale.py --aoi west_siberia --extent full --nodes 32 --cores-per-node 64 \
        --gpus-per-node 4

Measured here, each in this run:

- one tile-month composite of each sensor (Sentinel-2 median, Sentinel-1 mean + Lee filter, written to
  its Zarr store) on synthetic scenes made like ``benchmarks/composite.py``'s, at ``--size`` pixels a
  side (default 2048; ``--size 10240`` is a full processing tile, minutes to synthesise the first time),
  scaled to a full tile by pixels and to ``--s2-scenes`` / ``--s1-scenes`` scenes a tile-month (the
  composites are read-bound: their cost follows scene pixels, docs/performance.md);
- inference of the paper-size PermaFusionNet over one tile (``predict_probabilities``, 12 months,
  overlapping 128 px windows) of ``--predict-size`` pixels, scaled to a full tile by area;
- training steps of the paper-size model (fp32 on CPU, bf16 on CUDA) after a warm-up step: seconds per
  sample of an epoch.

From the AOI's tiles and months (the workflow's own tiling) it prints the jobs before and after the
profile's grouping, core-hours and GPU-hours, storage of intermediates (composite stores, bytes measured
on the written stores) and outputs (class maps, 1 byte a pixel before compression), the bytes decoded from
the catalog, and the wall time on ``--nodes`` nodes. Without a GPU here the model stages are costed on CPU
cores, and a NOTE says so. Stays under ~5 minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import composite as bench_composite  # noqa: E402
from dry_run import group_components, rule_groups  # noqa: E402
from hardware import hardware_name, resolve, synchronize, timed_steps  # noqa: E402
from train_throughput import workload  # noqa: E402

from permafusion.core.cluster import grouped_job_count  # noqa: E402
from permafusion.geo.aoi import aoi_from_mapping  # noqa: E402
from permafusion.geo.tiles import processing_tiles  # noqa: E402

GiB, TiB = 2**30, 2**40


def plan(aoi: str, extent: str, tile_px: int) -> dict[str, Any]:
    """Tiles, months and the jobs per rule of mapping the AOI with a trained model (the workflow's DAG)."""
    settings = yaml.safe_load((REPO / "config" / "aois" / f"{aoi}.yaml").read_text())
    area = aoi_from_mapping(settings, extent=extent, source=f"config/aois/{aoi}.yaml")
    tiles = len(processing_tiles(area.bbox, tile_size_px=tile_px, resolution=10))
    months = len(area.months())
    jobs = {
        "search_items": 2 * months,
        "check_items": 2,
        "search_dem": 1,
        "composite_sar": tiles * months,
        "composite_optical": tiles * months,
        "build_terrain": tiles,
        "predict_tile": tiles,
        "build_map": 1,
        "plot_quicklook": 1,
        "all": 1,
    }
    return {"bbox": area.bbox, "tiles": tiles, "months": months, "jobs": jobs}


def measure_composite(kind: str, scenes: int, size: int, threads: int) -> dict[str, float]:
    """One tile-month composite written to Zarr, in a fresh process; its seconds, peak and store bytes."""
    bench_composite.dataset(kind, scenes, size)  # synthesised once, outside the timing
    store = bench_composite.OUT / f"{kind}-{scenes}x{size}.zarr"
    shutil.rmtree(store, ignore_errors=True)
    result = bench_composite.measure("composite", kind, scenes, size, threads, write=True)
    result["store_bytes"] = sum(f.stat().st_size for f in store.rglob("*") if f.is_file())
    return result


def measure_predict(device: torch.device, size: int) -> float:
    """Seconds of inference per pixel of a tile (12 months, paper-size model)."""
    from permafusion.tasks.degradation.models.registry import build_model
    from permafusion.tasks.degradation.predict import predict_probabilities

    torch.manual_seed(0)
    model = build_model("permafusionnet", preset="paper").to(device).eval()
    stats = {"sar": {"mean": [0.0] * 2, "std": [1.0] * 2}, "optical": {"mean": [0.0] * 6, "std": [1.0] * 6}}
    rng = np.random.default_rng(0)
    sar = rng.normal(-15, 3, (12, 2, size, size)).astype(np.float32)
    optical = rng.random((12, 6, size, size), dtype=np.float32)
    batch = 64 if device.type == "cuda" else 8
    predict_probabilities(model, stats, sar[..., :128, :128], optical[..., :128, :128])  # warm-up
    synchronize(device)
    start = time.perf_counter()
    predict_probabilities(model, stats, sar, optical, batch_size=batch, precision="auto")
    synchronize(device)
    return (time.perf_counter() - start) / size**2


def measure_training(device: torch.device, steps: int) -> dict[str, Any]:
    """Seconds per sample of a training epoch of the paper-size model: full steps (forward, loss, backward,
    clipping, AdamW) after one warm-up step; batch 2 on CPU, 16 on CUDA under bf16 autocast."""
    torch.manual_seed(0)
    work = workload("degradation", device, preset="paper", batch=None, on_gpu=device.type == "cuda")
    optimizer = torch.optim.AdamW(work.model.parameters(), lr=1e-4, weight_decay=1e-5)
    amp = device.type == "cuda"

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            loss = work.loss(work.model)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(work.model.parameters(), 1.0)
        optimizer.step()

    seconds = timed_steps(step, device, steps=steps, warmup=1)
    return {"seconds_per_sample": seconds / (work.batch * steps), "batch": work.batch}


def catalog_bytes_per_tile_month(tile_px: int, s2_scenes: int, s1_scenes: int) -> float:
    """Bytes decoded from the catalog for one tile-month: S2 4 x 10 m + 2 x 20 m uint16 bands and the 20 m
    SCL byte; S1 VV + VH float32 at 10 m."""
    full, half = tile_px**2, (tile_px // 2) ** 2
    s2 = s2_scenes * (4 * full * 2 + 2 * half * 2 + half)
    s1 = s1_scenes * 2 * full * 4
    return float(s2 + s1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--aoi", default="tibet")
    parser.add_argument("--extent", default="full", choices=["default", "full"])
    parser.add_argument("--nodes", type=int, default=32)
    parser.add_argument("--cores-per-node", type=int, default=64)
    parser.add_argument("--gpus-per-node", type=int, default=4)
    parser.add_argument("--profile", type=Path, default=REPO / "profiles" / "slurm" / "config.yaml")
    parser.add_argument("--size", type=int, default=2048, help="side of the measured composite (px)")
    parser.add_argument("--s2-scenes", type=int, default=24, help="Sentinel-2 scenes a tile-month")
    parser.add_argument("--s1-scenes", type=int, default=12, help="Sentinel-1 scenes a tile-month")
    parser.add_argument("--measure-s2-scenes", type=int, default=6)
    parser.add_argument("--measure-s1-scenes", type=int, default=4)
    parser.add_argument("--predict-size", type=int, default=None, help="inference tile side (256 CPU)")
    parser.add_argument("--train-patches", type=int, default=20000, help="training patches an epoch")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--train-steps", type=int, default=1, help="timed training steps")
    parser.add_argument("--threads", type=int, default=2, help="threads of a composite job")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=None, help="JSON file of every figure")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

    config = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    tile_px = int(config["properties"]["tile_size_px"]["default"])
    p = plan(args.aoi, args.extent, tile_px)
    components = group_components(args.profile)
    before, after = sum(p["jobs"].values()), grouped_job_count(p["jobs"], rule_groups(), components)
    device = resolve(args.device)
    on_gpu = device.type == "cuda"
    print(f"AOI {args.aoi} ({args.extent}): bbox {p['bbox']}, {p['tiles']} tiles of {tile_px} px", end="")
    print(f", {p['months']} months")
    sizes = ", ".join(f"{k}={v}" for k, v in components.items())
    print(f"jobs: {before} before grouping, {after} after (group components {sizes})")
    print(f"measuring on {hardware_name(device)} ...", flush=True)

    started = time.perf_counter()
    s2 = measure_composite("s2", args.measure_s2_scenes, args.size, args.threads)
    s1 = measure_composite("s1", args.measure_s1_scenes, args.size, args.threads)
    predict_size = args.predict_size or (2048 if on_gpu else 256)
    predict_s_per_px = measure_predict(device, predict_size)
    train = measure_training(device, args.train_steps)
    measured_s = time.perf_counter() - started

    scale_px = (tile_px / args.size) ** 2
    # core-seconds of a full tile-month: measured seconds x threads, scaled by pixels and scenes
    s2_core_s = s2["seconds"] * args.threads * scale_px * args.s2_scenes / args.measure_s2_scenes
    s1_core_s = s1["seconds"] * args.threads * scale_px * args.s1_scenes / args.measure_s1_scenes
    tile_months = p["tiles"] * p["months"]
    composite_core_h = tile_months * (s2_core_s + s1_core_s) / 3600
    predict_h = p["tiles"] * tile_px**2 * predict_s_per_px / 3600  # device-hours (GPU, or CPU job)
    train_h = args.epochs * args.train_patches * train["seconds_per_sample"] / 3600
    cores = args.nodes * args.cores_per_node
    gpus = args.nodes * args.gpus_per_node
    cpu_threads = torch.get_num_threads()
    if on_gpu:
        model_gpu_h, model_core_h = predict_h + train_h, 0.0
        predict_wall = predict_h / gpus
        train_wall = train_h / args.gpus_per_node  # one job, DDP over one node's GPUs
    else:
        model_gpu_h, model_core_h = 0.0, (predict_h + train_h) * cpu_threads
        predict_wall = predict_h * cpu_threads / cores
        train_wall = train_h * cpu_threads / args.cores_per_node
    composite_wall = composite_core_h / cores
    store_bytes = tile_months * scale_px * (s2["store_bytes"] + s1["store_bytes"])
    output_bytes = p["tiles"] * tile_px**2  # uint8 class per pixel, before COG compression
    catalog = tile_months * catalog_bytes_per_tile_month(tile_px, args.s2_scenes, args.s1_scenes)
    wall = composite_wall + train_wall + predict_wall
    figures = {
        "aoi": args.aoi, "extent": args.extent, "tiles": p["tiles"], "months": p["months"],
        "jobs_before_grouping": before, "jobs_after_grouping": after,
        "s2_tile_month_core_s": s2_core_s, "s1_tile_month_core_s": s1_core_s,
        "s2_peak_gib": s2["peak_bytes"] / GiB, "s1_peak_gib": s1["peak_bytes"] / GiB,
        "predict_tile_hours": tile_px**2 * predict_s_per_px / 3600,
        "train_seconds_per_sample": train["seconds_per_sample"],
        "composite_core_hours": composite_core_h, "model_core_hours": model_core_h, "gpu_hours": model_gpu_h,
        "intermediates_tib": store_bytes / TiB, "outputs_gib": output_bytes / GiB,
        "catalog_tib": catalog / TiB,
        "wall_hours": wall, "nodes": args.nodes, "cores_per_node": args.cores_per_node,
        "gpus_per_node": args.gpus_per_node, "device": str(device), "measured_seconds": measured_s,
    }  # fmt: skip
    print(f"unit costs (measured in {measured_s:.0f} s):")
    print(
        f"  S2 tile-month: {s2_core_s / 3600:.2f} core-h (measured {s2['seconds']:.1f} s for "
        f"{args.measure_s2_scenes} x {args.size}^2 on {args.threads} threads, "
        f"peak {figures['s2_peak_gib']:.2f} GiB)"
    )
    print(
        f"  S1 tile-month: {s1_core_s / 3600:.2f} core-h (measured {s1['seconds']:.1f} s for "
        f"{args.measure_s1_scenes} x {args.size}^2, peak {figures['s1_peak_gib']:.2f} GiB)"
    )
    print(
        f"  inference: {figures['predict_tile_hours']:.2f} h a tile on {device} ({predict_size}^2 measured)"
    )
    print(
        f"  training: {train['seconds_per_sample'] * 1000:.0f} ms a sample an epoch (batch {train['batch']})"
    )
    print(
        f"core-hours: composites {composite_core_h:,.0f}"
        + (f", models on CPU {model_core_h:,.0f}" if not on_gpu else "")
    )
    print(
        f"GPU-hours: {model_gpu_h:,.0f} (inference {predict_h:,.0f}, training {train_h:,.0f})"
        if on_gpu
        else "GPU-hours: NOTE no GPU here; the model stages are costed on this CPU above"
    )
    print(
        f"storage: intermediates {store_bytes / TiB:.1f} TiB (composite stores), "
        f"outputs {output_bytes / GiB:.1f} GiB"
    )
    print(
        f"catalog: {catalog / TiB:.1f} TiB decoded from the catalog "
        f"({args.s2_scenes} S2 + {args.s1_scenes} S1 scenes a tile-month)"
    )
    print(
        f"wall on {args.nodes} nodes x {args.cores_per_node} cores x {args.gpus_per_node} GPUs: {wall:.1f} h "
        f"(composites {composite_wall:.1f} h, training {train_wall:.1f} h, inference {predict_wall:.1f} h)"
    )
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2))
    print(f"wall_hours={wall:.1f}")


if __name__ == "__main__":
    main()
