"""The defects of issue 19, one test each (they failed before the fix): encodings, paths kept
in checkpoints, eval --data, tracebacks for user errors, special tokens, help and flags."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from seqlab.cli.main import main
from tests.cli.test_lm_cli import TINY, run_cli, write_corpus

LATIN1 = "le caf\u00e9 de la gare\n".encode("latin-1")


def latin1_corpus(path: Path, lines: int = 400) -> Path:
    """write_corpus's words, with a latin-1 "é" word in every 10th line."""
    write_corpus(path, lines)
    text = path.read_text().splitlines(True)
    for i in range(0, len(text), 10):
        text[i] = text[i].rstrip("\n") + " caf\u00e9\n"
    path.write_bytes("".join(text).encode("latin-1"))
    return path


def assert_decode_error(err: str, path: Path, offset: int) -> None:
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert f"{path}" in err and f"byte 0xe9 at offset {offset} is not valid utf-8" in err, err
    assert "--encoding latin-1" in err and "--errors replace" in err, err


def _first_bad(path: Path) -> int:
    return path.read_bytes().index(b"\xe9")


# ---------------------------------------------------------------------------------- defect 1
def test_defect1_train_and_prepare_name_the_file_and_offset(workdir, capsys):
    bad = latin1_corpus(workdir / "latin1.txt")
    code, _, err = run_cli(["train", "lm", "--data", "latin1.txt", *TINY, "--dry-run"], capsys)
    assert code == 1
    assert_decode_error(err, bad.absolute(), _first_bad(bad))
    code, _, err = run_cli(["prepare", "--data", "latin1.txt", "--out-dir", "prep/latin1"],
                           capsys)
    assert code == 1
    assert_decode_error(err, Path("latin1.txt"), _first_bad(bad))  # the path as typed
    assert not (workdir / "prep").exists()  # a failed prepare leaves no (empty) folder
    code, out, _ = run_cli(["prepare", "--data", "latin1.txt", "--out-dir", "prep/latin1",
                            "--encoding", "latin-1"], capsys)
    assert code == 0
    from seqlab.data import PreparedCorpus

    assert "café" in PreparedCorpus.load(workdir / "prep/latin1").vocab
    code, out, _ = run_cli(["train", "lm", "--data", "latin1.txt", *TINY, "--dry-run",
                            "--errors", "replace"], capsys)
    assert code == 0
    # the same bytes decoded another way are another prepared corpus, not a cache hit
    code, out, _ = run_cli(["prepare", "--data", "latin1.txt", "--out-dir", "prep/latin1",
                            "--errors", "replace"], capsys)
    assert code == 0 and "(written)" in out
    vocab = PreparedCorpus.load(workdir / "prep/latin1").vocab
    assert "caf" in vocab and "café" not in vocab  # U+FFFD is no letter: it splits the word


def test_defect1_eval_reads_the_training_file_as_training_did(workdir, capsys):
    latin1_corpus(workdir / "latin1.txt")
    code, _, err = run_cli(["train", "lm", "--data", "latin1.txt", *TINY, "--epochs", "1",
                            "--max-steps", "2", "--out-dir", "run", "--encoding", "latin-1"],
                           capsys)
    assert code == 0, err
    from seqlab.train.checkpoint import load_checkpoint

    ckpt = workdir / "run" / "last.safetensors"
    assert load_checkpoint(ckpt).assets["text_policy"] == ["iso8859-1", "strict"]
    import shutil

    shutil.rmtree(workdir / "cache")  # no prepared copy left: eval must decode the file again
    code, out, err = run_cli(["eval", str(ckpt), "--split", "valid", "--dry-run"], capsys)
    assert code == 0, err


def test_defect1_eval_score_bm25_ngram(trained, workdir, capsys):
    bad = workdir / "bad.txt"
    bad.write_bytes(b"the cat sat\n" + LATIN1)
    offset = _first_bad(bad)
    for argv in (["eval", str(trained), "--data", str(bad)],
                 ["score", str(trained), "--file", str(bad)],
                 ["bm25", "index", str(bad), "--out", "i.npz"],
                 ["ngram", "train", str(bad), "--out", "m.arpa"]):
        code, _, err = run_cli(argv, capsys)
        assert code == 1, argv
        assert_decode_error(err, bad, offset)
    code, out, _ = run_cli(["bm25", "index", str(bad), "--out", "i.npz", "--encoding", "latin1"],
                           capsys)
    assert code == 0 and "indexed 2 documents" in out


