"""Settings of the training loop: what every task trains with (optimiser, schedule, runtime)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: Loop settings a resumed run may change (they do not alter the arithmetic of training).
RESUME_MAY_CHANGE = frozenset({"threads", "eval_batch_size", "device"})


@dataclass(frozen=True)
class LoopSettings:
    """The loop's part of a training run; each task's own settings add the model and the data.

    Protocol: AdamW (Adam when ``weight_decay`` is 0) with cosine annealing over the epochs, stepped once
    per epoch; gradient clipping at ``grad_clip``; the checkpoint keeps the epoch with the best monitored
    validation score (ties keep the earlier epoch).

    Attributes:
        epochs: training epochs (cosine schedule length).
        batch_size: samples per optimisation step, the global batch over all processes.
        learning_rate: initial learning rate.
        weight_decay: AdamW weight decay.
        grad_clip: max gradient norm; None or 0 disables clipping.
        seed: seed of model initialisation, shuffling and augmentation.
        threads: torch CPU threads for the run; None leaves torch's setting.
        device: ``"auto"`` (CUDA if available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"`` ...
        eval_batch_size: samples per forward pass in validation.
        precision: ``"auto"`` (bf16 autocast on CUDA, fp32 on CPU), ``"fp32"`` or ``"bf16"``.
    """

    epochs: int = 100
    batch_size: int = 16
    learning_rate: float = 1e-4
    weight_decay: float = 1e-5
    grad_clip: float | None = 1.0
    seed: int = 0
    threads: int | None = None
    device: str = "auto"
    eval_batch_size: int = 8
    precision: Literal["auto", "fp32", "bf16"] = "auto"

    def __post_init__(self) -> None:
        problems = []
        for name in ("epochs", "batch_size", "eval_batch_size"):
            if getattr(self, name) < 1:
                problems.append(f"{name}={getattr(self, name)} must be >= 1")
        if self.learning_rate <= 0 or self.weight_decay < 0:
            problems.append("learning_rate must be > 0 and weight_decay >= 0")
        if self.threads is not None and self.threads < 1:
            problems.append(f"threads={self.threads} must be >= 1 (or null)")
        if self.precision not in ("auto", "fp32", "bf16"):
            problems.append(f"precision={self.precision!r} must be 'auto', 'fp32' or 'bf16'")
        if problems:
            raise ValueError("invalid training settings: " + "; ".join(problems))
