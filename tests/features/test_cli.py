"""`seqlab bm25 index|search` and `seqlab ngram train|eval|generate` end to end."""

from __future__ import annotations

import math

import pytest

from seqlab import BM25, NgramLM
from seqlab.cli.main import main

DOCS = ["the cat sat on the mat", "a dog barked at the cat", "stocks fell sharply today", "",
        "the market rallied as stocks rose"]


def test_bm25_index_and_search(tmp_path, capsys):
    corpus = tmp_path / "docs.txt"
    corpus.write_text("\n".join(DOCS) + "\n")
    index = tmp_path / "docs.npz"
    assert main(["bm25", "index", str(corpus), "--out", str(index), "--variant", "bm25+",
                 "--k1", "1.2"]) == 0
    assert "indexed 4 documents" in capsys.readouterr().out  # the blank line is no document
    assert main(["bm25", "search", str(index), "stocks", "cat mat", "-k", "2",
                 "--corpus", str(corpus)]) == 0
    lines = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    kept = [i for i, d in enumerate(DOCS) if d]  # documents keep their line numbers
    expected = BM25(variant="bm25+", k1=1.2).fit([DOCS[i] for i in kept]).search(
        ["stocks", "cat mat"], k=2)
    assert [int(f[2]) for f in lines] == [kept[i] for i in expected[0].ravel()]
    assert lines[2][4] == "the cat sat on the mat"
    assert all(f[4] == DOCS[int(f[2])] for f in lines)
    assert main(["bm25", "search", str(index), "x", "-k", "9"]) == 1
    assert "k must be an int in [1, 4]" in capsys.readouterr().err
    assert main(["bm25", "search", str(index), "cat"]) == 0  # default k: all 4 documents
    assert len(capsys.readouterr().out.splitlines()) == 4
    assert main(["bm25", "search", str(index)]) == 1
    assert "at least one query" in capsys.readouterr().err


def test_bm25_blank_lines_do_not_fill_the_top_k(tmp_path, capsys):
    """Defect 9: blank lines were empty documents, ranked among the hits with score 0."""
    corpus = tmp_path / "docs.txt"
    corpus.write_text("stocks fell\n\n\n\nthe cat sat\n\na dog ran\n\n")
    index = tmp_path / "docs.npz"
    assert main(["bm25", "index", str(corpus), "-o", str(index)]) == 0
    capsys.readouterr()
    assert main(["bm25", "search", str(index), "stocks"]) == 0
    hits = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert [int(h[2]) for h in hits] == [0, 4, 6]  # line numbers; no blank line among them
    assert float(hits[0][3]) > 0


def test_bm25_and_ngram_dry_runs_write_nothing(tmp_path, capsys):
    """Defect 8: the README says every command takes --dry-run; bm25 and ngram refused it."""
    corpus = tmp_path / "docs.txt"
    corpus.write_text("ab bc cd\nab bc de\nbc cd ab\n")
    assert main(["bm25", "index", str(corpus), "--out", str(tmp_path / "i.npz"),
                 "--dry-run"]) == 0
    assert main(["ngram", "train", str(corpus), "--order", "2", "--smoothing", "add-k",
                 "--out", str(tmp_path / "m.npz"), "--dry-run"]) == 0
    assert "dry run" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs.txt"]
    assert main(["ngram", "train", str(corpus), "--order", "2", "--smoothing", "add-k",
                 "--output", str(tmp_path / "m.npz")]) == 0  # the other spelling, an alias
    assert main(["ngram", "eval", str(tmp_path / "m.npz"), str(corpus), "--dry-run"]) == 0
    assert main(["ngram", "generate", str(tmp_path / "m.npz"), "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out[-1].split()) <= 1  # one sample of at most one word


def test_ngram_hints_name_flags(tmp_path, capsys):
    """Defect 9: the hint named the Python keyword discount_fallback= on the command line."""
    corpus = tmp_path / "t.txt"
    corpus.write_text("a b\n")
    assert main(["ngram", "train", str(corpus), "--out", str(tmp_path / "m.arpa")]) == 1
    err = capsys.readouterr().err
    assert "--discount-fallback D1 D2 D3" in err and "discount_fallback=" not in err


@pytest.mark.parametrize("suffix", [".arpa", ".npz"])
def test_ngram_train_eval_generate(tmp_path, capsys, suffix):
    train = tmp_path / "train.txt"
    train.write_text("a b c\na b d\nb c a\na c b d\n")
    model = tmp_path / f"lm{suffix}"
    assert main(["ngram", "train", str(train), "--order", "2", "--smoothing", "kneser-ney",
                 "--discount-fallback", "0.5", "1", "1.5", "--out", str(model)]) == 0
    assert "2-grams" in capsys.readouterr().out
    assert main(["ngram", "eval", str(model), str(train)]) == 0
    out = capsys.readouterr().out
    lm = NgramLM(order=2, smoothing="kneser-ney", discount_fallback=(0.5, 1, 1.5))
    expected = lm.fit(train.read_text().splitlines()).perplexity(train.read_text().splitlines())
    assert math.isclose(float(out.split("perplexity")[1]), expected, rel_tol=1e-4)
    assert "tokens scored (words + </s>) 17" in out
    assert main(["ngram", "generate", str(model), "--prompt", "a", "--seed", "3", "-n", "2"]) == 0
    samples = capsys.readouterr().out.splitlines()
    saved = NgramLM.from_arpa(model) if suffix == ".arpa" else NgramLM.load(model)
    # the library call on the same file, seeds seed + i: the prompt, then the sampled words
    assert samples == [" ".join(["a"] + saved.generate("a", seed=s)) for s in (3, 4)]
    assert main(["ngram", "generate", str(model), "--seed", "5", "-n", "3", "--temperature",
                 "0.5", "--max-tokens", "2"]) == 0
    samples = capsys.readouterr().out.splitlines()
    assert samples == [" ".join(saved.generate(None, max_tokens=2, temperature=0.5, seed=s))
                       for s in (5, 6, 7)]
    assert samples != [samples[0]] * 3  # the seeds differ
    assert main(["ngram", "train", str(train), "--order", "0", "--out", str(model)]) == 1
    assert "'order' parameter" in capsys.readouterr().err
