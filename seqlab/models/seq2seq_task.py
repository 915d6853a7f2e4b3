"""The seq2seq task: parallel corpora, vocabularies, length-bucketed batches, presets.

Data: ``multi30k`` from the registry (``--src de --tgt en`` or the reverse; splits train,
valid, test2016, test2017, mscoco; ``test`` is test2016) or any two line-aligned files
(``source_file``/``target_file``, split contiguously 90/5/5 by lines). Line counts that differ
are an error naming both counts; a pair with an empty side is skipped (kept aligned) and the
count reported; training pairs longer than ``max_length`` tokens are dropped and counted,
never silently.

Tokens: ``word`` (seqlab's word tokenizer, optional lower-casing; one vocabulary per side,
``min_freq``) or ``bpe`` (one joint byte-level BPE over both sides of train from
``tokenizers``, so one vocabulary). Vocabularies and tokenizer are the checkpoint's assets.

Batches are ``(src, src_lengths, tgt, refs)`` (see :class:`seqlab.models.seq2seq.Seq2Seq`).
Training batches are bucketed: pairs are shuffled, cut into pools of 50 batches, sorted by
length inside a pool, cut into batches, and the batches shuffled, so a batch holds pairs of
similar lengths and wastes little padding; the order depends only on the seed and the epoch.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch

from seqlab.config import check
from seqlab.errors import ConfigError, DataError

BOS, EOS = 2, 3
TOKENIZERS = ("word", "bpe")
MULTI30K_LANGS = ("de", "en")
MULTI30K_SPLITS = {"train": "train", "valid": "val", "test2016": "test_2016_flickr",
                   "test2017": "test_2017_flickr", "mscoco": "test_2017_mscoco"}
SPLIT_ALIASES = {"test": "test2016", "val": "valid", "dev": "valid"}


@dataclass
class Seq2SeqDataConfig:
    """Where the parallel text comes from, how it is tokenized and batched."""

    HELP: ClassVar[dict[str, str]] = {
        "dataset": "registry name (multi30k)", "src": "source language", "tgt": "target language",
        "source_file": "a source text file instead (with target_file; split 90/5/5 by lines)",
        "target_file": "the line-aligned target file",
        "tokenizer": "word (one vocabulary per side) or bpe (one joint BPE)",
        "lowercase": "lower-case the text (word tokenizer)", "min_freq": "rarer words -> <unk>",
        "max_size": "vocabulary cap per side (0: none)", "bpe_vocab_size": "joint BPE size",
        "max_length": "training pairs longer than this (tokens) are dropped (and counted)",
        "batch_size": "sentence pairs per training batch",
        "eval_batch_size": "pairs per evaluation batch", "bucket": "length bucketing",
        "test_split": "the split final figures call test"}
    RESUMABLE: ClassVar[tuple[str, ...]] = ("eval_batch_size", "test_split")

    dataset: str = "multi30k"
    src: str = "de"
    tgt: str = "en"
    source_file: str = ""
    target_file: str = ""
    tokenizer: str = "bpe"
    lowercase: bool = False
    min_freq: int = 2
    max_size: int = 0
    bpe_vocab_size: int = 8000
    max_length: int = 100
    batch_size: int = 128
    eval_batch_size: int = 128
    bucket: bool = True
    test_split: str = "test2016"

    def __post_init__(self) -> None:
        check(self.tokenizer in TOKENIZERS, "data.tokenizer", f"one of {TOKENIZERS}",
              self.tokenizer)
        for name in ("min_freq", "batch_size", "eval_batch_size", "max_length"):
            value = getattr(self, name)
            check(isinstance(value, int) and value > 0, f"data.{name}", "an int > 0", value)
        check(bool(self.source_file) == bool(self.target_file), "data.source_file and "
              "data.target_file", "both set or both empty", (self.source_file, self.target_file))


class TextCodec:
    """Text <-> ids of both sides: tokenizer(s) and vocabularies (the checkpoint's assets)."""

    def __init__(self, tokenizer: Any, src_vocab: Any, tgt_vocab: Any) -> None:
        self.tokenizer, self.src_vocab, self.tgt_vocab = tokenizer, src_vocab, tgt_vocab

    @classmethod
    def from_assets(cls, assets: Mapping[str, Any]) -> TextCodec:
        from seqlab.text.tokenize import Tokenizer
        from seqlab.text.vocab import Vocab

        return cls(Tokenizer.from_dict(assets["tokenizer"]), Vocab.from_dict(assets["src_vocab"]),
                   Vocab.from_dict(assets["tgt_vocab"]))

    def assets(self) -> dict[str, Any]:
        return {"tokenizer": self.tokenizer.to_dict(), "src_vocab": self.src_vocab.to_dict(),
                "tgt_vocab": self.tgt_vocab.to_dict()}

    def encode_src(self, text: str) -> list[int]:
        return self.src_vocab.encode(self.tokenizer.tokenize(text))

    def encode_tgt(self, text: str) -> list[int]:
        return [BOS, *self.tgt_vocab.encode(self.tokenizer.tokenize(text)), EOS]

    def decode(self, ids: list[int]) -> str:
        """Target ids (no specials) -> detokenised text."""
        from seqlab.models.seq2seq_text import detokenize_words

        tokens = self.tgt_vocab.decode(ids)
        if self.tokenizer.name == "bpe":
            return self.tokenizer.detokenize(tokens)
        return detokenize_words(tokens)

    def normalise_ref(self, text: str) -> str:
        """The reference as the model is scored against it (lower-cased if the model is)."""
        return text.lower() if getattr(self.tokenizer, "lowercase", False) else text


def _read_lines(path: Path) -> list[str]:
    """Lines split on "\\n" only (str.splitlines would also split on U+2028 and misalign)."""
    from seqlab.data.sources import open_text

    with open_text(path) as fh:
        lines = fh.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.rstrip("\r") for line in lines]


