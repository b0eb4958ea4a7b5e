"""Channels-last weights (:func:`permafusion.core.devices.place_model`) against the default layout: a
training step and an inference pass of each degradation network, timed in the same run.

Inputs are the experiment preset's sizes: a training batch of 8 crops of 64 px and an inference batch of 8
patches of 128 px, 12 months. Prints per network the seconds of both layouts, their ratio and the largest
difference of the inference logits, and a last line ``train_speedup=<geometric mean> infer_speedup=<...>``.

    python benchmarks/memory_format.py --threads 2
    python benchmarks/memory_format.py --preset paper --models permafusionnet
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from hardware import timed_steps

from permafusion.core.devices import place_model, resolve_device
from permafusion.tasks.degradation.models.registry import MODEL_NAMES, build_model

T, BATCH, CROP, PATCH = 12, 8, 64, 128


def compare(name: str, preset: str, device: torch.device, repeats: int) -> tuple[float, float, float]:
    """(train ratio, inference ratio, largest logit difference) of channels-last against the default."""
    torch.manual_seed(0)
    default = build_model(name, preset=preset, num_steps=T).to(device)
    channels_last = build_model(name, preset=preset, num_steps=T)
    channels_last.load_state_dict(default.state_dict())
    channels_last = place_model(channels_last, device)
    cs, co = getattr(default, "input_channels", (2, 6))  # PermaFusionNet adds its validity masks
    inputs = {
        size: (
            torch.randn(BATCH, T, cs, size, size, device=device),
            torch.randn(BATCH, T, co, size, size, device=device),
        )
        for size in (CROP, PATCH)
    }

    def train_step(model: torch.nn.Module) -> None:
        model.train()
        model.zero_grad(set_to_none=True)
        model(*inputs[CROP]).logsumexp(dim=1).mean().backward()

    @torch.inference_mode()
    def infer(model: torch.nn.Module) -> torch.Tensor:
        model.eval()
        return model(*inputs[PATCH])

    times = {}
    for label, model in (("default", default), ("channels_last", channels_last)):
        times[label] = (
            timed_steps(lambda m=model: train_step(m), device, steps=repeats, warmup=1) / repeats,
            timed_steps(lambda m=model: infer(m), device, steps=repeats, warmup=1) / repeats,
        )
    difference = float((infer(default) - infer(channels_last)).abs().max())
    (train_d, infer_d), (train_c, infer_c) = times["default"], times["channels_last"]
    print(
        f"{name}: train step {train_d:.3f} s -> {train_c:.3f} s ({train_d / train_c:.2f}x), "
        f"inference {infer_d:.3f} s -> {infer_c:.3f} s ({infer_d / infer_c:.2f}x), "
        f"largest logit difference {difference:.1e}"
    )
    return train_d / train_c, infer_d / infer_c, difference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small", choices=["small", "paper"])
    parser.add_argument("--models", nargs="+", default=list(MODEL_NAMES))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    print(f"{device}, {torch.get_num_threads()} threads, {args.preset} preset, T={T}")
    ratios = np.array([compare(name, args.preset, device, args.repeats)[:2] for name in args.models])
    train, infer = np.exp(np.log(ratios).mean(axis=0))
    print(f"train_speedup={train:.2f} infer_speedup={infer:.2f}")


if __name__ == "__main__":
    main()
