"""Word2Vec/FastText save/load of the trainable model and continued training; bad input."""

from __future__ import annotations

import os

import numpy as np
import pytest

from seqlab.embeddings import formats, training
from seqlab.embeddings.fasttext import FastText, FastTextKeyedVectors
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.embeddings.word2vec import Word2Vec
from seqlab.errors import ConfigError, DataError, NotFittedError

COMMON = dict(vector_size=16, window=3, min_count=1, sample=1e-2, epochs=2, workers=1, seed=5)
MODELS = [
    (Word2Vec, dict(architecture="skipgram", loss="negative")),
    (Word2Vec, dict(architecture="cbow", loss="hierarchical")),
    (FastText, dict(architecture="skipgram", loss="negative", bucket=3000, min_n=2, max_n=4)),
    (FastText, dict(architecture="cbow", loss="hierarchical", bucket=3000)),
]
IDS = ["w2v-sg-ns", "w2v-cbow-hs", "ft-sg-ns", "ft-cbow-hs"]


def cluster_of(word: str) -> str:
    return word.split("w")[0]


def purity(wv, topn: int = 7) -> float:
    return float(np.mean([cluster_of(n) == cluster_of(w) for w in wv.index_to_key
                          for n, _ in wv.most_similar(w, topn=topn)]))


@pytest.mark.parametrize("cls, kw", MODELS, ids=IDS)
def test_save_load_round_trip_then_train_equals_uninterrupted(clusters, tmp_path, cls, kw):
    first, more = clusters[:300], clusters[300:600]
    a = cls(**kw, **COMMON).fit(first)
    a.save(tmp_path / "model.w2v")
    b = Word2Vec.load(tmp_path / "model.w2v")  # the base class returns FastText for fastText
    assert type(b) is cls and b.get_params() == a.get_params()
    assert b.wv.index_to_key == a.wv.index_to_key and b.epochs_trained_ == 2
    np.testing.assert_array_equal(b.wv.vectors, a.wv.vectors)
    np.testing.assert_array_equal(b.syn1_, a.syn1_)
    np.testing.assert_array_equal(b.wv.counts, a.wv.counts)
    if cls is FastText:
        assert isinstance(b.wv, FastTextKeyedVectors)
        np.testing.assert_array_equal(b.wv["c0w999"], a.wv["c0w999"])  # OOV from n-grams
    # continuing after save/load is exactly continuing in memory (one worker is deterministic)
    a.train(more, epochs=1)
    b.train(more, epochs=1)
    np.testing.assert_array_equal(b.wv.vectors, a.wv.vectors)
    np.testing.assert_array_equal(b.syn1_, a.syn1_)
    assert a.epoch_losses_ == b.epoch_losses_ and len(a.epoch_losses_) == 1
    assert a.epochs_trained_ == b.epochs_trained_ == 3


@pytest.mark.parametrize("cls, kw", MODELS[:3], ids=IDS[:3])
def test_continued_training_learns_and_keeps_the_vocabulary(clusters, cls, kw):
    model = cls(**{**kw, **COMMON, "epochs": 1, "alpha": 0.002}).fit(clusters[:200])
    before = purity(model.wv)
    keys = list(model.wv.index_to_key)
    unknown = [[*s, "zzz_unknown"] for s in clusters]
    model.train(unknown, epochs=4, alpha=0.025)
    assert model.wv.index_to_key == keys and "zzz_unknown" not in model.wv.key_to_index
    after = purity(model.wv)
    assert after >= 0.9 and after > before + 0.2, (before, after)
    assert model.stats_["corpus_words"] == sum(len(s) for s in unknown)
    assert model.epochs_trained_ == 5


