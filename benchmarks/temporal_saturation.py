"""Do the ConvLSTM's gates saturate? Plain cell (the paper's) against the layer-normalised one.

Trains the small PermaFusionNet on random 64 px inputs of 12 months with random 4-class labels
(AdamW, lr as the demo's 3e-3, batch 4) and prints, every 10 steps, the mean |pre-activation| of the gates
of the first ConvLSTM layer (before the norm for the plain cell, after it for the normalised one: what the
sigmoids and tanh see) and the ratio of the recurrence's gradient norm to the decoder's. Last line
``lstm_norm=<n> preactivation=<x> grad_ratio=<y>`` per form, at the last step.

    python benchmarks/temporal_saturation.py --steps 40
"""

from __future__ import annotations

import argparse

import torch

from permafusion.tasks.degradation.models.registry import build_model


def _grad_norm(module: torch.nn.Module) -> float:
    grads = [p.grad.norm() ** 2 for p in module.parameters() if p.grad is not None]
    return float(torch.stack(grads).sum().sqrt()) if grads else 0.0


def run(norm: str, steps: int, lr: float) -> tuple[float, float]:
    torch.manual_seed(0)
    model = build_model("permafusionnet", preset="small", lstm_norm=norm)
    cell = model.temporal.cells[0]
    seen: list[float] = []

    def hook(module: torch.nn.Module, args: tuple, output: torch.Tensor) -> None:
        seen.append(float(output.detach().abs().mean()))

    (cell.gate_norm if cell.gate_norm is not None else cell.conv).register_forward_hook(hook)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(1)
    sar, optical = torch.randn(16, 12, 3, 64, 64, generator=g), torch.randn(16, 12, 7, 64, 64, generator=g)
    label = torch.randint(0, 4, (16, 64, 64), generator=g)
    for step in range(1, steps + 1):
        idx = torch.randint(0, 16, (4,), generator=g)
        seen.clear()
        loss = torch.nn.functional.cross_entropy(model(sar[idx], optical[idx]), label[idx])
        opt.zero_grad()
        loss.backward()
        ratio = _grad_norm(model.temporal) / max(_grad_norm(model.decoder), 1e-12)
        opt.step()
        if step % 10 == 0 or step == 1:
            pre = sum(seen) / len(seen)
            print(f"lstm_norm={norm} step {step}: |pre-activation| {pre:.2f}, grad ratio {ratio:.2e}")
    return sum(seen) / len(seen), ratio


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--lr", type=float, default=3e-3)
    args = parser.parse_args()
    for norm in ("none", "layer"):
        pre, ratio = run(norm, args.steps, args.lr)
        print(f"lstm_norm={norm} preactivation={pre:.2f} grad_ratio={ratio:.2e}")


if __name__ == "__main__":
    main()
