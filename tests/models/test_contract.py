"""Every registered task model keeps the contract, and its CLI's --dry-run runs."""

from __future__ import annotations

import pytest

from seqlab.cli.main import main
from seqlab.tasks import TASKS
from tests.models.contract import TINY, check_contract


@pytest.mark.parametrize("task", sorted(TASKS))
def test_registered_model_keeps_the_contract(task, tmp_path, monkeypatch):
    monkeypatch.setenv("SEQLAB_CACHE", str(tmp_path / "cache"))
    assert task in TINY, f"add a tiny run of task {task!r} to tests/models/contract.py"
    check_contract(task, tmp_path)


@pytest.mark.parametrize("task", sorted(TASKS))
def test_train_dry_run_of_every_task(task, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SEQLAB_CACHE", str(tmp_path / "cache"))
    flags = []
    for section, values in TINY[task](tmp_path).items():
        for key, value in values.items():
            flags += [f"--{section}.{key}", str(value)]
    assert main(["train", task, *flags, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "reached max_steps=1" in out
    run = tmp_path / "run" / "dry-run"
    assert (run / "last.safetensors").exists() and (run / "result.json").exists()
    assert main(["eval", str(run / "last.safetensors"), "--split", "valid", "--dry-run"]) == 0
