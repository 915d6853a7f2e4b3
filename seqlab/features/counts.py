"""Bag of words: ``CountVectorizer`` (counts or binary; word, char and char_wb n-grams).

Seed 001's bag of words: a vocabulary over the corpus and, per document, a vector of how often
each vocabulary entry occurs (or whether it occurs, ``binary=True``). With ``ngram_range=(1, 2)``
the entries are words and word bigrams (seed 001: 猫 喜欢 吃 鱼 -> 猫 喜欢, 喜欢 吃, 吃 鱼).

Parameter names, defaults, feature order (sorted terms) and pruning (``min_df``, ``max_df``,
``max_features``) follow scikit-learn's ``CountVectorizer``, so the matrices are equal.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from itertools import compress
from typing import Any

import numpy as np
import scipy.sparse as sp

from seqlab.errors import ConfigError, DataError
from seqlab.features.base import Estimator, boolean, callable_or, number
from seqlab.features.stop_words import check_stop_words, resolve_stop_words
from seqlab.features.tokenizers import TOKEN_PATTERN, TOKENIZERS, resolve_tokenizer

_WHITESPACES = re.compile(r"\s\s+")
_WORD_RUNS = re.compile(r"\w\w+")  # finds what TOKEN_PATTERN finds


def _ngram_range(v: Any) -> str | None:
    ok = (isinstance(v, tuple | list) and len(v) == 2
          and all(isinstance(n, int) and not isinstance(n, bool) for n in v) and 1 <= v[0] <= v[1])
    return None if ok else "a pair (min_n, max_n) of ints with 1 <= min_n <= max_n"


def _df_bound(v: Any) -> str | None:
    if isinstance(v, bool):
        return "an int >= 0 or a float in [0.0, 1.0]"
    if isinstance(v, int) and v >= 0 or isinstance(v, float) and 0.0 <= v <= 1.0:
        return None
    return "an int >= 0 or a float in [0.0, 1.0]"


def word_ngrams(tokens: list[str], min_n: int, max_n: int) -> list[str]:
    """All n-grams (min_n <= n <= max_n) of ``tokens``, each joined by one space."""
    if max_n == 1:
        return tokens
    grams = list(tokens) if min_n == 1 else []
    join = " ".join
    for n in range(max(min_n, 2), min(max_n, len(tokens)) + 1):
        grams.extend(map(join, zip(*[tokens[i:] for i in range(n)])))
    return grams


def char_ngrams(text: str, min_n: int, max_n: int) -> list[str]:
    """Character n-grams of ``text`` after collapsing runs of blanks to one space."""
    text = _WHITESPACES.sub(" ", text)
    return [text[i:i + n] for n in range(min_n, min(max_n, len(text)) + 1)
            for i in range(len(text) - n + 1)]


def char_wb_ngrams(text: str, min_n: int, max_n: int) -> list[str]:
    """Character n-grams inside word boundaries: each word padded with one space each side.

    A padded word shorter than n gives itself once (and no longer n-grams), as in scikit-learn.
    """
    grams: list[str] = []
    for word in _WHITESPACES.sub(" ", text).split():
        w = f" {word} "
        for n in range(min_n, max_n + 1):
            if len(w) <= n:
                grams.append(w)
                break
            grams.extend(w[i:i + n] for i in range(len(w) - n + 1))
    return grams


class CountVectorizer(Estimator):
    """Documents -> sparse (CSR) matrix of term counts, shape (n_documents, n_features).

    Args:
        lowercase: lowercase documents before tokenizing.
        tokenizer: callable ``str -> list[str]`` or a name in ``TOKENIZERS`` ("regex",
            "whitespace", "jieba" for Chinese). None uses ``token_pattern``.
        token_pattern: regex of a token when ``tokenizer`` is None (scikit-learn's default).
        analyzer: "word", "char", "char_wb", or a callable ``document -> list of features``
            (then lowercase/tokenizer/stop_words/ngram_range are not applied).
        ngram_range: (min_n, max_n) of word or character n-grams.
        stop_words: words removed after tokenizing (and lowercasing): a collection of words,
            "english" (``seqlab.features.stop_words.ENGLISH_STOP_WORDS``, 265 words, seqlab's
            own list, not scikit-learn's), or None.
        min_df: keep terms in at least this many documents (int) or this fraction (float).
        max_df: keep terms in at most this many documents (int) or this fraction (float).
        max_features: keep only the most frequent terms (corpus count), or None.
        binary: 1 instead of the count.
        vocabulary: fixed terms (iterable, in column order, or term -> column mapping); then
            ``fit`` learns nothing from the corpus and no pruning applies.
        dtype: dtype of the matrix values.

    Attributes:
        vocabulary_: term -> column index (columns in sorted term order when learned).
        stop_words_: terms removed by min_df/max_df/max_features.
    """

    _parameter_constraints = {
        "lowercase": boolean,
        "tokenizer": callable_or(None, *TOKENIZERS),
        "token_pattern": lambda v: None if isinstance(v, str) else "a regex string",
        "analyzer": callable_or("word", "char", "char_wb"),
        "ngram_range": _ngram_range,
        "stop_words": check_stop_words,
        "min_df": _df_bound,
        "max_df": _df_bound,
        "max_features": number(1, integer=True, none_ok=True),
        "binary": boolean,
    }

    def __init__(self, *, lowercase: bool = True,
                 tokenizer: Callable[[str], list[str]] | str | None = None,
                 token_pattern: str = TOKEN_PATTERN,
                 analyzer: str | Callable[[Any], list[str]] = "word",
                 ngram_range: tuple[int, int] = (1, 1),
                 stop_words: Iterable[str] | str | None = None,
                 min_df: float | int = 1, max_df: float | int = 1.0,
                 max_features: int | None = None, binary: bool = False,
                 vocabulary: Iterable[str] | Mapping[str, int] | None = None,
                 dtype: Any = np.int64) -> None:
        self.lowercase = lowercase
        self.tokenizer = tokenizer
        self.token_pattern = token_pattern
        self.analyzer = analyzer
        self.ngram_range = ngram_range
        self.stop_words = stop_words
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.binary = binary
        self.vocabulary = vocabulary
        self.dtype = dtype

    def build_analyzer(self) -> Callable[[Any], list[str]]:
        """The function document -> list of features that ``fit`` and ``transform`` use."""
        if callable(self.analyzer):
            return self.analyzer
        min_n, max_n = self.ngram_range
        lower = self.lowercase
        if self.analyzer in ("char", "char_wb"):
            grams = char_ngrams if self.analyzer == "char" else char_wb_ngrams
            return lambda doc: grams(doc.lower() if lower else doc, min_n, max_n)
        if self.tokenizer is None:
            pattern = re.compile(self.token_pattern)
            if pattern.groups > 1:
                raise ConfigError("token_pattern must have at most one capturing group, "
                                  f"got {self.token_pattern!r}")
            if self.token_pattern == TOKEN_PATTERN:
                # The same tokens, found faster: a greedy run of 2+ word characters always
                # starts and ends at a word boundary, so the \b tests change nothing.
                pattern = _WORD_RUNS
            tokenize = pattern.findall
        else:
            tokenize = resolve_tokenizer(self.tokenizer)
        stop = resolve_stop_words(self.stop_words)

        def analyze(doc: str) -> list[str]:
            tokens = tokenize(doc.lower() if lower else doc)
            if stop is not None:
                tokens = [t for t in tokens if t not in stop]
            return word_ngrams(tokens, min_n, max_n)

        return analyze

    def _count(self, documents: Iterable[Any], vocabulary: dict[str, int],
               grow: bool) -> sp.csr_matrix:
        if isinstance(documents, str):
            raise DataError("documents must be an iterable of documents, got one str; "
                            "wrap it in a list")
        if self.analyzer == "char_wb":
            return self._count_char_wb(documents, vocabulary, grow)
        analyze = self.build_analyzer()
        columns: list[int] = []
        indptr = [0]
        if grow:  # unseen features get the next column
            column = vocabulary.__getitem__  # a defaultdict: adds unseen features
            for doc in documents:
                columns.extend(map(column, analyze(doc)))
                indptr.append(len(columns))
        else:
            get = vocabulary.get
            for doc in documents:
                columns.extend(j for j in map(get, analyze(doc)) if j is not None)
                indptr.append(len(columns))
        if len(indptr) == 1:
            raise DataError("documents is empty: expected at least one document")
        return self._csr(np.asarray(columns, dtype=np.int64), indptr, len(vocabulary))

    def _count_char_wb(self, documents: Iterable[Any], vocabulary: dict[str, int],
                       grow: bool) -> sp.csr_matrix:
        """``_count`` for analyzer="char_wb" as a product of two count matrices,
        (documents x distinct words) @ (distinct words x n-grams).

        A document's features are the n-grams of its words one after another, and words
        repeat, so each distinct word's n-grams are made and looked up once: the first time
        the word is seen, which assigns new columns in the same order as counting feature by
        feature would. Splitting on blanks equals collapsing blank runs first.
        """
        min_n, max_n = self.ngram_range
        lower = self.lowercase
        word_ends = [0]  # distinct word w's columns: gram_columns[word_ends[w]:word_ends[w+1]]
        gram_columns: list[int] = []
        known = vocabulary.get

        class Words(dict):  # word -> row of the word x n-gram matrix, made on first sight
            def __missing__(self, word: str) -> int:
                grams = char_wb_ngrams(word, min_n, max_n)
                if grow:
                    gram_columns.extend(map(vocabulary.__getitem__, grams))
                else:
                    gram_columns.extend(j for j in map(known, grams) if j is not None)
                word_ends.append(len(gram_columns))
                w = self[word] = len(self)
                return w

        words = Words()
        row = words.__getitem__
        tokens: list[int] = []
        doc_ends = [0]
        for doc in documents:
            tokens.extend(map(row, (doc.lower() if lower else doc).split()))
            doc_ends.append(len(tokens))
        if len(doc_ends) == 1:
            raise DataError("documents is empty: expected at least one document")
        n_words = len(words)
        doc_words = sp.csr_matrix(
            (np.ones(len(tokens), dtype=np.int64), np.asarray(tokens, dtype=np.int64),
             np.asarray(doc_ends, dtype=np.int64)), shape=(len(doc_ends) - 1, n_words))
        word_grams = sp.csr_matrix(
            (np.ones(len(gram_columns), dtype=np.int64), np.asarray(gram_columns, dtype=np.int64),
             np.asarray(word_ends, dtype=np.int64)), shape=(n_words, len(vocabulary)))
        X = sp.csr_matrix(doc_words @ word_grams)  # repeated entries in either are summed
        X.sort_indices()
        if X.dtype != np.dtype(self.dtype):
            X.data = X.data.astype(self.dtype)
        return X

    def _csr(self, j: np.ndarray, indptr: Any, n_columns: int) -> sp.csr_matrix:
        """Rows of column indices (repeats allowed) -> CSR counts, rows sorted by column."""
        index_dtype = np.int32 if len(j) < 2**31 and n_columns < 2**31 else np.int64
        X = sp.csr_matrix((np.ones(len(j), dtype=self.dtype), j.astype(index_dtype),
                           np.asarray(indptr, dtype=index_dtype)),
                          shape=(len(indptr) - 1, n_columns))
        X.sum_duplicates()
        return X

    def _fixed_vocabulary(self) -> dict[str, int]:
        if isinstance(self.vocabulary, Mapping):
            vocab = dict(self.vocabulary)
            if sorted(vocab.values()) != list(range(len(vocab))):
                raise ConfigError("vocabulary mapping must give columns 0..n-1 exactly once")
        else:
            vocab = {}
            for term in self.vocabulary:
                if term in vocab:
                    raise ConfigError(f"vocabulary has the term {term!r} twice")
                vocab[term] = len(vocab)
        if not vocab:
            raise ConfigError("vocabulary is empty: expected at least one term")
        return vocab

    def fit(self, documents: Iterable[Any], y: Any = None) -> CountVectorizer:
        """Learn the vocabulary of ``documents``; returns self."""
        self.fit_transform(documents)
        return self

    def fit_transform(self, documents: Iterable[Any], y: Any = None) -> sp.csr_matrix:
        """Learn the vocabulary and return the count matrix of ``documents``."""
        self._validate_params()
        if self.vocabulary is not None:
            vocab = self._fixed_vocabulary()
            X = self._count(documents, vocab, grow=False)
            self.vocabulary_, self.stop_words_ = vocab, set()
            return self._finish(X)
        growing: defaultdict[str, int] = defaultdict()
        growing.default_factory = growing.__len__
        X = self._count(documents, growing, grow=True)
        if not growing:
            raise DataError("empty vocabulary: the documents have no tokens "
                            "(perhaps only stop words or only too-short words)")
        terms = sorted(growing)
        old_to_new = np.empty(len(terms), dtype=X.indices.dtype)
        old = np.fromiter(map(growing.__getitem__, terms), dtype=np.int64, count=len(terms))
        old_to_new[old] = np.arange(len(terms), dtype=X.indices.dtype)
        # Rows stay in first-seen column order, not re-sorted: scikit-learn does the same, and
        # the order of the l2-norm sum decides the last bit of TfidfVectorizer's output.
        X.indices = old_to_new[X.indices]
        X.has_sorted_indices = False
        X = self._finish(X)  # binary before pruning: max_features then ranks by document count
        X, terms, removed = self._prune(X, terms)
        self.vocabulary_ = {t: i for i, t in enumerate(terms)}
        self.stop_words_ = removed
        return X

    def _prune(self, X: sp.csr_matrix, terms: list[str]):
        n_docs = X.shape[0]
        high = self.max_df if isinstance(self.max_df, int) else self.max_df * n_docs
        low = self.min_df if isinstance(self.min_df, int) else self.min_df * n_docs
        if high < low:
            raise ConfigError(f"max_df={self.max_df!r} allows fewer documents ({high}) than "
                              f"min_df={self.min_df!r} requires ({low})")
        df = np.bincount(X.indices, minlength=X.shape[1])
        keep = (df <= high) & (df >= low)
        if self.max_features is not None and keep.sum() > self.max_features:
            total = np.asarray(X.sum(axis=0)).ravel()
            best = (-total[keep]).argsort()[: self.max_features]  # same tie order as sklearn
            chosen = np.zeros(len(keep), dtype=bool)
            chosen[np.flatnonzero(keep)[best]] = True
            keep = chosen
        if keep.all():
            return X, terms, set()
        if not keep.any():
            raise DataError("after pruning by min_df/max_df/max_features no terms remain; "
                            "lower min_df or raise max_df")
        removed = set(compress(terms, (~keep).tolist()))
        return X[:, np.flatnonzero(keep)], list(compress(terms, keep.tolist())), removed

    def transform(self, documents: Iterable[Any]) -> sp.csr_matrix:
        """Count matrix of ``documents`` over the fitted vocabulary (unknown terms ignored)."""
        self._check_fitted("vocabulary_")
        return self._finish(self._count(documents, self.vocabulary_, grow=False))

    def _finish(self, X: sp.csr_matrix) -> sp.csr_matrix:
        if self.binary:
            X.data[:] = 1
        return X

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Terms in column order (object array, as scikit-learn)."""
        self._check_fitted("vocabulary_")
        names = [""] * len(self.vocabulary_)
        for term, j in self.vocabulary_.items():
            names[j] = term
        return np.asarray(names, dtype=object)
