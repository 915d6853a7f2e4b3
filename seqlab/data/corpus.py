"""Prepare once, train many: tokenize a corpus into memory-mapped id files plus ``vocab.json``.

:func:`prepare` writes, in ``out_dir``::

    train.npy valid.npy test.npy   one 1-D id array per split (uint16 if len(vocab) <= 65,536,
                                   else uint32), the splits' lines concatenated in order
    vocab.json                     the Vocab (ids as in the .npy files)
    tokenizer.json                 the tokenizer (trained BPE included)
    meta.json                      options, counts per split, and ``key``: a hash of the inputs'
                                   content and every option; written last (its presence = done)

It streams line by line and tokenizes once, in two passes: (1) each split's tokens become
provisional ids (first-seen order) appended to a temporary uint32 file while the train split's
counts are kept, then the vocabulary is built; (2) one lookup table maps provisional ids to
vocabulary ids, chunk by chunk, into ``np.lib.format.open_memmap`` files. Memory stays bounded
by the number of distinct tokens and one chunk, not the corpus; the temporary files take 4 bytes
per token on disk while preparing. A re-run whose key matches ``meta.json`` is a cache hit and
returns at once.

Line ends: with ``eos_per_line`` every line's tokens are followed by ``<eos>`` (its ``"\\n"``
removed first); without it a line is tokenized as is, so the char tokenizer keeps ``"\\n"`` as a
token and the word tokenizers drop it as whitespace. The default is the source's convention
(PTB/WikiText: ``<eos>``) or, for local files, ``<eos>`` unless the tokenizer keeps newlines.

Example (``prepare("ptb", "prepared/ptb")`` gives 10,002 tokens and 929,589 train ids):
    >>> import os, pathlib, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> notes = os.path.join(folder, "notes.txt")
    >>> text = "the cat sat\\n" * 20 + "a dog ran\\n" * 20
    >>> _ = pathlib.Path(notes).write_text(text, encoding="utf-8")
    >>> corpus = prepare(notes, os.path.join(folder, "prepared"))
    >>> len(corpus.vocab), corpus.ids("train").shape, corpus.num_tokens("test")
    (10, (144,), 8)
    >>> corpus.vocab.decode(corpus.ids("test")[:4].tolist())
    ['a', 'dog', 'ran', '<eos>']
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from seqlab.data.lines import TextSource, _hash, open_source
from seqlab.data.sources import cache_dir
from seqlab.errors import ConfigError, DataError
from seqlab.io import DEFAULT_POLICY, atomic_write_json, current_policy, read_json
from seqlab.text.base import EOS_TOKEN, Tokenizer
from seqlab.text.tokenize import BPETokenizer, get_tokenizer
from seqlab.text.vocab import Vocab, check_build_options

__all__ = ["prepare", "PreparedCorpus", "iter_line_tokens"]

_FORMAT = "seqlab.prepared"
_CHUNK = 1 << 20  # ids per write into the memmap


class PreparedCorpus:
    """A prepared corpus directory: ``vocab``, ``tokenizer``, and ``ids(split)`` as a memmap.

    Attributes:
        directory: the folder.
        vocab: the :class:`~seqlab.text.vocab.Vocab`.
        tokenizer: the :class:`~seqlab.text.tokenize.Tokenizer` used.
        meta: the parsed ``meta.json`` (counts per split under ``meta["splits"]``).
        cache_hit: ``True`` when :func:`prepare` found it already done.
    """

    def __init__(self, directory: Path, meta: dict[str, Any], vocab: Vocab,
                 tokenizer: Tokenizer, cache_hit: bool = False) -> None:
        self.directory, self.meta = directory, meta
        self.vocab, self.tokenizer, self.cache_hit = vocab, tokenizer, cache_hit

    @classmethod
    def load(cls, directory: str | os.PathLike) -> PreparedCorpus:
        """Open a directory written by :func:`prepare` (``DataError`` if absent or incomplete)."""
        directory = Path(directory)
        meta_path = directory / "meta.json"
        if not meta_path.is_file():
            raise DataError(f"{directory} is not a prepared corpus (no meta.json): run "
                            "`seqlab prepare` / seqlab.data.corpus.prepare first")
        meta = read_json(meta_path, "prepared-corpus meta")
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
            raise DataError(f"{meta_path} is not a seqlab prepared-corpus meta file")
        vocab = Vocab.load(directory / "vocab.json")
        tokenizer = Tokenizer.load(directory / "tokenizer.json")
        if len(vocab) != meta.get("vocab_size"):
            raise DataError(f"{directory}: vocab.json has {len(vocab)} tokens, meta.json says "
                            f"{meta.get('vocab_size')}; the directory is inconsistent, "
                            "prepare again")
        return cls(directory, meta, vocab, tokenizer)

    @property
    def splits(self) -> tuple[str, ...]:
        return tuple(self.meta["splits"])

    @property
    def eos_per_line(self) -> bool:
        return bool(self.meta["eos_per_line"])

    def num_tokens(self, split: str) -> int:
        return int(self._split(split)["tokens"])

    def _split(self, split: str) -> dict[str, Any]:
        if split not in self.meta["splits"]:
            raise ConfigError(f"prepared corpus {self.directory} has no split {split!r}; "
                              f"its splits: {', '.join(self.splits)}")
        return self.meta["splits"][split]

    def ids(self, split: str) -> np.memmap:
        """The split's ids, memory-mapped read-only (1-D, uint16 or uint32)."""
        info = self._split(split)
        path = self.directory / info["file"]
        try:
            ids = np.load(path, mmap_mode="r")
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read {path}: {exc}; prepare again") from exc
        if ids.shape != (info["tokens"],):
            raise DataError(f"{path} holds {ids.shape} ids, meta.json says ({info['tokens']},); "
                            "the file is truncated or stale, prepare again")
        return ids

    def __repr__(self) -> str:
        counts = ", ".join(f"{s}={self.num_tokens(s)}" for s in self.splits)
        return f"PreparedCorpus({str(self.directory)!r}, vocab={len(self.vocab)}, {counts})"


