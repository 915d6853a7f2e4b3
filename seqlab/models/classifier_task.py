"""The text-classification tasks' data: config, readers, batches and presets.

Sources (``data.dataset`` or ``data.data``):

- ``sst2`` (the registry): Kim (2014)'s sentence split, train 6,920 / dev 872 / test 1,821,
  labels ``negative`` / ``positive``; ``data.train_set = "glue"`` trains on the GLUE phrase
  train set (67,349 phrases and sentences; its ``(`` ``)`` written ``-lrb-`` ``-rrb-`` as in
  Kim's files) instead, with the same dev and test. Checked on the mirror: no dev sentence is
  in it, one test sentence is ("what 's next ?", also in Kim's train), 6,811 of the 6,920
  train sentences are, and its long phrases are pieces of train sentences.
- any TSV, CSV or JSON-lines file with a text and a label column (``data.text_column``,
  ``data.label_column``; a digit names a column of a file without header); ``data.valid_data``
  and ``data.test_data`` give the other splits, else the file is split 90/5/5 after a seeded
  shuffle (``train.seed``).

Every text must have at least one token (an empty one is an error naming its line), labels
are read as strings (the label vocabulary is sorted, saved in the checkpoint), a label seen
only outside training is an error naming it. Multi-label files hold ``data.label_sep``-joined
label sets.

Batches (:class:`seqlab.data.bucketing.LengthBatches`) are dicts ``{"tokens": (B, T) long,
0-padded, "lengths": (B,), "labels": (B,) long or (B, C) 0/1 float}``. Training batches are
drawn from a per-epoch seeded shuffle, sorted by length inside pools of 50 batches (less
padding), the batches then shuffled; with ``world > 1`` torch's ``DistributedSampler`` deals
each process ``batch_size / world`` texts of each batch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from seqlab.config import check
from seqlab.data.labelled import FORMATS, read_labelled
from seqlab.errors import DataError

TRAIN_SETS = ("sentences", "glue")
SST2_LABELS = {"0": "negative", "1": "positive"}
GLUE_BRACKETS = {"(": "-lrb-", ")": "-rrb-"}


@dataclass
class ClassifierDataConfig:
    """Where labelled texts come from and how they are batched."""

    HELP: ClassVar[dict[str, str]] = {
        "dataset": "registry name (sst2)", "data": "a TSV/CSV/JSON-lines file instead",
        "valid_data": "validation file (default: 5% of data)", "test_data": "test file",
        "train_set": "sst2 training set: sentences (Kim 2014) or glue (the phrase set)",
        "format": "file format (auto: from the extension)", "text_column": "text column",
        "label_column": "label column", "multi_label": "labels are sets",
        "label_sep": "separator of a multi-label set", "tokenizer": "word, whitespace, char, "
        "jieba ('': the dataset's own; files: word)", "lowercase": "lower-case the text",
        "min_freq": "rarer words become <unk>", "max_size": "vocabulary cap (0: none)",
        "batch_size": "training texts per batch (global under multi-process training)",
        "eval_batch_size": "texts per evaluation batch"}
    CHOICES: ClassVar[dict[str, tuple]] = {"format": FORMATS, "train_set": TRAIN_SETS}
    RESUMABLE: ClassVar[tuple[str, ...]] = ("eval_batch_size",)

    dataset: str = "sst2"
    data: str = ""
    valid_data: str = ""
    test_data: str = ""
    train_set: str = "sentences"
    format: str = "auto"
    text_column: str = "text"
    label_column: str = "label"
    multi_label: bool = False
    label_sep: str = ","
    tokenizer: str = ""
    lowercase: bool = False
    min_freq: int = 1
    max_size: int = 0
    batch_size: int = 32
    eval_batch_size: int = 256

    def __post_init__(self) -> None:
        check(bool(self.dataset or self.data), "data.dataset or data.data", "set", "")
        check(self.format in FORMATS, "data.format", f"one of {FORMATS}", self.format)
        check(self.train_set in TRAIN_SETS, "data.train_set", f"one of {TRAIN_SETS}",
              self.train_set)
        for name in ("batch_size", "eval_batch_size", "min_freq"):
            value = getattr(self, name)
            check(isinstance(value, int) and value > 0, f"data.{name}", "an int > 0", value)
        check(self.max_size >= 0, "data.max_size", ">= 0 (0 = no limit)", self.max_size)


@dataclass
class Examples:
    """Encoded texts (id arrays) and labels (class ids, or id lists when multi-label)."""

    ids: list[np.ndarray]
    labels: list[Any]

    def __len__(self) -> int:
        return len(self.ids)


class TextEncoder:
    """Text -> token ids with the assets' tokenizer, lower-casing and vocabulary."""

    def __init__(self, assets: Mapping[str, Any]) -> None:
        from seqlab.text.base import Tokenizer
        from seqlab.text.vocab import Vocab

        self.tokenizer = Tokenizer.from_dict(assets["tokenizer"])
        self.vocab = Vocab.from_dict(assets["vocab"])
        self.lowercase = bool(assets.get("lowercase", False))

    def tokens(self, text: str) -> list[str]:
        return self.tokenizer.tokenize(text.lower() if self.lowercase else text)

    def encode(self, texts: Sequence[str], where: Sequence[str] | None = None
               ) -> list[np.ndarray]:
        out = []
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise DataError(f"text {i} must be a str, got {type(text).__name__}")
            ids = self.vocab.encode(self.tokens(text))
            if not ids:
                place = where[i] if where is not None else f"text {i}"
                raise DataError(f"{place} is empty (no tokens): a classifier needs at least "
                                "one token per text")
            out.append(np.asarray(ids, dtype=np.int64))
        return out


