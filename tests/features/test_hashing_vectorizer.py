"""HashingVectorizer and its MurmurHash3 against scikit-learn (bit-equal)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab import HashingVectorizer
from seqlab.errors import DataError
from seqlab.features import hashing
from seqlab.features.murmurhash import murmurhash3_32

sk = pytest.importorskip("sklearn.feature_extraction.text")
sk_utils = pytest.importorskip("sklearn.utils")
sk_base = pytest.importorskip("sklearn.base")


def assert_same(ours: sp.spmatrix, theirs: sp.spmatrix) -> None:
    ours, theirs = sp.csr_matrix(ours), sp.csr_matrix(theirs)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours.indptr, theirs.indptr)
    np.testing.assert_array_equal(ours.indices, theirs.indices)  # both sorted per row
    np.testing.assert_array_equal(ours.data, theirs.data)


def random_strings(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    alphabet = list("abcXYZ09 _-.\t\n") + list("éßøçÆ猫喜欢鱼ひらがなЖжΩ🙂\u0301\u00a0\u3000")
    return ["".join(rng.choice(alphabet, size=int(rng.integers(0, 40)))) for _ in range(n)]


def test_murmurhash_equals_sklearn_on_many_strings():
    keys = random_strings(5000, 0) + ["", "a", "ab", "abc", "abcd", "abcde", "猫", "🙂" * 9]
    for seed in (0, 1, 42, 2**32 - 1):
        want = [sk_utils.murmurhash3_32(k, seed=seed) for k in keys]
        assert murmurhash3_32(keys, seed=seed).tolist() == want
    raw = [k.encode("utf-16-le") for k in keys[:500]] + [bytes(range(256))]
    assert murmurhash3_32(raw).tolist() == [sk_utils.murmurhash3_32(k) for k in raw]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=30), min_size=1, max_size=20))
def test_murmurhash_property(keys):
    assert murmurhash3_32(keys).tolist() == [sk_utils.murmurhash3_32(k) for k in keys]


def corpus(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    words = random_strings(300, seed + 1) + ["The", "the", "THE", "café", "cafe"]
    return [" ".join(rng.choice(words, size=int(rng.integers(0, 25)))) for _ in range(n)]


@pytest.mark.parametrize("options", [
    {}, {"n_features": 1}, {"n_features": 7, "norm": None}, {"n_features": 2**31 - 2},
    {"n_features": 2**10, "alternate_sign": False}, {"norm": "l1", "binary": True},
    {"norm": None, "binary": True, "alternate_sign": False, "dtype": np.float32},
    {"dtype": np.float32}, {"dtype": np.float32, "norm": "l1"},
    {"ngram_range": (1, 3), "n_features": 2**12}, {"analyzer": "char", "ngram_range": (1, 3)},
    {"analyzer": "char_wb", "ngram_range": (2, 5), "n_features": 97},
    {"strip_accents": "unicode", "lowercase": False, "stop_words": ["the", "a"]},
    {"token_pattern": r"(?u)\b\w+\b", "preprocessor": str.upper, "lowercase": False},
], ids=str)
def test_hashing_equals_sklearn(options):
    docs = corpus(400, 3)
    ours, theirs = HashingVectorizer(**options), sk.HashingVectorizer(**options)
    assert_same(ours.fit_transform(docs), theirs.fit_transform(docs))
    assert_same(ours.transform(docs[:7]), theirs.transform(docs[:7]))


@pytest.mark.parametrize("options", [{"n_features": 64}, {"analyzer": "char_wb",
                                     "ngram_range": (1, 4), "n_features": 300}], ids=str)
def test_blocks_do_not_change_the_matrix(monkeypatch, options):
    docs = corpus(301, 5) + ["", "   "]
    whole = HashingVectorizer(**options).transform(docs)
    monkeypatch.setattr(hashing, "BLOCK", 17)
    assert_same(HashingVectorizer(**options).transform(docs), whole)
    assert_same(whole, sk.HashingVectorizer(**options).transform(docs))
    monkeypatch.setattr(hashing, "BLOCK", 1)
    assert_same(HashingVectorizer(**options).transform(docs[-3:]),
                sk.HashingVectorizer(**options).transform(docs[-3:]))


def test_api_matches_sklearn():
    ours, theirs = HashingVectorizer(), sk.HashingVectorizer()
    assert sorted(ours.get_params()) == sorted(theirs.get_params())
    assert ours.get_params() == theirs.get_params()
    assert ours.fit(["a b"]) is ours and ours.partial_fit(["a b"]) is ours
    twin = sk_base.clone(HashingVectorizer(n_features=8))
    assert twin.n_features == 8
    assert_same(twin.transform(["never fitted"]), sk.HashingVectorizer(n_features=8)
                .transform(["never fitted"]))
    assert HashingVectorizer(stop_words="english").get_stop_words() is not None


def test_bad_input():
    with pytest.raises(DataError, match="one str"):
        HashingVectorizer().transform("a document")
    with pytest.raises(DataError, match="empty"):
        HashingVectorizer().transform([])
    with pytest.raises(ValueError, match="n_features"):
        HashingVectorizer(n_features=2**31 - 1).transform(["a b"])
    with pytest.raises(ValueError, match="n_features"):
        HashingVectorizer(n_features=1.5).transform(["a b"])
    with pytest.raises(UnicodeDecodeError):
        HashingVectorizer().transform([b"caf\xe9"])


def _nul_analyzer(doc: str) -> list[str]:
    return doc.split("|")


def test_features_with_nul_and_empty_features():
    """Features holding U+0000 (the kernel's separator) or empty: hashed one by one."""
    docs = ["a\x00b|c||\x00", "|", "plain|words", "\x00\x00|猫\x00"]
    for n_features in (5, 2**20):
        ours = HashingVectorizer(analyzer=_nul_analyzer, n_features=n_features, norm=None)
        theirs = sk.HashingVectorizer(analyzer=_nul_analyzer, n_features=n_features, norm=None)
        assert_same(ours.transform(docs), theirs.transform(docs))
        assert_same(ours.transform(docs[1:3]), theirs.transform(docs[1:3]))  # no NUL at all


def _bytes_analyzer(doc: str) -> list[bytes]:
    return [w.encode("utf-8") for w in doc.split()]


def test_bytes_features_and_bad_features():
    docs = ["a café", "b b 猫"]
    assert_same(HashingVectorizer(analyzer=_bytes_analyzer).transform(docs),
                sk.HashingVectorizer(analyzer=_bytes_analyzer).transform(docs))
    with pytest.raises(DataError, match="str or bytes, got int"):
        HashingVectorizer(analyzer=lambda doc: [1, 2]).transform(docs)
