"""The long-range task (``seqlab train longrange --task adding --length 600 --cell gru``).

Data: one of the generated, seeded tasks of :mod:`seqlab.data.longrange` (``adding``,
``copy``, ``sevenseg``). Each split is ``*_size`` sequences generated once from ``seed`` (the
splits from different seeds); training batches are reshuffled every epoch (the order seeded by
the epoch). Under multi-process training each process reads its contiguous ``B / world`` rows
of every batch, so the processes together see the single-process batch.

Presets (Bai et al. 2018's recurrent baselines, their sizes): ``adding-600`` (~70K
parameters), ``copy-1000`` (~16K parameters).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from seqlab.config import check
from seqlab.data import longrange as gen
from seqlab.errors import ConfigError, DataError

TASK_NAMES = ("adding", "copy", "sevenseg")
_SPLIT_SEED = {"train": 0, "valid": 1, "test": 2}


@dataclass
class LongRangeDataConfig:
    """Which generated task, its length and the split sizes."""

    HELP: ClassVar[dict[str, str]] = {
        "task": "adding (regression, MSE), copy (copy memory, 8 symbols, 10 to recall), "
                "sevenseg (pixel-by-pixel digit classification, T = 96)",
        "length": "sequence length T (adding: the whole sequence; copy: the blank gap + 10; "
                  "sevenseg: fixed at 96)",
        "train_size": "training sequences", "valid_size": "validation sequences",
        "test_size": "test sequences", "batch_size": "training batch B",
        "eval_batch_size": "evaluation batch", "seed": "seed of the generated data"}
    CHOICES: ClassVar[dict[str, tuple]] = {"task": TASK_NAMES}
    RESUMABLE: ClassVar[tuple[str, ...]] = ("eval_batch_size",)

    task: str = "adding"
    length: int = 200
    train_size: int = 50_000
    valid_size: int = 1_000
    test_size: int = 1_000
    batch_size: int = 32
    eval_batch_size: int = 250
    seed: int = 1234

    def __post_init__(self) -> None:
        check(self.task in TASK_NAMES, "data.task", f"one of {TASK_NAMES}", self.task)
        for name in ("length", "train_size", "valid_size", "test_size", "batch_size",
                     "eval_batch_size"):
            value = getattr(self, name)
            check(isinstance(value, int) and not isinstance(value, bool) and value > 0,
                  f"data.{name}", "an int > 0", value)
        if self.task == "adding":
            check(self.length >= 2, "data.length", ">= 2 for the adding problem", self.length)
        if self.task == "sevenseg" and self.length != 96:
            raise ConfigError(f"data.length must be 96 for task 'sevenseg' (12 x 8 pixels read "
                              f"one by one), got {self.length}")


def generate(task: str, n: int, length: int, seed: int):
    """``(x, y)`` of ``n`` sequences of ``task`` (see :mod:`seqlab.data.longrange`)."""
    if task == "adding":
        return gen.adding_problem(n, length, seed=seed)
    if task == "copy":
        return gen.copy_memory(n, length, seed=seed)
    if task == "sevenseg":
        return gen.sevenseg_digits(n, seed=seed)
    raise ConfigError(f"data.task must be one of {TASK_NAMES}, got {task!r}")


def task_assets(task: str, length: int) -> dict[str, Any]:
    """What the model needs to know of the task: input/output sizes, where it is read, chance."""
    if task == "adding":
        return {"task": task, "length": length, "input_size": 2, "output_size": 1,
                "chance": gen.ADDING_CHANCE_PUBLISHED}
    if task == "copy":
        return {"task": task, "length": length, "input_size": 10, "output_size": 10,
                "chance": gen.copy_chance(length)}
    return {"task": task, "length": 96, "input_size": 1, "output_size": 10,
            "chance": 0.9}  # chance error rate; the model reports accuracy 0.1 beside it


class Batches:
    """Batches of one split; ``set_epoch`` reshuffles the training order."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, shuffle: bool,
                 seed: int, rank: int = 0, world: int = 1) -> None:
        if batch_size % world:
            raise ConfigError(f"batch size {batch_size} cannot be split evenly over {world} "
                              f"processes: choose a multiple of {world}")
        self.x, self.y, self.batch_size, self.shuffle = x, y, batch_size, shuffle
        self.seed, self.rank, self.world, self.epoch = seed, rank, world, 1
        self.sharded = world > 1

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def __iter__(self):
        n = len(self.x)
        order = (torch.randperm(n, generator=torch.Generator().manual_seed(
            self.seed * 1009 + self.epoch)) if self.shuffle else torch.arange(n))
        for start in range(0, n, self.batch_size):
            idx = order[start:start + self.batch_size]
            if self.world > 1:
                lo = self.rank * len(idx) // self.world
                idx = idx[lo:(self.rank + 1) * len(idx) // self.world]
            yield self.x[idx], self.y[idx]


class LongRangeData:
    """The generated splits and their batches (the engine's data contract)."""

    def __init__(self, cfg: Any) -> None:
        d = cfg.data
        self.cfg = cfg
        sizes = {"train": d.train_size, "valid": d.valid_size, "test": d.test_size}
        self.splits = {split: generate(d.task, n, d.length, d.seed * 10 + _SPLIT_SEED[split])
                       for split, n in sizes.items()}
        self.assets = task_assets(d.task, d.length)

    def describe(self) -> str:
        d = self.cfg.data
        return (f"{d.task} T={d.length} | train {d.train_size} | chance "
                f"{self.assets['chance']:.4g}")

    def batches(self, split: str, purpose: str = "train", rank: int = 0, world: int = 1):
        if split not in self.splits:
            raise DataError(f"the task has no {split!r} split (it has {sorted(self.splits)})")
        d = self.cfg.data
        size = d.batch_size if purpose == "train" else d.eval_batch_size
        x, y = self.splits[split]
        return Batches(x, y, size, purpose == "train", d.seed, rank, world)


def build_data(cfg: Any, assets: Mapping[str, Any] | None = None,
               data: str | None = None) -> LongRangeData:
    """Generate the configured task's splits (``data``, a file, does not apply here)."""
    if data:
        raise DataError("the longrange task generates its data; --data FILE does not apply")
    built = LongRangeData(cfg)
    if assets and assets.get("task") not in (None, cfg.data.task):
        raise DataError(f"the checkpoint was trained on task {assets.get('task')!r}, the config "
                        f"asks for {cfg.data.task!r}")
    return built


# Bai, Kolter & Koltun (2018), "An Empirical Evaluation of Generic Convolutional and Recurrent
# Networks for Sequence Modeling", table 1 and their released code (locuslab/TCN): adding
# T = 600 with ~70K parameters (LSTM 1x128 in their code), copy memory T = 1000 with ~16K
# (LSTM 1x40 there). Optimizer: Adam, gradient clipping. Sizes here are per cell in
# benchmarks/longrange.py; these presets are the GRU rows.
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "adding-600": {
        "model": {"cell": "gru", "hidden_size": 150, "num_layers": 1},
        "data": {"task": "adding", "length": 600, "batch_size": 32},
        "train": {"optimizer": "adam", "lr": 0.002, "schedule": "constant", "epochs": 10,
                  "clip": 1.0, "loss_reduction": "token", "log_every": 100},
    },
    "copy-1000": {
        "model": {"cell": "gru", "hidden_size": 65, "num_layers": 1},
        "data": {"task": "copy", "length": 1000, "train_size": 10_000, "batch_size": 32},
        "train": {"optimizer": "adam", "lr": 0.001, "schedule": "constant", "epochs": 10,
                  "clip": 1.0, "loss_reduction": "token", "log_every": 50},
    },
}
