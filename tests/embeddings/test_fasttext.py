"""FastText: n-grams and hashes equal gensim's; OOV vectors are n-gram means; neighbours."""

from __future__ import annotations

import numpy as np
import pytest

from seqlab.embeddings.fasttext import FastText, FastTextKeyedVectors, ngram_buckets, ngrams
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.errors import ConfigError

gensim_models = pytest.importorskip("gensim.models")
ft_inner = pytest.importorskip("gensim.models.fasttext_inner")

WORDS = ["a", "to", "word", "embedding", "café", "naïve", "日本語", "x-y_z"]
COMMON = dict(vector_size=24, window=3, min_count=1, sample=0.0, epochs=5, workers=2, seed=3,
              bucket=5000)


@pytest.mark.parametrize("min_n, max_n", [(3, 6), (2, 4), (1, 3)])
def test_ngrams_and_hashes_equal_gensim(min_n, max_n):
    for word in WORDS:
        want = ft_inner.compute_ngrams(word, min_n, max_n)
        if min_n == 1:  # documented difference: gensim's str version keeps the lone '<' '>'
            assert want[0] == "<" and want[len(word) + 1] == ">"  # its byte version does not
            want = [g for g in want if g not in ("<", ">")]
        assert ngrams(word, min_n, max_n) == want
        assert sorted(ngram_buckets(word, min_n, max_n, 2_000_000)) == sorted(
            gensim_models.fasttext.ft_ngram_hashes(word, min_n, max_n, 2_000_000))


@pytest.fixture(scope="module")
def trained(clusters):
    return FastText(**COMMON).fit(clusters)


def test_oov_vector_is_mean_of_ngram_vectors(trained):
    wv = trained.wv
    assert not wv.has_index_for("c1w77") and "c1w77" in wv
    rows = ngram_buckets("c1w77", 3, 6, wv.bucket)
    np.testing.assert_allclose(wv["c1w77"], wv.vectors_ngrams[rows].mean(axis=0), rtol=1e-6,
                               atol=1e-7)
    # gensim computes the same OOV vector from the same n-gram matrix
    ref = gensim_models.fasttext.FastTextKeyedVectors(24, 3, 6, wv.bucket)
    ref.vectors_ngrams = np.asarray(wv.vectors_ngrams)
    # float32 sums in another order: an absolute floor for components near zero
    np.testing.assert_allclose(wv["c1w77"], ref.get_vector("c1w77"), rtol=1e-5, atol=1e-7)


def test_vocabulary_vector_is_mean_of_word_and_ngram_rows(trained):
    wv = trained.wv
    i = wv.key_to_index["c3w2"]
    rows = [i] + [len(wv) + b for b in ngram_buckets("c3w2", 3, 6, wv.bucket)]
    np.testing.assert_allclose(wv["c3w2"], trained._syn0[rows].mean(axis=0), rtol=1e-5,
                               atol=1e-7)


@pytest.mark.parametrize("architecture", ["skipgram", "cbow"])
def test_neighbours_agree_with_gensim(clusters, architecture):
    ours = FastText(architecture=architecture, **COMMON).fit(clusters)
    theirs = gensim_models.FastText(
        clusters, sg=int(architecture == "skipgram"), vector_size=24, window=3, min_count=1,
        sample=0.0, epochs=5, workers=2, seed=3, bucket=5000)
    overlap = []
    for word in ours.wv.index_to_key:
        mine = {w for w, _ in ours.wv.most_similar(word, topn=7)}
        ref = {w for w, _ in theirs.wv.most_similar(word, topn=7)}
        overlap.append(len(mine & ref) / 7)
    assert np.mean(overlap) >= 0.8, np.mean(overlap)


def test_native_round_trip_keeps_oov(trained, tmp_path):
    trained.wv.save(tmp_path / "ft.kv")
    loaded = KeyedVectors.load(tmp_path / "ft.kv")
    assert isinstance(loaded, FastTextKeyedVectors)
    np.testing.assert_array_equal(loaded["c0w1"], trained.wv["c0w1"])
    np.testing.assert_allclose(loaded["unseen"], trained.wv["unseen"], rtol=1e-6)
    trained.wv.save_word2vec_format(tmp_path / "ft.txt")
    assert gensim_models.KeyedVectors.load_word2vec_format(str(tmp_path / "ft.txt")) \
        .index_to_key == trained.wv.index_to_key


