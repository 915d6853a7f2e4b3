"""The task-model contract every registered model passes (see seqlab.models.base).

``TINY[task](tmp_path)`` returns the config tables of a tiny run of that task, on data it
writes into ``tmp_path``; a registered task without an entry fails the contract test, so each
task issue adds its line here.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import torch

from seqlab.config import RunConfig
from seqlab.tasks import build_model, get_task
from seqlab.train.checkpoint import load_checkpoint, save_checkpoint

WORDS = "the cat sat on a mat dog ran in park big small red blue".split()


def lm_tiny(tmp_path: Path) -> dict:
    rng = random.Random(0)
    path = tmp_path / "tiny.txt"
    path.write_text("".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 8))) + "\n"
                            for _ in range(300)))
    return {"model": {"hidden_size": 12, "embedding_dim": 12, "num_layers": 1},
            "data": {"data": str(path), "batch_size": 4, "eval_batch_size": 4, "bptt": 6,
                     "cache_dir": str(tmp_path / "prepared")},
            "train": {"threads": 1, "out_dir": str(tmp_path / "run"), "optimizer": "adam",
                      "lr": 0.01, "epochs": 1}}


def longrange_tiny(tmp_path: Path) -> dict:
    return {"model": {"cell": "gru", "hidden_size": 8},
            "data": {"task": "copy", "length": 6, "train_size": 16, "valid_size": 8,
                     "test_size": 8, "batch_size": 4, "eval_batch_size": 4},
            "train": {"threads": 1, "out_dir": str(tmp_path / "run"), "optimizer": "adam",
                      "lr": 0.01, "epochs": 1}}


TINY = {"lm": lm_tiny, "longrange": longrange_tiny}


def _items(batch):
    """Split a batch into one-item batches along the batch axis (tensors, tuples, dicts)."""
    if isinstance(batch, torch.Tensor):
        return [batch[i:i + 1] for i in range(batch.shape[0])]
    if isinstance(batch, (tuple, list)):
        parts = [_items(b) for b in batch]
        return [type(batch)(p[i] for p in parts) for i in range(len(parts[0]))]
    if isinstance(batch, dict):
        parts = {k: _items(v) for k, v in batch.items()}
        n = len(next(iter(parts.values())))
        return [{k: v[i] for k, v in parts.items()} for i in range(n)]
    raise TypeError(f"cannot split a batch of type {type(batch).__name__}")


def check_contract(task_name: str, tmp_path: Path) -> None:
    task = get_task(task_name)
    cfg = RunConfig.from_dict(TINY[task_name](tmp_path), base=task.default_config())
    data = task.build_data(cfg)
    model_cls = task.model_class()
    assert model_cls.config_class is type(cfg.model)
    torch.manual_seed(0)
    model = model_cls.from_config(cfg.model, data.assets)
    model.eval()
    batch = next(iter(data.batches("train", "train")))
    out = model.loss(batch)
    # shapes and finiteness
    assert out.loss.dim() == 0 and math.isfinite(out.loss.item())
    assert out.count > 0 and out.sequences > 0
    # the loss is a sum over the batch's items: the items one by one add up to it
    items = _items(batch)
    assert len(items) == out.sequences
    parts = [model.loss(item) for item in items]
    torch.testing.assert_close(sum(p.loss for p in parts), out.loss, rtol=1e-5, atol=1e-5)
    assert sum(p.count for p in parts) == out.count
    for name, value in out.sums.items():
        assert math.isclose(sum(p.sums[name] for p in parts), value, rel_tol=1e-6, abs_tol=1e-6)
    # figures from totals
    totals = {"loss": out.loss.item(), "count": out.count, **out.sums}
    figures = model.metrics(totals)
    assert "loss" in figures and model.selection[0] in figures
    assert set(model.log_metrics) <= set(figures)
    # save / load through the one checkpoint format: identical outputs
    path = save_checkpoint(tmp_path / "c.safetensors", model=model, task=task_name,
                           config=cfg.to_dict(), assets=model.assets())
    loaded = build_model(load_checkpoint(path)).eval()
    assert type(loaded) is model_cls
    with torch.no_grad():
        assert torch.equal(loaded.loss(batch).loss, model.loss(batch).loss)
