"""CountVectorizer / TfidfTransformer / TfidfVectorizer against scikit-learn and the seed."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from seqlab import CountVectorizer, TfidfTransformer, TfidfVectorizer
from seqlab.errors import ConfigError, DataError, NotFittedError

sklearn_text = pytest.importorskip("sklearn.feature_extraction.text")

DOCS = [
    "The cat sat on the mat. The cat purred!",
    "A dog sat on a log; the dog barked at the cat.",
    "Cats and dogs: the eternal rivalry of cat and dog.",
    "Nothing here matches",
    "",
    "the THE The tHe mat mat mat cat",
]


def assert_same_matrix(ours: sp.spmatrix, theirs: sp.spmatrix) -> None:
    ours, theirs = sp.csr_matrix(ours), sp.csr_matrix(theirs)
    assert ours.shape == theirs.shape
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours.toarray(), theirs.toarray())  # exact, not allclose


OPTIONS = [
    {},
    {"ngram_range": (1, 2)},
    {"ngram_range": (2, 3), "lowercase": False},
    {"analyzer": "char", "ngram_range": (2, 4)},
    {"analyzer": "char_wb", "ngram_range": (1, 5)},
    {"min_df": 2},
    {"max_df": 0.5, "min_df": 0.2},
    {"max_features": 5},
    {"max_features": 7, "ngram_range": (1, 2)},
    {"binary": True},
    {"stop_words": ["the", "a", "on"]},
    {"token_pattern": r"(?u)\b\w+\b"},
    {"vocabulary": ["cat", "dog", "mat", "zebra"]},
]


@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_count_vectorizer_equals_sklearn(options):
    ours = CountVectorizer(**options)
    theirs = sklearn_text.CountVectorizer(**options)
    assert_same_matrix(ours.fit_transform(DOCS), theirs.fit_transform(DOCS))
    assert ours.vocabulary_ == theirs.vocabulary_
    assert list(ours.get_feature_names_out()) == list(theirs.get_feature_names_out())
    new = ["the cat and the unknown wombat", "dog dog dog"]
    assert_same_matrix(ours.transform(new), theirs.transform(new))


@pytest.mark.parametrize("options", [
    {}, {"norm": "l1"}, {"norm": None}, {"smooth_idf": False}, {"sublinear_tf": True},
    {"use_idf": False}, {"ngram_range": (1, 2), "sublinear_tf": True, "norm": "l1"},
    {"analyzer": "char_wb", "ngram_range": (2, 4)}, {"binary": True, "smooth_idf": False},
], ids=str)
def test_tfidf_equals_sklearn(options):
    ours = TfidfVectorizer(**options)
    theirs = sklearn_text.TfidfVectorizer(**options)
    assert_same_matrix(ours.fit_transform(DOCS), theirs.fit_transform(DOCS))
    np.testing.assert_array_equal(getattr(ours, "idf_", 1.0), getattr(theirs, "idf_", 1.0))
    new = ["the cat and the unknown wombat", "mat " * 40]
    assert_same_matrix(ours.transform(new), theirs.transform(new))


def test_tfidf_transformer_equals_sklearn_on_long_rows():
    rng = np.random.default_rng(0)
    counts = sp.random(30, 400, density=0.3, format="csr", random_state=rng,
                       data_rvs=lambda n: rng.integers(1, 9, n)).astype(np.int64)
    for norm in ("l2", "l1"):
        ours = TfidfTransformer(norm=norm).fit_transform(counts)
        theirs = sklearn_text.TfidfTransformer(norm=norm).fit_transform(counts)
        assert_same_matrix(ours, theirs)


def test_seed_bag_of_words_chinese():
    """Seed 001: 猫 喜欢 鱼 -> [1, 0, 1, 0, 1], 狗 不 喜欢 鱼 -> [0, 1, 1, 1, 1] over
    the vocabulary [猫, 狗, 喜欢, 不, 鱼]; here the text is unsegmented and jieba cuts it."""
    vec = CountVectorizer(tokenizer="jieba")
    X = vec.fit_transform(["猫喜欢鱼", "狗不喜欢鱼"]).toarray()
    seed_vocab = ["猫", "狗", "喜欢", "不", "鱼"]
    assert sorted(vec.vocabulary_) == sorted(seed_vocab)
    cols = [vec.vocabulary_[w] for w in seed_vocab]
    assert X[0, cols].tolist() == [1, 0, 1, 0, 1]
    assert X[1, cols].tolist() == [0, 1, 1, 1, 1]


def test_seed_word_bigrams():
    vec = CountVectorizer(tokenizer="whitespace", ngram_range=(2, 2))
    vec.fit(["猫 喜欢 吃 鱼"])
    assert sorted(vec.vocabulary_) == sorted(["猫 喜欢", "喜欢 吃", "吃 鱼"])


def test_seed_tfidf_formula_by_hand():
    docs = ["猫 喜欢 鱼", "狗 不 喜欢 鱼", "猫 猫 狗"]
    vec = TfidfVectorizer(tokenizer="whitespace", formula="seed", norm=None)
    X = vec.fit_transform(docs).toarray()
    N = 3
    df = {"猫": 2, "狗": 2, "喜欢": 2, "不": 1, "鱼": 2}
    for i, doc in enumerate(docs):
        words = doc.split()
        for w in df:
            expected = words.count(w) / len(words) * math.log(N / (1 + df[w]))
            assert X[i, vec.vocabulary_[w]] == pytest.approx(expected, abs=1e-15)
    assert X[0, vec.vocabulary_["猫"]] == 0.0  # df = 2 = N - 1 -> idf = log(3/3) = 0
    assert X[1, vec.vocabulary_["不"]] == pytest.approx(0.25 * math.log(1.5))


def test_pipeline_clone_and_params():
    pipeline_mod = pytest.importorskip("sklearn.pipeline")
    base = pytest.importorskip("sklearn.base")
    linear = pytest.importorskip("sklearn.linear_model")
    pipe = pipeline_mod.Pipeline([
        ("counts", CountVectorizer(ngram_range=(1, 2))),
        ("tfidf", TfidfTransformer(sublinear_tf=True)),
        ("clf", linear.LogisticRegression()),
    ])
    y = [0, 1, 1, 0, 0, 1]
    pipe.fit(DOCS, y)
    twin = base.clone(pipe)
    assert twin.get_params()["counts__ngram_range"] == (1, 2)
    assert not hasattr(twin.named_steps["counts"], "vocabulary_")
    twin.set_params(tfidf__norm="l1").fit(DOCS, y)
    assert twin.named_steps["tfidf"].norm == "l1"
    ref = pipeline_mod.Pipeline([
        ("counts", sklearn_text.CountVectorizer(ngram_range=(1, 2))),
        ("tfidf", sklearn_text.TfidfTransformer(sublinear_tf=True)),
        ("clf", linear.LogisticRegression()),
    ]).fit(DOCS, y)
    np.testing.assert_allclose(pipe.predict_proba(DOCS), ref.predict_proba(DOCS), rtol=1e-10)
    vec = TfidfVectorizer(min_df=2)
    assert vec.get_params()["min_df"] == 2 and "norm" in vec.get_params()
    assert repr(vec) == "TfidfVectorizer(min_df=2)"
    clone = base.clone(vec)
    assert clone.get_params() == vec.get_params() and clone is not vec


def test_bad_input():
    with pytest.raises(NotFittedError, match="not fitted"):
        CountVectorizer().transform(["a b"])
    with pytest.raises(NotFittedError):
        TfidfVectorizer().transform(["a b"])
    with pytest.raises(NotFittedError):
        TfidfTransformer().transform(sp.eye(2))
    with pytest.raises(DataError, match="documents is empty"):
        CountVectorizer().fit([])
    with pytest.raises(DataError, match="empty vocabulary"):
        CountVectorizer().fit(["", "a"])
    with pytest.raises(DataError, match="one str"):
        CountVectorizer().fit("a whole document")
    with pytest.raises(ConfigError, match="'ngram_range' parameter of CountVectorizer"):
        CountVectorizer(ngram_range=(2, 1)).fit(DOCS)
    with pytest.raises(ConfigError, match="'norm' parameter .* Got 'l3'"):
        TfidfVectorizer(norm="l3").fit(DOCS)
    with pytest.raises(ConfigError, match="max_df"):
        CountVectorizer(min_df=5, max_df=2).fit(DOCS)
    with pytest.raises(ConfigError, match="formula='seed'"):
        TfidfTransformer(formula="seed", sublinear_tf=True).fit(sp.eye(2))
    with pytest.raises(ConfigError, match="no parameter 'colour'"):
        CountVectorizer().set_params(colour=1)
    with pytest.raises(DataError, match="columns"):
        TfidfTransformer().fit(sp.eye(3)).transform(sp.eye(2))


def test_english_stop_words():
    """``stop_words="english"``: seqlab's own list, used as scikit-learn uses an explicit list."""
    from seqlab.features.stop_words import _CLASSES, ENGLISH_STOP_WORDS

    listed = [w for words in _CLASSES.values() for w in words.split()]
    assert len(listed) == len(ENGLISH_STOP_WORDS) == 265  # the size in the docs; no repeats
    assert all(w == w.lower() and w.strip() == w for w in listed)
    assert {"the", "a", "of", "and", "is", "were", "not", "don", "n't"} <= ENGLISH_STOP_WORDS
    assert not {"cat", "said", "year", "won", "like", "past"} & ENGLISH_STOP_WORDS
    sklearn_list = sklearn_text.ENGLISH_STOP_WORDS
    assert ENGLISH_STOP_WORDS != sklearn_list  # a different list (docs give the overlap)
    for cls, sk_cls in ((CountVectorizer, sklearn_text.CountVectorizer),
                        (TfidfVectorizer, sklearn_text.TfidfVectorizer)):
        ours = cls(stop_words="english", ngram_range=(1, 2))
        theirs = sk_cls(stop_words=sorted(ENGLISH_STOP_WORDS), ngram_range=(1, 2))
        assert_same_matrix(ours.fit_transform(DOCS), theirs.fit_transform(DOCS))
        assert ours.vocabulary_ == theirs.vocabulary_
    vocabulary = CountVectorizer(stop_words="english").fit(DOCS).vocabulary_
    assert "the" not in vocabulary and "on" not in vocabulary and "cat" in vocabulary
    kept = CountVectorizer(stop_words="english", lowercase=False).fit(DOCS).vocabulary_
    assert "The" in kept and "the" not in kept  # entries are lowercase
    with pytest.raises(ConfigError, match="'stop_words' parameter .* 'english'"):
        CountVectorizer(stop_words="french").fit(DOCS)
    with pytest.raises(ConfigError, match="'stop_words' parameter"):
        TfidfVectorizer(stop_words=3).fit(DOCS)


