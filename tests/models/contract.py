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


def forecaster_tiny(tmp_path: Path) -> dict:
    rng = random.Random(0)
    path = tmp_path / "series.csv"
    rows = ["time,a,b"] + [f"{t},{10 + math.sin(t / 3) + rng.random():.4f},"
                           f"{5 + math.cos(t / 4) + rng.random():.4f}" for t in range(80)]
    path.write_text("\n".join(rows) + "\n")
    return {"model": {"hidden_size": 8, "loss": "quantile", "mode": "autoregressive",
                      "patch": 2},
            "data": {"dataset": "", "data": str(path), "window": 12, "horizon": 6,
                     "batch_size": 8, "eval_batch_size": 4, "covariates": "phase",
                     "period": 6},
            "train": {"threads": 1, "out_dir": str(tmp_path / "run"), "optimizer": "adam",
                      "lr": 0.01, "epochs": 1}}


def _labelled_tsv(tmp_path: Path) -> Path:
    rng = random.Random(0)
    path = tmp_path / "labelled.tsv"
    rows = ["text\tlabel"]
    for _ in range(200):
        words = [rng.choice(WORDS) for _ in range(rng.randint(1, 8))]
        rows.append(" ".join(words) + "\t" + ("red" if "red" in words else "other"))
    path.write_text("\n".join(rows) + "\n")
    return path


def classifier_tiny(tmp_path: Path) -> dict:
    return {"model": {"hidden_size": 8, "embedding_dim": 8, "pooling": "attention"},
            "data": {"data": str(_labelled_tsv(tmp_path)), "batch_size": 8},
            "train": {"threads": 1, "out_dir": str(tmp_path / "run"), "optimizer": "adam",
                      "lr": 0.01, "epochs": 1}}


def tagger_tiny(tmp_path: Path) -> dict:
    rng = random.Random(0)
    path = tmp_path / "tagged.txt"
    lines = []
    for _ in range(120):
        for _ in range(rng.randint(2, 7)):
            w = rng.choice(WORDS)
            lines.append(f"{w} {'B-X' if w in ('cat', 'dog') else 'O'}")
        lines.append("")
    path.write_text("\n".join(lines))
    return {"model": {"hidden_size": 8, "embedding_dim": 8, "char": "cnn", "char_dim": 4,
                      "char_hidden": 4},
            "data": {"data": str(path), "scheme": "BIO", "source_scheme": "BIO",
                     "batch_size": 4, "eval_batch_size": 8},
            "train": {"threads": 1, "out_dir": str(tmp_path / "run"), "optimizer": "adam",
                      "lr": 0.01, "epochs": 1}}


def fasttext_tiny(tmp_path: Path) -> dict:
    return {"model": {"embedding_dim": 6, "buckets": 100},
            "data": {"data": str(_labelled_tsv(tmp_path)), "batch_size": 8},
            "train": {"threads": 1, "out_dir": str(tmp_path / "run"), "optimizer": "adam",
                      "lr": 0.01, "epochs": 1}}


def seq2seq_tiny(tmp_path: Path) -> dict:
    rng = random.Random(0)
    src, tgt = tmp_path / "tiny.src", tmp_path / "tiny.tgt"
    lines = [[rng.choice(WORDS) for _ in range(rng.randint(2, 6))] for _ in range(200)]
    src.write_text("".join(" ".join(w) + "\n" for w in lines))
    tgt.write_text("".join(" ".join(reversed(w)) + "\n" for w in lines))
    return {"model": {"hidden_size": 12, "embedding_dim": 8, "attention": "dot",
                      "bidirectional": False, "dropout": 0.0},
            "data": {"source_file": str(src), "target_file": str(tgt), "tokenizer": "word",
                     "min_freq": 1, "batch_size": 4, "eval_batch_size": 8},
            "train": {"threads": 1, "out_dir": str(tmp_path / "run"), "optimizer": "adam",
                      "lr": 0.01, "epochs": 1}}


def longrange_tiny(tmp_path: Path) -> dict:
    return {"model": {"cell": "gru", "hidden_size": 8},
            "data": {"task": "copy", "length": 6, "train_size": 16, "valid_size": 8,
                     "test_size": 8, "batch_size": 4, "eval_batch_size": 4},
            "train": {"threads": 1, "out_dir": str(tmp_path / "run"), "optimizer": "adam",
                      "lr": 0.01, "epochs": 1}}


def cli_flags(tables: dict) -> list[str]:
    """Config tables -> ``--section.key value`` command-line flags."""
    return [f for s, v in tables.items() for k, x in v.items() for f in (f"--{s}.{k}", str(x))]


TINY = {"lm": lm_tiny, "forecaster": forecaster_tiny, "tagger": tagger_tiny,
        "classifier": classifier_tiny, "fasttext": fasttext_tiny, "seq2seq": seq2seq_tiny,
        "longrange": longrange_tiny}


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
    # evaluation (decoded figures such as span F1 or BLEU): its sums add up over items too
    ev = model.evaluate_batch(batch)
    torch.testing.assert_close(ev.loss, out.loss, rtol=1e-5, atol=1e-5)
    ev_parts = [model.evaluate_batch(item) for item in items]
    for name, value in ev.sums.items():
        assert math.isclose(sum(p.sums[name] for p in ev_parts), value, rel_tol=1e-6,
                            abs_tol=1e-6), name
    # figures from totals
    totals = {"loss": ev.loss.item(), "count": ev.count, **ev.sums}
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