def test_defect1_embed_train_does_not_replace_bytes_silently(workdir, capsys):
    bad = latin1_corpus(workdir / "latin1.txt")
    argv = ["embed", "train", "--corpus", str(bad), "--dry-run", "--no-progress"]
    code, _, err = run_cli(argv, capsys)
    assert code == 1
    assert_decode_error(err, bad, _first_bad(bad))
    assert run_cli([*argv, "--encoding", "latin-1"], capsys)[0] == 0
    assert run_cli([*argv, "--errors", "replace"], capsys)[0] == 0


def test_defect1_binary_file(workdir, capsys):
    import shutil

    shutil.copy("/bin/ls", workdir / "ls")
    code, _, err = run_cli(["ngram", "train", "ls", "--out", "m.arpa"], capsys)
    assert code == 1 and "ls: byte 0x" in err and "is not valid utf-8" in err


# ---------------------------------------------------------------------------------- defect 3
def test_defect3_eval_from_another_folder_and_after_a_move(trained, workdir, capsys,
                                                           monkeypatch):
    from seqlab.train.checkpoint import load_checkpoint

    recorded = load_checkpoint(trained).config["data"]
    assert recorded["data"] == str(workdir / "tiny.txt") and recorded["dataset"] == ""
    toml = (trained.parent / "config.toml").read_text()
    assert 'dataset = ""' in toml and str(workdir / "tiny.txt") in toml  # defect 9 too
    elsewhere = workdir / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, out, err = run_cli(["eval", str(trained), "--split", "valid"], capsys)
    assert code == 0, err
    import hashlib

    digest = hashlib.sha256((workdir / "tiny.txt").read_bytes()).hexdigest()
    assert load_checkpoint(trained).assets["data_sha256"] == digest
    (workdir / "tiny.txt").rename(workdir / "moved.txt")
    code, _, err = run_cli(["eval", str(trained), "--split", "valid"], capsys)
    assert code == 1 and err.count("\n") == 1
    assert f"the training text {workdir / 'tiny.txt'} (sha256 {digest[:12]}...) is not" in err
    assert "--data FILE" in err
    write_corpus(workdir / "tiny.txt", seed=9)  # another text under the recorded name
    code, _, err = run_cli(["eval", str(trained), "--split", "valid"], capsys)
    assert code == 1 and "changed since training" in err and digest[:12] in err
    (workdir / "moved.txt").replace(workdir / "tiny.txt")  # the original back: it works again
    assert run_cli(["eval", str(trained), "--split", "valid"], capsys)[0] == 0


# ---------------------------------------------------------------------------------- defect 4
def test_defect4_eval_data_scores_the_whole_file(trained, workdir, capsys):
    from seqlab.tasks import build_model, load
    from seqlab.text.tokenize import Tokenizer
    from seqlab.text.vocab import Vocab
    from seqlab.train.checkpoint import load_checkpoint

    other = write_corpus(workdir / "other.txt", lines=60, seed=5)
    code, out, _ = run_cli(["eval", str(trained), "--data", str(other)], capsys)
    assert code == 0
    record = json.loads(out)
    ckpt = load_checkpoint(trained)
    vocab, tok = Vocab.from_dict(ckpt.vocab), Tokenizer.from_dict(ckpt.tokenizer)
    n = sum(len(tok.tokenize(line)) + 1 for line in other.read_text().splitlines())
    assert record["data"] == str(other) and record["tokens"] == n - 1  # every token but the first
    # oracle: the model's own log-likelihood of the whole stream, one pass
    import torch

    ids = torch.tensor([t for line in other.read_text().splitlines()
                        for t in vocab.encode(tok.tokenize(line)) + [vocab.eos_id]])
    model = load(trained)
    with torch.no_grad():
        logits, _ = model(ids[None, :-1])
        nll = torch.nn.functional.cross_entropy(logits[0], ids[1:], reduction="sum").item()
    assert record["loss"] == pytest.approx(nll / (len(ids) - 1), rel=1e-5)
    assert build_model(ckpt) is not None
    code, _, err = run_cli(["eval", str(trained), "--data", str(other), "--split", "valid"],
                           capsys)
    assert code == 1 and "--split does not apply" in err


# ---------------------------------------------------------------------------------- defect 5
def test_defect5_user_errors_are_one_line(trained, workdir, capsys):
    corpus = str(workdir / "tiny.txt")
    for argv, match in [
        (["score", str(trained), "--file", "missing.txt"], "file not found: missing.txt"),
        (["bm25", "index", corpus, "--out", "no/such/folder/i.npz"],
         "folder no/such/folder does not exist"),
        (["train", "lm", "--data", corpus, *TINY, "--device", "cuda", "--dry-run"],
         "--device cuda: "),
    ]:
        code, _, err = run_cli(argv, capsys)
        assert code == 1 and match in err and err.count("\n") == 1, (argv, err)


