"""scikit-learn parity of the vectorizers' surface: parameters, methods, state, warnings and
exception types, each checked against scikit-learn itself (the test extra)."""

from __future__ import annotations

import doctest
import importlib
import io
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from seqlab import CountVectorizer, HashingVectorizer, TfidfTransformer, TfidfVectorizer

sk = pytest.importorskip("sklearn.feature_extraction.text")
sk_pipeline = pytest.importorskip("sklearn.pipeline")

DOCS = [
    "Le café était très bon, naïve façade; Ærøskøbing!",
    "The cat sat on the mat. The cat purred!",
    "Crème brûlée and a café au lait",
    "",
    "straße STRASSE Strasse 猫 喜欢 鱼",
]
PAIRS = [(CountVectorizer, sk.CountVectorizer), (TfidfVectorizer, sk.TfidfVectorizer)]


def assert_same(ours: sp.spmatrix, theirs: sp.spmatrix) -> None:
    ours, theirs = sp.csr_matrix(ours), sp.csr_matrix(theirs)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    ours.sort_indices()
    theirs.sort_indices()
    np.testing.assert_array_equal(ours.indptr, theirs.indptr)
    np.testing.assert_array_equal(ours.indices, theirs.indices)
    np.testing.assert_array_equal(ours.data, theirs.data)  # bit-equal, not allclose


def both(ours_cls, theirs_cls, docs, **options):
    """Fit both; return (ours, theirs) vectorizers after asserting equal matrices/vocabulary."""
    ours, theirs = ours_cls(**options), theirs_cls(**options)
    assert_same(ours.fit_transform(docs), theirs.fit_transform(docs))
    assert ours.vocabulary_ == theirs.vocabulary_
    assert list(ours.get_feature_names_out()) == list(theirs.get_feature_names_out())
    return ours, theirs