def test_errors(clusters):
    model = FastText(**{**COMMON, "min_n": 9, "max_n": 9, "epochs": 1}).fit(clusters[:20])
    with pytest.raises(KeyError, match="'xyz'.*no character 9..9-grams"):
        model.wv["xyz"]
    assert "xyz" not in model.wv
    with pytest.raises(ConfigError, match="bucket"):
        FastText(bucket=0).fit(clusters)
    with pytest.raises(ConfigError, match="min_n"):
        FastText(min_n=0).fit(clusters)


def test_hierarchical_softmax_fasttext_learns_clusters(clusters):
    model = FastText(loss="hierarchical", **COMMON).fit(clusters)
    purity = [np.mean([w.split("w")[0] == word.split("w")[0]
                       for w, _ in model.wv.most_similar(word, topn=7)])
              for word in model.wv.index_to_key]
    assert np.mean(purity) >= 0.9


def _reference_skipgram_hs(tokens, starts, syn0, syn1, ptr, idx, codes, points, lens, window,
                           alpha, seed):
    """fastText skip-gram with hierarchical softmax, updating the rows after every pair (as
    gensim and fastText do), in float64 NumPy; the kernel defers the row updates per centre."""
    from seqlab.embeddings._kernels import SIGMOID

    scale = 1000 // 6 // 2  # the C tool's and gensim's table index scale (integer arithmetic)

    nr = seed
    for s in range(len(starts) - 1):
        buf = tokens[starts[s]:starts[s + 1]]
        for i in range(len(buf)):
            nr = (nr * 25214903917 + 11) % 2**64
            red = (nr >> 16) % window
            for j in range(max(0, i - window + red), min(len(buf), i + window + 1 - red)):
                if j == i:
                    continue
                rows = idx[ptr[buf[i]]:ptr[buf[i] + 1]]
                l1 = syn0[rows].mean(axis=0)
                work = np.zeros_like(l1)
                for k in range(lens[buf[j]]):
                    t, label = points[buf[j], k], 1.0 - codes[buf[j], k]
                    f = l1 @ syn1[t]
                    if abs(f) >= 6:
                        continue
                    g = (label - SIGMOID[int((f + 6) * scale)]) * alpha
                    work += g * syn1[t]
                    syn1[t] += g * l1
                for r in rows:
                    syn0[r] += work


def test_deferred_row_updates_equal_per_pair_updates():
    from seqlab.embeddings import _kernels
    from seqlab.embeddings.vocab import huffman_tree

    rng = np.random.default_rng(0)
    V, D, B = 12, 8, 7  # few buckets: hash collisions (repeated rows) are exercised
    tokens = rng.integers(0, V, 60).astype(np.int32)
    starts = np.array([0, 25, 25, 60])
    rows = [[w] + list(V + rng.integers(0, B, rng.integers(1, 6))) for w in range(V)]
    ptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64)
    idx = np.concatenate(rows).astype(np.int32)
    assert any(len(set(r)) < len(r) for r in rows)
    codes, points, lens = huffman_tree(rng.integers(1, 50, V))
    syn0 = rng.normal(scale=0.3, size=(V + B, D)).astype(np.float32)
    syn1 = rng.normal(scale=0.3, size=(V - 1, D)).astype(np.float32)
    ref0, ref1 = syn0.astype(np.float64), syn1.astype(np.float64)
    _reference_skipgram_hs(tokens, starts, ref0, ref1, ptr, idx, codes, points, lens, 3, 0.05,
                           11)
    _kernels.train_chunk(tokens, starts, 0, 3, syn0, syn1, ptr, idx, False, True, codes,
                         points, lens, np.zeros(1, np.int32), 5, np.ones(V, np.float32), 3,
                         0.05, 0.05, 11)
    np.testing.assert_allclose(syn0, ref0, atol=2e-5)
    np.testing.assert_allclose(syn1, ref1, atol=2e-5)