def test_defect5_cuda_message_says_how_to_get_cuda(monkeypatch):
    import torch

    from seqlab.errors import ConfigError
    from seqlab.train.distributed import check_device

    monkeypatch.setattr(torch.version, "cuda", None)
    with pytest.raises(ConfigError, match="built without CUDA; install a CUDA build"):
        check_device("cuda:0")
    check_device("cpu")


@pytest.mark.parametrize("edit", ["value", "json", "drop-key", "v1-config", "v1-vocab"])
def test_defect5_edited_checkpoint_metadata(trained, workdir, capsys, edit):
    from safetensors.torch import load_file

    from seqlab.train.checkpoint import _digest

    blob = bytearray(trained.read_bytes())
    header_len = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + header_len])
    meta = header["__metadata__"]["seqlab"]
    if edit == "value":
        meta = meta.replace('"hidden_size": 16', '"hidden_size": 17')
    elif edit == "json":
        meta = meta[:-5]
    elif edit == "drop-key":
        inner = json.loads(meta)
        del inner["config"]
        meta = json.dumps(inner)
    else:  # format 1's digest covers the tensors only: edits there reach the model builder
        inner = json.loads(meta)
        inner["format"] = "seqlab-checkpoint/1"
        inner["sha256"] = _digest({k: v for k, v in load_file(trained).items()}, None)
        if edit == "v1-config":
            inner["config"] = {"hidden_size": "sixteen", "cell": 3}
        else:
            inner["vocab"] = {"tokens": 5}
        meta = json.dumps(inner)
    header["__metadata__"]["seqlab"] = meta
    new = json.dumps(header).encode()
    new += b" " * (-len(new) % 8)
    edited = workdir / "edited.safetensors"
    edited.write_bytes(len(new).to_bytes(8, "little") + new + blob[8 + header_len:])
    code, _, err = run_cli(["eval", str(edited)], capsys)
    assert code == 1 and "Traceback" not in err and err.startswith("seqlab eval: error:"), err


# ---------------------------------------------------------------------------------- defect 6
def test_defect6_special_tokens_are_never_sampled(trained, capsys):
    from seqlab.text.vocab import Vocab
    from seqlab.train.checkpoint import load_checkpoint

    specials = Vocab.from_dict(load_checkpoint(trained).vocab).specials
    argv = ["generate", str(trained), "--temperature", "25", "--max-new-tokens", "300",
            "--seed", "0", "--num-samples", "2"]
    code, out, _ = run_cli(argv, capsys)
    assert code == 0
    assert not any(s in out for s in specials if s != "<eos>"), out
    code, out, _ = run_cli([*argv, "--allow-special"], capsys)  # asked for: then they come
    assert code == 0 and any(s in out for s in ("<pad>", "<unk>", "<bos>"))


# ---------------------------------------------------------------------------------- defect 7
def test_defect7_demo_dry_run_suggests_a_command_that_works(workdir, capsys):
    code, out, _ = run_cli(["demo", "--dry-run", "--corpus-mb", "0.2", "--out-dir", "demo",
                            "--threads", "1"], capsys)
    assert code == 0
    suggested = next(line for line in out.splitlines() if line.startswith("more text: "))
    argv = shlex.split(suggested.removeprefix("more text: "))
    assert argv[0] == "seqlab"
    argv[argv.index("--max-new-tokens") + 1] = "5"
    code, out, err = run_cli(argv[1:], capsys)
    assert code == 0, err
    assert "<pad>" not in out and "<bos>" not in out


