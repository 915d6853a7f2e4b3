"""BM25 against rank_bm25 and bm25s (oracles), the seed formula by hand, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from seqlab import BM25
from seqlab.errors import ConfigError, DataError, NotFittedError

# No term is in more than half the documents, so no robertson idf is negative (see bm25.py).
CORPUS = [
    "the quick brown fox jumps over the lazy dog".split(),
    "a quick brown dog outpaces a fast fox".split(),
    "lorem ipsum dolor sit amet".split(),
    "the fox the fox the fox".split(),
    "dogs and cats living together in harmony".split(),
    "quick quick quick".split(),
    "an entirely unrelated sentence about databases and indexes".split(),
    "brown bread and butter".split(),
]
QUERIES = [["quick", "fox"], ["brown", "dog", "dog"], ["butter"], ["the", "lazy", "cat"],
           ["fox", "fox"], ["unknownword", "quick"]]


def test_seed_formula_by_hand():
    docs = [["猫", "喜欢", "鱼"], ["狗", "不", "喜欢", "鱼"], ["猫", "猫"]]
    k1, b = 1.2, 0.75
    index = BM25(variant="robertson", k1=k1, b=b).fit(docs)
    N, avgdl = 3, 3.0
    df = {"猫": 2, "鱼": 2}
    for d, doc in enumerate(docs):
        expected = 0.0
        for t in ["猫", "鱼"]:
            idf = math.log((N - df[t] + 0.5) / (df[t] + 0.5))
            tf = doc.count(t)
            expected += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(doc) / avgdl))
        assert index.score(["猫", "鱼"])[d] == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("k1,b", [(1.5, 0.75), (1.2, 0.3), (2.0, 1.0)])
def test_equals_rank_bm25(k1, b):
    rank_bm25 = pytest.importorskip("rank_bm25")
    okapi = rank_bm25.BM25Okapi(CORPUS, k1=k1, b=b)
    plus = rank_bm25.BM25Plus(CORPUS, k1=k1, b=b, delta=1.0)
    ours = BM25(variant="robertson", k1=k1, b=b).fit(CORPUS)
    ours_plus = BM25(variant="bm25+", k1=k1, b=b, delta=1.0).fit(CORPUS)
    for q in QUERIES:
        np.testing.assert_allclose(ours.score(q), okapi.get_scores(q), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(ours_plus.score(q), plus.get_scores(q), rtol=1e-12)


@pytest.mark.parametrize("variant", ["robertson", "lucene", "atire", "bm25l", "bm25+"])
@pytest.mark.parametrize("k1,b,delta", [(1.5, 0.75, 0.5), (0.9, 0.4, 1.0)])
def test_equals_bm25s(variant, k1, b, delta):
    bm25s = pytest.importorskip("bm25s")
    peer = bm25s.BM25(method=variant, k1=k1, b=b, delta=delta, dtype="float64",
                      backend="numpy")
    peer.index(CORPUS, show_progress=False)
    ours = BM25(variant=variant, k1=k1, b=b, delta=delta).fit(CORPUS)
    factor = (k1 + 1) if variant == "robertson" else 1.0  # bm25s drops (k1 + 1) there
    for q in QUERIES:
        known = [t for t in q if t in peer.vocab_dict]
        np.testing.assert_allclose(ours.score(q), factor * peer.get_scores(known),
                                   rtol=1e-12, atol=1e-14)


def test_search_top_k_and_batch():
    index = BM25().fit(CORPUS)
    idx, scores = index.search("quick fox", k=3)
    full = index.score("quick fox")
    assert idx.shape == (3,) and list(scores) == sorted(full, reverse=True)[:3]
    np.testing.assert_array_equal(scores, full[idx])
    batch_idx, batch_scores = index.search(["quick fox", ["butter"], "nothing known"], k=8)
    assert batch_idx.shape == (3, 8)
    np.testing.assert_array_equal(batch_idx[0][:3], idx)
    assert batch_idx[1][0] == 7
    # all-unknown query: zero scores, ties ordered by document index, no crash
    np.testing.assert_array_equal(batch_scores[2], np.zeros(8))
    np.testing.assert_array_equal(batch_idx[2], np.arange(8))


def test_bm25s_ranking_agrees():
    bm25s = pytest.importorskip("bm25s")
    peer = bm25s.BM25(method="lucene", dtype="float64", backend="numpy")
    peer.index(CORPUS, show_progress=False)
    ours = BM25(variant="lucene").fit(CORPUS)
    docs, scores = peer.retrieve([["quick", "fox"]], k=3, show_progress=False)
    idx, our_scores = ours.search([["quick", "fox"]], k=3)
    np.testing.assert_allclose(our_scores, scores, rtol=1e-12)
    np.testing.assert_array_equal(idx, docs)


def test_strings_tokenizers_and_chinese():
    texts = ["猫喜欢鱼", "狗不喜欢鱼", "我们今天去公园"]
    index = BM25(tokenizer="jieba").fit(texts)
    scores = index.score("猫")
    assert scores[0] > 0 and scores[1] == 0 and scores[2] == 0
    # oracle: rank_bm25 fed jieba's own cut (blanks dropped) of documents and queries
    jieba = pytest.importorskip("jieba")
    rank_bm25 = pytest.importorskip("rank_bm25")
    cut = [[w for w in jieba.lcut(t) if w.strip()] for t in texts]
    assert cut[1] == ["狗", "不", "喜欢", "鱼"]  # words, not characters
    plus = BM25(variant="bm25+", tokenizer="jieba", delta=1.0).fit(texts)
    peer = rank_bm25.BM25Plus(cut, k1=plus.k1, b=plus.b, delta=1.0)
    for query in ["猫", "喜欢鱼", "公园 今天"]:
        tokens = [w for w in jieba.lcut(query) if w.strip()]
        np.testing.assert_allclose(plus.score(query), peer.get_scores(tokens), rtol=1e-12)
    lower = BM25().fit(["The Fox", "a dog", "a cat"])  # N = 2, df = 1 would give idf 0
    assert lower.score("FOX")[0] > 0


def test_save_load_roundtrip(tmp_path):
    index = BM25(variant="bm25l", k1=1.3, b=0.6, tokenizer="whitespace").fit(
        [" ".join(d) for d in CORPUS])
    path = tmp_path / "index.npz"
    index.save(path)
    loaded = BM25.load(path)
    assert loaded.get_params() == index.get_params()
    for q in QUERIES:
        np.testing.assert_array_equal(loaded.score(q), index.score(q))
    for got, want in zip(loaded.search(QUERIES, k=4), index.search(QUERIES, k=4)):
        np.testing.assert_array_equal(got, want)  # dense rows are rebuilt on load
    custom = BM25(tokenizer=lambda s: s.split("|")).fit(["a|b", "b|c"])
    custom.save(tmp_path / "custom.npz")
    with pytest.raises(ConfigError, match="custom tokenizer"):
        BM25.load(tmp_path / "custom.npz")
    again = BM25.load(tmp_path / "custom.npz", tokenizer=lambda s: s.split("|"))
    np.testing.assert_array_equal(again.score("a|c"), custom.score("a|c"))
    (tmp_path / "junk.npz").write_bytes(b"not an index")
    with pytest.raises(DataError, match="not a seqlab BM25 index"):
        BM25.load(tmp_path / "junk.npz")


def test_bad_input():
    with pytest.raises(NotFittedError):
        BM25().score("a")
    with pytest.raises(DataError, match="empty"):
        BM25().fit([])
    with pytest.raises(DataError, match="empty vocabulary"):
        BM25().fit(["", ""])
    with pytest.raises(ConfigError, match="'k1' parameter of BM25 must be a number > 0"):
        BM25(k1=0).fit(CORPUS)
    with pytest.raises(ConfigError, match="'variant'"):
        BM25(variant="okapi").fit(CORPUS)
    with pytest.raises(ConfigError, match=r"k must be an int in \[1, 8\]"):
        BM25().fit(CORPUS).search("fox", k=9)
    index = BM25().fit([["a", "b"], []])  # an empty document is allowed: it scores 0
    np.testing.assert_array_equal(index.score(["zzz"]), [0.0, 0.0])


@pytest.mark.parametrize("variant", ["robertson", "bm25+"])
def test_search_equals_full_sort(variant):
    """The compiled top-k (sparse and dense paths, common terms as dense rows or as posting
    lists) equals a stable sort of ``score``."""
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(40)]
    docs = [list(rng.choice(words, size=rng.integers(0, 12))) for _ in range(300)]
    index = BM25(variant=variant).fit(docs)
    assert 0 < len(index._dense) < len(words)  # some terms kept as dense rows, not all
    no_dense = BM25(variant=variant).fit(docs)
    no_dense._dense_row[:] = -1  # every term through its posting list
    queries = [list(rng.choice(words + ["unknown"], size=rng.integers(1, 5)))
               for _ in range(60)]
    for k in (1, 7, 300):
        idx, scores = index.search(queries, k=k)
        for got, want in zip(no_dense.search(queries, k=k), (idx, scores)):
            np.testing.assert_array_equal(got, want)
        for q, row_idx, row_scores in zip(queries, idx, scores):
            full = index.score(q)
            expected = np.lexsort((np.arange(len(full)), -full))[:k]
            np.testing.assert_array_equal(row_idx, expected)
            np.testing.assert_array_equal(row_scores, full[expected])


def test_float32_storage():
    ours64 = BM25(variant="atire").fit(CORPUS)
    ours32 = BM25(variant="atire", dtype="float32").fit(CORPUS)
    assert ours32.scores_.dtype == np.float32
    for q in QUERIES:
        np.testing.assert_allclose(ours32.score(q), ours64.score(q), rtol=1e-6)
        idx, scores = ours32.search([q], k=4)
        np.testing.assert_array_equal(scores[0], ours32.score(q)[idx[0]])


@pytest.mark.parametrize("variant", ["lucene", "bm25l", "robertson"])
def test_pruned_search_equals_full_sort_zipf(variant):
    """Zipf-distributed words: queries mixing rare and very common terms, where MaxScore
    pruning follows only candidates through the common terms' long posting lists."""
    rng = np.random.default_rng(1)
    words = np.array([f"w{i}" for i in range(300)])
    p = 1.0 / np.arange(1, 301)
    p /= p.sum()
    docs = [list(rng.choice(words, size=rng.integers(1, 30), p=p)) for _ in range(2000)]
    index = BM25(variant=variant).fit(docs)
    queries = [list(rng.choice(words, size=rng.integers(2, 7), p=p ** 0.5 / (p ** 0.5).sum()))
               for _ in range(200)]
    for k in (1, 5, 20):
        idx, scores = index.search(queries, k=k)
        for q, row_idx, row_scores in zip(queries, idx, scores):
            full = index.score(q)
            expected = np.lexsort((np.arange(len(full)), -full))[:k]
            np.testing.assert_array_equal(row_idx, expected)
            np.testing.assert_array_equal(row_scores, full[expected])


