"""seq2seq data and command line: files, bad input, train/translate/eval --dry-run."""

from __future__ import annotations

import io
import json
import os

import pytest

from seqlab.cli.main import main
from seqlab.config import RunConfig
from seqlab.errors import DataError
from seqlab.models.seq2seq_task import build_data, read_parallel
from seqlab.tasks import get_task
from tests.models.contract import TINY, cli_flags, seq2seq_tiny


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("s2s")
    tables = seq2seq_tiny(tmp)
    assert main(["train", "seq2seq", *cli_flags(tables), "--max-steps", "3"]) == 0
    return tmp, tmp / "run" / "last.safetensors"


def test_misaligned_files_name_both_counts(tmp_path):
    (tmp_path / "a").write_text("x\ny\nz\n")
    (tmp_path / "b").write_text("x\ny\n")
    with pytest.raises(DataError, match=r"a has 3 lines, .*b has 2"):
        read_parallel(tmp_path / "a", tmp_path / "b")


def test_empty_lines_are_skipped_aligned_and_counted(tmp_path):
    (tmp_path / "a").write_text("eins\n\ndrei\nvier\n")
    (tmp_path / "b").write_text("one\ntwo\n\nfour\n")
    pairs, skipped = read_parallel(tmp_path / "a", tmp_path / "b")
    assert pairs == [("eins", "one"), ("vier", "four")] and skipped == 2


def test_u2028_inside_a_line_does_not_misalign(tmp_path):
    (tmp_path / "a").write_text("a\u2028b\nc\n")
    (tmp_path / "b").write_text("x\ny\n")
    assert read_parallel(tmp_path / "a", tmp_path / "b")[0][1] == ("c", "y")


def test_data_describes_skips_and_drops(tmp_path):
    tables = TINY["seq2seq"](tmp_path)
    tables["data"]["max_length"] = 4
    task = get_task("seq2seq")
    data = build_data(RunConfig.from_dict(tables, base=task.default_config()))
    assert data.dropped > 0 and f"dropped {data.dropped} longer than 4" in data.describe()
    src, lengths, tgt, refs = next(iter(data.batches("valid", "eval")))
    assert refs.shape[0] == src.shape[0] and int(lengths.max()) == src.shape[1]
    assert (tgt[:, 0] == 2).all()


def test_bucketing_wastes_little_padding(tmp_path):
    tables = TINY["seq2seq"](tmp_path)
    task = get_task("seq2seq")
    data = build_data(RunConfig.from_dict(tables, base=task.default_config()))
    batches = data.batches("train", "train")
    pad = sum(int((b[0] == 0).sum()) for b in batches)
    tables["data"]["bucket"] = False
    plain = build_data(RunConfig.from_dict(tables, base=task.default_config()))
    pad_plain = sum(int((b[0] == 0).sum()) for b in plain.batches("train", "train"))
    assert pad < pad_plain / 2
    batches.set_epoch(2)
    first = next(iter(batches))[0]
    batches.set_epoch(2)
    assert (next(iter(batches))[0] == first).all()  # the order depends on seed and epoch only


def test_multi30k_pairs_and_unknown_pair(monkeypatch):
    if not os.environ.get("SEQLAB_DATA"):
        pytest.skip("SEQLAB_DATA not set")
    from seqlab.models.seq2seq_task import Seq2SeqDataConfig, parallel_splits

    splits, skipped = parallel_splits(Seq2SeqDataConfig(src="en", tgt="de"))
    assert {k: len(v) for k, v in splits.items()} == {
        "train": 29000, "valid": 1014, "test2016": 1000, "test2017": 1000, "mscoco": 461}
    assert skipped == 0 and splits["test2016"][0][1].startswith("Ein ")
    with pytest.raises(DataError, match="unknown language pair de-fr"):
        parallel_splits(Seq2SeqDataConfig(src="de", tgt="fr"))


