"""seqlab diagnose: fresh models and checkpoints write the plots and the summary; bad input."""

from __future__ import annotations

import json

import pytest
import torch

from seqlab.cli.main import main
from tests.models.contract import TINY


def test_fresh_models_write_plots_and_summary(tmp_path, capsys):
    out = tmp_path / "diag"
    assert main(["diagnose", "--cell", "rnn,lstm,gru,mingru", "--hidden-size", "6",
                 "--length", "30", "--batch-size", "2", "--out-dir", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["models"]) == {"rnn", "lstm", "gru", "mingru"}
    for name in ("gradient_flow.png", "jacobian.png", "gates.png", "spectra.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    lstm = summary["models"]["lstm"]
    assert 0 <= lstm["layers"]["l0"]["reach"] <= 29 and set(lstm["layers"]["l0"]["gates"]) == {
        "i", "f", "o"}
    assert summary["models"]["mingru"]["spectra"] == {"l0": None}
    assert "reach" in capsys.readouterr().out


def test_init_schemes_are_compared(tmp_path):
    out = tmp_path / "inits"
    assert main(["diagnose", "--cell", "lstm", "--init", "default,chrono,orthogonal",
                 "--hidden-size", "4", "--length", "12", "--no-jacobian",
                 "--out-dir", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["models"]) == {"lstm/default", "lstm/chrono", "lstm/orthogonal"}
    orth = summary["models"]["lstm/orthogonal"]["spectra"]["l0"]
    assert all(orth[g]["sigma_max"] == pytest.approx(1.0) for g in "ifgo")


def test_a_checkpoint_is_diagnosed_with_its_own_loss(tmp_path):
    flags = []
    for section, values in TINY["longrange"](tmp_path).items():
        for key, value in values.items():
            flags += [f"--{section}.{key}", str(value)]
    assert main(["train", "longrange", *flags, "--progress-bar", "off"]) == 0
    out = tmp_path / "diag"
    assert main(["diagnose", str(tmp_path / "run" / "best.safetensors"), "--out-dir",
                 str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    (entry,) = summary["models"].values()
    assert entry["layers"]["rnn.l0"]["steps"] == 26  # copy memory: T + 20


@pytest.mark.parametrize("argv, message", [
    (["--cell", "tcn"], "cell must be one of"),
    (["--cell", "gru", "--length", "0"], "--length must be > 0"),
    (["--cell", "gru", "--length", "-5"], "--length must be > 0"),
    (["--cell", "mingru", "--init", "orthogonal"], "does not have"),
    (["--cell", "rnn", "--init", "chrono"], "plain RNN has no gate"),
    ([], "needs a checkpoint or --cell"),
])
def test_bad_input_is_one_line(argv, message, capsys, tmp_path):
    assert main(["diagnose", *argv, "--out-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_checkpoint_without_a_recurrent_layer(tmp_path, capsys, monkeypatch):
    from seqlab.config import RunConfig
    from seqlab.models.longrange import LongRangeModel
    from seqlab.tasks import get_task
    from seqlab.train.checkpoint import save_checkpoint

    original = LongRangeModel.__init__

    def no_rnn(self, config, assets):  # a task model whose recurrent part is a plain Linear
        original(self, config, assets)
        self.rnn = torch.nn.Linear(1, 1)
    monkeypatch.setattr(LongRangeModel, "__init__", no_rnn)
    cfg = RunConfig.from_dict(TINY["longrange"](tmp_path), base=get_task("longrange")
                              .default_config())
    assets = {"task": "copy", "length": 6, "input_size": 10, "output_size": 10, "chance": 1.0}
    model = LongRangeModel(cfg.model, assets)
    ckpt = save_checkpoint(tmp_path / "c.safetensors", model=model, task="longrange",
                           config=cfg.to_dict(), assets=assets)
    assert main(["diagnose", str(ckpt), "--out-dir", str(tmp_path / "d")]) == 1
    err = capsys.readouterr().err
    assert "need a seqlab recurrent layer" in err and str(ckpt) in err
    assert main(["diagnose", str(tmp_path / "missing.safetensors")]) == 1
    assert "missing.safetensors" in capsys.readouterr().err
