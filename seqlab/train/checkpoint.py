"""Checkpoints as data: one safetensors file holding tensors plus a JSON header, for every task.

Layout of ``<name>.safetensors``:

- tensors ``model/<param>`` (weights; tied weights are stored once), ``optim/<param index>/<key>``
  (optimizer state), ``carry/<i>`` (the state carried between batches when saved mid-epoch;
  under multi-process training the whole batch's, gathered from every process), ``rng/torch``,
  ``rng/numpy`` (and ``rng/<rank>/torch``, ``rng/<rank>/numpy`` for the other processes),
  ``average/<param>`` (the weight average of ``train.ema``, in ``last`` files);
- metadata ``{"seqlab": JSON}`` with the format, seqlab version, the registered **task** name,
  the run config (its TOML tables), the model's **assets** (vocabularies, tokenizers, label sets,
  scalers: whatever ``model.assets()`` returns), optimizer param groups, schedule state,
  training progress (epoch, batch within the epoch, step, best metric, history), Python/NumPy
  RNG state, the world size, and a SHA-256 over every tensor's bytes **and** the rest of the
  metadata, so an edited header is caught as surely as a flipped weight.

This module knows no task model: :func:`seqlab.tasks.load` rebuilds the right model from the
task name, its config and assets. Nothing is unpickled on load. Files are written to a temporary
name in the same directory and moved into place with ``os.replace``, so a crash mid-write leaves
the previous checkpoint whole. A truncated or altered file, a missing one, or one whose config or
vocabulary does not match the run raise :class:`~seqlab.errors.CheckpointError` naming the
cause. Format 1 files (language models of seqlab 0.1) still load.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from seqlab.errors import CheckpointError, ConfigError
from seqlab.io import atomic_write_bytes

FORMAT = "seqlab-checkpoint/2"
FORMAT_V1 = "seqlab-checkpoint/1"


def _digest(tensors: dict[str, torch.Tensor], meta: dict[str, Any] | None = None) -> str:
    """SHA-256 of every tensor (name, dtype, shape, bytes) and, from format 2, the metadata."""
    h = hashlib.sha256()
    if meta is not None:
        body = {k: v for k, v in meta.items() if k != "sha256"}
        h.update(json.dumps(body, sort_keys=True).encode())
    for key in sorted(tensors):
        t = tensors[key].detach().contiguous().cpu()
        h.update(key.encode())
        h.update(str(t.dtype).encode() + str(tuple(t.shape)).encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def rng_state(prefix: str = "rng") -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Torch, NumPy and Python RNG states as (tensors, JSON-able dict)."""
    # the legacy global NumPy RNG is what user code seeds with np.random.seed: save it as is
    kind, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002
    tensors = {f"{prefix}/torch": torch.get_rng_state(),
               f"{prefix}/numpy": torch.from_numpy(np.asarray(keys, dtype=np.int64))}
    version, internal, gauss = random.getstate()
    meta = {"numpy": [kind, int(pos), int(has_gauss), float(cached)],
            "python": [version, list(internal), gauss]}
    return tensors, meta


def set_rng_state(tensors: dict[str, torch.Tensor], meta: dict[str, Any],
                  prefix: str = "rng") -> None:
    torch.set_rng_state(tensors[f"{prefix}/torch"])
    kind, pos, has_gauss, cached = meta["numpy"]
    keys = tensors[f"{prefix}/numpy"].numpy().astype(np.uint32)
    np.random.set_state((kind, keys, pos, has_gauss, cached))  # noqa: NPY002
    version, internal, gauss = meta["python"]
    random.setstate((version, tuple(internal), gauss))


def _model_tensors(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    seen: set[int] = set()
    out = {}
    for name, tensor in model.state_dict().items():
        if tensor.data_ptr() in seen:  # tied weights: stored once, re-tied by the constructor
            continue
        seen.add(tensor.data_ptr())
        out[f"model/{name}"] = tensor.detach().cpu().contiguous().clone()
    return out


def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict, dict]:
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    plain: dict[str, dict[str, Any]] = {}
    for index, values in state["state"].items():
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim/{index}/{key}"] = value.detach().cpu().contiguous().clone()
            else:
                plain.setdefault(str(index), {})[key] = value
    return tensors, {"param_groups": state["param_groups"], "plain": plain}


def _carry_tensors(carry: Any) -> tuple[dict[str, torch.Tensor], str | None]:
    if carry is None:
        return {}, None
    if isinstance(carry, torch.Tensor):
        return {"carry/0": carry.detach().cpu().contiguous().clone()}, "tensor"
    return ({f"carry/{i}": t.detach().cpu().contiguous().clone() for i, t in enumerate(carry)},
            "tuple")


