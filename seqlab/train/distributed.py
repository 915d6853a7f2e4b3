"""Multi-process training on PyTorch's own engine: torch.distributed under ``torchrun``.

Nothing here launches processes: ``torchrun`` (``python -m torch.distributed.run``) starts one
process per rank and sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
``MASTER_PORT``; :func:`setup` joins that group (gloo on CPU, NCCL on CUDA), and :class:`Dist`
holds the few collectives the fit loop and the runner need: summing totals and counts,
gathering a carried state and per-rank RNG states for a checkpoint, and wrapping the model in
``DistributedDataParallel``. One process (no ``WORLD_SIZE``, or 1) needs no group at all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch

from seqlab.errors import ConfigError


@dataclass(frozen=True)
class Dist:
    """This process's place in the group: ``rank`` of ``world`` (``local_rank`` on its node)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    # ------------------------------------------------------------------ collectives
    def sum_totals(self, totals: dict[str, float]) -> dict[str, float]:
        """Sum a dict of numbers over every process (same keys on every process)."""
        keys = sorted(totals)
        values = torch.tensor([float(totals[k]) for k in keys], dtype=torch.float64)
        torch.distributed.all_reduce(values)
        out = dict(zip(keys, values.tolist()))
        if "count" in out:
            out["count"] = int(round(out["count"]))
        return out

    def sum_ints(self, *values: int) -> tuple[int, ...]:
        t = torch.tensor(values, dtype=torch.int64)
        torch.distributed.all_reduce(t)
        return tuple(int(v) for v in t.tolist())

    def any(self, flag: bool) -> bool:
        t = torch.tensor([int(flag)], dtype=torch.int64)
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return bool(t.item())

    def gather_objects(self, obj: Any) -> list[Any]:
        out: list[Any] = [None] * self.world
        torch.distributed.all_gather_object(out, obj)
        return out

    def gather_state(self, state: Any, dim: int) -> Any:
        """Concatenate every process's carried state along its batch axis ``dim``."""
        if state is None or self.world == 1:
            return state
        if isinstance(state, torch.Tensor):
            parts = [torch.empty_like(state) for _ in range(self.world)]
            torch.distributed.all_gather(parts, state.contiguous())
            return torch.cat(parts, dim)
        return tuple(self.gather_state(s, dim) for s in state)

    def shard_state(self, state: Any, dim: int) -> Any:
        """This process's rows of a whole-batch state (the inverse of :meth:`gather_state`)."""
        if state is None or self.world == 1:
            return state
        if isinstance(state, torch.Tensor):
            rows = state.shape[dim] // self.world
            return state.narrow(dim, self.rank * rows, rows).clone()
        return tuple(self.shard_state(s, dim) for s in state)

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()

    def wrap(self, module: torch.nn.Module, device: torch.device) -> torch.nn.Module:
        """``module`` in DistributedDataParallel (gradients averaged over processes)."""
        from torch.nn.parallel import DistributedDataParallel

        if device.type == "cuda":
            return DistributedDataParallel(module, device_ids=[device.index or 0])
        return DistributedDataParallel(module)


SINGLE = Dist()


def check_device(device: str) -> None:
    """A ``ConfigError`` saying why ``device`` cannot be used here, and what to do."""
    kind, _, index = device.partition(":")
    if kind == "cuda":
        if torch.version.cuda is None:
            raise ConfigError(f"--device {device}: this PyTorch ({torch.__version__}) is built "
                              "without CUDA; install a CUDA build (see "
                              "https://pytorch.org/get-started/locally/) or use --device cpu")
        if not torch.cuda.is_available():
            raise ConfigError(f"--device {device}: PyTorch has CUDA but sees no GPU (driver "
                              "missing or CUDA_VISIBLE_DEVICES empty); use --device cpu")
        if index and int(index) >= torch.cuda.device_count():
            raise ConfigError(f"--device {device}: only {torch.cuda.device_count()} GPU(s) "
                              "are visible (cuda:0 ...)")
    elif kind == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"--device {device}: MPS (Apple GPUs) is not available here; use "
                          "--device cpu")


def setup(device: str = "cpu") -> tuple[Dist, str]:
    """Join the torchrun group if there is one; return it and the device this rank uses.

    On CUDA each rank takes ``cuda:LOCAL_RANK``. Calling it again in the same process reuses the
    group. An unusable device is a ``ConfigError`` (:func:`check_device`).
    """
    check_device(device)
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world <= 1:
        return SINGLE, device
    rank, local = int(os.environ.get("RANK", 0)), int(os.environ.get("LOCAL_RANK", 0))
    kind = device.split(":")[0]
    if kind == "mps":
        raise ConfigError("multi-process training runs on cpu (gloo) or cuda (nccl), not mps")
    if not torch.distributed.is_available():
        raise ConfigError("this PyTorch build has no torch.distributed; run one process")
    if kind == "cuda":
        device = f"cuda:{local}"
        torch.cuda.set_device(local)
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if kind == "cuda" else "gloo")
    return Dist(rank=rank, world=world, local_rank=local), device


def teardown(dist: Dist) -> None:
    if dist.world > 1 and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
