"""TF-IDF: ``TfidfTransformer`` (counts -> weights) and ``TfidfVectorizer`` (documents -> weights).

Two formulas, chosen by ``formula``:

``formula="sklearn"`` (default; equal to scikit-learn's ``TfidfTransformer``)::

    tf(t, d)  = count(t, d)                 (1 + log count(t, d) if sublinear_tf)
    idf(t)    = log((1 + N) / (1 + df(t))) + 1   if smooth_idf else   log(N / df(t)) + 1
    w(t, d)   = tf(t, d) * idf(t), then each row scaled to unit l2 or l1 norm (``norm``)

``formula="seed"`` (seed 001; pass ``norm=None`` for the formula exactly as written)::

    tf(t, d)  = count(t, d) / |d|           |d| = number of features counted in d
    idf(t)    = log(N / (1 + df(t)))        (zero or negative for terms in nearly every document)
    w(t, d)   = tf(t, d) * idf(t)

N is the number of documents seen by ``fit`` and df(t) the number of them that contain t.
``smooth_idf`` and ``sublinear_tf`` belong to the sklearn formula; with ``formula="seed"`` they
must stay at their defaults (an error says so). ``use_idf=False`` keeps only tf in both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

from seqlab.errors import ConfigError, DataError
from seqlab.features.base import Estimator, boolean, one_of
from seqlab.features.counts import CountVectorizer
from seqlab.features.tokenizers import TOKEN_PATTERN


def _row_norms(X: sp.csr_matrix, norm: str) -> np.ndarray:
    """Per-row l1/l2 norm, summed left to right within each row (scikit-learn's order)."""
    nnz = np.diff(X.indptr)
    values = np.abs(X.data) if norm == "l1" else X.data * X.data
    sums = np.zeros(X.shape[0], dtype=np.float64)
    starts = X.indptr[:-1]
    order = np.argsort(-nnz, kind="stable")  # rows by decreasing length: active rows = a prefix
    lengths = nnz[order]
    for k in range(int(lengths[0]) if len(lengths) else 0):
        rows = order[: np.searchsorted(-lengths, -k, side="left")]
        sums[rows] += values[starts[rows] + k]
    return sums if norm == "l1" else np.sqrt(sums)


def normalize_rows(X: sp.csr_matrix, norm: str | None) -> sp.csr_matrix:
    """Divide each row by its l1 or l2 norm in place (rows of norm 0 stay as they are)."""
    if norm is None or X.nnz == 0:
        return X
    norms = _row_norms(X, norm)
    norms[norms == 0.0] = 1.0
    X.data /= np.repeat(norms, np.diff(X.indptr)).astype(X.data.dtype, copy=False)
    return X


class TfidfTransformer(Estimator):
    """Count matrix -> TF-IDF matrix (formulas in the module docstring).

    Args:
        norm: "l2", "l1" or None: row normalization after weighting.
        use_idf: multiply by idf (else tf only).
        smooth_idf: sklearn formula only: add one document containing every term.
        sublinear_tf: sklearn formula only: tf = 1 + log(count).
        formula: "sklearn" or "seed".

    Attributes:
        idf_: idf per column, shape (n_features,) (only when ``use_idf``).
        n_features_in_: number of columns seen in ``fit``.
    """

    _parameter_constraints = {
        "norm": one_of("l2", "l1", None),
        "use_idf": boolean,
        "smooth_idf": boolean,
        "sublinear_tf": boolean,
        "formula": one_of("sklearn", "seed"),
    }

    def __init__(self, *, norm: str | None = "l2", use_idf: bool = True,
                 smooth_idf: bool = True, sublinear_tf: bool = False,
                 formula: str = "sklearn") -> None:
        self.norm = norm
        self.use_idf = use_idf
        self.smooth_idf = smooth_idf
        self.sublinear_tf = sublinear_tf
        self.formula = formula

    def _validate_params(self) -> None:
        super()._validate_params()
        if self.formula == "seed" and (self.sublinear_tf or not self.smooth_idf):
            raise ConfigError("smooth_idf and sublinear_tf belong to formula='sklearn'; with "
                              "formula='seed' leave them at their defaults "
                              f"(got smooth_idf={self.smooth_idf}, "
                              f"sublinear_tf={self.sublinear_tf})")

    @staticmethod
    def _as_csr(X: Any) -> sp.csr_matrix:
        X = sp.csr_matrix(X, dtype=np.float64, copy=True)
        if X.shape[0] == 0:
            raise DataError("X has no rows: expected a count matrix of at least one document")
        return X

    def fit(self, X: Any, y: Any = None) -> TfidfTransformer:
        """Learn idf from the count matrix ``X`` (n_documents, n_features); returns self."""
        self._validate_params()
        X = self._as_csr(X)
        n_docs = X.shape[0]
        df = np.bincount(X.indices[X.data != 0], minlength=X.shape[1]).astype(np.float64)
        if not self.use_idf:
            pass
        elif self.formula == "seed":
            self.idf_ = np.log(n_docs / (1.0 + df))
        else:
            df += float(self.smooth_idf)
            idf = np.full_like(df, n_docs + int(self.smooth_idf))
            idf /= df
            np.log(idf, out=idf)
            idf += 1.0
            self.idf_ = idf
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: Any) -> sp.csr_matrix:
        """TF-IDF weights of the count matrix ``X``; same shape, float64 CSR."""
        self._check_fitted("n_features_in_")
        X = self._as_csr(X)
        if X.shape[1] != self.n_features_in_:
            raise DataError(f"X has {X.shape[1]} columns but this TfidfTransformer was fitted "
                            f"with {self.n_features_in_}")
        if self.formula == "seed":
            lengths = np.asarray(X.sum(axis=1)).ravel()
            lengths[lengths == 0] = 1.0
            X.data /= np.repeat(lengths, np.diff(X.indptr))
        elif self.sublinear_tf:
            np.log(X.data, X.data)
            X.data += 1.0
        if self.use_idf:
            X.data *= self.idf_[X.indices]
        return normalize_rows(X, self.norm)

    def fit_transform(self, X: Any, y: Any = None) -> sp.csr_matrix:
        return self.fit(X).transform(X)


