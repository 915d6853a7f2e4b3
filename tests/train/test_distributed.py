"""Multi-process training under torchrun (gloo on CPU): the oracle is the one-process run.

Each test starts real processes (``python -m torch.distributed.run --standalone``, through
``seqlab train --nproc-per-node``), as a user would.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from seqlab.train.checkpoint import load_checkpoint

WORDS = "the cat sat on a mat dog ran in park big small red blue".split()
FLAGS = ["--hidden-size", "16", "--embedding-dim", "16", "--num-layers", "2", "--batch-size",
         "8", "--eval-batch-size", "4", "--bptt", "6", "--threads", "1", "--optimizer", "sgd",
         "--lr", "1", "--clip", "0.5", "--dropout", "0", "--log-every", "5", "--seed", "3"]


@pytest.fixture
def workdir(tmp_path):
    rng = random.Random(0)
    (tmp_path / "tiny.txt").write_text(
        "".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 8))) + "\n"
                for _ in range(400)))
    return tmp_path


def run(workdir: Path, out: str, *extra: str, nproc: int = 0, check: bool = True):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SEQLAB_CACHE": str(workdir / "cache")}
    cmd = [sys.executable, "-m", "seqlab", "train", "lm", "--data", "tiny.txt", *FLAGS,
           "--out-dir", out, *extra]
    if nproc:
        cmd += ["--nproc-per-node", str(nproc)]
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True,
                          timeout=300)
    if check:
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc


def weights(path: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path).model_state


def assert_same_weights(a: Path, b: Path, atol: float) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        torch.testing.assert_close(wa[key], wb[key], rtol=0, atol=atol, msg=key)


def test_two_processes_equal_one_with_the_same_global_batch(workdir):
    run(workdir, "one", "--max-steps", "12")
    two = run(workdir, "two", "--max-steps", "12", nproc=2)
    assert "2 processes" in two.stdout
    assert_same_weights(workdir / "one/last.safetensors", workdir / "two/last.safetensors", 1e-6)
    one_ck, two_ck = (load_checkpoint(workdir / f"{d}/last.safetensors") for d in ("one", "two"))
    assert two_ck.meta["world_size"] == 2 and one_ck.meta["world_size"] == 1
    # the carried state is the whole batch's (gathered from both processes)
    for s1, s2 in zip(one_ck.carry(), two_ck.carry()):
        assert s1.shape == s2.shape == (2, 8, 16)
        torch.testing.assert_close(s1, s2, rtol=0, atol=1e-6)


def test_epoch_figures_and_world_size_are_recorded(workdir):
    run(workdir, "one", "--epochs", "1")
    run(workdir, "two", "--epochs", "1", nproc=2)
    a = json.loads((workdir / "one/result.json").read_text())
    b = json.loads((workdir / "two/result.json").read_text())
    assert (a["world_size"], b["world_size"]) == (1, 2)
    for key in ("valid_loss", "test_loss"):
        assert b[key] == pytest.approx(a[key], rel=1e-5), key
    assert b["history"][0]["train_loss"] == pytest.approx(a["history"][0]["train_loss"],
                                                          rel=1e-5)
    assert b["history"][0]["train_tokens"] == a["history"][0]["train_tokens"]
    records = [json.loads(line) for line in (workdir / "two/metrics.jsonl").read_text()
               .splitlines()]
    assert [r["world_size"] for r in records if r["event"] == "valid"] == [2]


def test_resume_under_ddp_continues_exactly(workdir):
    run(workdir, "whole", "--max-steps", "14", nproc=2)
    run(workdir, "part", "--max-steps", "6", nproc=2)
    resumed = run(workdir, "part", "--max-steps", "14", "--resume", nproc=2)
    assert "| resumed" in resumed.stdout
    assert_same_weights(workdir / "whole/last.safetensors", workdir / "part/last.safetensors",
                        0.0)
    # the same checkpoint resumes in one process too (the state is saved for the whole batch)
    run(workdir, "single", "--max-steps", "6", nproc=2)
    run(workdir, "single", "--max-steps", "14", "--resume")
    assert_same_weights(workdir / "whole/last.safetensors", workdir / "single/last.safetensors",
                        1e-6)


def _worker_pids(rank: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
            env = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"seqlab" in cmd and f"RANK={rank}".encode() in env and b"LOCAL_RANK=" + \
                str(rank).encode() in env:
            pids.append(int(entry.name))
    return pids


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
def test_a_killed_rank_ends_the_run_clearly_and_resume_continues_exactly(workdir):
    """SIGKILL one worker mid-run: the run ends with one clear line, the last checkpoint is
    intact, and --resume from it ends with the weights of an uninterrupted run."""
    steps = ["--max-steps", "400", "--checkpoint-every", "5"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SEQLAB_CACHE": str(workdir / "cache")}
    cmd = [sys.executable, "-m", "seqlab", "train", "lm", "--data", "tiny.txt", *FLAGS,
           "--out-dir", "run", *steps, "--nproc-per-node", "2"]
    proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    last = workdir / "run/last.safetensors"
    while not last.exists():
        assert proc.poll() is None and time.time() < deadline, proc.communicate()
        time.sleep(0.02)
    victims = []
    while not victims and time.time() < deadline:
        victims = _worker_pids(1)
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, (out[-1000:], err[-2000:])
    assert "distributed training failed: a process exited" in err and "--resume" in err
    assert not (workdir / "run/result.json").exists(), "the run finished before the kill"
    ck = load_checkpoint(last)  # intact: it verifies
    assert 5 <= ck.progress["step"] < 400 and ck.meta["world_size"] == 2
    run(workdir, "run", *steps, "--resume", nproc=2)
    run(workdir, "whole", *steps, nproc=2)
    assert_same_weights(workdir / "whole/last.safetensors", last, 0.0)


def test_nproc_larger_than_the_cores_warns(workdir):
    cores = len(os.sched_getaffinity(0))
    proc = run(workdir, "many", "--max-steps", "2", "--batch-size", str(4 * (cores + 1)),
               nproc=cores + 1)
    assert f"more than the {cores} cores" in proc.stderr
