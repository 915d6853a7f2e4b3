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
    assert "indexed 5 documents" in capsys.readouterr().out
    assert main(["bm25", "search", str(index), "stocks", "cat mat", "-k", "2",
                 "--corpus", str(corpus)]) == 0
    lines = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    expected = BM25(variant="bm25+", k1=1.2).fit(DOCS).search(["stocks", "cat mat"], k=2)
    assert [int(f[2]) for f in lines] == expected[0].ravel().tolist()
    assert lines[2][4] == "the cat sat on the mat"
    assert main(["bm25", "search", str(index), "x", "-k", "9"]) == 1
    assert "k must be an int in [1, 5]" in capsys.readouterr().err
    assert main(["bm25", "search", str(index), "cat"]) == 0  # default k: all 5 documents
    assert len(capsys.readouterr().out.splitlines()) == 5
    assert main(["bm25", "search", str(index)]) == 1
    assert "at least one query" in capsys.readouterr().err


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
