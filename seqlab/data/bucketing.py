"""Batches of variable-length examples with little padding, for every padded-batch task.

Training order: a per-epoch seeded shuffle (``[seed, epoch]``), sorted by length inside pools
of ``pool`` batches, the batches then shuffled. With ``world > 1`` torch's
``DistributedSampler`` deals each process its share of the shuffled examples and each process
makes batches of ``batch_size / world`` (so the processes together see ``batch_size``).
Evaluation order: every ``world``-th example from ``rank``, sorted by length (deterministic),
and the batches are marked ``sharded`` so the fit loop sums their totals over processes.

    >>> b = LengthBatches([3, 1, 2, 5, 4], 2, collate=list, train=False)
    >>> list(b)
    [[1, 2], [0, 4], [3]]
    >>> len(b)
    3
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from seqlab.errors import ConfigError

__all__ = ["LengthBatches"]


class LengthBatches:
    """Re-iterable batches: ``collate(indices)`` of each group of example indices.

    Args:
        lengths: each example's length (what sorting groups by).
        batch_size: examples per batch (the global batch under ``world > 1``).
        collate: builds a batch from a list of example indices.
        train: shuffled order (else deterministic, sorted by length).
        seed, rank, world: the shuffle's seed; this process and the process count.
        pool: batches per sorting pool in training.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, collate: Callable[[list[int]], Any],
                 *, train: bool, seed: int = 0, rank: int = 0, world: int = 1,
                 pool: int = 50) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch size must be >= 1, got {batch_size}")
        if train and world > 1 and batch_size % world:
            raise ConfigError(f"batch size {batch_size} cannot be split evenly over {world} "
                              f"processes: choose a multiple of {world}")
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.batch_size, self.collate, self.train = batch_size, collate, train
        self.seed, self.rank, self.world, self.pool, self.epoch = seed, rank, world, pool, 0
        self.sharded = world > 1 and not train

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def order(self) -> list[list[int]]:
        """The example indices of each batch, in the order they are read."""
        n, lengths = len(self.lengths), self.lengths
        if not self.train:
            mine = np.arange(n)[self.rank::self.world]
            mine = mine[np.argsort(lengths[mine], kind="stable")]
            return [mine[i:i + self.batch_size].tolist()
                    for i in range(0, len(mine), self.batch_size)]
        rng = np.random.default_rng([self.seed, self.epoch])
        if self.world > 1:
            from torch.utils.data import DistributedSampler

            sampler = DistributedSampler(range(n), num_replicas=self.world, rank=self.rank,
                                         shuffle=True, seed=self.seed)
            sampler.set_epoch(self.epoch)
            perm, size = np.array(list(sampler)), self.batch_size // self.world
        else:
            perm, size = rng.permutation(n), self.batch_size
        batches: list[list[int]] = []
        for start in range(0, len(perm), self.pool * size):
            chunk = perm[start:start + self.pool * size]
            chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
            batches += [chunk[i:i + size].tolist() for i in range(0, len(chunk), size)]
        return [batches[i] for i in rng.permutation(len(batches))]

    def __len__(self) -> int:
        n = len(self.lengths)
        if not self.train:
            return -(-len(range(self.rank, n, self.world)) // self.batch_size)
        per = -(-n // self.world) if self.world > 1 else n
        size = self.batch_size // self.world if self.world > 1 else self.batch_size
        pool = self.pool * size
        return sum(-(-min(pool, per - s) // size) for s in range(0, per, pool))

    def __iter__(self):
        for idx in self.order():
            yield self.collate(idx)