def recorded(call) -> list[type]:
    """Categories of the warnings ``call`` emits, in order."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [w.category for w in caught]


def raised(call, *args) -> type | None:
    try:
        call(*args)
    except Exception as error:  # noqa: BLE001 -- the type is what is compared
        return type(error)
    return None


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: p[0].__name__)
@pytest.mark.parametrize("options", [
    {"strip_accents": "ascii"}, {"strip_accents": "unicode"},
    {"strip_accents": str.upper, "lowercase": False},
    {"strip_accents": "unicode", "analyzer": "char_wb", "ngram_range": (2, 3)},
    {"strip_accents": "ascii", "analyzer": "char", "ngram_range": (1, 2)},
    {"preprocessor": lambda d: d.replace("cat", "dog")},
    {"preprocessor": str.upper, "lowercase": False, "analyzer": "char_wb"},
    {"dtype": np.float32}, {"dtype": np.float32, "analyzer": "char_wb", "ngram_range": (1, 4)},
    {"vocabulary": {"cafe", "cat", "the", "mat"}}, {"vocabulary": {"the": 1, "cat": 0}},
], ids=str)
def test_text_options_equal_sklearn(pair, options):
    ours, theirs = both(*pair, DOCS, **options)
    new = ["the café cat", "Brûlée"]
    assert_same(ours.transform(new), theirs.transform(new))
    if pair[0] is TfidfVectorizer:
        assert ours.idf_.dtype == theirs.idf_.dtype
        np.testing.assert_array_equal(ours.idf_, theirs.idf_)


@pytest.mark.parametrize("input_kind", ["filename", "file"])
@pytest.mark.parametrize("decode_error", ["replace", "ignore"])
def test_input_files_and_decoding(tmp_path, input_kind, decode_error):
    texts = [d.encode("utf-8") for d in DOCS] + [b"caf\xe9 latin-1 \xff bytes", b"\x80\x81 ok"]
    paths = []
    for i, raw in enumerate(texts):
        paths.append(tmp_path / f"doc{i}.txt")
        paths[-1].write_bytes(raw)

    def docs():
        return [str(p) for p in paths] if input_kind == "filename" else \
            [io.BytesIO(p.read_bytes()) for p in paths]

    for ours_cls, sk_cls in [*PAIRS, (HashingVectorizer, sk.HashingVectorizer)]:
        options = {"input": input_kind, "decode_error": decode_error}
        ours, theirs = ours_cls(**options), sk_cls(**options)
        assert_same(ours.fit_transform(docs()), theirs.fit_transform(docs()))
        assert ours.decode(docs()[-2]) == theirs.decode(docs()[-2])
        latin = ours_cls(input=input_kind, encoding="latin-1").fit_transform(docs())
        assert_same(latin, sk_cls(input=input_kind, encoding="latin-1").fit_transform(docs()))
        strict_ours = raised(lambda c=ours_cls: c(input=input_kind).fit_transform(docs()))
        strict_theirs = raised(lambda c=sk_cls: c(input=input_kind).fit_transform(docs()))
        assert strict_ours is strict_theirs is UnicodeDecodeError
    # bytes content decodes too
    ours, theirs = CountVectorizer(decode_error="replace"), sk.CountVectorizer(
        decode_error="replace")
    assert_same(ours.fit_transform(texts), theirs.fit_transform(texts))


def test_missing_file_is_named(tmp_path):
    missing = str(tmp_path / "nowhere.txt")
    with pytest.raises(FileNotFoundError, match="nowhere.txt"):
        CountVectorizer(input="filename").fit([missing])
    assert raised(lambda: sk.CountVectorizer(input="filename").fit([missing])) \
        is FileNotFoundError


def test_callable_analyzer_reads_files_first(tmp_path):
    path = tmp_path / "d.txt"
    path.write_bytes("un café noir".encode())
    for cls, sk_cls in PAIRS:
        ours, theirs = both(cls, sk_cls, [str(path)], input="filename", analyzer=str.split)
        assert list(ours.get_feature_names_out()) == ["café", "noir", "un"]


def test_build_functions_equal_sklearn_and_pickle():
    options = {"strip_accents": "unicode", "stop_words": ["the", "on"], "ngram_range": (1, 2)}
    for analyzer in ("word", "char", "char_wb"):
        ours = CountVectorizer(analyzer=analyzer, **options)
        theirs = sk.CountVectorizer(analyzer=analyzer, **options)
        for doc in DOCS:
            for build in ("build_preprocessor", "build_analyzer"):
                f = getattr(ours, build)()
                assert f(doc) == getattr(theirs, build)()(doc)
                assert pickle.loads(pickle.dumps(f))(doc) == f(doc)
            tokenize = ours.build_tokenizer()
            assert tokenize(doc) == theirs.build_tokenizer()(doc)
            assert pickle.loads(pickle.dumps(tokenize))(doc) == tokenize(doc)
    fitted = CountVectorizer().fit(DOCS)
    assert pickle.loads(pickle.dumps(fitted)).transform(DOCS).nnz == fitted.transform(DOCS).nnz


def test_get_stop_words():
    from seqlab.features.stop_words import ENGLISH_STOP_WORDS

    assert CountVectorizer(stop_words="english").get_stop_words() is ENGLISH_STOP_WORDS
    assert CountVectorizer().get_stop_words() is sk.CountVectorizer().get_stop_words() is None
    words = ["the", "a", "on"]
    assert CountVectorizer(stop_words=words).get_stop_words() == \
        sk.CountVectorizer(stop_words=words).get_stop_words()
    sk_list = sorted(sk.ENGLISH_STOP_WORDS)  # scikit-learn's list given as a list
    for cls, sk_cls in PAIRS:
        both(cls, sk_cls, DOCS, stop_words=sk_list)
        both(cls, sk_cls, DOCS, stop_words=sk_list, ngram_range=(1, 2))


def test_inverse_transform_equals_sklearn():
    for cls, sk_cls in PAIRS:
        ours, theirs = both(cls, sk_cls, DOCS, ngram_range=(1, 2))
        X = theirs.transform(DOCS)
        for matrix in (X, X.toarray(), sp.csc_matrix(X)):
            got, want = ours.inverse_transform(matrix), theirs.inverse_transform(matrix)
            assert len(got) == len(want)
            for g, w in zip(got, want, strict=True):
                assert g.dtype.kind == w.dtype.kind and g.tolist() == w.tolist()


def test_fixed_vocabulary_without_fit():
    vocab = ["cat", "mat", "café"]
    ours, theirs = CountVectorizer(vocabulary=vocab), sk.CountVectorizer(vocabulary=vocab)
    assert_same(ours.transform(DOCS), theirs.transform(DOCS))
    assert ours.fixed_vocabulary_ is theirs.fixed_vocabulary_ is True
    assert list(ours.get_feature_names_out()) == list(theirs.get_feature_names_out())
    assert CountVectorizer().fit(DOCS).fixed_vocabulary_ is False
    # a TfidfVectorizer with a vocabulary still needs idf: not fitted in both
    ours_error = raised(lambda: TfidfVectorizer(vocabulary=vocab).transform(DOCS))
    theirs_error = raised(lambda: sk.TfidfVectorizer(vocabulary=vocab).transform(DOCS))
    for error in (ours_error, theirs_error):
        assert error is not None and issubclass(error, ValueError)
        assert issubclass(error, AttributeError)


def test_idf_setter():
    fitted = sk.TfidfVectorizer().fit(DOCS)
    vocab = fitted.vocabulary_
    ours, theirs = TfidfVectorizer(vocabulary=vocab), sk.TfidfVectorizer(vocabulary=vocab)
    ours.idf_ = fitted.idf_
    theirs.idf_ = fitted.idf_
    assert_same(ours.transform(DOCS), theirs.transform(DOCS))
    assert_same(ours.transform(DOCS), fitted.transform(DOCS))
    for cls in (TfidfVectorizer, sk.TfidfVectorizer):
        with pytest.raises(ValueError, match="idf length"):
            cls(vocabulary=vocab).idf_ = fitted.idf_[:-1]
        with pytest.raises(ValueError, match="idf_` cannot be set|idf_ cannot be set"):
            cls(use_idf=False).idf_ = fitted.idf_
    transformer, sk_transformer = TfidfTransformer(), sk.TfidfTransformer()
    transformer.idf_ = sk_transformer.idf_ = fitted.idf_
    counts = sk.CountVectorizer(vocabulary=vocab).transform(DOCS)
    assert_same(transformer.transform(counts), sk_transformer.transform(counts))
    transformer.idf_ = fitted.idf_[:-1]
    with pytest.raises(ValueError, match="idf_ has length"):
        transformer.transform(counts)


def test_tfidf_transformer_bit_identical_on_unsorted_rows():
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(500)]
    docs = [" ".join(rng.choice(words, size=int(rng.integers(1, 300)))) for _ in range(200)]
    counts = sk.CountVectorizer().fit_transform(docs)
    assert not counts.has_sorted_indices
    for dtype in (np.int64, np.int32, np.float64, np.float32):
        X = counts.astype(dtype, copy=True)
        X.indices, X.data = counts.indices.copy(), counts.data.astype(dtype)  # unsorted again
        X.has_sorted_indices = False
        for options in ({}, {"norm": "l1", "sublinear_tf": True}, {"smooth_idf": False}):
            ours, theirs = TfidfTransformer(**options), sk.TfidfTransformer(**options)
            assert_same(ours.fit_transform(X.copy()), theirs.fit_transform(X.copy()))
            assert ours.idf_.dtype == theirs.idf_.dtype
            np.testing.assert_array_equal(ours.idf_, theirs.idf_)
            assert_same(ours.fit_transform(X.toarray()), theirs.fit_transform(X.toarray()))


def test_transform_copy_false_and_feature_names():
    counts = sk.CountVectorizer().fit_transform(DOCS).astype(np.float64)
    ours_in, theirs_in = counts.copy(), counts.copy()
    ours = TfidfTransformer().fit(counts).transform(ours_in, copy=False)
    theirs = sk.TfidfTransformer().fit(counts).transform(theirs_in, copy=False)
    assert_same(ours, theirs)
    assert_same(ours_in, theirs_in)  # both weighted in place
    copied = counts.copy()
    TfidfTransformer().fit(counts).transform(copied)  # copy=True: input untouched
    assert_same(copied, counts)
    names = TfidfTransformer().fit(counts).get_feature_names_out()
    assert names.tolist() == sk.TfidfTransformer().fit(counts).get_feature_names_out().tolist()
    for steps in ([("c", CountVectorizer()), ("t", TfidfTransformer())],
                  [("c", sk.CountVectorizer()), ("t", sk.TfidfTransformer())]):
        pipe = sk_pipeline.Pipeline(steps).fit(DOCS)
        got = pipe.get_feature_names_out().tolist()
        assert got == sk.CountVectorizer().fit(DOCS).get_feature_names_out().tolist()


def test_exception_types_match_sklearn():
    unfitted = [lambda m: m.CountVectorizer().transform(DOCS),
                lambda m: m.CountVectorizer().get_feature_names_out(),
                lambda m: m.TfidfVectorizer().transform(DOCS),
                lambda m: m.TfidfTransformer().transform(sp.eye(2))]
    bad = [lambda m: m.CountVectorizer(input="url").fit(DOCS),
           lambda m: m.CountVectorizer(strip_accents="latin").fit(DOCS),
           lambda m: m.CountVectorizer(decode_error="loud").fit(DOCS),
           lambda m: m.HashingVectorizer(n_features=0).fit(DOCS),
           lambda m: m.HashingVectorizer(norm="l3").transform(DOCS),
           lambda m: m.CountVectorizer(vocabulary=["a", "a"]).fit(DOCS),
           lambda m: m.CountVectorizer(vocabulary={"a": 0, "b": 2}).fit(DOCS),
           lambda m: m.CountVectorizer().fit("one string"),
           lambda m: m.TfidfTransformer().fit(sp.eye(3)).transform(sp.eye(2))]
    seqlab = importlib.import_module("seqlab")
    for make in unfitted:
        ours, theirs = raised(make, seqlab), raised(make, sk)
        assert issubclass(theirs, ValueError) and issubclass(theirs, AttributeError)
        assert issubclass(ours, ValueError) and issubclass(ours, AttributeError)
    for make in bad:
        ours, theirs = raised(make, seqlab), raised(make, sk)
        assert theirs is not None and issubclass(theirs, ValueError), make
        assert ours is not None and issubclass(ours, ValueError), make
        assert issubclass(ours, TypeError) == issubclass(theirs, TypeError), make


@pytest.mark.parametrize("options", [
    {"vocabulary": ["Cat", "mat"]},
    {"stop_words": ["you've", "the"]},
    {"analyzer": str.split, "tokenizer": str.split},
    {"analyzer": str.split, "ngram_range": (1, 2)},
    {"analyzer": str.split, "preprocessor": str.lower},
    {"analyzer": "char", "stop_words": ["the"]},
    {"analyzer": "char_wb", "token_pattern": r"\w+"},
    {"tokenizer": str.split},
    {"dtype": np.int64},
], ids=str)
def test_warnings_match_sklearn(options):
    for cls, sk_cls in PAIRS:
        if cls is CountVectorizer and "dtype" in options:
            continue
        ours = recorded(lambda c=cls: c(**options).fit(DOCS[1:3]))
        theirs = recorded(lambda c=sk_cls: c(**options).fit(DOCS[1:3]))
        assert ours == theirs and ours, (cls, ours, theirs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            both(cls, sk_cls, DOCS[1:3], **options)


def test_not_fitted_error_is_value_and_attribute_error():
    from seqlab.features.base import NotFittedError

    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
    with pytest.raises(ValueError, match="not fitted"):
        CountVectorizer().transform(DOCS)


@pytest.mark.parametrize("module", ["seqlab.features.counts", "seqlab.features.tfidf",
                                    "seqlab.features.hashing", "seqlab.features.murmurhash"])
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("dtype", [np.int32, np.int8, np.uint16, np.float64, np.float32])
def test_count_dtypes_equal_sklearn(dtype):
    docs = DOCS + ["cat " * 3000 + "mat " * 70]  # counts past float16's exact integers
    for analyzer in ("word", "char_wb"):
        both(CountVectorizer, sk.CountVectorizer, docs, dtype=dtype, analyzer=analyzer)


def test_build_errors_match_sklearn():
    seqlab = importlib.import_module("seqlab")
    cases = [lambda m: m.CountVectorizer(analyzer="sentences").build_analyzer(),
             lambda m: m.CountVectorizer(strip_accents="latin").build_preprocessor(),
             lambda m: m.CountVectorizer(token_pattern=r"(a)(b)").build_tokenizer(),
             lambda m: m.CountVectorizer(min_df=0).fit(DOCS),
             lambda m: m.CountVectorizer(max_df=0).fit(DOCS),
             lambda m: m.CountVectorizer(dtype=np.float16).fit(DOCS),
             lambda m: m.TfidfVectorizer(dtype=np.float16).fit(DOCS)]
    for make in cases:
        ours, theirs = raised(make, seqlab), raised(make, sk)
        assert theirs is not None and issubclass(theirs, ValueError), make
        assert ours is not None and issubclass(ours, ValueError), make