def iter_line_tokens(source: TextSource, split: str, tokenizer: Tokenizer,
                     eos_per_line: bool) -> Iterator[list[str]]:
    """Tokens of each line of ``split``, with ``<eos>`` appended when ``eos_per_line``.

    With ``eos_per_line``, a blank line ending in ``"\n"`` still gives ``<eos>`` (WikiText
    counting), but a last piece with no ``"\n"`` that is whitespace only is not a line: the PTB
    char files end with ``"\n "``, and 42,068 lines must give 42,068 ``<eos>``.
    """
    tokenize = tokenizer.tokenize
    for line in source.lines(split):
        if eos_per_line:
            if not line.endswith("\n") and not line.strip():
                continue
            tokens = tokenize(line.rstrip("\r\n"))
            tokens.append(EOS_TOKEN)
            yield tokens
        else:
            yield tokenize(line)


def prepare(source: str | os.PathLike | Mapping[str, Any] | TextSource,
            out_dir: str | os.PathLike | None = None, tokenizer: str | Tokenizer | None = None,
            vocab: Vocab | str | os.PathLike | None = None, min_freq: int = 1,
            max_size: int | None = None, splits: Sequence[str] | None = None,
            eos_per_line: bool | None = None) -> PreparedCorpus:
    """Tokenize ``source`` once into memory-mapped id files (see the module docstring).

    Args:
        source: registry name (``"ptb"``), local text file (cut 90/5/5 by lines), directory with
            ``train.txt``/``valid.txt``/``test.txt``, or ``{split: path}``.
        out_dir: output folder; ``None``: ``<cache>/prepared/<name>-<key[:12]>``.
        tokenizer: registry name or instance; ``None``: the source's default (PTB: whitespace,
            tinyshakespeare: char, local files: word). An untrained ``BPETokenizer`` (or
            ``"bpe"``) is trained on the train split first.
        vocab: a ``Vocab`` or a vocab.json path to reuse; ``None``: built from the train split
            with ``min_freq``/``max_size`` (see :meth:`Vocab.build`), or for a tokenizer with
            its own vocabulary (BPE) that vocabulary in its id order (so Vocab ids = BPE ids).
        min_freq: see :meth:`Vocab.build`.
        max_size: see :meth:`Vocab.build` (counts the 4 specials).
        splits: splits to write; ``None``: all the source has (train/valid/test; train/valid for
            tinyshakespeare and chinese-poetry).
        eos_per_line: line-end convention; ``None``: the source's, else ``not
            tokenizer.keeps_newlines``.

    Returns:
        The :class:`PreparedCorpus` (``cache_hit`` tells whether the work was skipped).

    Raises:
        DataError: a missing dataset, or a split with no tokens (empty/whitespace-only corpus).
    """
    started = time.perf_counter()
    src = open_source(source)
    tok = get_tokenizer(src.tokenizer if tokenizer is None else tokenizer)
    if eos_per_line is None:
        eos_per_line = src.eos_per_line if src.eos_per_line is not None else not tok.keeps_newlines
    if isinstance(splits, str) or (splits is not None and not splits):
        raise ConfigError(f"splits must be a non-empty sequence of split names, got {splits!r}")
    splits = tuple(src.splits if splits is None else splits)
    for split in splits:
        if split not in src.splits:
            raise ConfigError(f"{src.name} has no split {split!r}; "
                              f"its splits: {', '.join(src.splits)}")
    check_build_options(min_freq, max_size)
    if vocab is not None and not isinstance(vocab, Vocab):
        vocab = Vocab.load(vocab)
    options = {"format": _FORMAT, "version": 1, "source": src.fingerprint(),
               "tokenizer": tok.to_dict(),
               "vocab": vocab.fingerprint() if vocab is not None else None,
               "min_freq": min_freq, "max_size": max_size, "splits": list(splits),
               "eos_per_line": bool(eos_per_line)}
    policy = current_policy()
    if policy != DEFAULT_POLICY:  # the same bytes decoded otherwise are another corpus
        options["text_policy"] = list(policy)
    key = _hash(options)
    out = Path(out_dir) if out_dir is not None else _default_dir(src.name, key)
    hit = _cached(out, key)
    if hit is not None:
        return hit

    if isinstance(tok, BPETokenizer) and not tok.trained:
        if "train" not in src.splits:
            raise DataError(f"{src.name} has no train split to train the BPE tokenizer on")
        strip = "\r\n" if eos_per_line else ""
        tok.fit(line.rstrip(strip) for line in src.lines("train"))

    if vocab is None and tok.own_vocab() is not None:  # BPE: ids = the tokenizer's own ids
        if min_freq != 1 or max_size is not None:
            raise ConfigError(f"min_freq/max_size do not apply to the {tok.name!r} tokenizer: "
                              "its vocabulary size is set when it is trained (vocab_size)")
        vocab = Vocab(tok.own_vocab())

    # pass 1: tokenize each split once into provisional ids (first-seen order) on disk, counting
    if out.exists() and not out.is_dir():
        raise ConfigError(f"out_dir {out} exists and is not a directory")
    created = [p for p in (out, *out.parents) if not p.exists()]  # removed again on failure
    out.mkdir(parents=True, exist_ok=True)
    try:
        return _write(src, out, tok, vocab, splits, eos_per_line, min_freq, max_size, key,
                      started)
    except BaseException:
        for folder in created:  # innermost first; only folders this call made, if still empty
            try:
                folder.rmdir()
            except OSError:
                break
        raise