def label_ids(raw: Sequence[Any], labels: list[str], multi: bool, sep: str,
              where: Sequence[str]) -> list[Any]:
    """Label strings (or sets) -> class ids; an unknown label is an error naming it."""
    index = {name: i for i, name in enumerate(labels)}
    out = []
    for value, place in zip(raw, where, strict=True):
        names = _label_set(value, sep) if multi else [str(value)]
        bad = [n for n in names if n not in index]
        if bad:
            raise DataError(f"{place}: label {bad[0]!r} was not in the training labels "
                            f"{labels}")
        out.append([index[n] for n in names] if multi else index[names[0]])
    return out


def _label_set(value: Any, sep: str) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [p.strip() for p in str(value).split(sep) if p.strip()]


def build_assets(texts: Sequence[str], labels: Sequence[Any], *, tokenizer: str = "word",
                 lowercase: bool = False, min_freq: int = 1, max_size: int = 0,
                 multi_label: bool = False, label_sep: str = ",") -> dict[str, Any]:
    """Token vocabulary, tokenizer and label vocabulary learned from the training texts."""
    from seqlab.text.tokenize import get_tokenizer
    from seqlab.text.vocab import Vocab

    if len(texts) != len(labels):
        raise DataError(f"got {len(texts)} texts and {len(labels)} labels: they must be as "
                        "many")
    if not texts:
        raise DataError("no training texts")
    tok = get_tokenizer(tokenizer)
    tokens = [tok.tokenize(t.lower() if lowercase else t) for t in texts]
    vocab = Vocab.build(tokens, min_freq=min_freq, max_size=max_size or None)
    if multi_label:
        counts = Counter(n for v in labels for n in _label_set(v, label_sep))
    else:
        counts = Counter(str(v) for v in labels)
    names = sorted(counts)
    if len(names) < 2 and not multi_label:
        raise DataError(f"the training labels hold one class only ({names}): a classifier "
                        "needs at least 2")
    return {"vocab": vocab.to_dict(), "tokenizer": tok.to_dict(), "lowercase": lowercase,
            "labels": names, "multi_label": multi_label,
            "label_counts": [counts[n] for n in names]}


# ----------------------------------------------------------------------------------- batches
def collate(ids: Sequence[np.ndarray], labels: Sequence[Any], n_classes: int,
            multi: bool) -> dict[str, torch.Tensor]:
    lengths = torch.tensor([len(x) for x in ids], dtype=torch.long)
    tokens = torch.zeros(len(ids), int(lengths.max()), dtype=torch.long)
    for i, x in enumerate(ids):
        tokens[i, :len(x)] = torch.from_numpy(x)
    if multi:
        y = torch.zeros(len(ids), n_classes)
        for i, s in enumerate(labels):
            y[i, s] = 1.0
    else:
        y = torch.tensor(list(labels), dtype=torch.long)
    return {"tokens": tokens, "lengths": lengths, "labels": y}


def example_batches(ex: Examples, batch_size: int, n_classes: int, multi: bool, *, train: bool,
                    seed: int = 0, rank: int = 0, world: int = 1):
    """Re-iterable padded batches of ``ex`` (a :class:`~seqlab.data.bucketing.LengthBatches`)."""
    from seqlab.data.bucketing import LengthBatches

    def batch(idx: list[int]) -> dict[str, torch.Tensor]:
        return collate([ex.ids[i] for i in idx], [ex.labels[i] for i in idx], n_classes, multi)

    return LengthBatches([len(x) for x in ex.ids], batch_size, batch, train=train, seed=seed,
                         rank=rank, world=world)


class ClassifierData:
    """The encoded splits of a labelled corpus and the batches the fit loop reads."""

    def __init__(self, cfg: Any, splits: dict[str, Examples], assets: dict[str, Any],
                 source: str) -> None:
        self.cfg, self.splits, self.assets, self.source = cfg, splits, assets, source

    def describe(self) -> str:
        sizes = " / ".join(f"{k} {len(v):,}" for k, v in self.splits.items())
        return (f"{self.source} | {len(self.assets['labels'])} labels | vocab "
                f"{len(self.assets['vocab']['tokens']):,} | {sizes}")

    def batches(self, split: str, purpose: str = "train", rank: int = 0, world: int = 1):
        if split not in self.splits:
            raise DataError(f"the data has no {split!r} split (it has {sorted(self.splits)})")
        d = self.cfg.data
        train = purpose == "train"
        return example_batches(self.splits[split], d.batch_size if train else d.eval_batch_size,
                               len(self.assets["labels"]), bool(self.assets.get("multi_label")),
                               train=train, seed=self.cfg.train.seed, rank=rank, world=world)