def test_continued_epochs_draw_new_random_streams():
    """Training 2 epochs and then 2 more seeds the chunks like epochs 3-4 of a 4-epoch run,
    not like a replay of epochs 1-2."""
    starts = np.arange(0, 50_001, 10, dtype=np.int64)

    def seeds_of(epochs, offset):
        seen = []

        def kernel(lo, hi, alpha_lo, alpha_hi, seed):
            seen.append(seed)
            return 0.0, 0, 0

        training.run_epochs(kernel, starts, epochs, 1, 0.025, 0.0001, 7, False,
                            epoch_offset=offset)
        return seen

    four = seeds_of(4, 0)
    assert seeds_of(2, 2) == four[len(four) // 2:]
    assert not set(seeds_of(2, 2)) & set(seeds_of(2, 0))


def test_save_is_atomic(clusters, tmp_path, monkeypatch):
    model = Word2Vec(**COMMON).fit(clusters[:100])
    path = tmp_path / "m.w2v"
    model.save(path)
    good = path.read_bytes()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    model.train(clusters[:100], epochs=1)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["m.w2v"]  # no temporary file left


def test_bad_input(clusters, tmp_path):
    with pytest.raises(NotFittedError):
        Word2Vec().save(tmp_path / "x")
    with pytest.raises(NotFittedError):
        Word2Vec().train(clusters)
    with pytest.raises(DataError, match="not found"):
        Word2Vec.load(tmp_path / "missing.w2v")
    (tmp_path / "text.w2v").write_text("hello\n")
    with pytest.raises(DataError, match="not a seqlab native"):
        Word2Vec.load(tmp_path / "text.w2v")
    model = Word2Vec(**COMMON).fit(clusters[:100])
    # a vectors file is not a model, and a model file is not a vectors file
    model.wv.save(tmp_path / "vectors.kv")
    with pytest.raises(DataError, match="not a seqlab Word2Vec/FastText model.*KeyedVectors"):
        Word2Vec.load(tmp_path / "vectors.kv")
    model.save(tmp_path / "model.w2v")
    with pytest.raises(DataError, match=r"Word2Vec.load\(path\)"):
        KeyedVectors.load(tmp_path / "model.w2v")
    with pytest.raises(DataError, match="'Word2Vec' model, which FastText.load cannot return"):
        FastText.load(tmp_path / "model.w2v")
    # truncated
    data = (tmp_path / "model.w2v").read_bytes()
    (tmp_path / "cut.w2v").write_bytes(data[: len(data) - 100])
    with pytest.raises(DataError, match="truncated"):
        Word2Vec.load(tmp_path / "cut.w2v")
    # arrays that do not fit the options
    keys, arrays, meta = formats.read_native(tmp_path / "model.w2v", mmap=None)
    formats.write_native(tmp_path / "bad.w2v", keys, {**arrays, "syn1": arrays["syn1"][:-1]},
                         meta)
    with pytest.raises(DataError, match="array syn1 has shape"):
        Word2Vec.load(tmp_path / "bad.w2v")
    formats.write_native(tmp_path / "bad.w2v", keys,
                         {**arrays, "syn0": arrays["syn0"].astype(np.float64)}, meta)
    with pytest.raises(DataError, match="array syn0 .* dtype float64"):
        Word2Vec.load(tmp_path / "bad.w2v")
    formats.write_native(tmp_path / "bad.w2v", keys, arrays,
                         {**meta, "params": {**meta["params"], "window": 0}})
    with pytest.raises(ConfigError, match="window must be an integer >= 1"):
        Word2Vec.load(tmp_path / "bad.w2v")
    formats.write_native(tmp_path / "bad.w2v", keys, arrays,
                         {**meta, "params": {**meta["params"], "colour": 1}})
    with pytest.raises(DataError, match="options are missing or unknown"):
        Word2Vec.load(tmp_path / "bad.w2v")
    # continued training: nothing known, bad schedule
    with pytest.raises(DataError, match="no word of the model's vocabulary"):
        model.train([["never", "seen"]])
    with pytest.raises(ConfigError, match="epochs must be an integer >= 1, got 0"):
        model.train(clusters, epochs=0)
    with pytest.raises(ConfigError, match="min_alpha"):
        model.train(clusters, alpha=0.01, min_alpha=0.1)
    with pytest.raises(DataError, match="one-shot iterator"):
        model.train(s for s in clusters)
    model.window = 0
    with pytest.raises(ConfigError, match="window must be an integer >= 1, got 0"):
        model.train(clusters)
