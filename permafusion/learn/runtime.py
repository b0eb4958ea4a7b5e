"""The processes of a training run: rank and world size, reductions, barriers, per-epoch seeds.

Inside an initialised ``torch.distributed`` process group (see :mod:`permafusion.learn.distributed`) the
loop wraps the model in DistributedDataParallel; the global batch is split evenly over the processes
(DistributedSampler-style sharding of one shuffled order), validation is sharded and its statistics
reduced, and only rank 0 writes files.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Processes:
    rank: int = 0
    world: int = 1

    @classmethod
    def current(cls) -> Processes:
        dist = torch.distributed
        if dist.is_available() and dist.is_initialized():
            return cls(rank=dist.get_rank(), world=dist.get_world_size())
        return cls()

    @property
    def main(self) -> bool:
        return self.rank == 0

    def all_sum(self, values: np.ndarray, device: torch.device) -> np.ndarray:
        """float64 ``values`` summed over every process (as they are with one process)."""
        values = np.asarray(values, dtype=np.float64)
        if self.world == 1:
            return values
        tensor = torch.as_tensor(values, dtype=torch.float64, device=device)
        torch.distributed.all_reduce(tensor)
        return tensor.cpu().numpy()

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()

    def local_batches(self, count: int, *, batch_size: int, seed: int, epoch: int) -> Iterator[np.ndarray]:
        """This process's share (sorted indices) of each global batch of one epoch's shuffled order.

        The order is ``default_rng([seed, epoch])``'s permutation, the same on every process; with several
        processes it is padded like DistributedSampler so that every process takes part in every step.
        """
        order = np.random.default_rng([seed, epoch]).permutation(count)
        if self.world > 1:
            pad = (-len(order)) % self.world
            order = np.concatenate([order, order[:pad]])
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            yield np.sort(chunk[self.rank :: self.world])

    def shard(self, count: int) -> np.ndarray:
        """This process's validation samples: every ``world``-th, from its rank."""
        return np.arange(self.rank, count, self.world)


def epoch_seed(seed: int, epoch: int, rank: int) -> int:
    """A 63-bit seed for the torch generator of one epoch and process."""
    return int(np.random.SeedSequence([seed, epoch, rank]).generate_state(1, np.uint64)[0] >> np.uint64(1))
