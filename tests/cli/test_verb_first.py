"""Issue 19, item 8: one word order, verb first (``seqlab train ngram``, ``seqlab index bm25``,
``seqlab similar``...); the older noun-first spellings are aliases: same code, same output."""

from __future__ import annotations

import re

import pytest

from seqlab.cli.main import main

TEXT = ("the cat sat on the mat\nthe dog sat on the log\na cat ran to the dog\n"
        "the cat and the dog sat\n") * 3
KN = ["--order", "2", "--discount-fallback", "0.5", "1.0", "1.5"]
TIMES = re.compile(r"\d+(\.\d+)? ?s\b|[\d,]+ words/s")  # wall-clock figures differ run to run


def _out(argv, capsys) -> str:
    assert main(argv) == 0, argv
    return TIMES.sub("<t>", capsys.readouterr().out)


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.txt").write_text(TEXT)
    return tmp_path


def _same(new, old, capsys, new_file=None, old_file=None):
    a, b = _out(new, capsys), _out(old, capsys)
    if new_file:
        a, b = a.replace(new_file, "F"), b.replace(old_file, "F")
    assert a == b and a.strip()
    return a


def test_ngram_train_eval_generate(corpus, capsys):
    _same(["train", "ngram", "t.txt", *KN, "--out", "a.arpa"],
          ["ngram", "train", "t.txt", *KN, "--out", "b.arpa"], capsys, "a.arpa",
          "b.arpa")
    assert (corpus / "a.arpa").read_bytes() == (corpus / "b.arpa").read_bytes()
    out = _same(["eval", "ngram", "a.arpa", "t.txt"], ["ngram", "eval", "a.arpa", "t.txt"],
                capsys)
    assert "perplexity" in out
    _same(["generate", "ngram", "a.arpa", "--seed", "3", "--num-samples", "2"],
          ["ngram", "generate", "a.arpa", "--seed", "3", "--num-samples", "2"], capsys)


def test_bm25_index_search(corpus, capsys):
    _same(["index", "bm25", "t.txt", "--out", "a.npz"], ["bm25", "index", "t.txt", "--out",
                                                         "b.npz"], capsys, "a.npz", "b.npz")
    out = _same(["search", "bm25", "a.npz", "cat dog", "-k", "3", "--corpus", "t.txt"],
                ["bm25", "search", "b.npz", "cat dog", "-k", "3", "--corpus", "t.txt"], capsys)
    assert len(out.splitlines()) == 3


def test_embed_train_similar_analogy_evaluate(corpus, capsys):
    common = ["--corpus", "t.txt", "--min-count", "1", "--epochs", "2", "--workers", "1",
              "--vector-size", "8", "--no-progress", "--seed", "1"]
    for model in ("word2vec", "fasttext"):
        _same(["train", "embed", "--model", model, *common, "--out", f"{model}-a.txt"],
              ["embed", "train", "--model", model, *common, "--out", f"{model}-b.txt"], capsys,
              f"{model}-a.txt", f"{model}-b.txt")
        assert ((corpus / f"{model}-a.txt").read_bytes()
                == (corpus / f"{model}-b.txt").read_bytes())
    v = "word2vec-a.txt"
    out = _same(["similar", v, "cat", "-dog", "--topn", "3"],
                ["embed", "similar", v, "cat", "-dog", "--topn", "3"], capsys)
    assert len(out.splitlines()) == 3
    _same(["analogy", v, "cat", "dog", "mat", "--topn", "2"],
          ["embed", "analogy", v, "cat", "dog", "mat", "--topn", "2"], capsys)
    (corpus / "pairs.tsv").write_text("cat\tdog\t5.0\ncat\tmat\t2.0\ndog\tlog\t3.0\n")
    out = _same(["eval", "embed", v, "--similarity", "pairs.tsv"],
                ["embed", "evaluate", v, "--similarity", "pairs.tsv"], capsys)
    assert "spearman" in out


@pytest.mark.parametrize("old,new", [(["ngram", "train"], "train ngram"),
                                     (["ngram", "eval"], "eval ngram"),
                                     (["ngram", "generate"], "generate ngram"),
                                     (["bm25", "index"], "index bm25"),
                                     (["bm25", "search"], "search bm25"),
                                     (["embed", "train"], "train embed"),
                                     (["embed", "similar"], "similar"),
                                     (["embed", "analogy"], "analogy"),
                                     (["embed", "evaluate"], "eval embed")])
def test_old_spelling_help_says_alias(old, new, capsys):
    with pytest.raises(SystemExit) as info:
        main([*old, "--help"])
    assert info.value.code == 0
    assert f"alias of `seqlab {new}`" in " ".join(capsys.readouterr().out.split())


def test_train_help_lists_the_classical_models_and_eval_names_its_tools(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert all(re.search(rf"^\s+{name}\b", out, re.M) for name in ("lm", "ngram", "embed"))
    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "seqlab eval ngram" in out and "seqlab eval embed" in out