def _sources(d: ClassifierDataConfig, data: str | None) -> tuple[dict[str, tuple], str]:
    """split -> (path, format, text column, label column), and a name for the log."""
    if data:  # evaluation on another file, encoded with the checkpoint's assets
        return {"valid": (data, d.format), "test": (data, d.format)}, str(data)
    if d.data:
        out = {"train": (d.data, d.format)}
        for split, path in (("valid", d.valid_data), ("test", d.test_data)):
            if path:
                out[split] = (path, d.format)
        return out, d.data
    if d.dataset != "sst2":
        raise DataError(f"unknown classification dataset {d.dataset!r}; registered: sst2 "
                        "(or pass --data FILE)")
    from seqlab.data.sources import dataset_path

    out = {s: (dataset_path("sst2", s), "stsa") for s in ("valid", "test")}
    out["train"] = ((dataset_path("sst2", "glue-train"), "tsv") if d.train_set == "glue"
                    else (dataset_path("sst2", "train"), "stsa"))
    return out, f"sst2 ({d.train_set} train set)"


def build_data(cfg: Any, assets: Mapping[str, Any] | None = None,
               data: str | None = None) -> ClassifierData:
    """Read, check and encode every split; the assets are learned from train unless given."""
    d = cfg.data
    sources, name = _sources(d, data)
    raw: dict[str, tuple[list, list, list[str]]] = {}
    for split, (path, fmt) in sources.items():
        text_col, label_col = ("sentence", "label") if fmt == "tsv" and not d.data \
            and data is None else (d.text_column, d.label_column)
        texts, labels, lines = read_labelled(path, fmt, text_col, label_col)
        if not d.data and data is None:  # sst2: 0/1 -> negative/positive
            labels = [SST2_LABELS.get(v, v) for v in labels]
            if fmt == "tsv":  # GLUE writes ( ) where Kim's dev and test have -lrb- -rrb-
                texts = [" ".join(GLUE_BRACKETS.get(w, w) for w in t.split()) for t in texts]
        raw[split] = (texts, labels, [f"{path}:{n}" for n in lines])
    if not assets:
        if "train" not in raw:
            raise DataError("no training split to learn the vocabulary from")
        texts, labels, _ = raw["train"]
        tokenizer = d.tokenizer or ("whitespace" if not d.data else "word")
        assets = build_assets(texts, labels, tokenizer=tokenizer, lowercase=d.lowercase,
                              min_freq=d.min_freq, max_size=d.max_size,
                              multi_label=d.multi_label, label_sep=d.label_sep)
    assets = dict(assets)
    encoder = TextEncoder(assets)
    if d.data and "valid" not in raw:  # hold out 5% valid and 5% test after a seeded shuffle
        texts, labels, where = raw["train"]
        perm = np.random.default_rng(cfg.train.seed).permutation(len(texts))
        n5 = max(1, len(texts) // 20)
        parts = {"valid": perm[:n5], "test": perm[n5:2 * n5] if "test" not in raw else [],
                 "train": perm[n5 if "test" in raw else 2 * n5:]}
        for split, idx in parts.items():
            if split == "test" and "test" in raw:
                continue
            raw[split] = ([texts[i] for i in idx], [labels[i] for i in idx],
                          [where[i] for i in idx])
    splits = {}
    for split in ("train", "valid", "test"):
        if split not in raw:
            continue
        texts, labels, where = raw[split]
        splits[split] = Examples(encoder.encode(texts, where),
                                 label_ids(labels, assets["labels"], bool(assets["multi_label"]),
                                           d.label_sep, where))
    return ClassifierData(cfg, splits, assets, name)


# ----------------------------------------------------------------------------------- presets
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    # BiLSTM with max pooling (Conneau et al. 2017's pooling) on the GLUE phrase train set.
    "sst2-bilstm": {
        "model": {"cell": "lstm", "embedding_dim": 200, "hidden_size": 150, "num_layers": 1,
                  "bidirectional": True, "dropout": 0.5, "pooling": "max"},
        "data": {"dataset": "sst2", "train_set": "glue", "batch_size": 64},
        "train": {"optimizer": "adam", "lr": 0.002, "schedule": "constant", "epochs": 4,
                  "clip": 5.0, "loss_reduction": "sequence", "log_every": 200,
                  "eval_every": 250},
    },
    "sst2-bilstm-sentences": {
        "model": {"cell": "lstm", "embedding_dim": 200, "hidden_size": 150, "num_layers": 1,
                  "bidirectional": True, "dropout": 0.5, "pooling": "max"},
        "data": {"dataset": "sst2", "train_set": "sentences", "batch_size": 32},
        "train": {"optimizer": "adam", "lr": 0.001, "schedule": "constant", "epochs": 10,
                  "clip": 5.0, "loss_reduction": "sequence", "patience": 3},
    },
}
