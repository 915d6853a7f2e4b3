"""The generated long-range tasks and their task model."""

from __future__ import annotations

import math

import pytest
import torch

from seqlab.cli.main import main
from seqlab.data.longrange import adding_problem, copy_chance, copy_memory, sevenseg_digits
from seqlab.errors import ConfigError


def test_adding_target_is_the_sum_of_the_two_marked_numbers():
    x, y = adding_problem(64, 30, seed=3)
    values, marks = x[..., 0], x[..., 1]
    assert torch.equal(marks.sum(1), torch.full((64,), 2.0))
    assert torch.equal(marks[:, :15].sum(1), torch.ones(64))  # one mark in each half
    for b in range(64):
        i, j = torch.nonzero(marks[b])[:, 0].tolist()
        assert y[b] == values[b, i] + values[b, j]
    assert ((values >= 0) & (values < 1)).all()


def test_adding_chance_is_one_sixth_for_this_generator():
    _, y = adding_problem(200_000, 4, seed=0)
    assert float(((y - 1) ** 2).mean()) == pytest.approx(1 / 6, rel=0.01)


def test_copy_target_is_the_copied_sequence():
    x, y = copy_memory(16, 25, seed=1)
    assert x.shape == y.shape == (16, 45)
    assert torch.equal(y[:, -10:], x[:, :10])
    assert ((x[:, :10] >= 1) & (x[:, :10] <= 8)).all()
    assert (x[:, 10:34] == 0).all() and (x[:, 34] == 9).all() and (x[:, 35:] == 0).all()
    assert (y[:, :35] == 0).all()
    assert copy_chance(1000) == pytest.approx(10 * math.log(8) / 1020)


def test_seeds_reproduce_and_differ():
    for make in (lambda s: adding_problem(8, 12, seed=s), lambda s: copy_memory(8, 12, seed=s),
                 lambda s: sevenseg_digits(8, seed=s)):
        a, b, c = make(5), make(5), make(6)
        assert all(torch.equal(u, v) for u, v in zip(a, b))
        assert not torch.equal(a[0], c[0])


def test_sevenseg_images_are_the_labelled_digits():
    x, y = sevenseg_digits(300, seed=0, noise=0.0, drop=0.0)
    assert x.shape == (300, 96, 1) and set(y.tolist()) == set(range(10))
    img = x[:, :, 0].reshape(300, 12, 8)
    # a '1' lights column 5, rows 1-10: 10 pixels; an '8' the outline of rows 1-10 x columns
    # 2-5 (24 pixels) and the two-row middle bar's 4 inner pixels: 28
    lit = {d: int(img[y == d].sum((1, 2))[0]) for d in (1, 8)}
    assert lit == {1: 10, 8: 28}


@pytest.mark.parametrize("bad", [0, -3])
def test_bad_lengths(bad):
    with pytest.raises(ConfigError, match="length"):
        adding_problem(4, bad)
    with pytest.raises(ConfigError, match="length"):
        copy_memory(4, bad)


def test_cli_errors_are_one_line(capsys, tmp_path):
    assert main(["train", "longrange", "--task", "nope", "--out-dir", str(tmp_path)]) == 1
    assert "data.task must be one of" in capsys.readouterr().err
    assert main(["train", "longrange", "--length", "0", "--out-dir", str(tmp_path)]) == 1
    assert "data.length must be an int > 0" in capsys.readouterr().err
    assert main(["train", "longrange", "--cell", "tcn", "--out-dir", str(tmp_path)]) == 1
    assert "model.cell must be one of" in capsys.readouterr().err


@pytest.mark.parametrize("task,unit", [("adding", "seq/s"), ("sevenseg", "seq/s"),
                                       ("copy", "tok/s")])
def test_dry_run_prints_the_chance_level(task, unit, tmp_path, capsys):
    flags = ["--task", task, "--length", "96", "--train-size", "8", "--valid-size", "4",
             "--test-size", "4", "--batch-size", "4", "--hidden-size", "6", "--threads", "1",
             "--out-dir", str(tmp_path / "run"), "--progress-bar", "off"]
    assert main(["train", "longrange", *flags, "--dry-run"]) == 0
    out = capsys.readouterr().out
    chance = {"adding": "chance 0.1767", "sevenseg": "chance 0.1",
              "copy": f"chance {10 * math.log(8) / (96 + 20):.3f}"}[task]
    assert chance in out and "final test" in out
    # the rate on the progress line counts what the loss counts: output positions for copy
    assert main(["train", "longrange", *flags, "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert unit in next(line for line in out.splitlines() if line.startswith("| epoch"))


def test_chrono_init_spreads_the_keep_gate_horizons():
    from seqlab.nn import GRU, LSTM, MinGRU, MinLSTM
    from seqlab.nn.chrono import chrono_init

    gen = torch.Generator().manual_seed(0)
    lstm = chrono_init(LSTM(2, 500), t_max=1000, generator=gen)
    b = lstm.cells[0].bias_ih.detach()
    horizon = 1 / (1 - torch.sigmoid(b[500:1000]))  # ~ U(2, T): exp(b) + 1 = U(1, T-1) + 1
    assert horizon.min() >= 2 - 1e-4 and horizon.max() <= 1000 + 1e-3
    assert horizon.mean() == pytest.approx(500.5, rel=0.1)
    assert torch.equal(b[:500], -b[500:1000]) and (lstm.cells[0].bias_hh[:1000] == 0).all()
    gru = chrono_init(GRU(2, 8), t_max=50, generator=gen)
    assert (gru.cells[0].bias_ih[8:16] >= 0).all()
    mingru = chrono_init(MinGRU(2, 8), t_max=50, generator=gen)
    assert (mingru.bias_ih_l0[:8] <= 0).all()  # z writes: a = 1 - z keeps
    minlstm = chrono_init(MinLSTM(2, 8), t_max=50, generator=gen)
    assert torch.equal(minlstm.bias_ih_l0[:8], -minlstm.bias_ih_l0[8:16])