# ---------------------------------------------------------------------------------- defect 8
@pytest.mark.parametrize("path, shown", [
    (["generate"], ["(default: 50)", "(default: sample)", "--max-new-tokens", "--num-samples"]),
    (["ngram", "generate"], ["(default: 30)", "--max-new-tokens", "--num-samples"]),
    (["ngram", "train"], ["(default: 3)", "(default: modified-kneser-ney)", "--dry-run"]),
    (["embed", "train"], ["(default: 100)", "(default: skipgram)", "--out", "--encoding"]),
    (["bm25", "index"], ["(default: 1.5)", "(default: robertson)", "--dry-run"]),
    (["train", "lm"], ["usage: seqlab train lm", "(default 200)", "{sgd, adam, adamw}"]),
    (["prepare"], ["--out-dir", "--encoding", "(default: 1)"]),
])
def test_defect8_help_shows_descriptions_defaults_and_flags(path, shown, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # no line breaks inside the texts looked for
    with pytest.raises(SystemExit):
        main([*path, "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for text in shown:
        assert text in out, (path, text)


def test_defect8_old_spellings_still_work(workdir, capsys):
    (workdir / "t.txt").write_text("a b c\na b d\nb c a\n")
    assert main(["ngram", "train", "t.txt", "--order", "2", "--smoothing", "add-k",
                 "--output", "m.npz"]) == 0
    capsys.readouterr()
    code, old, _ = run_cli(["ngram", "generate", "m.npz", "--seed", "1", "-n", "2",
                            "--max-tokens", "4"], capsys)
    code, new, _ = run_cli(["ngram", "generate", "m.npz", "--seed", "1", "--num-samples", "2",
                            "--max-new-tokens", "4"], capsys)
    assert code == 0 and old == new and len(new.splitlines()) == 2
    assert main(["prepare", "--data", "tiny.txt", "--out", "p", "--dry-run"]) == 0
    assert (workdir / "p" / "meta.json").is_file()


def test_defect8_top_level_help_wording(capsys):
    assert main([]) == 2
    out = capsys.readouterr().out
    assert "``" not in out and "seqlab: sequence models" in out


# ---------------------------------------------------------------------------------- defect 9
def test_defect9_eval_batch_size_oov_and_units(trained, capsys):
    code, _, err = run_cli(["eval", str(trained), "--batch-size", "0"], capsys)
    assert code == 1 and "--batch-size must be an int >= 1, got 0" in err
    code, out, _ = run_cli(["eval", str(trained), "--split", "valid", "--dry-run"], capsys)
    record = json.loads(out)
    assert "ppl" in record and "bpc" not in record  # a word model: no bits per character
    code, _, err = run_cli(["score", str(trained), "the zebra sat"], capsys)
    assert code == 1 and "sentence holds tokens" in err and "'zebra'" in err
    assert "PTB" not in err and "prompt" not in err and "'<unk>'" in err


def test_defect9_char_model_reports_bpc(workdir, capsys):
    code, _, err = run_cli(["train", "lm", "--data", "tiny.txt", "--tokenizer", "char", *TINY,
                            "--epochs", "1", "--max-steps", "2", "--out-dir", "charrun"], capsys)
    assert code == 0, err
    code, out, _ = run_cli(["eval", "charrun/last.safetensors", "--split", "valid",
                            "--dry-run"], capsys)
    assert code == 0 and "bpc" in json.loads(out)


def test_failed_train_leaves_no_prepared_folder(workdir, capsys):
    (workdir / "empty.txt").write_text("")
    code, _, err = run_cli(["prepare", "--data", "empty.txt", "--out-dir", "p/q"], capsys)
    assert code == 1 and re.search("empty|no tokens|line", err)
    assert not (workdir / "p").exists()


def test_defect5_permission_denied_is_one_line(workdir, capsys):
    import os

    if os.geteuid() == 0:  # root writes anywhere: make the target a folder instead
        (workdir / "i.npz").mkdir()
    else:
        (workdir / "ro").mkdir(mode=0o500)
    target = "i.npz" if os.geteuid() == 0 else "ro/i.npz"
    code, _, err = run_cli(["bm25", "index", "tiny.txt", "--out", target], capsys)
    assert code == 1 and err.startswith("seqlab bm25: error: ") and err.count("\n") == 1, err


def test_interrupt_is_one_line(workdir, capsys, monkeypatch):
    import seqlab.cli.bm25 as bm25

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(bm25, "run_index", interrupted)
    code, _, err = run_cli(["bm25", "index", "tiny.txt", "--out", "i.npz"], capsys)
    assert code == 130 and "interrupted" in err and "Traceback" not in err


def test_defect1_score_from_standard_input(trained, capsys, monkeypatch):
    import io
    import sys

    class Stdin:
        buffer = io.BytesIO(b"the cat sat\n" + LATIN1)

    monkeypatch.setattr(sys, "stdin", Stdin())
    code, _, err = run_cli(["score", str(trained)], capsys)
    offset = (b"the cat sat\n" + LATIN1).index(b"\xe9")
    assert code == 1 and f"<stdin>: byte 0xe9 at offset {offset} is not valid utf-8" in err
    Stdin.buffer = io.BytesIO(b"the cat sat\na dog ran\n")
    code, out, _ = run_cli(["score", str(trained)], capsys)
    assert code == 0 and [json.loads(line)["sentence"] for line in out.splitlines()] == [
        "the cat sat", "a dog ran"]