def tied_names(model: torch.nn.Module) -> set[str]:
    """State-dict names that share storage with an earlier name (stored once)."""
    seen: set[int] = set()
    tied = set()
    for name, tensor in model.state_dict().items():
        if tensor.data_ptr() in seen:
            tied.add(name)
        seen.add(tensor.data_ptr())
    return tied


def save_checkpoint(path: str | os.PathLike, *, model: torch.nn.Module, task: str,
                    config: dict[str, Any], assets: dict[str, Any] | None = None,
                    optimizer: torch.optim.Optimizer | None = None,
                    schedule: dict | None = None, progress: dict | None = None,
                    carry: Any = None, rng: list[tuple[dict, dict]] | None = None,
                    world_size: int = 1, extra: dict[str, torch.Tensor] | None = None) -> Path:
    """Write a checkpoint atomically and return its path.

    Args:
        model: the task model (its weights are saved).
        task: the registered task name (``seqlab.tasks.TASKS``).
        config: the run config as tables (``RunConfig.to_dict()``).
        assets: ``model.assets()``: vocabularies and label sets, JSON-able.
        optimizer, schedule, progress, carry: the resume point.
        rng: per-process RNG states ``[rng_state() of rank 0, of rank 1, ...]`` (default: this
            process's).
        world_size: the number of training processes.
        extra: more named tensors of the resume point (e.g. ``average/<param>``, the weight
            average of :mod:`seqlab.train.averaging`).
    """
    from seqlab import __version__

    path = Path(path)
    tensors = _model_tensors(model)
    meta: dict[str, Any] = {"format": FORMAT, "seqlab_version": __version__, "task": task,
                            "config": config, "assets": assets or {}, "schedule": schedule,
                            "progress": progress or {}, "world_size": world_size}
    if optimizer is not None:
        optim_tensors, meta["optimizer"] = _optimizer_tensors(optimizer)
        tensors.update(optim_tensors)
    carry_tensors, meta["carry"] = _carry_tensors(carry)
    tensors.update(carry_tensors)
    tensors.update(extra or {})
    states = rng or [rng_state()]
    for rank, (rng_tensors, rng_meta) in enumerate(states):
        prefix = "rng" if rank == 0 else f"rng/{rank}"
        tensors.update({k.replace("rng", prefix, 1): v for k, v in rng_tensors.items()})
        meta["rng" if rank == 0 else f"rng_{rank}"] = rng_meta
    meta["rng_ranks"] = len(states)
    meta["sha256"] = _digest(tensors, meta)
    blob = st_save(tensors, metadata={"seqlab": json.dumps(meta)})
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_bytes(path, blob, fsync=True)


@dataclass
class Checkpoint:
    """What a checkpoint file holds, loaded back (see :func:`load_checkpoint`).

    ``config`` is the run config's tables (``seqlab.tasks.config_of`` parses them for the
    task); ``assets`` what the model needs besides its weights.
    """

    path: Path
    task: str
    config: dict[str, Any]
    assets: dict[str, Any]
    model_state: dict[str, torch.Tensor]
    progress: dict
    schedule: dict | None
    meta: dict
    tensors: dict[str, torch.Tensor] = field(repr=False, default_factory=dict)

    @property
    def vocab(self) -> dict | None:
        return self.assets.get("vocab")

    @property
    def tokenizer(self) -> dict | None:
        return self.assets.get("tokenizer")

    def check_task(self, wanted: str, command: str = "") -> None:
        """Raise CheckpointError unless this is a checkpoint of task ``wanted``."""
        if self.task != wanted:
            what = f"`seqlab {command}`" if command else "this command"
            raise CheckpointError(f"{self.path} is a checkpoint of task {self.task!r}; "
                                  f"{what} needs a {wanted!r} checkpoint")

    def load_weights(self, model: torch.nn.Module) -> None:
        try:
            missing, unexpected = model.load_state_dict(self.model_state, strict=False)
        except RuntimeError as exc:
            detail = " ".join(line.strip() for line in str(exc).splitlines()[:3])
            raise CheckpointError(f"checkpoint {self.path} does not fit the model: "
                                  f"{detail}") from None
        missing = set(missing) - tied_names(model)
        if missing or unexpected:
            raise CheckpointError(f"checkpoint {self.path} does not fit the model: missing "
                                  f"{sorted(missing)}, unexpected {sorted(unexpected)}")

    def load_optimizer(self, optimizer: torch.optim.Optimizer) -> None:
        saved = self.meta.get("optimizer")
        if saved is None:
            raise CheckpointError(f"checkpoint {self.path} holds no optimizer state")
        state: dict[int, dict[str, Any]] = {}
        for key, tensor in self.tensors.items():
            if key.startswith("optim/"):
                _, index, name = key.split("/", 2)
                state.setdefault(int(index), {})[name] = tensor
        for index, values in saved["plain"].items():
            state.setdefault(int(index), {}).update(values)
        try:
            optimizer.load_state_dict({"state": state, "param_groups": saved["param_groups"]})
        except (ValueError, KeyError) as exc:
            raise CheckpointError(f"optimizer state in {self.path} does not match the "
                                  f"optimizer: {exc}") from None

    def carry(self) -> Any:
        kind = self.meta.get("carry")
        if kind is None:
            return None
        parts = [self.tensors[f"carry/{i}"] for i in range(len(
            [k for k in self.tensors if k.startswith("carry/")]))]
        return parts[0] if kind == "tensor" else tuple(parts)

    def restore_rng(self, rank: int = 0) -> None:
        """Restore the RNG states of process ``rank`` (rank 0's if the file has no other)."""
        if rank and rank < int(self.meta.get("rng_ranks", 1)):
            set_rng_state(self.tensors, self.meta[f"rng_{rank}"], prefix=f"rng/{rank}")
        else:
            set_rng_state(self.tensors, self.meta["rng"])

    def check_matches(self, config: Any, assets: dict | None) -> None:
        """Raise CheckpointError unless ``config`` (a RunConfig) and ``assets`` match.

        Options each section lists in ``RESUMABLE`` (epochs, eval batch sizes, threads...) may
        differ: they do not change what is learned.
        """
        if config.task != self.task:
            raise CheckpointError(f"{self.path} is a checkpoint of task {self.task!r}, the run "
                                  f"is task {config.task!r}")
        try:
            saved = type(config).from_dict(self.config, base=config)
        except ConfigError as exc:
            raise CheckpointError(f"checkpoint {self.path} holds an invalid config: "
                                  f"{exc}") from None
        ignore = {name: getattr(cls, "RESUMABLE", ()) for name, cls in config.sections().items()}
        diffs = saved.differences(config, ignore)
        if diffs:
            raise CheckpointError(f"checkpoint {self.path} was made with another config: "
                                  + "; ".join(diffs))
        for key, wanted in (assets or {}).items():
            have = self.assets.get(key)
            if have is not None and wanted is not None and have != wanted:
                raise CheckpointError(f"checkpoint {self.path} has another {key}: "
                                      + _assets_difference(have, wanted))