def test_translate_stdin_nbest_and_attention_plot(trained, monkeypatch, capsys):
    tmp, ckpt = trained
    monkeypatch.setattr("sys.stdin", io.StringIO("the cat sat\nred dog\n"))
    png = tmp / "att.png"
    assert main(["translate", str(ckpt), "--beam-size", "3", "--n-best", "2",
                 "--plot-attention", str(png)]) == 0
    lines = capsys.readouterr().out.strip().split("\n")
    assert [line.split("\t")[0] for line in lines] == ["0", "0", "1", "1"]
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_translate_keeps_empty_lines_aligned(trained, monkeypatch, capsys):
    _, ckpt = trained
    monkeypatch.setattr("sys.stdin", io.StringIO("the cat\n\nred dog\n"))
    assert main(["translate", str(ckpt), "--beam-size", "2", "--n-best", "2"]) == 0
    captured = capsys.readouterr()
    assert [line.split("\t")[0] for line in captured.out.strip().split("\n")] == \
        ["0", "0", "1", "2", "2"]
    assert "1 empty input lines kept as empty output lines" in captured.err


def test_translate_file_with_reference_and_dry_run(trained, capsys):
    tmp, ckpt = trained
    assert main(["translate", str(ckpt), "--file", str(tmp / "tiny.src"), "--reference",
                 str(tmp / "tiny.tgt"), "--beam-size", "1"]) == 0
    captured = capsys.readouterr()
    assert captured.out.count("\n") == 200  # one line per source (empty outputs too)
    assert {"bleu", "chrf", "tok_bleu"} <= set(json.loads(captured.err.strip()))
    assert main(["translate", str(ckpt), "--file", str(tmp / "tiny.src"), "--dry-run"]) == 0
    assert capsys.readouterr().out.count("\n") == 1


@pytest.mark.parametrize("extra,match", [
    (["--beam-size", "0"], "beam size must be an int >= 1, got 0"),
    (["--beam-size", "2", "--n-best", "3"], "n-best must be"),
    (["--file", "/nonexistent.txt"], "--file not found")])
def test_translate_bad_options(trained, capsys, extra, match):
    _, ckpt = trained
    assert main(["translate", str(ckpt), *extra]) == 1
    err = capsys.readouterr().err
    assert match in err and "Traceback" not in err and len(err.strip().split("\n")) == 1


def test_translate_refuses_another_tasks_checkpoint(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SEQLAB_CACHE", str(tmp_path / "cache"))
    assert main(["train", "lm", *cli_flags(TINY["lm"](tmp_path)), "--dry-run"]) == 0
    capsys.readouterr()
    ckpt = tmp_path / "run" / "dry-run" / "last.safetensors"
    assert main(["translate", str(ckpt)]) == 1
    assert "checkpoint of task 'lm'; `seqlab translate` needs a 'seq2seq'" in \
        capsys.readouterr().err


def test_translate_source_longer_than_the_limit(trained, tmp_path, monkeypatch, capsys):
    _, ckpt = trained
    monkeypatch.setattr("sys.stdin", io.StringIO("the cat\n" + "cat " * 300 + "\n"))
    assert main(["translate", str(ckpt)]) == 1
    assert "sentence 2 has 300 tokens, more than the model's max_source_length=256" in \
        capsys.readouterr().err


def test_eval_prints_bleu_and_chrf(trained, capsys):
    _, ckpt = trained
    assert main(["eval", str(ckpt), "--split", "test"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"bleu", "chrf", "tok_bleu", "ppl", "exact_match"} <= set(result)


def test_resume_continues_exactly(tmp_path):
    import torch

    from seqlab.train.checkpoint import load_checkpoint

    tables = seq2seq_tiny(tmp_path)
    tables["model"]["teacher_forcing"] = 0.7  # the sampling RNG must be restored too
    flags = cli_flags(tables)
    straight = tmp_path / "straight"
    assert main(["train", "seq2seq", *flags, "--out-dir", str(straight), "--max-steps", "6"]) == 0
    split = tmp_path / "split"
    assert main(["train", "seq2seq", *flags, "--out-dir", str(split), "--max-steps", "3"]) == 0
    assert main(["train", "seq2seq", "--out-dir", str(split), "--resume", "--max-steps", "6"]) == 0
    a = load_checkpoint(straight / "last.safetensors").model_state
    b = load_checkpoint(split / "last.safetensors").model_state
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_training_lines_show_no_figures_a_batch_cannot_give(tmp_path, capsys):
    # BLEU needs decoding, done at validation only: a training line must not print "bleu nan"
    tables = seq2seq_tiny(tmp_path)
    assert main(["train", "seq2seq", *cli_flags(tables), "--max-steps", "2",
                 "--log-every", "1"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("| epoch")]
    assert lines and all("loss" in line and "nan" not in line for line in lines)
