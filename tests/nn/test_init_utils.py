"""Initializers (seed 001's table), gradient clipping against torch, detach for truncated BPTT."""

from __future__ import annotations

import math

import pytest
import torch
from scipy import stats
from torch import nn

import seqlab.nn as snn
from seqlab.nn import init_recurrent, initialize


def assert_uniform(values: torch.Tensor, a: float):
    """``values`` look like i.i.d. U(-a, a): inside the range, reaching both ends, the variance
    a^2 / 3, and a Kolmogorov-Smirnov test that does not reject (all-zero or constant weights,
    a wrong width or a normal draw all fail)."""
    v = values.detach().double().flatten()
    n = v.numel()
    assert v.abs().max() <= a
    assert v.max() > a * (1 - 10 / n) and v.min() < -a * (1 - 10 / n)
    assert v.var().item() == pytest.approx(a * a / 3, rel=6 / math.sqrt(n))
    assert stats.kstest(v.numpy(), stats.uniform(-a, 2 * a).cdf).pvalue > 1e-3


def test_xavier_uniform_bound_and_variance():
    torch.manual_seed(0)
    w = initialize(torch.empty(300, 200), "xavier_uniform")
    a = math.sqrt(6 / (300 + 200))
    assert_uniform(w, a)


def test_he_normal_variance():
    torch.manual_seed(0)
    w = initialize(torch.empty(300, 200), "he")
    assert w.var().item() == pytest.approx(2 / 200, rel=0.05)


@pytest.mark.parametrize("layer_cls, gates", [(snn.LSTM, 4), (snn.GRU, 3), (snn.RNN, 1)])
def test_init_recurrent_defaults(layer_cls, gates):
    torch.manual_seed(0)
    H = 8
    layer = init_recurrent(layer_cls(5, H, num_layers=2, bidirectional=True), forget_bias=2.0)
    for cell in layer.cells:
        for block in cell.weight_hh.chunk(gates, 0):  # each gate block orthogonal
            torch.testing.assert_close(block @ block.T, torch.eye(H), atol=1e-5, rtol=0)
        assert_uniform(cell.weight_ih, math.sqrt(6 / sum(cell.weight_ih.shape)))
        total = cell.bias_ih + cell.bias_hh
        if gates == 4:
            assert torch.all(total[H : 2 * H] == 2.0)
            total = torch.cat([total[:H], total[2 * H :]])
        assert torch.all(total == 0)


def test_init_recurrent_on_torch_lstm_and_layernorm_cell():
    lstm = init_recurrent(nn.LSTM(3, 4, num_layers=2), forget_bias=1.0)
    assert torch.all((lstm.bias_ih_l1 + lstm.bias_hh_l1)[4:8] == 1.0)
    cell = init_recurrent(snn.LayerNormLSTMCell(3, 4), forget_bias=1.0)
    assert torch.all(cell.bias_ih[4:8] == 1.0) and torch.all(cell.ln_ih.weight == 1.0)


def test_zaremba_uniform_and_uniform_scheme():
    torch.manual_seed(0)
    layer = snn.zaremba_uniform(snn.LSTM(3, 50), a=0.05)
    assert_uniform(torch.cat([p.flatten() for p in layer.parameters()]), 0.05)
    layer = init_recurrent(snn.GRU(3, 50), "uniform", "uniform", "uniform", forget_bias=None,
                           a=0.04)
    assert_uniform(torch.cat([p.flatten() for p in layer.parameters()]), 0.04)
    with pytest.raises(AssertionError):  # the check itself rejects a wrong width
        assert_uniform(torch.cat([p.flatten() for p in layer.parameters()]), 0.05)


def test_bad_init_arguments():
    with pytest.raises(ValueError, match="scheme must be one of .* got 'glorot'"):
        initialize(torch.empty(3, 3), "glorot")
    with pytest.raises(ValueError, match="needs a weight matrix .* got shape \\(3,\\)"):
        initialize(torch.empty(3), "orthogonal")
    with pytest.raises(ValueError, match="must hold recurrent parameters .* got Linear"):
        init_recurrent(nn.Linear(3, 3))


def _model_with_grads(seed: int):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2))
    (model(torch.randn(5, 4)) ** 2).sum().mul(10).backward()
    return model


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_clip_grad_norm_matches_definition(norm_type):
    model = _model_with_grads(0)
    grads = [p.grad.clone() for p in model.parameters()]
    total = torch.linalg.vector_norm(torch.cat([g.flatten() for g in grads]), norm_type)
    returned = snn.clip_grad_norm(model.parameters(), 0.5, norm_type)
    torch.testing.assert_close(returned, total)
    scale = min(1.0, 0.5 / (total.item() + 1e-6))
    for p, g in zip(model.parameters(), grads):
        torch.testing.assert_close(p.grad, g * scale)


def test_clip_grad_value():
    model = _model_with_grads(1)
    grads = [p.grad.clone() for p in model.parameters()]
    snn.clip_grad_value(model.parameters(), 0.1)
    for p, g in zip(model.parameters(), grads):
        torch.testing.assert_close(p.grad, g.clamp(-0.1, 0.1))
    with pytest.raises(ValueError, match="clip_value must be > 0, got 0"):
        snn.clip_grad_value(model.parameters(), 0)
    with pytest.raises(ValueError, match="max_norm must be > 0, got -1"):
        snn.clip_grad_norm(model.parameters(), -1)


def test_detach_state_truncates_bptt():
    torch.manual_seed(2)
    lstm = snn.LSTM(3, 4)
    x1 = torch.randn(2, 5, 3, requires_grad=True)
    _, state = lstm(x1)
    carried = snn.detach_state(state)
    assert isinstance(carried, tuple) and all(s.grad_fn is None for s in carried)
    torch.testing.assert_close(carried, state)
    out, _ = lstm(torch.randn(2, 5, 3), carried)
    out.sum().backward()
    assert x1.grad is None  # the gradient stopped at the window boundary
    assert snn.detach_state(None) is None
    h = torch.randn(2, requires_grad=True) * 2
    assert snn.detach_state(h).grad_fn is None
    nested = snn.detach_state({"enc": [h, (h, h)]})
    assert nested["enc"][1][0].grad_fn is None
    with pytest.raises(TypeError, match="state must be a tensor .* got str"):
        snn.detach_state("h")


def test_init_recurrent_leaves_other_modules_alone():
    model = nn.Sequential(nn.Linear(3, 3), snn.GRU(3, 4))
    before = model[0].bias.clone()
    init_recurrent(model)
    torch.testing.assert_close(model[0].bias, before, atol=0, rtol=0)