def _assets_difference(saved: Any, wanted: Any) -> str:
    a = saved.get("tokens", saved) if isinstance(saved, dict) else saved
    b = wanted.get("tokens", wanted) if isinstance(wanted, dict) else wanted
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{len(a)} entries in the checkpoint, {len(b)} in the data"
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return f"id {i} is {x!r} in the checkpoint, {y!r} in the data"
    return "the saved one differs from the data's"


def _upgrade_v1(meta: dict[str, Any]) -> dict[str, Any]:
    """A format-1 (language model) header in format 2's terms."""
    config = meta.get("config", {})
    tokenizer = meta.get("tokenizer") or {}
    char = tokenizer.get("name") == "char" or config.get("data", {}).get("dataset") == "ptb-char"
    return {**meta, "task": "lm", "config": {"task": "lm", **config},
            "assets": {"vocab": meta.get("vocab"), "tokenizer": meta.get("tokenizer"),
                       "vocab_size": meta.get("vocab_size"), "char_level": char}}


def load_checkpoint(path: str | os.PathLike, map_location: str = "cpu") -> Checkpoint:
    """Read and verify a checkpoint written by :func:`save_checkpoint`."""
    path = Path(path)
    if path.is_dir():
        path = path / "last.safetensors"
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    blob = path.read_bytes()
    try:
        tensors = st_load(blob)
        header_len = int.from_bytes(blob[:8], "little")
        header = json.loads(blob[8:8 + header_len])
        meta = json.loads(header["__metadata__"]["seqlab"])
        if not isinstance(meta, dict):
            raise TypeError("the seqlab header is not a JSON object")
    except (SafetensorError, ValueError, KeyError, TypeError, OverflowError) as exc:
        raise CheckpointError(f"checkpoint {path} is truncated or corrupt "
                              f"({len(blob)} bytes): {exc}") from None
    if meta.get("format") not in (FORMAT, FORMAT_V1):
        raise CheckpointError(f"{path} is not a seqlab checkpoint (format "
                              f"{meta.get('format')!r}, expected {FORMAT!r})")
    v1 = meta["format"] == FORMAT_V1
    if _digest(tensors, None if v1 else meta) != meta.get("sha256"):
        raise CheckpointError(f"checkpoint {path} is corrupt: its tensors or metadata do not "
                              "match its SHA-256 (edited or damaged)")
    if v1:
        meta = _upgrade_v1(meta)
    model_state = {k[len("model/"):]: v.to(map_location) for k, v in tensors.items()
                   if k.startswith("model/")}
    return Checkpoint(path=path, task=meta["task"], config=meta["config"],
                      assets=meta.get("assets") or {}, model_state=model_state,
                      progress=meta.get("progress", {}), schedule=meta.get("schedule"),
                      meta=meta, tensors=tensors)