def random_corpus(n_docs: int = 300, seed: int = 0) -> list[str]:
    """Documents of Zipf-repeated words (some capitalized, some short or with repeated
    letters) joined by assorted blanks, including Unicode ones and runs of them."""
    rng = np.random.default_rng(seed)
    letters = list("abcdeéß猫")
    words = ["".join(rng.choice(letters, size=rng.integers(1, 9))) for _ in range(400)]
    words += ["a", "I", "aa", "aaaa", "Banana", "BANANA", "x_y", "don't", "1999"]
    blanks = [" ", " ", " ", "  ", "\t", "\n", "\u00a0", "\u3000", " \t\n "]
    docs = []
    for _ in range(n_docs):
        n = int(rng.integers(0, 30))
        picks = np.minimum(rng.zipf(1.3, size=n), len(words)) - 1
        parts = [blanks[int(rng.integers(len(blanks)))] if rng.random() < 0.2 else ""]
        for p in picks:
            parts += [words[p], blanks[int(rng.integers(len(blanks)))]]
        docs.append("".join(parts))
    return docs


@pytest.mark.parametrize("options", [
    {},
    {"ngram_range": (1, 2), "min_df": 2},
    {"lowercase": False, "ngram_range": (2, 3)},
    {"binary": True, "max_features": 40},
    {"analyzer": "char_wb", "ngram_range": (2, 4)},
    {"analyzer": "char_wb", "ngram_range": (1, 1)},
    {"analyzer": "char_wb", "ngram_range": (3, 7), "lowercase": False},
    {"analyzer": "char_wb", "ngram_range": (2, 4), "min_df": 3, "max_df": 0.9},
    {"analyzer": "char_wb", "ngram_range": (1, 3), "max_features": 50, "binary": True},
    {"analyzer": "char_wb", "ngram_range": (2, 3), "dtype": np.float32},
    {"analyzer": "char_wb", "ngram_range": (2, 3),
     "vocabulary": ["ab", " a", "a ", "zz", "ba", "éß"]},
], ids=str)
def test_equals_sklearn_on_random_corpus(options):
    """Word and char_wb counting (each with its own fast path) on awkward text."""
    docs, new = random_corpus(300, seed=1), random_corpus(40, seed=2)
    ours, theirs = CountVectorizer(**options), sklearn_text.CountVectorizer(**options)
    assert_same_matrix(ours.fit_transform(docs), theirs.fit_transform(docs))
    assert ours.vocabulary_ == theirs.vocabulary_
    assert_same_matrix(ours.transform(new), theirs.transform(new))
    tfidf_options = {k: v for k, v in options.items() if k != "dtype"}
    ours, theirs = TfidfVectorizer(**tfidf_options), sklearn_text.TfidfVectorizer(**tfidf_options)
    assert_same_matrix(ours.fit_transform(docs), theirs.fit_transform(docs))
    assert_same_matrix(ours.transform(new), theirs.transform(new))
