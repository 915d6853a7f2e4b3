"""One language-model run from a :class:`~seqlab.config.RunConfig`: data, model, fit, report.

Used by ``seqlab train lm``, ``seqlab demo`` and the benchmarks, so all three behave alike.
Output directory (``train.out_dir``)::

    last.safetensors   checkpoint after every evaluation (resume point)
    best.safetensors   the weights with the best validation loss so far
    metrics.jsonl      one JSON record per log line and evaluation
    curve.png          train/valid perplexity (bits per character for char models) per eval
    config.toml        the run's full config
    result.json        final valid/test figures
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqlab.config import RunConfig
from seqlab.errors import CheckpointError, DataError
from seqlab.models.language_model import LanguageModel
from seqlab.train.checkpoint import load_checkpoint, save_checkpoint
from seqlab.train.loop import Progress, evaluate, fit
from seqlab.train.metrics import plot_curve
from seqlab.train.optim import LRSchedule, build_optimizer


@dataclass
class Corpus:
    """Token ids of each split, with the vocabulary and tokenizer that made them."""

    splits: dict[str, Any]
    vocab: Any
    tokenizer: Any
    char_level: bool = False  # report bits per character


def load_corpus(cfg: RunConfig, vocab: dict | None = None, tokenizer: dict | None = None,
                data: str | None = None) -> Corpus:
    """Prepare (tokenize once, cached) the configured dataset or file; return its splits.

    ``vocab``/``tokenizer`` (a checkpoint's ``to_dict``) encode the text as the model was
    trained; ``data`` replaces the configured source with another text file.
    """
    from seqlab.data.corpus import prepare
    from seqlab.text.tokenize import Tokenizer
    from seqlab.text.vocab import Vocab

    source = data or cfg.data.data or cfg.data.dataset
    if (data or cfg.data.data) and not Path(source).exists():
        raise DataError(f"--data file not found: {source}")
    prepared = prepare(source, cfg.data.cache_dir or None,
                       tokenizer=Tokenizer.from_dict(tokenizer) if tokenizer else
                       cfg.data.tokenizer or None,
                       vocab=Vocab.from_dict(vocab) if vocab else None,
                       min_freq=cfg.data.min_freq, max_size=cfg.data.max_size or None)
    splits = {name: prepared.ids(name) for name in prepared.splits}
    char_level = prepared.tokenizer.name == "char" or source == "ptb-char"
    return Corpus(splits=splits, vocab=prepared.vocab, tokenizer=prepared.tokenizer,
                  char_level=char_level)


def streams(corpus: Corpus, cfg: RunConfig, split: str, train: bool = False,
            final: bool = False):
    """The BPTT windows of one split: ``train`` at ``batch_size``; the per-epoch validation at
    ``eval_batch_size``; ``final`` scores at ``final_eval_batch_size``.

    With ``final_eval_batch_size = 1`` (the default) the split is read as one stream with the
    state carried from the first token to the last, so every token after the first is a target
    (PTB test: 82,429 of 82,430), as Zaremba et al. scored test. ``B`` rows would start ``B``
    times without context and leave the first token of every row (and up to ``B - 1`` tokens at
    the end) unscored.
    """
    from seqlab.data.batching import LMStream

    if split not in corpus.splits:
        raise DataError(f"the corpus has no {split!r} split (it has {sorted(corpus.splits)})")
    batch = (cfg.data.batch_size if train else
             cfg.data.final_eval_batch_size if final else cfg.data.eval_batch_size)
    return LMStream(corpus.splits[split], batch, cfg.data.bptt)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (the global RNG users expect `seed` to fix)
    torch.manual_seed(seed)


def _trim_metrics(path: Path, step: int) -> None:
    """On resume, drop records logged after the checkpoint (they will be logged again)."""
    if not path.exists():
        return
    kept = [line for line in path.read_text().splitlines()
            if line and json.loads(line).get("step", 0) <= step]
    path.write_text("".join(line + "\n" for line in kept))


def train_lm(cfg: RunConfig, *, resume: bool = False, dry_run: bool = False,
             overwrite: bool = False, log: Callable[[str], None] = print,
             corpus: Corpus | None = None) -> dict[str, Any]:
    """Train (or resume) a language model as ``cfg`` says; return the final figures.

    Args:
        cfg: the run config.
        resume: continue from ``<out_dir>/last.safetensors`` exactly where it stopped.
        dry_run: one training batch and one validation batch, into ``<out_dir>/dry-run``.
        overwrite: allow a fresh run to replace a checkpoint already in ``out_dir``.
        log: where progress lines go.
        corpus: an already loaded corpus (default: :func:`load_corpus`).
    """
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    out = Path(cfg.train.out_dir)
    if dry_run:
        cfg = RunConfig.from_dict({"train": {"max_steps": 1, "epochs": 1}}, base=cfg)
        out = out / "dry-run"
        overwrite = True
    last, best, metrics = out / "last.safetensors", out / "best.safetensors", out / "metrics.jsonl"
    if not resume and last.exists() and not overwrite:
        raise CheckpointError(f"{out} already holds a checkpoint ({last.name}); pass --resume to "
                              "continue it, or choose another --out-dir")
    seed_everything(cfg.train.seed)
    corpus = corpus or load_corpus(cfg)
    train_stream = streams(corpus, cfg, "train", train=True)
    valid_stream = streams(corpus, cfg, "valid")
    vocab_dict, tok_dict = corpus.vocab.to_dict(), corpus.tokenizer.to_dict()
    model = LanguageModel.from_config(len(corpus.vocab), cfg.model)
    optimizer = build_optimizer(model, cfg.train)
    schedule = LRSchedule(optimizer, cfg.train, len(train_stream))
    progress, carry = Progress(), None
    if resume:
        ckpt = load_checkpoint(last)
        ckpt.check_matches(cfg, vocab_dict)
        ckpt.load_weights(model)
        ckpt.load_optimizer(optimizer)
        schedule.load_state_dict(ckpt.schedule)
        progress = Progress(**ckpt.progress)
        if progress.stopped.startswith("reached "):  # max_steps / time_limit: may go on
            progress.stopped = ""
        carry = ckpt.carry()
        ckpt.restore_rng()  # last: building the model above consumed random numbers
        _trim_metrics(metrics, progress.step)
        log(f"| resumed {last} at epoch {progress.epoch}, batch {progress.batch}, "
            f"step {progress.step} |")
    else:
        out.mkdir(parents=True, exist_ok=True)
        metrics.write_text("")
        best.unlink(missing_ok=True)  # only reached with overwrite: a stale best must not win
    cfg.save(out / "config.toml")
    unit = "bpc" if corpus.char_level else "ppl"
    n_params = sum(p.numel() for p in model.parameters())
    log(f"| model {cfg.model.num_layers}x{cfg.model.hidden_size} {cfg.model.cell} | "
        f"vocab {len(corpus.vocab)} | params {n_params / 1e6:.2f}M | train tokens "
        f"{len(corpus.splits['train'])} | {len(train_stream)} batches/epoch |")

    def save(progress: Progress, state: Any, is_best: bool) -> None:
        common = dict(model=model, config=cfg, vocab_size=len(corpus.vocab), vocab=vocab_dict,
                      tokenizer=tok_dict, optimizer=optimizer, schedule=schedule.state_dict(),
                      progress=progress.to_dict())
        if is_best:
            save_checkpoint(best, **common)
        save_checkpoint(last, **common, carry=state)
        if progress.history:
            plot_curve(progress.history, out / "curve.png", unit=unit)

    started = time.perf_counter()
    progress = fit(model, train_stream, valid_stream, cfg.train, optimizer=optimizer,
                   schedule=schedule, progress=progress, carry=carry, save=save, log=log,
                   metrics_path=metrics, char_level=corpus.char_level,
                   max_eval_batches=1 if dry_run else None)
    elapsed = time.perf_counter() - started
    final = load_checkpoint(best) if best.exists() else None
    if final is not None:
        final.load_weights(model)
    result: dict[str, Any] = {"stopped": progress.stopped or "finished", "steps": progress.step,
                              "epochs": len({h["epoch"] for h in progress.history}),
                              "seconds": elapsed, "history": progress.history}
    for split in ("valid", "test"):
        if split in corpus.splits:
            meter = evaluate(model, streams(corpus, cfg, split, final=True), cfg.train.device,
                             1 if dry_run else None, cfg.train.amp)
            result[f"{split}_loss"], result[f"{split}_ppl"] = meter.loss, meter.ppl
            result[f"{split}_bpc"] = meter.bpc
            figure = (f"bpc {meter.bpc:.3f}" if corpus.char_level else f"ppl {meter.ppl:.2f}")
            result[f"{split}_targets"] = meter.count
            log(f"| final {split:5s} | loss {meter.loss:.4f} | {figure} | "
                f"{meter.count:,} targets | (best checkpoint) |")
    result["out_dir"] = str(out)
    tmp = out / ".result.json.tmp"
    tmp.write_text(json.dumps(result, indent=1))
    tmp.replace(out / "result.json")
    return result
