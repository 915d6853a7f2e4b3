"""The tagging task's data: config, vocabularies, encoded splits, batches and presets.

Sources (``data.dataset`` or ``data.data``):

- ``conll2003``: English NER, IOB1 as distributed, read into ``data.scheme`` (BIO or BIOES;
  IOB1 keeps it); splits train (eng.train), valid (eng.testa), test (eng.testb).
- ``ud-english-ewt``: POS tags of the CoNLL-U ``data.tag_column`` (upos or xpos), words as the
  standard defines them (multi-word token lines skipped).
- any file of ``word ... tag`` lines (blank line between sentences) or ``.conllu``;
  ``data.valid_data`` and ``data.test_data`` give the other splits, else 5% / 5% of the
  sentences after a seeded shuffle. ``data.scheme`` converts span tags from
  ``data.source_scheme`` (a file's tags are plain tags unless ``data.scheme`` is set).

Vocabularies come from train: words (``<pad>`` 0, ``<unk>`` 1; digits written 0 and lowercased
when asked, as Lample et al.; with ``model.pretrained`` and ``model.pretrained_vocab`` also
every word of the vectors), characters of the raw words, and the tags. A tag outside the
training tags in another split is an error naming it and the sentence. Batches are dicts
``{"words" (B, T), "chars" (B, T, C), "lengths" (B,), "tags" (B, T)}``, bucketed by length
(:class:`seqlab.data.bucketing.LengthBatches`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from seqlab.config import check
from seqlab.errors import ConfigError, DataError

TAGGED_DATASETS = ("conll2003", "ud-english-ewt")
SCHEMES = ("", "IOB1", "BIO", "BIOES")
_DIGITS = re.compile(r"\d")


@dataclass
class TaggerDataConfig:
    """Where the tagged sentences come from and how words are normalised."""

    HELP: ClassVar[dict[str, str]] = {
        "dataset": "registry name (conll2003, ud-english-ewt)",
        "data": "a tagged file instead (word ... tag lines, or .conllu)",
        "valid_data": "validation file for --data", "test_data": "test file for --data",
        "tag_column": "conll2003: ner, chunk, pos; CoNLL-U: upos, xpos",
        "scheme": "span tag scheme to train on (BIO, BIOES, IOB1; '' = plain tags, e.g. POS; "
                  "conll2003 ner default BIOES)",
        "source_scheme": "the span scheme a --data file is written in",
        "lowercase": "lowercase words for the word embedding (characters keep case)",
        "zero_digits": "write every digit as 0 for the word embedding (Lample et al.)",
        "min_freq": "words rarer in train become <unk>", "batch_size": "sentences per batch",
        "eval_batch_size": "sentences per evaluation batch", "max_word_length":
        "characters kept per word for the character features (longer words: their first "
        "and last halves)"}
    CHOICES: ClassVar[dict[str, tuple]] = {"scheme": SCHEMES, "source_scheme": SCHEMES[1:]}
    RESUMABLE: ClassVar[tuple[str, ...]] = ("eval_batch_size",)

    dataset: str = "conll2003"
    data: str = ""
    valid_data: str = ""
    test_data: str = ""
    tag_column: str = ""
    scheme: str = "BIOES"
    source_scheme: str = "BIO"
    lowercase: bool = False
    zero_digits: bool = True
    min_freq: int = 1
    batch_size: int = 10
    eval_batch_size: int = 64
    max_word_length: int = 30

    def __post_init__(self) -> None:
        check(bool(self.dataset or self.data), "data.dataset or data.data", "set", "")
        for name in ("min_freq", "batch_size", "eval_batch_size", "max_word_length"):
            value = getattr(self, name)
            check(isinstance(value, int) and value > 0, f"data.{name}", "an int > 0", value)
        check(self.scheme in SCHEMES, "data.scheme", f"one of {SCHEMES}", self.scheme)


def normalise(word: str, assets: Mapping[str, Any]) -> str:
    if assets.get("zero_digits"):
        word = _DIGITS.sub("0", word)
    return word.lower() if assets.get("lowercase") else word


class Encoder:
    """Words of sentences -> the ids of a batch, with a tagger's assets."""

    def __init__(self, assets: Mapping[str, Any], max_word_length: int = 30) -> None:
        self.assets = assets
        self.word_index = {w: i for i, w in enumerate(assets["words"])}
        self.char_index = {c: i for i, c in enumerate(assets.get("chars") or [])}
        self.tag_index = {t: i for i, t in enumerate(assets["tags"])}
        self.max_word_length = max_word_length

    def word_ids(self, words: Sequence[str]) -> list[int]:
        return [self.word_index.get(normalise(w, self.assets), 1) for w in words]

    def char_ids(self, word: str) -> list[int]:
        m = self.max_word_length
        if len(word) > m:
            word = word[:m - m // 2] + word[-(m // 2):]
        return [self.char_index.get(c, 1) for c in word] or [1]

    def tag_ids(self, tags: Sequence[str], where: str) -> list[int]:
        try:
            return [self.tag_index[t] for t in tags]
        except KeyError as exc:
            raise DataError(f"{where}: tag {exc.args[0]!r} is not one of the model's "
                            f"{len(self.tag_index)} tags {sorted(self.tag_index)}") from None

    def batch(self, sentences: Sequence[Sequence[str]],
              tags: Sequence[Sequence[int]] | None = None) -> dict[str, torch.Tensor]:
        """A padded batch of ``sentences`` (lists of words); empty sentences are an error."""
        for i, s in enumerate(sentences):
            if len(s) == 0:
                raise DataError(f"sentence {i} of the batch is empty")
        B, T = len(sentences), max(len(s) for s in sentences)
        chars = [[self.char_ids(w) for w in s] for s in sentences]
        C = max(len(c) for cs in chars for c in cs)
        words = np.zeros((B, T), dtype=np.int64)
        char_arr = np.zeros((B, T, C), dtype=np.int64)
        tag_arr = np.zeros((B, T), dtype=np.int64)
        for i, s in enumerate(sentences):
            words[i, :len(s)] = self.word_ids(s)
            for j, c in enumerate(chars[i]):
                char_arr[i, j, :len(c)] = c
            if tags is not None:
                tag_arr[i, :len(s)] = tags[i]
        out = {"words": torch.from_numpy(words), "chars": torch.from_numpy(char_arr),
               "lengths": torch.tensor([len(s) for s in sentences])}
        if tags is not None:
            out["tags"] = torch.from_numpy(tag_arr)
        return out


def normalised_vectors(source: Any, assets: Mapping[str, Any]) -> Any:
    """Pretrained vectors (a file or :class:`KeyedVectors`) keyed by the tagger's normalised
    words (digits as 0, lowercased, as ``assets`` ask); of keys that normalise alike the first,
    i.e. the most frequent, wins.

        >>> from seqlab.embeddings.keyed_vectors import KeyedVectors
        >>> kv = KeyedVectors(["Paris", "paris", "1999"], np.eye(3, dtype=np.float32))
        >>> n = normalised_vectors(kv, {"lowercase": True, "zero_digits": True})
        >>> n.index_to_key, n.get_vector("paris").tolist()
        (['paris', '0000'], [1.0, 0.0, 0.0])
    """
    from seqlab.embeddings.keyed_vectors import KeyedVectors
    from seqlab.embeddings.pretrained import load_pretrained

    kv = load_pretrained(source)
    if all(normalise(key, assets) == key for key in kv.index_to_key):
        return kv  # already normalised
    first: dict[str, int] = {}
    for i, key in enumerate(kv.index_to_key):
        first.setdefault(normalise(key, assets), i)
    return KeyedVectors(list(first), np.asarray(kv.vectors)[list(first.values())])


def build_assets(sentences: Sequence[Any], d: TaggerDataConfig, scheme: str | None,
                 extra_words: Sequence[str] = ()) -> dict:
    """Word, character and tag vocabularies from the training sentences (``extra_words``,
    already normalised, e.g. those of pretrained vectors, join the words)."""
    base = {"lowercase": d.lowercase, "zero_digits": d.zero_digits}
    counts = Counter(normalise(w, base) for s in sentences for w in s.words)
    known = {w for w, n in counts.items() if n >= d.min_freq} | set(extra_words)
    known -= {"<pad>", "<unk>"}
    words = ["<pad>", "<unk>", *sorted(known)]
    chars = ["<pad>", "<unk>", *sorted({c for s in sentences for w in s.words for c in w})]
    tags = sorted({t for s in sentences for t in s.tags})
    if len(tags) < 2:
        raise DataError(f"the training data has {len(tags)} distinct tag(s) {tags}: a tagger "
                        "needs at least two")
    return {**base, "words": words, "chars": chars, "tags": tags, "scheme": scheme}


class TaggedData:
    """Encoded splits of a tagged corpus and the batches the fit loop reads."""

    def __init__(self, cfg: Any, splits: dict[str, list], assets: dict[str, Any],
                 source: str) -> None:
        self.cfg, self.splits, self.assets, self.source = cfg, splits, assets, source
        self.encoder = Encoder(assets, cfg.data.max_word_length)
        self.tag_ids = {name: [self.encoder.tag_ids(s.tags, f"{source} {name} sentence {i + 1}")
                               for i, s in enumerate(sents)] for name, sents in splits.items()}

    def describe(self) -> str:
        sizes = " / ".join(f"{k} {len(v):,}" for k, v in self.splits.items())
        return (f"{self.source} | {len(self.assets['tags'])} tags | vocab "
                f"{len(self.assets['words']):,} words, {len(self.assets['chars'])} chars | "
                f"sentences {sizes}")

    def batches(self, split: str, purpose: str = "train", rank: int = 0, world: int = 1):
        from seqlab.data.bucketing import LengthBatches

        if split not in self.splits:
            raise DataError(f"the data has no {split!r} split (it has {sorted(self.splits)})")
        sents, tags = self.splits[split], self.tag_ids[split]
        train = purpose == "train"

        def collate(idx: list[int]) -> dict[str, torch.Tensor]:
            return self.encoder.batch([sents[i].words for i in idx], [tags[i] for i in idx])

        d = self.cfg.data
        return LengthBatches([len(s.words) for s in sents],
                             d.batch_size if train else d.eval_batch_size, collate, train=train,
                             seed=self.cfg.train.seed, rank=rank, world=world)


def _scheme(d: TaggerDataConfig) -> str | None:
    if d.dataset == "ud-english-ewt" and not d.data:
        return None
    if d.dataset == "conll2003" and not d.data and d.tag_column == "pos":
        return None
    return d.scheme or None


def read_splits(d: TaggerDataConfig, data: str | None, scheme: str | None
                ) -> tuple[dict[str, list], str]:
    """split -> sentences (tags already in ``scheme``), and a name for the log."""
    from seqlab.data.conll import load_tagged

    def read_file(path: str) -> list:
        conv = f"{d.source_scheme}->{scheme}" if scheme and not path.endswith(
            (".conllu", ".conllu.gz")) else None
        return load_tagged(path, column=d.tag_column or None, scheme=conv)

    if data:
        sents = read_file(data)
        return {"valid": sents, "test": sents}, str(data)
    if d.data:
        out = {"train": read_file(d.data)}
        for split, path in (("valid", d.valid_data), ("test", d.test_data)):
            if path:
                out[split] = read_file(path)
        return out, d.data
    if d.dataset not in TAGGED_DATASETS:
        raise ConfigError(f"unknown tagging dataset {d.dataset!r}; registered: "
                          f"{', '.join(TAGGED_DATASETS)} (or pass --data FILE)")
    kwargs: dict[str, Any] = {"column": d.tag_column or None}
    if d.dataset == "conll2003" and scheme:
        kwargs["scheme"] = scheme
    return {split: load_tagged(d.dataset, split, **kwargs)
            for split in ("train", "valid", "test")}, d.dataset


def build_data(cfg: Any, assets: Mapping[str, Any] | None = None,
               data: str | None = None) -> TaggedData:
    """Read, check and encode every split; the vocabularies are learned from train unless
    ``assets`` (a checkpoint's) are given; ``data`` evaluates another file."""
    d = cfg.data
    scheme = assets.get("scheme") if assets else _scheme(d)
    splits, name = read_splits(d, data, scheme)
    for split, sents in splits.items():
        empty = [i + 1 for i, s in enumerate(sents) if not s.words]
        if empty:
            raise DataError(f"{name} {split}: sentence {empty[0]} is empty")
    if not assets:
        if "train" not in splits:
            raise DataError("no training split to learn the vocabularies from")
        m = cfg.model
        extra = (normalised_vectors(m.pretrained, {"lowercase": d.lowercase,
                                                   "zero_digits": d.zero_digits}).index_to_key
                 if m.pretrained and m.pretrained_vocab else ())
        assets = build_assets(splits["train"], d, scheme, extra)
    if d.data and not data and "valid" not in splits:
        sents = splits["train"]
        perm = np.random.default_rng(cfg.train.seed).permutation(len(sents))
        n5 = max(1, len(sents) // 20)
        held = {"valid": perm[:n5], "test": perm[n5:2 * n5] if "test" not in splits else []}
        splits["train"] = [sents[i] for i in perm[n5 if "test" in splits else 2 * n5:]]
        for split, idx in held.items():
            if split not in splits:
                splits[split] = [sents[i] for i in idx]
    return TaggedData(cfg, splits, dict(assets), name)


# ----------------------------------------------------------------------------------- presets
# Lample et al. (2016): word 100 + char-BiLSTM 2x25, BiLSTM 2x100, dropout 0.5, SGD lr 0.01
# clip 5, IOBES; Ma & Hovy (2016): char-CNN 30 filters width 3, BiLSTM 2x200, SGD lr 0.015
# with decay, batch 10. seqlab's presets keep their shapes and train with Adam, halving the
# learning rate when dev F1 stalls (it converges in fewer CPU epochs than their SGD).
TRAIN_NER: dict[str, Any] = {"optimizer": "adam", "lr": 0.001, "schedule": "plateau",
                             "lr_decay": 0.5, "plateau_patience": 1, "epochs": 30, "clip": 5.0,
                             "loss_reduction": "sequence", "patience": 5}
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "bilstm-crf": {  # Huang et al. 2015 without external features
        "model": {"cell": "lstm", "embedding_dim": 100, "hidden_size": 200, "head": "crf",
                  "char": "none", "dropout": 0.5},
        "data": {"dataset": "conll2003", "scheme": "BIOES", "batch_size": 10},
        "train": TRAIN_NER,
    },
    "bilstm-crf-char": {  # Lample et al. 2016 (char-BiLSTM)
        "model": {"cell": "lstm", "embedding_dim": 100, "hidden_size": 100, "head": "crf",
                  "char": "lstm", "char_dim": 25, "char_hidden": 25, "dropout": 0.5},
        "data": {"dataset": "conll2003", "scheme": "BIOES", "batch_size": 10},
        "train": TRAIN_NER,
    },
    "bilstm-cnn-crf": {  # Ma & Hovy 2016 (char-CNN)
        "model": {"cell": "lstm", "embedding_dim": 100, "hidden_size": 200, "head": "crf",
                  "char": "cnn", "char_dim": 30, "char_hidden": 30, "dropout": 0.5},
        "data": {"dataset": "conll2003", "scheme": "BIOES", "batch_size": 10},
        "train": TRAIN_NER,
    },
    "pos": {  # UD English-EWT UPOS: BiLSTM + char-BiLSTM, softmax head
        "model": {"cell": "lstm", "embedding_dim": 100, "hidden_size": 200, "head": "softmax",
                  "char": "lstm", "char_dim": 30, "char_hidden": 50, "dropout": 0.33},
        "data": {"dataset": "ud-english-ewt", "scheme": "", "batch_size": 32},
        "train": {**TRAIN_NER, "lr": 0.002, "epochs": 20, "patience": 4},
    },
}
