"""End-to-end CLI: every command's --dry-run, bad input from the issue's list, kill + resume."""

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from seqlab.cli.main import main

WORDS = "the cat sat on a mat dog ran in park big small red blue".split()
TINY = ["--hidden-size", "16", "--embedding-dim", "16", "--num-layers", "1", "--batch-size",
        "4", "--eval-batch-size", "4", "--bptt", "8", "--threads", "1"]


def write_corpus(path: Path, lines: int = 400, seed: int = 0) -> Path:
    rng = random.Random(seed)
    path.write_text("".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 8))) + "\n"
                            for _ in range(lines)))
    return path


def run_cli(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_train_dry_run(workdir, capsys):
    code, out, _ = run_cli(["train", "lm", "--data", "tiny.txt", *TINY, "--dry-run"], capsys)
    assert code == 0
    assert "reached max_steps=1" in out
    assert (workdir / "runs/lm/dry-run/last.safetensors").exists()


def test_prepare_dry_run(workdir, capsys):
    code, out, _ = run_cli(["prepare", "--data", "tiny.txt", "--dry-run"], capsys)
    assert code == 0 and "PreparedCorpus" in out and "valid=" in out


def test_eval_generate_score_dry_runs(trained, capsys):
    code, out, _ = run_cli(["eval", str(trained), "--split", "valid", "--dry-run"], capsys)
    assert code == 0
    assert json.loads(out)["ppl"] > 1
    code, out, _ = run_cli(["generate", str(trained), "--prompt", "the cat", "--dry-run"], capsys)
    assert code == 0 and out.startswith("the cat")
    code, out, _ = run_cli(["score", str(trained), "the cat sat", "a dog", "--dry-run"], capsys)
    assert code == 0
    record = json.loads(out)
    assert record["sentence"] == "the cat sat"
    assert [t for t, _ in record["surprisal_bits"]] == ["the", "cat", "sat", "<eos>"]
    assert record["log_prob"] == pytest.approx(
        -sum(s for _, s in record["surprisal_bits"]) * 0.6931471805599453, rel=1e-3)


def test_eval_matches_training_figure_and_generation_is_seeded(trained, capsys):
    result = json.loads((trained.parent / "result.json").read_text())
    code, out, _ = run_cli(["eval", str(trained), "--split", "valid"], capsys)
    assert json.loads(out)["ppl"] == pytest.approx(result["valid_ppl"], rel=1e-9)
    argv = ["generate", str(trained), "--prompt", "the", "--seed", "3", "--max-new-tokens", "12"]
    first = run_cli(argv, capsys)[1]
    assert first == run_cli(argv, capsys)[1]
    code, out, _ = run_cli(["generate", str(trained), "--strategy", "beam", "--prompt", "the",
                            "--max-new-tokens", "5"], capsys)
    assert code == 0
    # oracle: the library's beam search on the same checkpoint and prompt
    from seqlab.generate import decoding
    from seqlab.tasks import load
    from seqlab.text.tokenize import Tokenizer
    from seqlab.text.vocab import Vocab
    from seqlab.train.checkpoint import load_checkpoint

    ckpt = load_checkpoint(trained)
    vocab, tok = Vocab.from_dict(ckpt.vocab), Tokenizer.from_dict(ckpt.tokenizer)
    prompt = [vocab.eos_id] + decoding.encode_prompt("the", vocab, tok)
    best = decoding.beam_search(load(trained), prompt, 5, beam_size=4)[0].tokens
    words = ["\n" if t == "<eos>" else t for t in vocab.decode(prompt[1:] + best)]
    assert out.rstrip("\n") == tok.detokenize(words).replace(" \n ", "\n").rstrip("\n")


def test_demo_dry_run(workdir, capsys):
    code, out, _ = run_cli(["demo", "--dry-run", "--corpus-mb", "0.3", "--out-dir", "demo",
                            "--threads", "1"], capsys)
    assert code == 0
    assert "files of the Python standard library" in out
    assert "--- sample 1" in out and "final valid bpc" in out


@pytest.mark.parametrize("content, match", [
    ("", r"0 line|no tokens|empty"),
    ("   \n\t\n  \n" * 20, "no tokens|empty"),
    ("the cat sat\n" * 60, "corpus too short"),
])
def test_bad_corpora(workdir, capsys, content, match):
    (workdir / "bad.txt").write_text(content)
    code, _, err = run_cli(["train", "lm", "--data", "bad.txt", *TINY, "--dry-run"], capsys)
    assert code == 1
    assert re.search(match, err), err


def test_unknown_dataset_and_missing_file(workdir, capsys):
    code, _, err = run_cli(["train", "lm", "--dataset", "no-such-corpus", *TINY], capsys)
    assert code == 1 and "no-such-corpus" in err
    code, _, err = run_cli(["train", "lm", "--data", "missing.txt", *TINY], capsys)
    assert code == 1 and "missing.txt" in err


def test_bad_generation_options(trained, capsys):
    for argv, match in [
        (["--strategy", "sample", "--temperature", "0"],
         "--temperature must be a finite number > 0"),
        (["--strategy", "sample", "--top-p", "1.5"], r"--top-p must be in (0, 1]"),  # flags
        (["--strategy", "beam", "--beam-size", "0"], "--beam-size must be an int >= 1"),
        (["--prompt", "the zebra"], "not in the model's vocabulary: 'zebra'"),
    ]:
        code, _, err = run_cli(["generate", str(trained), *argv], capsys)
        assert code == 1 and match in err, err


def test_resume_refuses_another_config_and_keeps_the_checkpoint(trained, capsys):
    last = trained.parent / "last.safetensors"
    before = last.read_bytes()
    code, _, err = run_cli(["train", "lm", "--data", "tiny.txt", *TINY[:-2], "--hidden-size",
                            "32", "--threads", "1", "--out-dir", "run", "--resume"], capsys)
    assert code == 1 and "model.hidden_size: checkpoint 16, run 32" in err
    code, _, err = run_cli(["train", "lm", "--data", "tiny.txt", *TINY, "--out-dir", "run"],
                           capsys)
    assert code == 1 and "already holds a checkpoint" in err and "--resume" in err
    last.write_bytes(before[:1000])
    code, _, err = run_cli(["eval", str(last)], capsys)
    assert code == 1 and "truncated or corrupt" in err
    assert trained.read_bytes()  # the best checkpoint is untouched


def _train_cmd(out: str) -> list[str]:
    return [sys.executable, "-m", "seqlab.cli.main", "train", "lm", "--data", "tiny.txt", *TINY,
            "--hidden-size", "48", "--embedding-dim", "48", "--epochs", "4",
            "--checkpoint-every", "10", "--dropout", "0.2", "--optimizer", "sgd", "--lr", "1",
            "--lr-decay", "0.5", "--decay-start", "2", "--seed", "5", "--out-dir", out]


def test_killed_run_resumes_exactly(workdir):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    whole = subprocess.run(_train_cmd("whole"), env=env, capture_output=True, text=True)
    assert whole.returncode == 0, whole.stderr
    proc = subprocess.Popen(_train_cmd("killed"), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (workdir / "killed/last.safetensors").exists():
        assert proc.poll() is None and time.time() < deadline, "run ended before a checkpoint"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (workdir / "killed/result.json").exists(), "the run finished before the kill"
    resumed = subprocess.run([*_train_cmd("killed"), "--resume"], env=env, capture_output=True,
                             text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "| resumed" in resumed.stdout
    a = json.loads((workdir / "whole/result.json").read_text())
    b = json.loads((workdir / "killed/result.json").read_text())
    for key in ("valid_loss", "test_loss", "steps"):
        assert a[key] == b[key], key  # bit-exact, not approximately
    for key in ("valid_loss", "train_loss", "lr", "step"):
        assert [h[key] for h in a["history"]] == [h[key] for h in b["history"]], key


def test_missing_mirror_names_every_place_looked_at(workdir, capsys, monkeypatch):
    monkeypatch.setenv("SEQLAB_DATA", str(workdir / "empty-mirror"))
    (workdir / "empty-mirror").mkdir()
    code, _, err = run_cli(["train", "lm", "--dataset", "ptb", *TINY, "--dry-run"], capsys)
    assert code == 1
    assert "empty-mirror" in err and "cache" in err and "SEQLAB_OFFLINE" in err, err


def test_final_scores_read_each_split_as_one_stream(trained, capsys):
    """Oracle: one forward pass over the whole split. Every token after the first is a target,
    whatever the window length, and the CLI eval equals the training run's final figure."""
    import torch

    from seqlab.tasks import build_model, config_of, get_task
    from seqlab.train.checkpoint import load_checkpoint

    ckpt = load_checkpoint(trained)
    corpus = get_task("lm").build_data(config_of(ckpt.config), ckpt.assets)
    model = build_model(ckpt).eval()
    ids = torch.tensor(np.asarray(corpus.splits["valid"]), dtype=torch.long)[None, :]
    with torch.no_grad():
        logits, _ = model(ids[:, :-1], None)
        nll = torch.nn.functional.cross_entropy(logits[0].double(), ids[0, 1:], reduction="sum")
    expected = float(torch.exp(nll / (ids.shape[1] - 1)))
    result = json.loads((trained.parent / "result.json").read_text())
    assert result["valid_targets"] == ids.shape[1] - 1
    assert result["valid_ppl"] == pytest.approx(expected, rel=1e-5)
    code, out, _ = run_cli(["eval", str(trained), "--split", "valid"], capsys)
    assert json.loads(out)["tokens"] == ids.shape[1] - 1
    assert json.loads(out)["ppl"] == pytest.approx(expected, rel=1e-5)
    code, out, _ = run_cli(["eval", str(trained), "--split", "valid", "--batch-size", "4"], capsys)
    assert json.loads(out)["tokens"] < ids.shape[1] - 1  # rows: each row's first token unscored
