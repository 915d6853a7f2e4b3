"""``seqlab embed`` end to end on a small corpus file."""

from __future__ import annotations

from seqlab.cli.main import main


def test_train_similar_analogy_evaluate(clusters, tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(" ".join(s) for s in clusters[:600]) + "\n")
    out = tmp_path / "v.kv"
    assert main(["embed", "train", "--corpus", str(corpus), "--output", str(out),
                 "--vector-size", "16", "--min-count", "1", "--epochs", "3", "--workers", "1",
                 "--sample", "0", "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "words/s" in text and "| epoch   3 |" in text and out.exists()
    assert main(["embed", "similar", str(out), "c1w1", "--topn", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and all(line.split()[1].startswith("c1") for line in lines)
    assert main(["embed", "analogy", str(out), "c1w1", "c1w2", "c2w1", "--topn", "2"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2
    questions = tmp_path / "q.txt"
    questions.write_text(": s\nc1w1 c1w2 c2w1 c2w2\nc1w1 c1w2 zz c2w2\n")
    pairs = tmp_path / "p.tsv"
    pairs.write_text("c1w1\tc1w2\t9\nc1w1\tc2w2\t1\nc3w1\tc3w2\t8\nc3w1\tc4w1\t2\n")
    assert main(["embed", "evaluate", str(out), "--analogies", str(questions),
                 "--similarity", str(pairs)]) == 0
    text = capsys.readouterr().out
    assert "coverage 50.0% of 2" in text and "(4/4 pairs)" in text


def test_errors_are_one_line(tmp_path, capsys):
    assert main(["embed", "train", "--corpus", str(tmp_path / "none.txt"), "--dry-run"]) == 1
    assert "corpus file not found" in capsys.readouterr().err
    (tmp_path / "v.txt").write_text("2 2\na 1 0\nb 0 1\n")
    assert main(["embed", "similar", str(tmp_path / "v.txt"), "zebra"]) == 1
    assert "'zebra'" in capsys.readouterr().err


def test_save_model_and_resume(clusters, tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(" ".join(s) for s in clusters[:300]) + "\n")
    model = tmp_path / "m.w2v"
    common = ["--corpus", str(corpus), "--workers", "1", "--no-progress"]
    assert main(["embed", "train", *common, "--save-model", str(model), "--vector-size", "16",
                 "--min-count", "1", "--epochs", "2"]) == 0
    assert "Word2Vec skipgram/negative" in capsys.readouterr().out and model.exists()
    out = tmp_path / "v.txt"
    assert main(["embed", "train", *common, "--resume", str(model), "--epochs", "1",
                 "--output", str(out), "--save-model", str(model)]) == 0
    text = capsys.readouterr().out
    assert "1 epochs (3 in all)" in text and "| epoch   1 |" in text and out.exists()
    assert main(["embed", "train", *common, "--resume", str(out), "--output", str(out)]) == 1
    assert "not a seqlab native" in capsys.readouterr().err
    assert main(["embed", "train", *common]) == 1
    assert "--out and/or --save-model is required" in capsys.readouterr().err
