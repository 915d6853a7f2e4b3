"""Fixtures of the command-line tests: a sandbox folder with a tiny corpus, a trained model."""

import pytest

from seqlab.cli.main import main
from tests.cli.test_lm_cli import TINY, write_corpus


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SEQLAB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    write_corpus(tmp_path / "tiny.txt")
    return tmp_path


@pytest.fixture
def trained(workdir):
    argv = ["train", "lm", "--data", "tiny.txt", *TINY, "--epochs", "1", "--out-dir", "run",
            "--optimizer", "adam", "--lr", "0.01"]
    assert main(argv) == 0
    return workdir / "run" / "best.safetensors"