def _write(src: TextSource, out: Path, tok: Tokenizer, vocab: Vocab | None,
           splits: tuple[str, ...], eos_per_line: bool, min_freq: int, max_size: int | None,
           key: str, started: float) -> PreparedCorpus:
    """Both passes of :func:`prepare` into the existing folder ``out``."""
    provisional: dict[str, int] = {}
    train_counts: list[int] = []
    counts: dict[str, dict[str, int]] = {}
    raw: dict[str, Path] = {}
    order = (("train",) if vocab is None else ()) + splits  # train first: first occurrences
    try:
        for split in dict.fromkeys(order):
            raw[split] = out / f".{split}.{os.getpid()}.provisional.u32"
            counts[split] = _tokenize_split(src, split, tok, eos_per_line, provisional,
                                            train_counts if split == "train" else None,
                                            raw[split] if split in splits else None)
        if vocab is None:
            freqs = Counter({t: c for t, c in zip(provisional, train_counts) if c})
            if not any(t not in Vocab.specials for t in freqs):
                raise DataError(f"{src.name} train split has no tokens besides specials")
            vocab = Vocab.build(freqs, min_freq=min_freq, max_size=max_size)
        dtype = np.uint16 if len(vocab) <= 1 << 16 else np.uint32
        # pass 2: provisional -> vocabulary ids through one lookup table, into .npy memmaps
        lookup = np.array(vocab.encode(provisional), dtype=dtype)
        split_meta = {}
        (out / "meta.json").unlink(missing_ok=True)  # an older preparation stops being valid here
        for split in splits:
            unk = _remap(raw[split], lookup, out / f"{split}.npy", counts[split]["tokens"])
            split_meta[split] = {"file": f"{split}.npy", **counts[split], "unk": unk}
    finally:
        for path in raw.values():
            path.unlink(missing_ok=True)
    vocab.save(out / "vocab.json")
    tok.save(out / "tokenizer.json")
    meta = {"format": _FORMAT, "version": 1, "key": key, "source": src.name,
            "tokenizer": tok.name, "eos_per_line": bool(eos_per_line), "min_freq": min_freq,
            "max_size": max_size, "vocab_size": len(vocab), "dtype": np.dtype(dtype).name,
            "splits": split_meta, "seconds": round(time.perf_counter() - started, 3)}
    atomic_write_json(out / "meta.json", meta)
    return PreparedCorpus(out, meta, vocab, tok)


