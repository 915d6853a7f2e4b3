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
        assert ngrams(word, min_n, max_n) == ft_inner.compute_ngrams(word, min_n, max_n) or \
            min_n == 1  # gensim's str version keeps lone '<' '>'; its byte version (hashes) not
        assert sorted(ngram_buckets(word, min_n, max_n, 2_000_000)) == sorted(
            gensim_models.fasttext.ft_ngram_hashes(word, min_n, max_n, 2_000_000))


@pytest.fixture(scope="module")
def trained(clusters):
    return FastText(**COMMON).fit(clusters)


def test_oov_vector_is_mean_of_ngram_vectors(trained):
    wv = trained.wv
    assert not wv.has_index_for("c1w77") and "c1w77" in wv
    rows = ngram_buckets("c1w77", 3, 6, wv.bucket)
    np.testing.assert_allclose(wv["c1w77"], wv.vectors_ngrams[rows].mean(axis=0), rtol=1e-6)
    # gensim computes the same OOV vector from the same n-gram matrix
    ref = gensim_models.fasttext.FastTextKeyedVectors(24, 3, 6, wv.bucket)
    ref.vectors_ngrams = np.asarray(wv.vectors_ngrams)
    np.testing.assert_allclose(wv["c1w77"], ref.get_vector("c1w77"), rtol=1e-5)


def test_vocabulary_vector_is_mean_of_word_and_ngram_rows(trained):
    wv = trained.wv
    i = wv.key_to_index["c3w2"]
    rows = [i] + [len(wv) + b for b in ngram_buckets("c3w2", 3, 6, wv.bucket)]
    np.testing.assert_allclose(wv["c3w2"], trained._syn0[rows].mean(axis=0), rtol=1e-5)


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
