"""BM25 retrieval with every document's term scores precomputed into one sparse matrix.

For a query q and document d (seed 001; Robertson et al.), summing over the query's terms
(a term repeated in the query counts again, as in rank_bm25 and bm25s)::

    score(q, d) = sum_{t in q} idf(t) * tfc(tf(t, d), |d|)
    L           = 1 - b + b * |d| / avgdl          (length normalization)

    variant     idf(t)                                 tfc(tf, |d|)
    robertson   log((N - df + 0.5) / (df + 0.5))       tf * (k1 + 1) / (tf + k1 * L)
    lucene      log(1 + (N - df + 0.5) / (df + 0.5))   tf / (tf + k1 * L)
    atire       log(N / df)                            tf * (k1 + 1) / (tf + k1 * L)
    bm25l       log((N + 1) / (df + 0.5))              (k1 + 1) * (c + delta) / (k1 + c + delta),
                                                       c = tf / L
    bm25+       log((N + 1) / df)                      tf * (k1 + 1) / (tf + k1 * L) + delta

N = number of documents, df = documents containing t, tf = count of t in d, |d| = tokens in d,
avgdl = mean |d|. ``robertson`` is the seed's formula as written: its idf is negative for terms
in more than half the documents (no floor). bm25l and bm25+ give a document *without* t the
score idf(t) * tfc(0) (a per-term constant ``baseline_``); the matrix ``scores_`` stores
idf * (tfc(tf) - tfc(0)), so only documents containing t are stored and a query is a sum of
sparse rows plus the baselines of its terms.

Agreement with peers (tests/features/test_bm25.py):
    * bm25s (``method=`` the same name): equal for lucene, atire, bm25l, bm25+. bm25s's
      robertson drops the (k1 + 1) factor and clamps idf at 0, so seqlab's robertson equals
      (k1 + 1) * bm25s's when no term is in more than half the documents.
    * rank_bm25: ``BM25Okapi`` equals robertson when no idf is negative (rank_bm25 replaces
      negative idfs by epsilon * mean idf); ``BM25Plus`` equals bm25+. rank_bm25's ``BM25L``
      multiplies its tfc by tf (documents without t score 0), which is not Lv & Zhai's BM25L,
      so it is not an oracle.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from itertools import chain, repeat
from typing import Any

import numpy as np
import scipy.sparse as sp

from seqlab.errors import ConfigError, DataError
from seqlab.features.base import Estimator, boolean, callable_or, number, one_of
from seqlab.features.counts import CountVectorizer
from seqlab.features.stop_words import check_stop_words, resolve_stop_words
from seqlab.features.tokenizers import TOKENIZERS, resolve_tokenizer
from seqlab.io import atomic_open

VARIANTS = ("robertson", "lucene", "atire", "bm25l", "bm25+")
DEFAULT_DELTA = {"bm25l": 0.5, "bm25+": 1.0}  # Lv & Zhai's recommended values
DENSE_FRACTION = 8  # search keeps terms in > 1/8 of the documents as dense rows too


def _idf(variant: str, df: np.ndarray, n_docs: int) -> np.ndarray:
    N = float(n_docs)
    if variant == "robertson":
        return np.log((N - df + 0.5) / (df + 0.5))
    if variant == "lucene":
        return np.log(1.0 + (N - df + 0.5) / (df + 0.5))
    if variant == "atire":
        return np.log(N / df)
    if variant == "bm25l":
        return np.log((N + 1.0) / (df + 0.5))
    return np.log((N + 1.0) / df)  # bm25+


def _tfc(variant: str, tf: np.ndarray, L: np.ndarray, k1: float, delta: float) -> np.ndarray:
    if variant == "lucene":
        return tf / (tf + k1 * L)
    if variant == "bm25l":
        c = tf / L
        return (k1 + 1.0) * (c + delta) / (k1 + c + delta)
    tfc = tf * (k1 + 1.0) / (tf + k1 * L)
    return tfc + delta if variant == "bm25+" else tfc


class BM25(Estimator):
    """BM25 index: ``fit(documents)``, then ``score(query)`` and ``search(queries, k)``.

    Args:
        variant: one of ``VARIANTS`` (formulas in the module docstring).
        k1: term-frequency saturation, > 0 (seed: 1.2 to 2.0).
        b: length normalization in [0, 1] (seed: 0.75).
        delta: bm25l/bm25+ lower bound; None = 0.5 for bm25l, 1.0 for bm25+ (unused otherwise).
        tokenizer: callable ``str -> list[str]`` or a name in ``TOKENIZERS``; None = "regex"
            (scikit-learn's token pattern). Documents and queries given as token lists are
            used as they are.
        lowercase: lowercase string documents and queries before tokenizing.
        stop_words: words dropped from documents and queries after tokenizing (token-list
            input included): "english" (``seqlab.features.stop_words``), a collection, or None.
        dtype: storage of ``scores_``: "float64" (scores equal to the peers' to ~1e-15) or
            "float32" (half the memory, faster queries, ~1e-7 relative; bm25s's default).
            A query's term scores are summed in this dtype (as bm25s does in float32), then
            the baselines are added in float64.

    Attributes:
        scores_: CSR (n_terms, n_documents), idf * (tfc(tf) - tfc(0)) for each term in a document.
        baseline_: (n_terms,) idf * tfc(0): every document's score for a term it lacks.
        idf_, doc_freq_: per term. doc_len_: (n_documents,). avgdl_: mean document length.
        vocabulary_: term -> row of ``scores_``. n_documents_: N.

    Example:
        >>> index = BM25(variant="robertson", k1=1.5, b=0.75).fit(["a cat sat", "a dog ran"])
        >>> index.search("cat", k=1)[0].tolist()
        [0]
    """

    _parameter_constraints = {
        "variant": one_of(*VARIANTS),
        "k1": number(0.0, low_open=True),
        "b": number(0.0, 1.0),
        "delta": number(0.0, none_ok=True),
        "tokenizer": callable_or(None, *TOKENIZERS),
        "lowercase": boolean,
        "stop_words": check_stop_words,
        "dtype": one_of("float64", "float32"),
    }

    def __init__(self, *, variant: str = "robertson", k1: float = 1.5, b: float = 0.75,
                 delta: float | None = None,
                 tokenizer: Callable[[str], list[str]] | str | None = None,
                 lowercase: bool = True, stop_words: Iterable[str] | str | None = None,
                 dtype: str = "float64") -> None:
        self.variant = variant
        self.k1 = k1
        self.b = b
        self.delta = delta
        self.tokenizer = tokenizer
        self.lowercase = lowercase
        self.stop_words = stop_words
        self.dtype = dtype

    # -- text -> tokens ------------------------------------------------------------------
    def _analyzer(self) -> Callable[[Any], list[str]]:
        tokenize = resolve_tokenizer(self.tokenizer)
        lower = self.lowercase
        stop = resolve_stop_words(self.stop_words)

        def analyze(doc: Any) -> list[str]:
            if isinstance(doc, str):
                tokens = tokenize(doc.lower() if lower else doc)
            elif isinstance(doc, list | tuple):
                tokens = doc
            else:
                raise DataError(f"a document or query must be a str or a list of tokens, "
                                f"got {type(doc).__name__}")
            return [t for t in tokens if t not in stop] if stop else list(tokens)
        return analyze

    # -- index ------------------------------------------------------------------------------
    def fit(self, documents: Iterable[str | Sequence[str]], y: Any = None) -> BM25:
        """Tokenize and count ``documents`` and precompute every term's scores; returns self."""
        self._validate_params()
        counts = CountVectorizer(analyzer=self._analyzer(), dtype=np.float64)
        X = counts.fit_transform(documents)  # DataError for no documents / no tokens at all
        X.sort_indices()
        n_docs = X.shape[0]
        delta = self.delta if self.delta is not None else DEFAULT_DELTA.get(self.variant, 0.0)
        doc_len = np.asarray(X.sum(axis=1)).ravel()
        avgdl = float(doc_len.mean())
        df = np.bincount(X.indices, minlength=X.shape[1]).astype(np.float64)
        idf = _idf(self.variant, df, n_docs)
        L = 1.0 - self.b + self.b * doc_len / avgdl
        rows = np.repeat(np.arange(n_docs), np.diff(X.indptr))
        tfc0 = float(_tfc(self.variant, np.zeros(1), np.ones(1), self.k1, delta)[0])
        values = idf[X.indices] * (_tfc(self.variant, X.data, L[rows], self.k1, delta) - tfc0)
        S = sp.csr_matrix((values.astype(self.dtype), X.indices, X.indptr),
                          shape=X.shape).T.tocsr()
        S.sort_indices()
        self.scores_ = S
        self.baseline_ = idf * tfc0
        self.idf_, self.doc_freq_, self.doc_len_ = idf, df.astype(np.int64), doc_len
        self.avgdl_, self.n_documents_, self.delta_ = avgdl, n_docs, delta
        self.vocabulary_ = counts.vocabulary_
        self._build_dense_rows()
        return self

    def _build_dense_rows(self) -> None:
        """Copy the rows of terms in more than 1/``DENSE_FRACTION`` of the documents to a dense
        array (0 where a term is absent) for ``search``: adding such a row to every document's
        sum is a contiguous vector add instead of a scatter through a long posting list. A row
        costs n_documents * itemsize bytes, less than DENSE_FRACTION * itemsize / (itemsize +
        4) times its postings' storage (value + int32 index): the dense rows take under 4x
        (float32) or 5.3x (float64) the storage of ``scores_``, and in practice far less
        (few terms are that common; see docs/benchmarks.md)."""
        S = self.scores_
        terms = np.flatnonzero(np.diff(S.indptr) * DENSE_FRACTION > self.n_documents_)
        self._dense_row = np.full(S.shape[0], -1, dtype=np.int64)
        self._dense_row[terms] = np.arange(len(terms))
        self._dense = (S[terms].toarray() if len(terms)
                       else np.zeros((0, self.n_documents_), dtype=S.dtype))

    # -- queries -------------------------------------------------------------------------
    def _query_ids(self, query: str | Sequence[str]) -> np.ndarray:
        get = self.vocabulary_.get
        ids = [j for j in map(get, self._analyzer()(query)) if j is not None]
        return np.asarray(ids, dtype=np.int64)

    def _term_rows(self, queries: Sequence[str | Sequence[str]]) -> tuple[np.ndarray,
                                                                          np.ndarray]:
        """(query_ptr, rows): query q's known terms are rows[query_ptr[q]:query_ptr[q + 1]].

        Token lists without stop words are looked up all at once (one C-level pass over every
        token, unknown tokens as -1, then dropped in NumPy); otherwise query by query.
        """
        get = self.vocabulary_.get
        if self.stop_words is None and all(isinstance(q, list | tuple) for q in queries):
            ids = np.fromiter(map(get, chain.from_iterable(queries), repeat(-1)),
                              dtype=np.int64)
            ends = np.zeros(len(queries) + 1, dtype=np.int64)  # of each query's tokens
            np.cumsum(np.fromiter(map(len, queries), dtype=np.int64, count=len(queries)),
                      out=ends[1:])
            known = ids >= 0
            kept = np.zeros(len(ids) + 1, dtype=np.int64)  # known tokens before each token
            np.cumsum(known, out=kept[1:])
            return kept[ends], ids[known]
        analyze = self._analyzer()
        flat: list[int] = []
        lengths: list[int] = []
        for q in queries:
            before = len(flat)
            flat.extend(j for j in map(get, analyze(q)) if j is not None)
            lengths.append(len(flat) - before)
        query_ptr = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=query_ptr[1:])
        return query_ptr, np.asarray(flat, dtype=np.int64)

    def _score_ids(self, ids: np.ndarray) -> np.ndarray:
        S = self.scores_
        if len(ids) == 0:
            return np.zeros(self.n_documents_)
        starts, ends = S.indptr[ids], S.indptr[ids + 1]
        sums = np.zeros(self.n_documents_, dtype=S.dtype)  # term by term, as the search kernel
        for s, e in zip(starts.tolist(), ends.tolist()):
            sums[S.indices[s:e]] += S.data[s:e]  # a row's documents are distinct
        base = np.cumsum(self.baseline_[ids])[-1]  # left to right, as the search kernel
        return sums.astype(np.float64) + base

    def score(self, query: str | Sequence[str]) -> np.ndarray:
        """Every document's score for ``query`` (str or token list), shape (n_documents,).

        Query terms absent from the index add nothing; a query with no known term scores 0.
        """
        self._check_fitted("scores_")
        return self._score_ids(self._query_ids(query))

    def search(self, queries: str | Sequence[str | Sequence[str]],
               k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` documents for one query or a list of queries.

        Args:
            queries: one query as a str, or a list of queries (each a str or a token list;
                so one tokenized query is ``[tokens]``).
            k: documents per query, 1 <= k <= n_documents.

        Returns:
            (indices, scores): int64 and float64, shape (k,) for one query or
            (n_queries, k), best first; equal scores are ordered by document index.
        """
        self._check_fitted("scores_")
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= (
                self.n_documents_):
            raise ConfigError(f"k must be an int in [1, {self.n_documents_}] "
                              f"(the number of documents), got {k!r}")
        from seqlab.features.bm25_kernels import search

        one = isinstance(queries, str)
        query_ptr, flat = self._term_rows([queries] if one else queries)
        S = self.scores_
        indices, scores = search(S.indptr, S.indices, S.data, self.baseline_, self._dense_row,
                                 self._dense, query_ptr, flat, self.n_documents_, int(k))
        return (indices[0], scores[0]) if one else (indices, scores)

    # -- persistence ------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write the index to one ``.npz`` file (atomically: a temporary file, then rename).

        A callable tokenizer is not stored; pass it again to ``BM25.load``.
        """
        self._check_fitted("scores_")
        params = self.get_params()
        if callable(params["tokenizer"]):
            params["tokenizer"] = "<callable>"
        if params["stop_words"] is not None and not isinstance(params["stop_words"], str):
            params["stop_words"] = sorted(params["stop_words"])
        meta = {"format": "seqlab-bm25", "version": 1, "params": params,
                "avgdl": self.avgdl_, "n_documents": self.n_documents_, "delta": self.delta_}
        terms = np.empty(len(self.vocabulary_), dtype=object)
        for term, j in self.vocabulary_.items():
            terms[j] = term
        S = self.scores_
        arrays = {"data": S.data, "indices": S.indices, "indptr": S.indptr,
                  "baseline": self.baseline_, "idf": self.idf_, "doc_freq": self.doc_freq_,
                  "doc_len": self.doc_len_, "terms": terms.astype(str),
                  "meta": np.asarray(json.dumps(meta))}
        if getattr(self, "doc_ids_", None) is not None:  # labels of the documents (line numbers)
            arrays["doc_ids"] = np.asarray(self.doc_ids_, dtype=np.int64)
        with atomic_open(path) as f:
            np.savez(f, **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike,
             tokenizer: Callable[[str], list[str]] | None = None) -> BM25:
        """Read an index written by ``save``; ``tokenizer`` if it was saved with a callable."""
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {name: z[name] for name in z.files}
            meta = json.loads(str(arrays["meta"]))
        except (OSError, ValueError, KeyError, EOFError) as exc:  # EOFError: an empty file
            raise DataError(f"{path}: not a seqlab BM25 index ({exc})") from exc
        if meta.get("format") != "seqlab-bm25":
            raise DataError(f"{path}: not a seqlab BM25 index (format {meta.get('format')!r})")
        params = meta["params"]
        params.setdefault("stop_words", None)  # files written before the parameter existed
        if params["tokenizer"] == "<callable>":
            if tokenizer is None:
                raise ConfigError(f"{path} was indexed with a custom tokenizer; pass it again: "
                                  "BM25.load(path, tokenizer=...)")
            params["tokenizer"] = tokenizer
        self = cls(**params)
        terms = arrays["terms"].tolist()
        self.vocabulary_ = {t: j for j, t in enumerate(terms)}
        self.n_documents_, self.avgdl_, self.delta_ = (meta["n_documents"], meta["avgdl"],
                                                       meta["delta"])
        self.scores_ = sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]),
                                     shape=(len(terms), self.n_documents_))
        self.baseline_, self.idf_ = arrays["baseline"], arrays["idf"]
        self.doc_freq_, self.doc_len_ = arrays["doc_freq"], arrays["doc_len"]
        self.doc_ids_ = arrays.get("doc_ids")
        self._build_dense_rows()
        return self