def test_stop_words(tmp_path):
    """Stop words are dropped from documents and queries, strings and token lists alike."""
    from seqlab.features.stop_words import ENGLISH_STOP_WORDS

    texts = [" ".join(d) for d in CORPUS]
    index = BM25(stop_words="english").fit(texts)
    plain = BM25().fit([" ".join(t for t in d if t not in ENGLISH_STOP_WORDS) for d in CORPUS])
    assert index.vocabulary_ == plain.vocabulary_ and "the" not in index.vocabulary_
    for q in QUERIES:
        kept = [t for t in q if t not in ENGLISH_STOP_WORDS]
        np.testing.assert_array_equal(index.score(q), plain.score(kept))
        np.testing.assert_array_equal(index.score(" ".join(q)), plain.score(kept))
    custom = BM25(stop_words={"fox", "dog"}).fit(CORPUS)
    assert not {"fox", "dog"} & set(custom.vocabulary_)
    custom.save(tmp_path / "custom.npz")
    loaded = BM25.load(tmp_path / "custom.npz")
    assert set(loaded.stop_words) == {"fox", "dog"}
    np.testing.assert_array_equal(loaded.score("quick fox"), custom.score("quick fox"))
    with pytest.raises(ConfigError, match="'stop_words' parameter of BM25"):
        BM25(stop_words="german").fit(CORPUS)