def _tokenize_split(src: TextSource, split: str, tok: Tokenizer, eos_per_line: bool,
                    provisional: dict[str, int], train_counts: list[int] | None,
                    raw: Path | None) -> dict[str, int]:
    """Pass 1 over one split: provisional ids (uint32) appended to ``raw`` in chunks.

    ``provisional`` (token -> first-seen index) grows across splits; ``train_counts`` (index ->
    count) is updated for the train split only. Returns ``{"tokens": n, "lines": k}``.
    """
    n_tokens = n_lines = 0
    buffer: list[int] = []
    handle = open(raw, "wb") if raw is not None else None
    try:
        for tokens in iter_line_tokens(src, split, tok, eos_per_line):
            n_lines += 1
            for token in tokens:
                idx = provisional.get(token)
                if idx is None:
                    idx = provisional[token] = len(provisional)
                    if train_counts is not None:
                        train_counts.append(0)
                if train_counts is not None:
                    train_counts[idx] += 1
                buffer.append(idx)
            if len(buffer) >= _CHUNK:
                n_tokens += _spill(buffer, handle)
        n_tokens += _spill(buffer, handle)
    finally:
        if handle is not None:
            handle.close()
    if n_tokens == 0:
        raise DataError(f"{src.name} split {split!r} has no tokens "
                        f"({n_lines} lines, empty or whitespace only)")
    return {"tokens": n_tokens, "lines": n_lines}


def _spill(buffer: list[int], handle) -> int:
    n = len(buffer)
    if handle is not None and n:
        handle.write(np.asarray(buffer, dtype=np.uint32).tobytes())
    buffer.clear()
    return n


def _remap(raw: Path, lookup: np.ndarray, path: Path, n: int) -> int:
    """Pass 2: ``lookup[provisional]`` into ``path`` (.npy, atomically); returns the unk count."""
    source = np.memmap(raw, dtype=np.uint32, mode="r", shape=(n,))
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npy")  # unique per process
    ids = np.lib.format.open_memmap(tmp, mode="w+", dtype=lookup.dtype, shape=(n,))
    unk = 0
    try:
        for start in range(0, n, _CHUNK):
            chunk = lookup[source[start:start + _CHUNK]]
            ids[start:start + len(chunk)] = chunk
            unk += int(np.count_nonzero(chunk == Vocab.unk_id))
        ids.flush()
        del ids, source
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return unk


def _cached(out: Path, key: str) -> PreparedCorpus | None:
    meta_path = out / "meta.json"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("key") != key:
            return None
        corpus = PreparedCorpus.load(out)
        for split in corpus.splits:
            corpus.ids(split)
    except (DataError, ValueError, OSError, KeyError):
        return None  # stale or damaged: prepare again
    corpus.cache_hit = True
    return corpus


def _default_dir(name: str, key: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(name).name if os.sep in name else name)[:40]
    return cache_dir() / "prepared" / f"{safe}-{key[:12]}"
