"""LineCorpus and the restartable-corpus contract."""

from __future__ import annotations

import gzip

import pytest

from seqlab.embeddings.corpus import LineCorpus, check_corpus, encode_corpus
from seqlab.errors import DataError


def test_line_corpus_reads_plain_and_gzip(tmp_path):
    text = "the cat sat\n\nOn the  mat\n"
    (tmp_path / "c.txt").write_text(text)
    with gzip.open(tmp_path / "c.txt.gz", "wt") as fh:
        fh.write(text)
    expected = [["the", "cat", "sat"], [], ["On", "the", "mat"]]
    assert list(LineCorpus(tmp_path / "c.txt")) == expected
    assert list(LineCorpus(tmp_path / "c.txt.gz")) == expected
    corpus = LineCorpus(tmp_path / "c.txt", lowercase=True)
    assert list(corpus) == list(corpus)  # restartable
    assert list(corpus)[2][0] == "on"


def test_long_lines_are_split_not_truncated(tmp_path):
    (tmp_path / "c.txt").write_text(" ".join(str(i) for i in range(25)) + "\n")
    pieces = list(LineCorpus(tmp_path / "c.txt", max_sentence_length=10))
    assert [len(p) for p in pieces] == [10, 10, 5]
    assert sum(pieces, []) == [str(i) for i in range(25)]


def test_encode_corpus_counts_and_offsets():
    words, counts, tokens, starts = encode_corpus([["a", "b", "a"], [], ["c", "a"]])
    assert words == ["a", "b", "c"] and counts.tolist() == [3, 1, 1]
    assert tokens.tolist() == [0, 1, 0, 2, 0] and starts.tolist() == [0, 3, 3, 5]


def test_one_shot_and_wrong_corpora_are_rejected(tmp_path):
    with pytest.raises(DataError, match="one-shot iterator"):
        check_corpus(iter([["a"]]))
    with pytest.raises(DataError, match="one-shot iterator.*generator"):
        check_corpus(s for s in [["a"]])
    with pytest.raises(DataError, match="iterable of token lists"):
        check_corpus(42)
    with pytest.raises(DataError, match="tokens must be str"):
        encode_corpus([[1, 2]])
    with pytest.raises(DataError, match="corpus file not found"):
        LineCorpus(tmp_path / "missing.txt")


def test_embeddings_never_import_torch():
    import subprocess
    import sys

    code = ("import sys, seqlab.embeddings.word2vec, seqlab.embeddings.fasttext, "
            "seqlab.cli.embed; assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
