"""What the training loop needs to know of a task: a small object, so every task shares one loop.

The loop (:func:`permafusion.learn.loop.fit`) owns the optimiser, schedule, precision, processes, shuffling
and sharding, validation, the best-epoch rule, checkpoints and resumable state. A task says how to turn
sample indices into a batch (a dict of tensors on the device), how to run its model on a batch, its loss,
and how to score validation batches with additive statistics (so that they sum over batches and
processes). Classification tasks sum confusion matrices, regression tasks sums of errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
import torch

Batch = dict[str, torch.Tensor]


class TrainingTask(Protocol):
    """A task the loop can train.

    Attributes:
        monitor: the key of :meth:`summarize`'s report that selects the best epoch.
        maximize: whether a higher ``monitor`` is better (F1) or a lower one (RMSE).
        history_metrics: history column -> report key, written per epoch beside the losses.
    """

    @property
    def monitor(self) -> str: ...

    @property
    def maximize(self) -> bool: ...

    @property
    def history_metrics(self) -> Mapping[str, str]: ...

    def prepare(self, device: torch.device) -> None:
        """Called once before training, with the device (e.g. to hold the data there)."""
        ...

    def sizes(self) -> tuple[int, int]:
        """Number of training and of validation samples."""
        ...

    def build_model(self) -> torch.nn.Module:
        """A freshly initialised model (the loop seeds torch before calling it)."""
        ...

    def train_batch(self, idx: np.ndarray, *, rng: np.random.Generator, generator: torch.Generator) -> Batch:
        """The augmented training batch of samples ``idx`` on the device.

        ``rng`` (numpy, host) and ``generator`` (torch, on the device) are seeded per epoch and process;
        a task draws its randomness from the one its data live on.
        """
        ...

    def val_batch(self, idx: np.ndarray) -> Batch:
        """The validation batch of samples ``idx`` on the device, without augmentation."""
        ...

    def forward(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        """The model's raw outputs on a batch."""
        ...

    def loss(self, outputs: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Scalar loss of fp32 outputs against the batch's targets."""
        ...

    def val_statistics(self, outputs: torch.Tensor, batch: Batch) -> np.ndarray:
        """Additive float64 statistics of one validation batch (summed over batches and processes)."""
        ...

    def summarize(self, statistics: np.ndarray) -> dict[str, Any]:
        """JSON-ready validation metrics from the summed statistics; holds ``monitor`` (None if undefined)."""
        ...

    def checkpoint_fields(self, model: torch.nn.Module) -> dict[str, Any]:
        """What the checkpoint records besides weights and loop facts: model name and arguments,
        normalisation, data sizes, the model card. Plain types only (``weights_only`` loading)."""
        ...

    def fingerprint(self) -> str:
        """A fingerprint of the training data: a resumed run refuses a state of other data."""
        ...
