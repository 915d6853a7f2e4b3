"""Bag of words: ``CountVectorizer`` (counts or binary; word, char and char_wb n-grams).

Seed 001's bag of words: a vocabulary over the corpus and, per document, a vector of how often
each vocabulary entry occurs (or whether it occurs, ``binary=True``). With ``ngram_range=(1, 2)``
the entries are words and word bigrams (seed 001: 猫 喜欢 吃 鱼 -> 猫 喜欢, 喜欢 吃, 吃 鱼).

Parameter names, defaults, feature order (sorted terms) and pruning (``min_df``, ``max_df``,
``max_features``) follow scikit-learn's ``CountVectorizer``, so the matrices are equal.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from itertools import compress
from typing import Any

import numpy as np
import scipy.sparse as sp

from seqlab.errors import ConfigError, DataError
from seqlab.features.analysis import ACCENT_STRIPPERS, VectorizerMixin, char_wb_ngrams
from seqlab.features.base import Estimator, NotFittedError, boolean, callable_or, number, one_of
from seqlab.features.stop_words import check_stop_words
from seqlab.features.tokenizers import TOKEN_PATTERN, TOKENIZERS


def _ngram_range(v: Any) -> str | None:
    ok = (isinstance(v, tuple | list) and len(v) == 2
          and all(isinstance(n, int) and not isinstance(n, bool) for n in v) and 1 <= v[0] <= v[1])
    return None if ok else "a pair (min_n, max_n) of ints with 1 <= min_n <= max_n"


def _df_bound(v: Any) -> str | None:
    """A document count (int >= 1) or a fraction of the documents (float in [0, 1])."""
    if isinstance(v, bool):
        return "an int >= 1 or a float in [0.0, 1.0]"
    if isinstance(v, int) and v >= 1 or isinstance(v, float) and 0.0 <= v <= 1.0:
        return None
    return "an int >= 1 or a float in [0.0, 1.0]"


def _optional_str(v: Any) -> str | None:
    return None if v is None or isinstance(v, str) else "a str or None"


def _str(v: Any) -> str | None:
    return None if isinstance(v, str) else "a str"


def _optional_callable(v: Any) -> str | None:
    return None if v is None or callable(v) else "a callable or None"


# Parameters shared by every vectorizer (CountVectorizer, TfidfVectorizer, HashingVectorizer).
TEXT_CONSTRAINTS = {
    "input": one_of("content", "file", "filename"),
    "encoding": _str,
    "decode_error": one_of("strict", "ignore", "replace"),
    "strip_accents": callable_or(None, *ACCENT_STRIPPERS),
    "lowercase": boolean,
    "preprocessor": _optional_callable,
    "tokenizer": callable_or(None, *TOKENIZERS),
    "token_pattern": _optional_str,
    "analyzer": callable_or("word", "char", "char_wb"),
    "ngram_range": _ngram_range,
    "stop_words": check_stop_words,
    "binary": boolean,
}


class CountVectorizer(VectorizerMixin, Estimator):
    """Documents -> sparse (CSR) matrix of term counts, shape (n_documents, n_features).

    Args:
        input: "content" (documents are str or bytes), "file" (objects with ``read``) or
            "filename" (paths, read as bytes).
        encoding, decode_error: how bytes are decoded ("strict" raises ``UnicodeDecodeError``,
            "ignore" drops undecodable bytes, "replace" puts U+FFFD in their place).
        strip_accents: None, "ascii", "unicode" or a callable, applied after lowercasing.
        lowercase: lowercase documents before tokenizing.
        preprocessor: callable str -> str replacing lowercasing and accent stripping.
        tokenizer: callable ``str -> list[str]`` or a name in ``TOKENIZERS`` ("regex",
            "whitespace", "jieba" for Chinese). None uses ``token_pattern``.
        token_pattern: regex of a token when ``tokenizer`` is None (scikit-learn's default).
        analyzer: "word", "char", "char_wb", or a callable ``document -> list of features``
            (then only decoding is applied before it).
        ngram_range: (min_n, max_n) of word or character n-grams.
        stop_words: words removed after tokenizing (and lowercasing): a collection of words,
            "english" (``seqlab.features.stop_words.ENGLISH_STOP_WORDS``, 265 words, seqlab's
            own list, not scikit-learn's), or None.
        min_df: keep terms in at least this many documents (int) or this fraction (float).
        max_df: keep terms in at most this many documents (int) or this fraction (float).
        max_features: keep only the most frequent terms (corpus count), or None.
        binary: 1 instead of the count.
        vocabulary: fixed terms (iterable in column order; a ``set`` is sorted first; or a
            term -> column mapping); then ``fit`` learns nothing from the corpus, no pruning
            applies, and ``transform`` works without ``fit``.
        dtype: dtype of the matrix values.

    Attributes:
        vocabulary_: term -> column index (columns in sorted term order when learned).
        fixed_vocabulary_: True when ``vocabulary`` was given.
        stop_words_: terms removed by min_df/max_df/max_features.

    >>> vec = CountVectorizer(strip_accents="unicode")
    >>> vec.fit_transform(["Café café", "cafe noir"]).toarray().tolist()
    [[2, 0], [1, 1]]
    >>> vec.get_feature_names_out().tolist()
    ['cafe', 'noir']
    """

    _parameter_constraints = {
        **TEXT_CONSTRAINTS,
        "min_df": _df_bound,
        "max_df": _df_bound,
        "max_features": number(1, integer=True, none_ok=True),
    }

    def __init__(self, *, input: str = "content", encoding: str = "utf-8",
                 decode_error: str = "strict",
                 strip_accents: str | Callable[[str], str] | None = None,
                 lowercase: bool = True, preprocessor: Callable[[str], str] | None = None,
                 tokenizer: Callable[[str], list[str]] | str | None = None,
                 stop_words: Iterable[str] | str | None = None,
                 token_pattern: str | None = TOKEN_PATTERN,
                 ngram_range: tuple[int, int] = (1, 1),
                 analyzer: str | Callable[[Any], list[str]] = "word",
                 max_df: float | int = 1.0, min_df: float | int = 1,
                 max_features: int | None = None,
                 vocabulary: Iterable[str] | Mapping[str, int] | None = None,
                 binary: bool = False, dtype: Any = np.int64) -> None:
        self.input = input
        self.encoding = encoding
        self.decode_error = decode_error
        self.strip_accents = strip_accents
        self.lowercase = lowercase
        self.preprocessor = preprocessor
        self.tokenizer = tokenizer
        self.stop_words = stop_words
        self.token_pattern = token_pattern
        self.ngram_range = ngram_range
        self.analyzer = analyzer
        self.max_df = max_df
        self.min_df = min_df
        self.max_features = max_features
        self.vocabulary = vocabulary
        self.binary = binary
        self.dtype = dtype

    def _count(self, documents: Iterable[Any], vocabulary: dict[str, int],
               grow: bool) -> sp.csr_matrix:
        documents = self._documents(documents)
        try:
            sp.csr_matrix((1, 1), dtype=self.dtype)
        except (TypeError, ValueError) as error:
            raise ConfigError(f"dtype={self.dtype!r} cannot be a sparse matrix dtype: "
                              f"{error}") from None
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
        decode, preprocess = self._decoder(), self.build_preprocessor()
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
            tokens.extend(map(row, preprocess(decode(doc)).split()))
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
        """Rows of column indices (repeats allowed) -> CSR counts, rows sorted by column.

        Counts are summed in the matrix dtype when that is exact (32/64-bit), else summed as
        int64 and then converted, as scikit-learn converts its integer counts."""
        index_dtype = np.int32 if len(j) < 2**31 and n_columns < 2**31 else np.int64
        dtype = np.dtype(self.dtype)
        exact = dtype.itemsize >= 4 and dtype.kind in "fiu"
        X = sp.csr_matrix((np.ones(len(j), dtype=dtype if exact else np.int64),
                           j.astype(index_dtype), np.asarray(indptr, dtype=index_dtype)),
                          shape=(len(indptr) - 1, n_columns))
        X.sum_duplicates()
        if not exact:
            X.data = X.data.astype(dtype)
        return X

    def _validate_vocabulary(self) -> None:
        """Check ``vocabulary`` (if given) and set ``vocabulary_``/``fixed_vocabulary_``."""
        if self.vocabulary is None:
            self.fixed_vocabulary_ = False
            return
        vocabulary = self.vocabulary
        if isinstance(vocabulary, set | frozenset):
            vocabulary = sorted(vocabulary)  # a set's order changes with the hash seed
        if isinstance(vocabulary, Mapping):
            vocab = dict(vocabulary)
            columns = set(vocab.values())
            if len(columns) != len(vocab):
                raise ConfigError("vocabulary mapping gives the same column to two terms")
            missing = next((j for j in range(len(vocab)) if j not in columns), None)
            if missing is not None:
                raise ConfigError(f"vocabulary of {len(vocab)} terms has no term for column "
                                  f"{missing}: columns must be 0..{len(vocab) - 1}")
        else:
            vocab = {}
            for term in vocabulary:
                if term in vocab:
                    raise ConfigError(f"vocabulary has the term {term!r} twice")
                vocab[term] = len(vocab)
        if not vocab:
            raise ConfigError("vocabulary is empty: expected at least one term")
        self.vocabulary_, self.fixed_vocabulary_ = vocab, True

    def _check_vocabulary(self) -> None:
        """Fitted, or built with ``vocabulary=`` (then usable without ``fit``)."""
        if not hasattr(self, "vocabulary_"):
            self._validate_params()
            self._validate_vocabulary()
            if not self.fixed_vocabulary_:
                raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet "
                                     "(vocabulary not fitted or provided); call 'fit' first")

    def fit(self, documents: Iterable[Any], y: Any = None) -> CountVectorizer:
        """Learn the vocabulary of ``documents``; returns self."""
        self.fit_transform(documents)
        return self

    def fit_transform(self, documents: Iterable[Any], y: Any = None) -> sp.csr_matrix:
        """Learn the vocabulary and return the count matrix of ``documents``."""
        documents = self._documents(documents)
        self._validate_params()
        self._warn_for_unused_params()
        self._validate_vocabulary()
        if self.fixed_vocabulary_:
            if self.lowercase and any(any(map(str.isupper, t))
                                      for t in self.vocabulary_):
                warnings.warn("Upper case characters found in vocabulary while 'lowercase' "
                              "is True. These entries will not be matched with any documents",
                              UserWarning, stacklevel=2)
            X = self._count(documents, self.vocabulary_, grow=False)
            self.stop_words_ = set()
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
        """Count matrix of ``documents`` over the fitted (or given) vocabulary; unknown terms
        are ignored."""
        documents = self._documents(documents)
        self._check_vocabulary()
        return self._finish(self._count(documents, self.vocabulary_, grow=False))

    def _finish(self, X: sp.csr_matrix) -> sp.csr_matrix:
        if self.binary:
            X.data[:] = 1
        return X

    def _terms(self) -> np.ndarray:
        names = np.empty(len(self.vocabulary_), dtype=object)
        for term, j in self.vocabulary_.items():
            names[j] = term
        return names

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Terms in column order (object array, as scikit-learn)."""
        self._check_vocabulary()
        return self._terms()

    def inverse_transform(self, X: Any) -> list[np.ndarray]:
        """Per row of ``X`` (sparse or dense, n_features columns), the terms whose entry is
        nonzero, in column order (str arrays, as scikit-learn)."""
        self._check_vocabulary()
        n_terms = len(self.vocabulary_)
        X = sp.csr_matrix(X) if sp.issparse(X) else np.asarray(X)
        if X.ndim != 2 or X.shape[1] != n_terms:
            raise DataError(f"X has shape {X.shape} but the vocabulary has {n_terms} terms; "
                            f"expected (n_documents, {n_terms})")
        terms = self._terms().astype(str)
        if sp.issparse(X):
            X = X.copy()
            X.eliminate_zeros()
            X.sort_indices()
            return [terms[X.indices[X.indptr[i]:X.indptr[i + 1]]] for i in range(X.shape[0])]
        return [terms[np.flatnonzero(row)] for row in X]
