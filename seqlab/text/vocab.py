"""Vocabulary: token strings <-> integer ids, with four fixed special ids.

==========  ===  =========================================================================
token       id   meaning
==========  ===  =========================================================================
``<pad>``   0    padding in variable-length batches (never a target)
``<unk>``   1    any token not in the vocabulary; ``"<unk>"`` *in the text* maps here too
``<bos>``   2    begin of sequence (generation prompts, seq2seq decoders)
``<eos>``   3    end of sequence; PTB/WikiText line ends, ``"<eos>"`` in the text maps here
==========  ===  =========================================================================

Regular tokens get ids 4, 5, ... A special token met in the corpus is counted but never added
twice: it keeps its fixed id. So on Penn Treebank (10,000 word types in train, ``<unk>`` and
``<eos>`` among them) the vocabulary has 4 + 9,998 = **10,002** entries: the standard 10,000
plus ``<pad>`` and ``<bos>``, and a language model's softmax over it has 10,002 outputs (two of
which, ``<pad>`` and ``<bos>``, never occur as targets).

Order of regular tokens (deterministic): frequency descending, ties broken by **first
occurrence** in the input (Python's stable sort over a counter in insertion order). The same
input in the same order always gives the same ids.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from seqlab.errors import ConfigError, DataError
from seqlab.io import atomic_write_json, read_json
from seqlab.text.base import SPECIAL_TOKENS

__all__ = ["Vocab", "IdOutOfRangeError", "PAD", "UNK", "BOS", "EOS"]

PAD, UNK, BOS, EOS = SPECIAL_TOKENS
_FORMAT = "seqlab.vocab"


class IdOutOfRangeError(DataError, IndexError):
    """An id outside ``0..len(vocab) - 1`` (an ``IndexError`` and a seqlab ``DataError``)."""


class Vocab:
    """Token <-> id map with fixed specials ``<pad>=0, <unk>=1, <bos>=2, <eos>=3``.

    Build with :meth:`build` (counting) or :meth:`from_tokens` (an explicit list); the
    constructor is the same as ``from_tokens``.

    Args:
        tokens: the regular tokens in id order (ids 4, 5, ...). Specials in it are skipped.

    Example:
        >>> v = Vocab.build([["a", "b", "a"], ["c", "a", "b"]])
        >>> v.encode(["a", "c", "zzz"])
        [4, 6, 1]
        >>> v.decode([4, 5, 3])
        ['a', 'b', '<eos>']
    """

    pad_id = 0
    unk_id = 1
    bos_id = 2
    eos_id = 3
    specials = SPECIAL_TOKENS

    def __init__(self, tokens: Iterable[str] = ()) -> None:
        self._itos: list[str] = list(SPECIAL_TOKENS)
        self._stoi: dict[str, int] = {t: i for i, t in enumerate(SPECIAL_TOKENS)}
        for token in tokens:
            if not isinstance(token, str):
                raise TypeError(f"vocabulary tokens must be str, got {type(token).__name__} "
                                f"({token!r})")
            if token not in self._stoi:
                self._stoi[token] = len(self._itos)
                self._itos.append(token)

    @classmethod
    def from_tokens(cls, tokens: Iterable[str]) -> Vocab:
        """Vocabulary with ``tokens`` at ids 4, 5, ... in the given order (specials skipped)."""
        return cls(tokens)

    @classmethod
    def build(cls, tokens: Iterable[Sequence[str]] | Iterable[str], min_freq: int = 1,
              max_size: int | None = None) -> Vocab:
        """Count tokens and keep the frequent ones.

        Args:
            tokens: an iterable of token lists (sentences) or of token strings; a
                :class:`collections.Counter` of counts also works.
            min_freq: keep tokens seen at least this often (>= 1).
            max_size: upper bound on ``len(vocab)``, **the 4 specials included** (so the model's
                softmax size); the most frequent tokens are kept. ``None``: no bound.

        Returns:
            The vocabulary; regular tokens ordered by frequency, ties by first occurrence.
        """
        check_build_options(min_freq, max_size)
        counts = tokens if isinstance(tokens, Counter) else count_tokens(tokens)
        return cls.from_counts(counts, min_freq=min_freq, max_size=max_size)

    @classmethod
    def from_counts(cls, counts: Counter, min_freq: int = 1, max_size: int | None = None) -> Vocab:
        """:meth:`build` from ready counts (insertion order = first occurrence)."""
        kept = [(t, c) for t, c in counts.items() if c >= min_freq and t not in SPECIAL_TOKENS]
        kept.sort(key=lambda tc: -tc[1])  # stable: ties keep first-occurrence order
        if max_size is not None:
            kept = kept[: max_size - len(SPECIAL_TOKENS)]
        return cls(t for t, _ in kept)

    def __len__(self) -> int:
        return len(self._itos)

    def __contains__(self, token: object) -> bool:
        return token in self._stoi

    def __iter__(self):
        return iter(self._itos)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self._itos == other._itos

    def __hash__(self) -> int:
        return hash(tuple(self._itos))

    def __repr__(self) -> str:
        head = ", ".join(repr(t) for t in self._itos[4:9])
        return f"Vocab(size={len(self)}, tokens=[{head}{', ...' if len(self) > 9 else ''}])"

    @property
    def tokens(self) -> list[str]:
        """All tokens in id order (specials first); a copy."""
        return list(self._itos)

    def token_to_id(self, token: str) -> int:
        """Id of ``token``; ``unk_id`` if it is not in the vocabulary."""
        return self._stoi.get(token, self.unk_id)

    def id_to_token(self, idx: int) -> str:
        """Token of ``idx``; an :class:`IdOutOfRangeError` naming the id and range otherwise."""
        i = int(idx)
        if not 0 <= i < len(self._itos):
            raise IdOutOfRangeError(f"id {i} is out of range for a vocabulary of size "
                                    f"{len(self)} (valid ids: 0..{len(self) - 1})")
        return self._itos[i]

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """Ids of ``tokens``; tokens not in the vocabulary map to ``unk_id``."""
        if isinstance(tokens, str):
            raise TypeError("encode takes a list of tokens, not a str: tokenize the text first")
        get, unk = self._stoi.get, self.unk_id
        return [get(t, unk) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens of ``ids`` (ints, numpy or torch ints); out of range: ``IdOutOfRangeError``."""
        itos, n = self._itos, len(self._itos)
        out = []
        for position, idx in enumerate(ids):
            i = int(idx)
            if not 0 <= i < n:
                raise IdOutOfRangeError(f"id {i} at position {position} is out of range for a "
                                        f"vocabulary of size {n} (valid ids: 0..{n - 1})")
            out.append(itos[i])
        return out

    def to_dict(self) -> dict[str, Any]:
        """``{"format": "seqlab.vocab", "version": 1, "tokens": [all tokens in id order]}``."""
        return {"format": _FORMAT, "version": 1, "tokens": list(self._itos)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Vocab:
        """Inverse of :meth:`to_dict`; checks the format, the specials and duplicates."""
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise DataError(f"vocab dict must have format {_FORMAT!r}")
        tokens = data.get("tokens")
        if not isinstance(tokens, list) or list(tokens[:4]) != list(SPECIAL_TOKENS):
            raise DataError(f"vocab dict must list tokens starting with {list(SPECIAL_TOKENS)}")
        if len(set(tokens)) != len(tokens):
            raise DataError("vocab dict lists a token twice")
        return cls(tokens[4:])

    def fingerprint(self) -> str:
        """sha256 of the token list: equal fingerprints mean identical ids."""
        return hashlib.sha256(json.dumps(self._itos, ensure_ascii=False).encode()).hexdigest()

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``to_dict()`` as JSON, atomically (tmp file + ``os.replace``)."""
        return atomic_write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> Vocab:
        """Read a file written by :meth:`save`; missing or corrupt files are a ``DataError``."""
        path = Path(path)
        try:
            return cls.from_dict(read_json(path, "vocab"))
        except DataError as exc:
            if str(path) in str(exc):
                raise
            raise DataError(f"vocab file {str(path)!r}: {exc}") from exc


def check_build_options(min_freq: int, max_size: int | None) -> None:
    """Validate :meth:`Vocab.build`'s ``min_freq``/``max_size`` (a ``ConfigError`` naming them)."""
    if not isinstance(min_freq, int) or isinstance(min_freq, bool) or min_freq < 1:
        raise ConfigError(f"min_freq must be an int >= 1, got {min_freq!r}")
    if max_size is not None and (not isinstance(max_size, int) or isinstance(max_size, bool)
                                 or max_size < len(SPECIAL_TOKENS)):
        raise ConfigError(f"max_size must be None or an int >= {len(SPECIAL_TOKENS)} "
                          f"(the specials count), got {max_size!r}")


def count_tokens(tokens: Iterable[Sequence[str]] | Iterable[str]) -> Counter:
    """Counter over tokens; accepts token strings or token lists (one level of nesting)."""
    counts: Counter = Counter()
    for item in tokens:
        if isinstance(item, str):
            counts[item] += 1
        else:
            counts.update(item)
    return counts