class TfidfVectorizer(CountVectorizer):
    """Documents -> TF-IDF matrix: ``CountVectorizer`` followed by ``TfidfTransformer``.

    Takes every ``CountVectorizer`` argument (tokenizer, ngram_range, min_df, ...) and every
    ``TfidfTransformer`` argument (norm, use_idf, smooth_idf, sublinear_tf, formula); the
    matrix dtype is float64.

    Attributes:
        vocabulary_, stop_words_: as in ``CountVectorizer``.
        idf_: idf per column (only when ``use_idf``).
    """

    _parameter_constraints = {**CountVectorizer._parameter_constraints,
                              **TfidfTransformer._parameter_constraints}

    def __init__(self, *, lowercase: bool = True,
                 tokenizer: Callable[[str], list[str]] | str | None = None,
                 token_pattern: str = TOKEN_PATTERN,
                 analyzer: str | Callable[[Any], list[str]] = "word",
                 ngram_range: tuple[int, int] = (1, 1),
                 stop_words: Iterable[str] | str | None = None,
                 min_df: float | int = 1, max_df: float | int = 1.0,
                 max_features: int | None = None, binary: bool = False,
                 vocabulary: Iterable[str] | Mapping[str, int] | None = None,
                 dtype: Any = np.float64, norm: str | None = "l2", use_idf: bool = True,
                 smooth_idf: bool = True, sublinear_tf: bool = False,
                 formula: str = "sklearn") -> None:
        super().__init__(lowercase=lowercase, tokenizer=tokenizer, token_pattern=token_pattern,
                         analyzer=analyzer, ngram_range=ngram_range, stop_words=stop_words,
                         min_df=min_df, max_df=max_df, max_features=max_features,
                         binary=binary, vocabulary=vocabulary, dtype=dtype)
        self.norm = norm
        self.use_idf = use_idf
        self.smooth_idf = smooth_idf
        self.sublinear_tf = sublinear_tf
        self.formula = formula

    def _transformer(self) -> TfidfTransformer:
        return TfidfTransformer(norm=self.norm, use_idf=self.use_idf,
                                smooth_idf=self.smooth_idf, sublinear_tf=self.sublinear_tf,
                                formula=self.formula)

    def fit(self, documents: Iterable[Any], y: Any = None) -> TfidfVectorizer:
        """Learn vocabulary and idf; returns self."""
        self.fit_transform(documents)
        return self

    def fit_transform(self, documents: Iterable[Any], y: Any = None) -> sp.csr_matrix:
        """Learn vocabulary and idf; return the TF-IDF matrix of ``documents``."""
        self._transformer()._validate_params()
        counts = super().fit_transform(documents)
        self._tfidf = self._transformer().fit(counts)
        if self.use_idf:
            self.idf_ = self._tfidf.idf_
        return self._tfidf.transform(counts)

    def transform(self, documents: Iterable[Any]) -> sp.csr_matrix:
        """TF-IDF matrix of ``documents`` over the fitted vocabulary and idf."""
        self._check_fitted("_tfidf")
        return self._tfidf.transform(super().transform(documents))
