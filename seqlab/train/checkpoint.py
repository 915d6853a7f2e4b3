"""Checkpoints as data: one safetensors file holding tensors plus a JSON header.

Layout of ``<name>.safetensors``:

- tensors ``model/<param>`` (weights; a tied decoder weight is stored once),
  ``optim/<param index>/<key>`` (optimizer state), ``carry/<i>`` (the recurrent state carried
  between BPTT windows when saved mid-epoch) and ``rng/torch``, ``rng/numpy``;
- metadata ``{"seqlab": JSON}`` with the seqlab version, the run config, the vocabulary and
  tokenizer (their ``to_dict``), vocab size, optimizer param groups, schedule state, training
  progress (epoch, batch within the epoch, step, best metric, history), Python/NumPy RNG state
  and a SHA-256 of every tensor's bytes.

Nothing is unpickled on load. Files are written to a temporary name in the same directory and
moved into place with ``os.replace``, so a crash mid-write leaves the previous checkpoint whole.
A truncated or altered file, a missing one, or one whose config or vocabulary does not match
the run raise :class:`~seqlab.errors.CheckpointError` naming the cause.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from seqlab.config import RunConfig
from seqlab.errors import CheckpointError, ConfigError

FORMAT = "seqlab-checkpoint/1"


def _digest(tensors: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for key in sorted(tensors):
        t = tensors[key].detach().contiguous().cpu()
        h.update(key.encode())
        h.update(str(t.dtype).encode() + str(tuple(t.shape)).encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def rng_state() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Torch, NumPy and Python RNG states as (tensors, JSON-able dict)."""
    # the legacy global NumPy RNG is what user code seeds with np.random.seed: save it as is
    kind, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002
    tensors = {"rng/torch": torch.get_rng_state(),
               "rng/numpy": torch.from_numpy(np.asarray(keys, dtype=np.int64))}
    version, internal, gauss = random.getstate()
    meta = {"numpy": [kind, int(pos), int(has_gauss), float(cached)],
            "python": [version, list(internal), gauss]}
    return tensors, meta


def set_rng_state(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    torch.set_rng_state(tensors["rng/torch"])
    kind, pos, has_gauss, cached = meta["numpy"]
    keys = tensors["rng/numpy"].numpy().astype(np.uint32)
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


def save_checkpoint(path: str | os.PathLike, *, model: torch.nn.Module, config: RunConfig,
                    vocab_size: int, vocab: dict | None = None, tokenizer: dict | None = None,
                    optimizer: torch.optim.Optimizer | None = None,
                    schedule: dict | None = None, progress: dict | None = None,
                    carry: Any = None) -> Path:
    """Write a checkpoint atomically and return its path."""
    from seqlab import __version__

    path = Path(path)
    tensors = _model_tensors(model)
    meta: dict[str, Any] = {"format": FORMAT, "seqlab_version": __version__,
                            "config": config.to_dict(), "vocab_size": vocab_size,
                            "vocab": vocab, "tokenizer": tokenizer, "schedule": schedule,
                            "progress": progress or {}}
    if optimizer is not None:
        optim_tensors, meta["optimizer"] = _optimizer_tensors(optimizer)
        tensors.update(optim_tensors)
    carry_tensors, meta["carry"] = _carry_tensors(carry)
    tensors.update(carry_tensors)
    rng_tensors, meta["rng"] = rng_state()
    tensors.update(rng_tensors)
    meta["sha256"] = _digest(tensors)
    blob = st_save(tensors, metadata={"seqlab": json.dumps(meta)})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


@dataclass
class Checkpoint:
    """What a checkpoint file holds, loaded back (see :func:`load_checkpoint`)."""

    path: Path
    config: RunConfig
    vocab_size: int
    vocab: dict | None
    tokenizer: dict | None
    model_state: dict[str, torch.Tensor]
    progress: dict
    schedule: dict | None
    meta: dict
    tensors: dict[str, torch.Tensor] = field(repr=False, default_factory=dict)

    def build_model(self, **overrides: Any) -> torch.nn.Module:
        """The LanguageModel with the saved weights (``overrides`` e.g. backend="reference")."""
        from seqlab.models.language_model import LanguageModel

        cfg = self.config.model
        if overrides:
            cfg = type(cfg)(**{**cfg.__dict__, **overrides})
        model = LanguageModel.from_config(self.vocab_size, cfg)
        self.load_weights(model)
        return model

    def load_weights(self, model: torch.nn.Module) -> None:
        missing, unexpected = model.load_state_dict(self.model_state, strict=False)
        tied = {"decoder.weight"} if self.config.model.tie_weights else set()
        if set(missing) - tied or unexpected:
            raise CheckpointError(f"checkpoint {self.path} does not fit the model: missing "
                                  f"{sorted(set(missing) - tied)}, unexpected {sorted(unexpected)}")

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

    def restore_rng(self) -> None:
        set_rng_state(self.tensors, self.meta["rng"])

    def check_matches(self, config: RunConfig, vocab: dict | None) -> None:
        """Raise CheckpointError unless ``config`` (model and data) and ``vocab`` match."""
        diffs = []
        saved = self.config.to_dict()
        wanted = config.to_dict()
        for section in ("model", "data"):
            for key, value in wanted[section].items():
                if key in ("eval_batch_size", "final_eval_batch_size", "cache_dir", "backend"):
                    continue  # do not change what is learned
                if saved[section].get(key) != value:
                    diffs.append(f"{section}.{key}: checkpoint {saved[section].get(key)!r}, "
                                 f"run {value!r}")
        if diffs:
            raise CheckpointError(f"checkpoint {self.path} was made with another config: "
                                  + "; ".join(diffs))
        if vocab is not None and self.vocab is not None and vocab != self.vocab:
            raise CheckpointError(f"checkpoint {self.path} has another vocabulary: "
                                  + _vocab_difference(self.vocab, vocab))


def _vocab_difference(saved: dict, wanted: dict) -> str:
    a, b = saved.get("tokens", saved), wanted.get("tokens", wanted)
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{len(a)} tokens in the checkpoint, {len(b)} in the data"
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return f"id {i} is {x!r} in the checkpoint, {y!r} in the data"
    return "the saved vocabulary differs from the data's"


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
    except (SafetensorError, ValueError, KeyError, TypeError, OverflowError) as exc:
        raise CheckpointError(f"checkpoint {path} is truncated or corrupt "
                              f"({len(blob)} bytes): {exc}") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a seqlab checkpoint (format "
                              f"{meta.get('format')!r}, expected {FORMAT!r})")
    if _digest(tensors) != meta["sha256"]:
        raise CheckpointError(f"checkpoint {path} is corrupt: tensor data does not match its "
                              "SHA-256")
    try:
        config = RunConfig.from_dict(meta["config"])
    except ConfigError as exc:
        raise CheckpointError(f"checkpoint {path} holds an invalid config: {exc}") from None
    model_state = {k[len("model/"):]: v.to(map_location) for k, v in tensors.items()
                   if k.startswith("model/")}
    return Checkpoint(path=path, config=config, vocab_size=int(meta["vocab_size"]),
                      vocab=meta.get("vocab"), tokenizer=meta.get("tokenizer"),
                      model_state=model_state, progress=meta.get("progress", {}),
                      schedule=meta.get("schedule"), meta=meta, tensors=tensors)
