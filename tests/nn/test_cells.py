"""Cells against torch.nn's cells, hand-written seed equations, and float64 gradcheck."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import seqlab.nn as snn

D_IN, H, B = 3, 4, 2


@pytest.mark.parametrize(
    "ours_cls, torch_cls, kwargs",
    [
        (snn.RNNCell, nn.RNNCell, {"nonlinearity": "tanh"}),
        (snn.RNNCell, nn.RNNCell, {"nonlinearity": "relu"}),
        (snn.LSTMCell, nn.LSTMCell, {}),
        (snn.GRUCell, nn.GRUCell, {}),
    ],
)
@pytest.mark.parametrize("bias", [True, False])
def test_cell_equals_torch_cell(ours_cls, torch_cls, kwargs, bias):
    torch.manual_seed(0)
    theirs = torch_cls(D_IN, H, bias=bias, dtype=torch.float64, **kwargs)
    ours = ours_cls(D_IN, H, bias=bias, dtype=torch.float64, **kwargs)
    ours.load_state_dict(theirs.state_dict())  # same names and gate order
    x = torch.randn(B, D_IN, dtype=torch.float64)
    state = torch.randn(B, H, dtype=torch.float64)
    if ours.is_lstm:
        state = (state, torch.randn(B, H, dtype=torch.float64))
    torch.testing.assert_close(ours(x, state), theirs(x, state))
    torch.testing.assert_close(ours(x), theirs(x))


def test_projected_lstm_cell_equals_torch_lstm_step():
    torch.manual_seed(1)
    theirs = nn.LSTM(D_IN, H, proj_size=2, batch_first=True, dtype=torch.float64)
    cell = snn.LSTMCell(D_IN, H, proj_size=2, dtype=torch.float64)
    cell.load_state_dict({k[: -len("_l0")]: v for k, v in theirs.state_dict().items()})
    x = torch.randn(B, 1, D_IN, dtype=torch.float64)
    h0, c0 = torch.randn(1, B, 2, dtype=torch.float64), torch.randn(1, B, H, dtype=torch.float64)
    _, (h1, c1) = theirs(x, (h0, c0))
    h, c = cell(x[:, 0], (h0[0], c0[0]))
    torch.testing.assert_close(h, h1[0])
    torch.testing.assert_close(c, c1[0])


def test_simple_gru_is_seed_003():
    """Seed 003: c~ = tanh(W_c [c, x] + b_c), u = sigma(W_u [c, x] + b_u), c' = u c~ + (1-u) c."""
    torch.manual_seed(2)
    cell = snn.SimpleGRUCell(D_IN, H, dtype=torch.float64)
    W_u = torch.cat([cell.weight_hh[:H], cell.weight_ih[:H]], 1)  # acts on [c_prev, x]
    W_c = torch.cat([cell.weight_hh[H:], cell.weight_ih[H:]], 1)
    b_u = cell.bias_ih[:H] + cell.bias_hh[:H]
    b_c = cell.bias_ih[H:] + cell.bias_hh[H:]
    x, c_prev = torch.randn(B, D_IN, dtype=torch.float64), torch.randn(B, H, dtype=torch.float64)
    cx = torch.cat([c_prev, x], 1)
    c_tilde = torch.tanh(cx @ W_c.T + b_c)
    gamma_u = torch.sigmoid(cx @ W_u.T + b_u)
    torch.testing.assert_close(cell(x, c_prev), gamma_u * c_tilde + (1 - gamma_u) * c_prev)
    with torch.no_grad():  # update gate ~1 takes the new value (003's convention)
        cell.bias_ih[:H] = 50.0
    torch.testing.assert_close(cell(x, c_prev), torch.tanh(cx @ W_c.T + b_c))


def test_gru_update_gate_near_one_keeps_old_state():
    """Seed 004: with z ~ 1 the GRU keeps h (the 000/001 and torch convention)."""
    cell = snn.GRUCell(D_IN, H, dtype=torch.float64)
    with torch.no_grad():
        cell.bias_ih[H : 2 * H] = 50.0
    x, h = torch.randn(B, D_IN, dtype=torch.float64), torch.randn(B, H, dtype=torch.float64)
    torch.testing.assert_close(cell(x, h), h)


def _layer_norm(a, gain, shift, eps):
    mean = a.mean(-1, keepdim=True)
    var = ((a - mean) ** 2).mean(-1, keepdim=True)
    return (a - mean) / torch.sqrt(var + eps) * gain + shift


def test_layernorm_lstm_equals_hand_written_equations():
    torch.manual_seed(3)
    cell = snn.LayerNormLSTMCell(D_IN, H, dtype=torch.float64)
    with torch.no_grad():  # non-trivial gains and shift
        for p in (cell.ln_ih.weight, cell.ln_hh.weight, cell.ln_c.weight, cell.ln_c.bias):
            p.uniform_(0.5, 1.5)
    x, h, c = (torch.randn(B, n, dtype=torch.float64) for n in (D_IN, H, H))
    eps, zero = cell.ln_c.eps, 0.0
    a = (_layer_norm(x @ cell.weight_ih.T, cell.ln_ih.weight, zero, eps)
         + _layer_norm(h @ cell.weight_hh.T, cell.ln_hh.weight, zero, eps) + cell.bias_ih)
    i, f, g, o = a.sigmoid()[:, :H], a.sigmoid()[:, H : 2 * H], a[:, 2 * H : 3 * H].tanh(), \
        a[:, 3 * H :].sigmoid()
    c_new = f * c + i * g
    h_new = o * torch.tanh(_layer_norm(c_new, cell.ln_c.weight, cell.ln_c.bias, eps))
    h1, c1 = cell(x, (h, c))
    torch.testing.assert_close(c1, c_new)
    torch.testing.assert_close(h1, h_new)


CELL_CASES = [
    (snn.RNNCell, {"nonlinearity": "tanh"}),
    (snn.RNNCell, {"nonlinearity": "relu"}),
    (snn.LSTMCell, {}),
    (snn.LSTMCell, {"proj_size": 2}),
    (snn.GRUCell, {}),
    (snn.SimpleGRUCell, {}),
    (snn.LayerNormLSTMCell, {}),
]


@pytest.mark.parametrize("cell_cls, kwargs", CELL_CASES, ids=lambda v: getattr(v, "__name__", v))
def test_gradcheck(cell_cls, kwargs):
    torch.manual_seed(4)
    cell = cell_cls(D_IN, H, dtype=torch.float64, **kwargs)
    x = torch.randn(B, D_IN, dtype=torch.float64, requires_grad=True)
    init = cell.init_state(B, x)
    state = tuple(torch.randn_like(s).requires_grad_() for s in (
        init if isinstance(init, tuple) else (init,)))
    params = tuple(cell.parameters())

    def step(x, *rest):
        s = rest[: len(state)]
        swap = dict(zip([n for n, _ in cell.named_parameters()], rest[len(state) :]))
        out = torch.func.functional_call(cell, swap, (x, s if len(s) == 2 else s[0]))
        return out

    assert torch.autograd.gradcheck(step, (x, *state, *params))


def test_bad_cell_arguments():
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu', got 'gelu'"):
        snn.RNNCell(2, 3, nonlinearity="gelu")
    with pytest.raises(ValueError, match=r"proj_size must be an int in \[0, hidden_size=3\)"):
        snn.LSTMCell(2, 3, proj_size=3)
    with pytest.raises(ValueError, match="hidden_size must be a positive int, got 0"):
        snn.GRUCell(2, 0)
