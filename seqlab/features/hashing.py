"""``HashingVectorizer``: documents -> counts in ``n_features`` hashed columns, no vocabulary.

A feature f (word, word n-gram, char n-gram: the same analyzers as ``CountVectorizer``) goes
to one column by its signed 32-bit MurmurHash3 h = murmur3(utf8(f), seed 0)::

    column(f) = |h| mod n_features
    value(f)  = +1 if h >= 0 else -1      (alternate_sign; else always +1)
    X[d, j]   = sum of value(f) over the features f of document d with column(f) = j

then ``binary`` sets every stored entry to 1 and ``norm`` scales each row to unit l1/l2
norm. These are scikit-learn's ``HashingVectorizer`` columns and values, so the matrices are
equal bit for bit. Nothing is learned: ``fit`` only checks the parameters, and ``transform``
works on an unfitted vectorizer. The features of ``BLOCK`` documents at a time are encoded
together and hashed by a numba kernel (``seqlab.features.murmurhash``), so memory stays
bounded by the block.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from itertools import islice
from typing import Any

import numpy as np
import scipy.sparse as sp

from seqlab.errors import DataError
from seqlab.features.analysis import VectorizerMixin, char_wb_ngrams
from seqlab.features.base import Estimator, boolean, number, one_of
from seqlab.features.counts import TEXT_CONSTRAINTS
from seqlab.features.tfidf import as_float_csr, normalize_rows
from seqlab.features.tokenizers import TOKEN_PATTERN

BLOCK = 20_000


def _identity(x: Any) -> Any:
    return x


class HashingVectorizer(VectorizerMixin, Estimator):
    """Documents -> sparse (CSR) matrix (n_documents, n_features) of hashed feature counts.

    Args:
        input, encoding, decode_error, strip_accents, lowercase, preprocessor, tokenizer,
        stop_words, token_pattern, ngram_range, analyzer, binary: as in ``CountVectorizer``.
        n_features: number of columns (1 <= n_features < 2**31 - 1, as scikit-learn).
        norm: "l2", "l1" or None: row normalization.
        alternate_sign: the sign of the hash gives the sign of the value (collisions then
            tend to cancel instead of adding up).
        dtype: dtype of the values.

    >>> X = HashingVectorizer(n_features=8, norm=None).transform(["the cat", "the the"])
    >>> X.toarray().astype(int).tolist()
    [[0, 0, 0, 0, 0, 0, -1, 1], [0, 0, 0, 0, 0, 0, -2, 0]]
    """

    _parameter_constraints = {
        **TEXT_CONSTRAINTS,
        "n_features": number(1, 2**31 - 2, integer=True),
        "norm": one_of("l2", "l1", None),
        "alternate_sign": boolean,
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
                 n_features: int = 2**20, binary: bool = False, norm: str | None = "l2",
                 alternate_sign: bool = True, dtype: Any = np.float64) -> None:
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
        self.n_features = n_features
        self.binary = binary
        self.norm = norm
        self.alternate_sign = alternate_sign
        self.dtype = dtype

    def partial_fit(self, documents: Any, y: Any = None) -> HashingVectorizer:
        """Nothing to learn; returns self (scikit-learn's API for out-of-core loops)."""
        return self

    def fit(self, documents: Any, y: Any = None) -> HashingVectorizer:
        """Check the parameters (and warn about unused ones); nothing is learned."""
        self._documents(documents)
        self._validate_params()
        self._warn_for_unused_params()
        return self

    def fit_transform(self, documents: Any, y: Any = None) -> sp.csr_matrix:
        return self.fit(documents).transform(documents)

    def _hash_block(self, docs: list[Any], analyze) -> tuple[np.ndarray, np.ndarray, list]:
        """(columns, values, row lengths) of one block of documents: every feature occurrence
        of the block is encoded in one UTF-8 string and hashed by the numba kernel."""
        from seqlab.features.murmurhash import murmurhash3_32, murmurhash3_joined

        features: list[str] = []
        lengths = []
        for doc in docs:
            grams = analyze(doc)
            features.extend(grams)
            lengths.append(len(grams))
        h = murmurhash3_joined(features)
        if h is None:  # a feature holds U+0000: encode the features one by one
            h = murmurhash3_32(features)
        column = np.abs(h.astype(np.int64)) % self.n_features
        if self.alternate_sign:
            values = np.where(h >= 0, 1.0, -1.0)
        else:
            values = np.ones(len(h))
        return column, values, lengths

    def _hash_block_char_wb(self, docs: list[Any]) -> tuple[np.ndarray, np.ndarray, list]:
        """``_hash_block`` for analyzer="char_wb": a document's features are its words'
        n-grams one after another and words repeat, so each distinct word's n-grams are made
        and hashed once, then repeated for every occurrence of the word."""
        decode, preprocess = self._decoder(), self.build_preprocessor()
        min_n, max_n = self.ngram_range
        words: defaultdict[str, int] = defaultdict()
        words.default_factory = words.__len__
        word_id = words.__getitem__
        tokens: list[int] = []
        doc_ends = [0]
        for doc in docs:
            tokens.extend(map(word_id, preprocess(decode(doc)).split()))
            doc_ends.append(len(tokens))
        grams = [char_wb_ngrams(w, min_n, max_n) for w in words]
        column, values, _ = self._hash_block(grams, _identity)  # one "document" per word
        per_word = np.fromiter(map(len, grams), dtype=np.int64, count=len(grams))
        word_start = np.zeros(len(grams) + 1, dtype=np.int64)
        np.cumsum(per_word, out=word_start[1:])
        t = np.asarray(tokens, dtype=np.int64)
        n = per_word[t]  # features per word occurrence
        ends = np.cumsum(n)
        index = np.repeat(word_start[t] - (ends - n), n) + np.arange(ends[-1] if len(n) else 0)
        cumulative = np.concatenate([[0], ends])
        doc_ends = np.asarray(doc_ends, dtype=np.int64)
        lengths = (cumulative[doc_ends[1:]] - cumulative[doc_ends[:-1]]).tolist()
        return column[index], values[index], lengths

    def transform(self, documents: Iterable[Any]) -> sp.csr_matrix:
        """The hashed count matrix of ``documents`` (no fit needed)."""
        documents = iter(self._documents(documents))
        self._validate_params()
        analyze = self.build_analyzer()
        columns, values, lengths = [], [], []
        while block := list(islice(documents, BLOCK)):
            if self.analyzer == "char_wb":
                c, v, n = self._hash_block_char_wb(block)
            else:
                c, v, n = self._hash_block(block, analyze)
            columns.append(c)
            values.append(v)
            lengths.extend(n)
        if not lengths:
            raise DataError("documents is empty: expected at least one document")
        indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        index_dtype = np.int32 if indptr[-1] < 2**31 else np.int64
        X = sp.csr_matrix((np.concatenate(values).astype(self.dtype, copy=False),
                           np.concatenate(columns).astype(index_dtype),
                           indptr.astype(index_dtype)),
                          shape=(len(lengths), self.n_features), dtype=self.dtype)
        X.sum_duplicates()  # sorts each row by column, as scikit-learn's FeatureHasher
        if self.binary:
            X.data.fill(1)
        if self.norm is not None:
            X = normalize_rows(as_float_csr(X, copy=False), self.norm)
        return X
