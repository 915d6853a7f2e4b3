"""KeyedVectors against gensim's KeyedVectors on identical vectors; file I/O both ways."""

from __future__ import annotations

import numpy as np
import pytest

from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.errors import DataError

gensim_models = pytest.importorskip("gensim.models")
# gensim's own most_similar_cosmul calls its deprecated init_sims(); not our warning.
pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated:DeprecationWarning")


def structured(n_pairs: int = 40, dim: int = 20, seed: int = 0):
    """``x_i`` random, ``y_i = x_i + offset + noise``: analogies x_i:y_i::x_j:y_j mostly hold."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n_pairs, dim))
    offset = rng.normal(size=dim) * 1.5
    keys = [f"x{i}" for i in range(n_pairs)] + [f"y{i}" for i in range(n_pairs)]
    vecs = np.vstack([base, base + offset + rng.normal(scale=0.6, size=base.shape)])
    return keys, vecs.astype(np.float32)


@pytest.fixture
def pair():
    keys, vecs = structured()
    ours = KeyedVectors(keys, vecs)
    theirs = gensim_models.KeyedVectors(vecs.shape[1])
    theirs.add_vectors(keys, vecs)
    return ours, theirs


def assert_same_ranking(a, b):
    assert [k for k, _ in a] == [k for k, _ in b]
    np.testing.assert_allclose([s for _, s in a], [s for _, s in b], rtol=1e-5, atol=1e-6)


def test_lookup_and_errors(pair):
    ours, _ = pair
    assert ours.key_to_index["x3"] == 3 and ours.index_to_key[3] == "x3"
    assert "y1" in ours and "zzz" not in ours and len(ours) == 80
    np.testing.assert_array_equal(ours["x2"], ours.vectors[2])
    assert ours[["x1", "x2"]].shape == (2, 20)
    with pytest.raises(KeyError, match="'nope'"):
        ours["nope"]


@pytest.mark.parametrize("query", [
    dict(positive=["x1"]),
    dict(positive=["y1", "x2"], negative=["x1"]),
    dict(positive=["x5", "x6", "y7"], negative=["y9", "x0"], topn=7),
    dict(positive=["x4"], topn=5, restrict_vocab=30),
])
def test_most_similar_equals_gensim(pair, query):
    ours, theirs = pair
    assert_same_ranking(ours.most_similar(**query), theirs.most_similar(**query))
    if "restrict_vocab" in query:  # gensim 4.4's cosmul ignores restrict_vocab: truncate instead
        end = query.pop("restrict_vocab")
        theirs = gensim_models.KeyedVectors(ours.vector_size)
        theirs.add_vectors(ours.index_to_key[:end], ours.vectors[:end])
        assert_same_ranking(ours.most_similar_cosmul(**query, restrict_vocab=end),
                            theirs.most_similar_cosmul(**query))
    else:
        assert_same_ranking(ours.most_similar_cosmul(**query), theirs.most_similar_cosmul(**query))


def test_similarity_and_analogy_equal_gensim(pair):
    ours, theirs = pair
    assert ours.similarity("x1", "y3") == pytest.approx(float(theirs.similarity("x1", "y3")),
                                                         abs=1e-6)
    assert_same_ranking(ours.analogy("x1", "y1", "x2", topn=3),
                        theirs.most_similar(positive=["y1", "x2"], negative=["x1"], topn=3))
    assert_same_ranking(ours.analogy("x1", "y1", "x2", topn=3, method="mul"),
                        theirs.most_similar_cosmul(positive=["y1", "x2"], negative=["x1"],
                                                   topn=3))
    with pytest.raises(ValueError, match="method"):
        ours.analogy("x1", "y1", "x2", method="avg")


def test_evaluate_analogies_equals_gensim(pair, tmp_path):
    ours, theirs = pair
    rng = np.random.default_rng(1)
    lines = [": first"]
    for _ in range(150):
        i, j = rng.choice(40, 2, replace=False)
        lines.append(f"X{i} Y{i} x{j} y{j}")  # upper case: case_insensitive matching
    lines += [": second", "x1 y1 unknown y2", "x1 y1 x2 y2", "x3 y3 x35 y35", "x4 y4 x5"]
    path = tmp_path / "questions.txt"
    path.write_text("\n".join(lines) + "\n")
    for restrict in (300_000, 70):
        result = ours.evaluate_analogies(path, restrict_vocab=restrict)
        score, sections = theirs.evaluate_word_analogies(str(path), restrict_vocab=restrict)
        assert result.accuracy == pytest.approx(score)
        assert 0.3 < result.accuracy < 1.0 or restrict == 70  # the test is informative
        for mine, ref in zip(result.sections, sections):
            assert (mine["correct"], mine["incorrect"]) == (len(ref["correct"]),
                                                            len(ref["incorrect"]))
        assert result.questions == 153
    assert result.answered < 152  # restrict_vocab=70 drops questions with y35..y39
    mul = ours.evaluate_analogies(path, method="mul")
    expected = sum(ours.analogy(*q.lower().split()[:3], method="mul")[0][0] == q.split()[3]
                   for q in lines[1:151])
    assert mul.correct == expected + 2


def test_evaluate_similarity_equals_gensim(pair, tmp_path):
    ours, theirs = pair
    rng = np.random.default_rng(2)
    lines = ["# comment", "# Word 1\tWord 2\tHuman (mean)"]
    for _ in range(60):
        i, j = rng.choice(80, 2, replace=False)
        lines.append(f"{ours.index_to_key[i].upper()}\t{ours.index_to_key[j]}\t"
                     f"{rng.uniform(0, 10):.2f}")
    lines.append("oov\tx1\t5.0")
    path = tmp_path / "pairs.tsv"
    path.write_text("\n".join(lines) + "\n")
    result = ours.evaluate_similarity(path)
    pearson, spearman, oov = theirs.evaluate_word_pairs(str(path))
    assert result.spearman == pytest.approx(spearman.statistic, abs=1e-6)
    assert result.pearson == pytest.approx(pearson.statistic, abs=1e-6)
    assert 100 * (1 - result.coverage) == pytest.approx(oov)


@pytest.mark.parametrize("binary", [False, True])
def test_word2vec_format_round_trips_with_gensim(pair, tmp_path, binary):
    ours, theirs = pair
    path = tmp_path / ("ours.bin" if binary else "ours.txt")
    ours.save_word2vec_format(path, binary=binary)
    loaded = gensim_models.KeyedVectors.load_word2vec_format(str(path), binary=binary)
    assert loaded.index_to_key == ours.index_to_key
    np.testing.assert_array_equal(loaded.vectors, ours.vectors)
    path2 = tmp_path / ("theirs.bin" if binary else "theirs.txt")
    theirs.save_word2vec_format(str(path2), binary=binary)
    back = KeyedVectors.load_word2vec_format(path2, binary=binary)
    assert back.index_to_key == theirs.index_to_key
    np.testing.assert_allclose(back.vectors, theirs.vectors, rtol=1e-6)


def test_native_format_is_memory_mapped(pair, tmp_path):
    ours, _ = pair
    ours.counts = np.arange(80, 0, -1)
    ours.save(tmp_path / "v.kv")
    loaded = KeyedVectors.load(tmp_path / "v.kv")
    assert isinstance(loaded.vectors, np.memmap) or isinstance(loaded.vectors.base, np.memmap)
    np.testing.assert_array_equal(loaded.vectors, ours.vectors)
    np.testing.assert_array_equal(loaded.counts, ours.counts)
    assert loaded.most_similar("x1", topn=3) == ours.most_similar("x1", topn=3)
    eager = KeyedVectors.load(tmp_path / "v.kv", mmap=None)
    np.testing.assert_array_equal(eager.vectors, ours.vectors)


@pytest.mark.parametrize("content, binary, match", [
    (b"hello world\n", False, "header"),
    (b"3\n", False, "header"),
    (b"2 3\na 1 2 3\nb 1 2\n", False, "line 3 has 2 values, expected 3"),
    (b"3 2\na 1 2\nb 1 2\n", False, "ends after 2 of 3"),
    (b"1 2\na 1 2\nb 3 4\n", False, "more rows"),
    (b"2 2\na 1 x\nb 1 2\n", False, "non-numeric"),
    (b"1 4\nab " + b"\0" * 8, True, "expected 16"),
    (b"2 0\n", False, "dimension"),
])
def test_bad_vector_files(tmp_path, content, binary, match):
    path = tmp_path / "bad.vec"
    path.write_bytes(content)
    with pytest.raises(DataError, match=match):
        KeyedVectors.load_word2vec_format(path, binary=binary)


def test_bad_native_file_and_shapes(tmp_path):
    (tmp_path / "x.kv").write_bytes(b"NOTSEQLAB" + b"\0" * 20)
    with pytest.raises(DataError, match="not a seqlab native"):
        KeyedVectors.load(tmp_path / "x.kv")
    with pytest.raises(DataError, match="vectors file not found"):
        KeyedVectors.load(tmp_path / "missing.kv")
    with pytest.raises(DataError, match="shape"):
        KeyedVectors(["a", "b"], np.zeros((3, 2)))
    with pytest.raises(DataError, match="whitespace"):
        KeyedVectors(["a b"], np.zeros((1, 2))).save_word2vec_format(tmp_path / "y.txt")


def test_real_evaluation_files_score_like_gensim(shared_data):
    from seqlab.embeddings.corpus import LineCorpus
    from seqlab.embeddings.word2vec import Word2Vec

    corpus = list(LineCorpus(shared_data / "ptb" / "ptb.train.txt"))[:8000]
    # one worker: hogwild threads made the vectors (and so near-tied pairs) differ run to run
    wv = Word2Vec(architecture="cbow", vector_size=32, epochs=2, workers=1, seed=1).fit(corpus).wv
    theirs = gensim_models.KeyedVectors(wv.vector_size)
    theirs.add_vectors(wv.index_to_key, wv.vectors)
    folder = shared_data / "analogy"
    result = wv.evaluate_analogies(folder / "questions-words.txt", restrict_vocab=2000)
    score, sections = theirs.evaluate_word_analogies(str(folder / "questions-words.txt"),
                                                     restrict_vocab=2000)
    assert result.questions == 19_544 and result.answered > 100
    assert result.accuracy == pytest.approx(score)
    assert result.correct == len(sections[-1]["correct"])
    for name in ("wordsim353.tsv", "simlex999.txt"):
        mine = wv.evaluate_similarity(folder / name)
        pearson, spearman, oov = theirs.evaluate_word_pairs(str(folder / name))
        # float32 cosines: pairs tied to within rounding may rank either way in gensim
        assert mine.spearman == pytest.approx(spearman.statistic, abs=1e-4)
        assert 100 * (1 - mine.coverage) == pytest.approx(oov)
        assert mine.total == (353 if name.startswith("wordsim") else 999)