def read_parallel(src_path: str | Path, tgt_path: str | Path) -> tuple[list[tuple[str, str]],
                                                                       int]:
    """Line-aligned pairs of the two files (empty pairs skipped) and the number skipped."""
    src, tgt = _read_lines(Path(src_path)), _read_lines(Path(tgt_path))
    if len(src) != len(tgt):
        raise DataError(f"parallel files are misaligned: {src_path} has {len(src)} lines, "
                        f"{tgt_path} has {len(tgt)}")
    pairs = [(s.strip(), t.strip()) for s, t in zip(src, tgt)]
    kept = [p for p in pairs if p[0] and p[1]]
    return kept, len(pairs) - len(kept)


def parallel_splits(d: Seq2SeqDataConfig) -> tuple[dict[str, list[tuple[str, str]]], int]:
    """The raw pairs of every split, and how many empty pairs were skipped."""
    if d.source_file:
        for f in (d.source_file, d.target_file):
            if not Path(f).is_file():
                raise DataError(f"parallel file not found: {f}")
        pairs, skipped = read_parallel(d.source_file, d.target_file)
        n = len(pairs)
        cut = [0, int(n * 0.9), int(n * 0.95), n]
        splits = {name: pairs[cut[i]:cut[i + 1]] for i, name in enumerate(("train", "valid",
                                                                            "test"))}
        if not all(splits.values()):
            raise DataError(f"{d.source_file}: {n} non-empty pairs are too few for a 90/5/5 "
                            "train/valid/test split (need >= 20)")
        return splits, skipped
    if d.dataset != "multi30k":
        raise DataError(f"unknown parallel dataset {d.dataset!r}; the registry has multi30k "
                        "(or give data.source_file and data.target_file)")
    pair = (d.src, d.tgt)
    if set(pair) != set(MULTI30K_LANGS) or d.src == d.tgt:
        raise DataError(f"unknown language pair {d.src}-{d.tgt} for multi30k: it has de-en and "
                        "en-de")
    from seqlab.data.sources import dataset_files

    files = dataset_files("multi30k")
    splits, skipped = {}, 0
    for name, stem in MULTI30K_SPLITS.items():
        pairs, n = read_parallel(files[f"{stem}.{d.src}"], files[f"{stem}.{d.tgt}"])
        splits[name], skipped = pairs, skipped + n
    return splits, skipped


def build_codec(d: Seq2SeqDataConfig, train: list[tuple[str, str]]) -> TextCodec:
    from seqlab.text.bpe import BPETokenizer
    from seqlab.text.tokenize import WordTokenizer
    from seqlab.text.vocab import Vocab

    if d.tokenizer == "bpe":
        tok = BPETokenizer.train([s for s, _ in train] + [t for _, t in train],
                                 vocab_size=d.bpe_vocab_size)
        vocab = Vocab.from_tokens(tok.own_vocab())
        return TextCodec(tok, vocab, vocab)
    tok = WordTokenizer(lowercase=d.lowercase)
    cap = d.max_size or None
    src = Vocab.build((tok.tokenize(s) for s, _ in train), min_freq=d.min_freq, max_size=cap)
    tgt = Vocab.build((tok.tokenize(t) for _, t in train), min_freq=d.min_freq, max_size=cap)
    return TextCodec(tok, src, tgt)


