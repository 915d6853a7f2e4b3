"""Corpora for embedding training: restartable iterables of token lists.

Training reads a corpus once (``encode_corpus``): every token gets a provisional id in order of
first appearance, so one pass yields both the counts and an int32 token array. Vocabulary
filtering (``min_count``) then just remaps that array with NumPy. A corpus must nevertheless
be *restartable* (``iter(corpus)`` returns a fresh iterator each time), like gensim's
``LineSentence``: a generator is consumed by the first pass and would silently train on
nothing the next time, so it is rejected up front.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from seqlab.errors import ConfigError, DataError, MissingFileError
from seqlab.io import open_text

MAX_SENTENCE_LENGTH = 10_000


class LineCorpus:
    """One sentence per line, tokens separated by whitespace (``.gz`` files are decompressed).

    Args:
        path: text file.
        max_sentence_length: longer lines are split into pieces of at most this many tokens.
        lowercase: lower-case every token.

    Example:
        >>> import os, pathlib, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "two.txt")
        >>> _ = pathlib.Path(path).write_text("the cat sat\\nThe Dog ran\\n", encoding="utf-8")
        >>> list(LineCorpus(path, lowercase=True))
        [['the', 'cat', 'sat'], ['the', 'dog', 'ran']]
        >>> list(LineCorpus(path, max_sentence_length=2))
        [['the', 'cat'], ['sat'], ['The', 'Dog'], ['ran']]
    """

    def __init__(self, path, max_sentence_length: int = MAX_SENTENCE_LENGTH,
                 lowercase: bool = False, encoding: str | None = None,
                 errors: str | None = None) -> None:
        self.path = Path(path)
        self.encoding, self.errors = encoding, errors  # None: seqlab.io's policy (utf-8, strict)
        if not self.path.is_file():
            raise MissingFileError(f"corpus file not found: {self.path}")
        if max_sentence_length < 1:
            raise ConfigError(f"max_sentence_length must be >= 1, got {max_sentence_length}")
        self.max_sentence_length = max_sentence_length
        self.lowercase = lowercase

    def __iter__(self) -> Iterator[list[str]]:
        with open_text(self.path, self.encoding, self.errors, newline=None) as fh:
            for line in fh:
                tokens = (line.lower() if self.lowercase else line).split()
                for i in range(0, max(len(tokens), 1), self.max_sentence_length):
                    yield tokens[i:i + self.max_sentence_length]

    def __repr__(self) -> str:
        return f"LineCorpus({str(self.path)!r})"


def check_corpus(corpus, name: str = "corpus") -> Iterable:
    """Reject what cannot be iterated twice (generators, iterators) or is not token lists."""
    if isinstance(corpus, str | bytes | Path):
        raise DataError(f"{name} must be an iterable of token lists; for a file pass "
                        f"LineCorpus({str(corpus)[:60]!r})")
    try:
        it = iter(corpus)
    except TypeError:
        raise DataError(f"{name} must be an iterable of token lists, got "
                        f"{type(corpus).__name__}") from None
    if it is corpus:
        raise DataError(
            f"{name} is a one-shot iterator ({type(corpus).__name__}); training needs a "
            "restartable iterable: pass a list of token lists or LineCorpus(path), or wrap the "
            "generator function in a class whose __iter__ calls it")
    return corpus


def encode_corpus(corpus, max_sentence_length: int = MAX_SENTENCE_LENGTH, name: str = "corpus"):
    """One pass: provisional ids by first appearance.

    Returns:
        ``(words, counts, tokens, starts)``: ``words[i]`` has provisional id ``i`` and count
        ``counts[i]``; ``tokens`` (int32) holds all sentences back to back and sentence ``s``
        is ``tokens[starts[s]:starts[s + 1]]``.
    """
    check_corpus(corpus, name)
    ids: dict[str, int] = {}
    get = ids.setdefault
    tokens = array("i")
    lengths = array("q")
    for n, sentence in enumerate(corpus):
        if isinstance(sentence, str):
            raise DataError(f"{name}: sentence {n} is a string; sentences must be lists of "
                            "tokens (split them, or use LineCorpus for a text file)")
        encoded = [get(w, len(ids)) for w in sentence]
        for i in range(0, max(len(encoded), 1), max_sentence_length):
            piece = encoded[i:i + max_sentence_length]
            tokens.extend(piece)
            lengths.append(len(piece))
    if len(tokens) == 0:
        raise DataError(f"{name} is empty: it yielded no tokens")
    words = list(ids)
    if not all(isinstance(w, str) for w in words[:100]):
        bad = next(w for w in words if not isinstance(w, str))
        raise DataError(f"{name}: tokens must be str, got {type(bad).__name__} ({bad!r})")
    token_arr = np.frombuffer(tokens, dtype=np.int32).copy()
    counts = np.bincount(token_arr, minlength=len(words)).astype(np.int64)
    starts = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(np.frombuffer(lengths, dtype=np.int64), out=starts[1:])
    return words, counts, token_arr, starts
