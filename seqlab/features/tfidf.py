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

import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

from seqlab.errors import ConfigError, DataError
from seqlab.features.base import Estimator, NotFittedError, boolean, one_of
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
    """Divide each row by its l1 or l2 norm in place (rows of norm 0 stay as they are).

    The norms are float64 sums (of float32 squares for float32 data) and the division is
    done in float64, then rounded to the data's dtype: scikit-learn's ``normalize``.
    """
    if norm is None or X.nnz == 0:
        return X
    norms = _row_norms(X, norm)
    norms[norms == 0.0] = 1.0
    per_entry = np.repeat(norms, np.diff(X.indptr))
    if X.data.dtype == np.float64:
        X.data /= per_entry
    else:
        X.data[:] = X.data / per_entry
    return X


_FLOATS = (np.float64, np.float32)


def as_float_csr(X: Any, copy: bool) -> sp.csr_matrix:
    """``X`` as a float32/float64 CSR matrix, as scikit-learn's input check makes it: other
    dtypes become float64 through SciPy's ``astype``, which also sums duplicate entries and
    sorts each row's columns (and so decides the l2 sum order); float input keeps its order."""
    if sp.issparse(X):
        X = sp.csr_matrix(X.tocsr(copy=False))
        if X.dtype not in _FLOATS:
            return X.astype(np.float64)
        return X.copy() if copy else X
    X = np.asarray(X)
    if X.ndim != 2:
        raise DataError(f"X must be a 2-d count matrix, got an array of shape {X.shape}")
    return sp.csr_matrix(X, dtype=X.dtype if X.dtype in _FLOATS else np.float64)


