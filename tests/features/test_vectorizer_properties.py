"""Random corpora over the option grid: every vectorizer's matrix bit-equal to scikit-learn's
(hypothesis draws the corpus and the options together)."""

from __future__ import annotations

import os
import tempfile
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqlab import CountVectorizer, HashingVectorizer, TfidfVectorizer

sk = pytest.importorskip("sklearn.feature_extraction.text")

WORDS = ["the", "The", "cat", "Café", "cafe", "naïve", "straße", "猫", "喜欢", "ÆØÅ", "a",
         "x_y", "don't", "1999", "Ω", "résumé", "co-op"]
BLANKS = [" ", "  ", "\t", "\n", "\u00a0", "\u3000"]


def _upper_preprocessor(doc: str) -> str:
    return doc.upper()


def _split_analyzer(doc: str) -> list[str]:
    return doc.split()


documents = st.lists(
    st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(BLANKS)), max_size=12)
    .map(lambda pairs: "".join(w + b for w, b in pairs)),
    min_size=1, max_size=12)

options = st.fixed_dictionaries({}, optional={
    "analyzer": st.sampled_from(["word", "char", "char_wb"]),
    "ngram_range": st.sampled_from([(1, 1), (1, 2), (2, 3)]),
    "lowercase": st.booleans(),
    "strip_accents": st.sampled_from([None, "ascii", "unicode"]),
    "binary": st.booleans(),
    "dtype": st.sampled_from([np.float64, np.float32]),
    "preprocessor": st.sampled_from([None, _upper_preprocessor]),
    "stop_words": st.sampled_from([None, ["the", "cat"]]),
    "token_pattern": st.sampled_from([r"(?u)\b\w\w+\b", r"(?u)\b\w+\b"]),
})
tfidf_options = st.fixed_dictionaries({}, optional={
    "norm": st.sampled_from(["l2", "l1", None]),
    "sublinear_tf": st.booleans(),
    "smooth_idf": st.booleans(),
    "use_idf": st.booleans(),
})


def assert_same(ours: sp.spmatrix, theirs: sp.spmatrix) -> None:
    ours, theirs = sp.csr_matrix(ours), sp.csr_matrix(theirs)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours.indptr, theirs.indptr)
    np.testing.assert_array_equal(ours.indices, theirs.indices)  # same order inside rows
    np.testing.assert_array_equal(ours.data, theirs.data)


def run_both(make_ours, make_theirs, docs):
    """fit_transform with both; the same exception type if scikit-learn raises."""
    with warnings.catch_warnings(record=True) as ours_warnings:
        warnings.simplefilter("always")
        try:
            ours = make_ours().fit_transform(docs)
        except ValueError as error:
            ours = error
    with warnings.catch_warnings(record=True) as theirs_warnings:
        warnings.simplefilter("always")
        try:
            theirs = make_theirs().fit_transform(docs)
        except ValueError as error:
            theirs = error
    assert [w.category for w in ours_warnings] == [w.category for w in theirs_warnings]
    if isinstance(theirs, Exception):
        assert isinstance(ours, ValueError), (ours, theirs)
        return
    assert not isinstance(ours, Exception), ours
    assert_same(ours, theirs)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=documents, opts=options, tfidf=tfidf_options, as_files=st.booleans())
def test_vectorizers_equal_sklearn(docs, opts, tfidf, as_files):
    with tempfile.TemporaryDirectory() as tmp:
        if as_files:
            paths = []
            for i, doc in enumerate(docs):
                paths.append(os.path.join(tmp, f"{i}.txt"))
                with open(paths[-1], "wb") as f:
                    f.write(doc.encode("utf-8"))
            opts = {**opts, "input": "filename"}
            docs = paths
        run_both(lambda: CountVectorizer(**opts), lambda: sk.CountVectorizer(**opts), docs)
        both = {**opts, **tfidf}
        run_both(lambda: TfidfVectorizer(**both), lambda: sk.TfidfVectorizer(**both), docs)
        hashed = {**opts, "n_features": 64, "norm": tfidf.get("norm", "l2")}
        run_both(lambda: HashingVectorizer(**hashed), lambda: sk.HashingVectorizer(**hashed),
                 docs)


@settings(max_examples=25, deadline=None)
@given(docs=documents, min_df=st.sampled_from([1, 2, 0.3]), max_df=st.sampled_from([1.0, 0.8, 3]),
       max_features=st.sampled_from([None, 3, 10]), analyzer=st.sampled_from(
           ["word", _split_analyzer]))
def test_pruning_and_callable_analyzer_equal_sklearn(docs, min_df, max_df, max_features,
                                                     analyzer):
    opts = {"min_df": min_df, "max_df": max_df, "max_features": max_features,
            "analyzer": analyzer}
    run_both(lambda: CountVectorizer(**opts), lambda: sk.CountVectorizer(**opts), docs)
    run_both(lambda: TfidfVectorizer(**opts), lambda: sk.TfidfVectorizer(**opts), docs)