class PairBatches:
    """Batches of encoded pairs; ``set_epoch`` reshuffles (bucketed) training batches."""

    def __init__(self, items: list[tuple[list[int], list[int], str]], batch_size: int,
                 train: bool, bucket: bool, seed: int, rank: int = 0, world: int = 1) -> None:
        self.items, self.batch_size, self.train, self.bucket = items, batch_size, train, bucket
        self.seed, self.rank, self.world, self.epoch = seed, rank, world, 1
        self.sharded = world > 1

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _order(self) -> list[list[int]]:
        idx = list(range(len(self.items)))
        B = self.batch_size
        if not self.train:  # by length: little padding; figures do not depend on the order
            idx.sort(key=lambda i: (len(self.items[i][0]), i))
            batches = [idx[i:i + B] for i in range(0, len(idx), B)]
        else:
            rng = random.Random(self.seed * 1_000_003 + self.epoch)
            rng.shuffle(idx)
            batches = []
            pool = B * 50 if self.bucket else B
            for p in range(0, len(idx), pool):
                chunk = idx[p:p + pool]
                if self.bucket:
                    chunk.sort(key=lambda i: (len(self.items[i][0]), len(self.items[i][1])))
                batches += [chunk[i:i + B] for i in range(0, len(chunk), B)]
            rng.shuffle(batches)
        if self.world > 1:
            batches = batches[:len(batches) - len(batches) % self.world] if self.train \
                else batches
            batches = batches[self.rank::self.world]
        return batches

    def __len__(self) -> int:
        return len(self._order())

    def __iter__(self):
        for rows in self._order():
            yield collate([self.items[i] for i in rows], with_refs=not self.train)


def collate(items: list[tuple[list[int], list[int], str]], with_refs: bool = True) -> tuple:
    """``(src, src_lengths, tgt, refs)`` tensors of encoded pairs (0-padded)."""
    B = len(items)
    S, T = max(len(s) for s, _, _ in items), max(len(t) for _, t, _ in items)
    src, tgt = torch.zeros(B, S, dtype=torch.long), torch.zeros(B, T, dtype=torch.long)
    for i, (s, t, _) in enumerate(items):
        src[i, :len(s)], tgt[i, :len(t)] = torch.tensor(s), torch.tensor(t)
    lengths = torch.tensor([len(s) for s, _, _ in items])
    raw = [r.encode("utf-8") for _, _, r in items] if with_refs else []
    R = max((len(r) for r in raw), default=0)
    refs = torch.zeros(B, R if with_refs else 0, dtype=torch.uint8)
    for i, r in enumerate(raw):
        refs[i, :len(r)] = torch.tensor(list(r), dtype=torch.uint8)
    return src, lengths, tgt, refs


class Seq2SeqData:
    """Encoded splits and their batches (the task's data object)."""

    def __init__(self, cfg: Any, codec: TextCodec, raw: dict[str, list[tuple[str, str]]],
                 skipped: int) -> None:
        d = cfg.data
        self.cfg, self.codec, self.raw, self.skipped_empty = cfg, codec, raw, skipped
        self.assets = {**codec.assets(), "src_lang": d.src, "tgt_lang": d.tgt}
        self.splits: dict[str, list] = {}
        self.dropped = 0
        for name, pairs in raw.items():
            items = [(codec.encode_src(s), codec.encode_tgt(t), codec.normalise_ref(t))
                     for s, t in pairs]
            if name == "train":
                kept = [it for it in items if len(it[0]) <= d.max_length
                        and len(it[1]) - 2 <= d.max_length]
                self.dropped = len(items) - len(kept)
                items = kept
            self.splits[name] = items
        if d.test_split in self.splits:
            self.splits.setdefault("test", self.splits[d.test_split])

    def describe(self) -> str:
        n = len(self.splits.get("train", []))
        return (f"vocab {len(self.codec.src_vocab)}/{len(self.codec.tgt_vocab)} | train pairs "
                f"{n} | skipped {self.skipped_empty} empty, dropped {self.dropped} longer than "
                f"{self.cfg.data.max_length} tokens")

    def batches(self, split: str, purpose: str = "train", rank: int = 0, world: int = 1):
        split = SPLIT_ALIASES.get(split, split) if split not in self.splits else split
        if split not in self.splits:
            raise DataError(f"the corpus has no {split!r} split (it has {sorted(self.splits)})")
        d = self.cfg.data
        train = purpose == "train"
        return PairBatches(self.splits[split], d.batch_size if train else d.eval_batch_size,
                           train, d.bucket, self.cfg.train.seed, rank, world)