class TfidfTransformer(Estimator):
    """Count matrix -> TF-IDF matrix (formulas in the module docstring).

    Args:
        norm: "l2", "l1" or None: row normalization after weighting.
        use_idf: multiply by idf (else tf only).
        smooth_idf: sklearn formula only: add one document containing every term.
        sublinear_tf: sklearn formula only: tf = 1 + log(count).
        formula: "sklearn" or "seed".

    The output (and ``idf_``) is float32 for float32 input, float64 for any other dtype.

    Attributes:
        idf_: idf per column, shape (n_features,) (only when ``use_idf``); it may be set by
            hand, which makes an unfitted transformer usable (its length must match X).
        n_features_in_: number of columns seen in ``fit``.

    >>> import numpy as np
    >>> tfidf = TfidfTransformer(norm=None).fit(np.array([[1, 0], [1, 1]]))
    >>> tfidf.idf_.round(4).tolist()
    [1.0, 1.4055]
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

    def fit(self, X: Any, y: Any = None) -> TfidfTransformer:
        """Learn idf from the count matrix ``X`` (n_documents, n_features); returns self.

        df(t) counts the stored entries of column t, as scikit-learn does."""
        self._validate_params()
        if not sp.issparse(X):
            X = as_float_csr(X, copy=False)
        if X.shape[0] == 0:
            raise DataError("X has no rows: expected a count matrix of at least one document")
        dtype = X.dtype if X.dtype in _FLOATS else np.dtype(np.float64)
        if X.format == "csr":
            df = np.bincount(X.indices, minlength=X.shape[1]).astype(dtype)
        else:
            df = np.diff(sp.csc_matrix(X).indptr).astype(dtype)
        n_docs = X.shape[0]
        if not self.use_idf:
            self.__dict__.pop("idf_", None)
        elif self.formula == "seed":
            self.idf_ = np.log(n_docs / (1.0 + df)).astype(dtype)
        else:
            df += float(self.smooth_idf)
            idf = np.full_like(df, n_docs + int(self.smooth_idf))
            idf /= df
            np.log(idf, out=idf)
            idf += 1.0
            self.idf_ = idf
        self.n_features_in_ = X.shape[1]
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "n_features_in_") or hasattr(self, "idf_")

    def transform(self, X: Any, copy: bool = True) -> sp.csr_matrix:
        """TF-IDF weights of the count matrix ``X``; same shape, CSR (float32 for float32
        input, else float64). ``copy=False`` weights a float CSR ``X`` in place."""
        if not self.__sklearn_is_fitted__():
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet; "
                                 "call 'fit' with appropriate arguments before using it.")
        X = as_float_csr(X, copy=copy)
        n_in = getattr(self, "n_features_in_", None)
        if n_in is not None and X.shape[1] != n_in:
            raise DataError(f"X has {X.shape[1]} columns but this TfidfTransformer was fitted "
                            f"with {n_in}")
        idf = getattr(self, "idf_", None)
        if idf is not None and len(idf) != X.shape[1]:
            raise DataError(f"idf_ has length {len(idf)} but X has {X.shape[1]} columns")
        if self.formula == "seed":
            lengths = np.asarray(X.sum(axis=1), dtype=np.float64).ravel()
            lengths[lengths == 0] = 1.0
            X.data[:] = X.data / np.repeat(lengths, np.diff(X.indptr))
        elif self.sublinear_tf:
            np.log(X.data, X.data)
            X.data += 1.0
        if idf is not None:
            X.data *= idf[X.indices]
        return normalize_rows(X, self.norm)

    def fit_transform(self, X: Any, y: Any = None) -> sp.csr_matrix:
        return self.fit(X).transform(X)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """The input's feature names (``input_features``, e.g. a ``CountVectorizer``'s terms
        in a ``Pipeline``), else "x0", "x1", ... (object array, as scikit-learn)."""
        if not self.__sklearn_is_fitted__():
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet; "
                                 "call 'fit' with appropriate arguments before using it.")
        n = getattr(self, "n_features_in_", None)
        if n is None:
            n = len(self.idf_)
        if input_features is None:
            return np.asarray([f"x{i}" for i in range(n)], dtype=object)
        names = np.asarray(input_features, dtype=object)
        if names.ndim != 1 or len(names) != n:
            raise ConfigError(f"input_features should have length equal to number of "
                              f"features ({n}), got {len(names)}")
        return names
class TfidfVectorizer(CountVectorizer):
    """Documents -> TF-IDF matrix: ``CountVectorizer`` followed by ``TfidfTransformer``.

    Takes every ``CountVectorizer`` argument (input, tokenizer, ngram_range, min_df, ...) and
    every ``TfidfTransformer`` argument (norm, use_idf, smooth_idf, sublinear_tf, formula).
    ``dtype`` is float64 or float32 (kept in the matrix and in ``idf_``); another dtype warns
    (``UserWarning``, as scikit-learn) and gives float64.

    Attributes:
        vocabulary_, fixed_vocabulary_, stop_words_: as in ``CountVectorizer``.
        idf_: idf per column (only when ``use_idf``); setting it (length = vocabulary size)
            makes a vectorizer with a ``vocabulary`` usable without ``fit``.
    """

    _parameter_constraints = {**CountVectorizer._parameter_constraints,
                              **TfidfTransformer._parameter_constraints}

    def __init__(self, *, input: str = "content", encoding: str = "utf-8",
                 decode_error: str = "strict",
                 strip_accents: str | Callable[[str], str] | None = None,
                 lowercase: bool = True, preprocessor: Callable[[str], str] | None = None,
                 tokenizer: Callable[[str], list[str]] | str | None = None,
                 analyzer: str | Callable[[Any], list[str]] = "word",
                 stop_words: Iterable[str] | str | None = None,
                 token_pattern: str | None = TOKEN_PATTERN,
                 ngram_range: tuple[int, int] = (1, 1),
                 max_df: float | int = 1.0, min_df: float | int = 1,
                 max_features: int | None = None,
                 vocabulary: Iterable[str] | Mapping[str, int] | None = None,
                 binary: bool = False, dtype: Any = np.float64, norm: str | None = "l2",
                 use_idf: bool = True, smooth_idf: bool = True, sublinear_tf: bool = False,
                 formula: str = "sklearn") -> None:
        super().__init__(input=input, encoding=encoding, decode_error=decode_error,
                         strip_accents=strip_accents, lowercase=lowercase,
                         preprocessor=preprocessor, tokenizer=tokenizer, analyzer=analyzer,
                         stop_words=stop_words, token_pattern=token_pattern,
                         ngram_range=ngram_range, max_df=max_df, min_df=min_df,
                         max_features=max_features, vocabulary=vocabulary, binary=binary,
                         dtype=dtype)
        self.norm = norm
        self.use_idf = use_idf
        self.smooth_idf = smooth_idf
        self.sublinear_tf = sublinear_tf
        self.formula = formula

    def _transformer(self) -> TfidfTransformer:
        return TfidfTransformer(norm=self.norm, use_idf=self.use_idf,
                                smooth_idf=self.smooth_idf, sublinear_tf=self.sublinear_tf,
                                formula=self.formula)

    @property
    def idf_(self) -> np.ndarray:
        if not hasattr(self, "_tfidf"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet. Call 'fit' with "
                                 "appropriate arguments before using this attribute.")
        return self._tfidf.idf_

    @idf_.setter
    def idf_(self, value: Any) -> None:
        if not self.use_idf:
            raise ConfigError("idf_ cannot be set when use_idf=False")
        if not hasattr(self, "_tfidf"):
            self._tfidf = self._transformer()
        self._validate_vocabulary()
        if hasattr(self, "vocabulary_") and len(self.vocabulary_) != len(value):
            raise DataError(f"idf length = {len(value)} must be equal to vocabulary size = "
                            f"{len(self.vocabulary_)}")
        self._tfidf.idf_ = value

    def _check_dtype(self) -> None:
        if np.dtype(self.dtype) not in (np.float64, np.float32, np.float16):
            warnings.warn(f"Only float64, float32 and float16 'dtype' should be used; "
                          f"{self.dtype} 'dtype' will be converted to np.float64.",
                          UserWarning, stacklevel=3)

    def fit(self, documents: Iterable[Any], y: Any = None) -> TfidfVectorizer:
        """Learn vocabulary and idf; returns self."""
        self._warn_for_unused_params()  # scikit-learn's fit warns here and in fit_transform
        self.fit_transform(documents)
        return self

    def fit_transform(self, documents: Iterable[Any], y: Any = None) -> sp.csr_matrix:
        """Learn vocabulary and idf; return the TF-IDF matrix of ``documents``."""
        self._check_dtype()
        tfidf = self._transformer()
        tfidf._validate_params()
        counts = super().fit_transform(documents)
        self._tfidf = tfidf.fit(counts)
        return tfidf.transform(counts, copy=False)

    def transform(self, documents: Iterable[Any]) -> sp.csr_matrix:
        """TF-IDF matrix of ``documents`` over the fitted vocabulary and idf."""
        if not hasattr(self, "_tfidf"):
            raise NotFittedError("The TF-IDF vectorizer is not fitted: call 'fit' first "
                                 "(or set idf_ on a vectorizer with a vocabulary)")
        return self._tfidf.transform(super().transform(documents), copy=False)