@pytest.mark.parametrize("variant,dtype", [("lucene", "float32"), ("bm25l", "float64"),
                                           ("robertson", "float32")])
def test_search_many_blocks_and_chunks(variant, dtype):
    """More documents than one kernel block and more queries than one chunk (both paths in
    one batch, k larger than a block): equal to a stable sort of ``score`` and to the same
    index without dense rows."""
    from seqlab.features import bm25_kernels

    rng = np.random.default_rng(2)
    words = np.array([f"w{i}" for i in range(500)])
    p = 1.0 / np.arange(1, 501) ** 0.9
    p /= p.sum()
    n_docs = 2 * bm25_kernels.BLOCK + 123
    docs = [list(rng.choice(words, size=rng.integers(0, 25), p=p)) for _ in range(n_docs)]
    index = BM25(variant=variant, dtype=dtype).fit(docs)
    assert len(index._dense) > 0
    no_dense = BM25(variant=variant, dtype=dtype).fit(docs)
    no_dense._dense_row[:] = -1
    queries = [list(rng.choice(words, size=rng.integers(1, 6), p=p ** 0.5 / (p ** 0.5).sum()))
               for _ in range(bm25_kernels.CHUNK * 2 + 7)]
    queries += [["w499"], ["w1", "w1", "w1"], ["nope"], [], ["w0", "nope", "w498"]]
    for k in (1, 10, bm25_kernels.BLOCK + 5):
        idx, scores = index.search(queries, k=k)
        for got, want in zip(no_dense.search(queries, k=k), (idx, scores)):
            np.testing.assert_array_equal(got, want)
        # token lists are looked up in bulk; strings (here mixed in) query by query
        mixed = [" ".join(q) if i % 3 == 0 else tuple(q) for i, q in enumerate(queries)]
        for got, want in zip(index.search(mixed, k=k), (idx, scores)):
            np.testing.assert_array_equal(got, want)
        for q in range(0, len(queries), 1 if k < 50 else 25):
            full = index.score(queries[q])
            expected = np.lexsort((np.arange(len(full)), -full))[:k]
            np.testing.assert_array_equal(idx[q], expected)
            np.testing.assert_array_equal(scores[q], full[expected])