def build_data(cfg: Any, assets: Mapping[str, Any] | None = None,
               data: str | None = None) -> Seq2SeqData:
    """Read, tokenize and encode the configured corpus (a checkpoint's ``assets`` encode it
    with the model's vocabularies; ``data`` = ``"SRC_FILE,TGT_FILE"`` scores another pair)."""
    d = cfg.data
    if data:
        parts = data.split(",")
        if len(parts) != 2:
            raise ConfigError(f"--data for seq2seq takes SRC_FILE,TGT_FILE, got {data!r}")
        pairs, skipped = read_parallel(*parts)
        raw = {"test": pairs}
    else:
        raw, skipped = parallel_splits(d)
    if assets and assets.get("tokenizer"):
        if (assets.get("src_lang"), assets.get("tgt_lang")) != (d.src, d.tgt) and not data:
            raise DataError(f"the checkpoint translates {assets.get('src_lang')}-"
                            f"{assets.get('tgt_lang')}, the data is {d.src}-{d.tgt}")
        codec = TextCodec.from_assets(assets)
    else:
        if "train" not in raw:
            raise DataError("no train split to build vocabularies from")
        codec = build_codec(d, raw["train"])
    return Seq2SeqData(cfg, codec, raw, skipped)


# ---------------------------------------------------------------------------------- presets
# The three classic setups of bentrevett/pytorch-seq2seq (notebooks 1-3: spaCy tokens,
# lower-cased, min_freq 2, Adam, clip 1, batch 128, 10 epochs, teacher forcing 0.5; dropout on
# the embeddings and between layers, none before the output layer) and
# seqlab's own choice for a CPU budget.
_CLASSIC_DATA = {"dataset": "multi30k", "tokenizer": "word", "lowercase": True, "min_freq": 2,
                 "batch_size": 128}
_CLASSIC_TRAIN = {"optimizer": "adam", "lr": 0.001, "schedule": "constant", "clip": 1.0,
                  "epochs": 10, "loss_reduction": "token", "log_every": 20}
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    # Sutskever et al. 2014: 2-layer LSTM both sides, the context only initialises the decoder
    "sutskever-lstm": {
        "model": {"cell": "lstm", "decoder": "fixed", "bidirectional": False, "num_layers": 2,
                  "embedding_dim": 256, "hidden_size": 512, "dropout": 0.5, "bridge": "sum",
                  "output_dropout": 0.0, "init": "uniform", "init_range": 0.08,
                  "teacher_forcing": 0.5},
        "data": dict(_CLASSIC_DATA), "train": dict(_CLASSIC_TRAIN)},
    # Cho et al. 2014: GRU, the context fed at every step and to the output
    "cho-gru": {
        "model": {"cell": "gru", "decoder": "context", "bidirectional": False, "num_layers": 1,
                  "embedding_dim": 256, "hidden_size": 512, "dropout": 0.5, "bridge": "sum",
                  "output_dropout": 0.0, "teacher_forcing": 0.5},
        "data": dict(_CLASSIC_DATA), "train": dict(_CLASSIC_TRAIN)},
    # Bahdanau et al. 2015: bi-GRU encoder, additive attention with the previous state
    "bahdanau-gru": {
        "model": {"cell": "gru", "decoder": "attention", "attention": "additive",
                  "attention_style": "bahdanau", "bidirectional": True, "num_layers": 1,
                  "embedding_dim": 256, "hidden_size": 512, "attention_size": 512,
                  "dropout": 0.5, "output_dropout": 0.0, "bridge": "linear",
                  "teacher_forcing": 0.5},
        "data": dict(_CLASSIC_DATA), "train": dict(_CLASSIC_TRAIN)},
    # seqlab's choice for ~1-3 CPU hours: joint BPE (no <unk>, cased output for sacrebleu),
    # Luong general attention without input feeding (the teacher-forced decoder is one
    # recurrent call, much faster on CPU than a step loop), bi-LSTM encoder, label smoothing,
    # full teacher forcing, checkpoints every 200 steps so a time-limited run resumes.
    "seqlab-best": {
        "model": {"cell": "lstm", "decoder": "attention", "attention": "general",
                  "attention_style": "luong", "bidirectional": True, "num_layers": 1,
                  "embedding_dim": 256, "hidden_size": 512, "encoder_hidden_size": 256,
                  "dropout": 0.3, "label_smoothing": 0.1, "teacher_forcing": 1.0},
        "data": {"dataset": "multi30k", "tokenizer": "bpe", "bpe_vocab_size": 8000,
                 "batch_size": 64},
        "train": {"optimizer": "adam", "lr": 0.002, "schedule": "cosine", "min_lr": 0.0001,
                  "epochs": 10, "clip": 1.0, "loss_reduction": "token", "log_every": 50,
                  "checkpoint_every": 200}},
}
