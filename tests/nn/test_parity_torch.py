"""seqlab.nn.RNN/LSTM/GRU (reference backend) equal torch.nn with the same weights.

The oracle for variable lengths is torch.nn on a PackedSequence (its documented way to skip
padding). Outputs, final states and the gradients of the input, the initial state and every
parameter are compared.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import seqlab.nn as snn

D_IN, H, B, T = 3, 4, 3, 5
LENGTHS = [5, 2, 4]  # unsorted on purpose
MODES = {
    "rnn_tanh": (snn.RNN, nn.RNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (snn.RNN, nn.RNN, {"nonlinearity": "relu"}),
    "lstm": (snn.LSTM, nn.LSTM, {}),
    "lstm_proj": (snn.LSTM, nn.LSTM, {"proj_size": 2}),
    "gru": (snn.GRU, nn.GRU, {}),
}
# torch.nn itself warns that oneDNN lacks LSTM projections (it falls back to its own loop).
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported")
TOL = {torch.float32: 1e-5, torch.float64: 1e-10}


def run_torch(module: nn.RNNBase, x, state, lengths, batch_first: bool):
    if lengths is None:
        return module(x, state)
    packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first, enforce_sorted=False)
    out, final = module(packed, state)
    out, _ = pad_packed_sequence(out, batch_first, total_length=x.shape[1 if batch_first else 0])
    return out, final


def random_state(module: nn.RNNBase, dtype):
    n = module.num_layers * (2 if module.bidirectional else 1)
    h = torch.randn(n, B, module.proj_size or module.hidden_size, dtype=dtype)
    if isinstance(module, nn.LSTM):
        return h, torch.randn(n, B, module.hidden_size, dtype=dtype)
    return h


def leaves(state):
    return tuple(s.detach().clone().requires_grad_() for s in (
        state if isinstance(state, tuple) else (state,)))


def pack(state: tuple):
    return state if len(state) == 2 else state[0]


def weighted_sum(out, final, weights):
    finals = final if isinstance(final, tuple) else (final,)
    return sum((t * w).sum() for t, w in zip((out, *finals), weights))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("with_lengths", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("batch_first", [True, False], ids=["bf", "tf"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("mode", MODES)
def test_reference_equals_torch(mode, num_layers, bidirectional, batch_first, with_lengths,
                                dtype):
    ours_cls, torch_cls, kwargs = MODES[mode]
    torch.manual_seed(0)
    theirs = torch_cls(D_IN, H, num_layers, bidirectional=bidirectional, batch_first=batch_first,
                       dtype=dtype, **kwargs)
    ours = ours_cls(D_IN, H, num_layers, bidirectional=bidirectional, batch_first=batch_first,
                    backend="reference", dtype=dtype, **kwargs)
    ours.load_state_dict(theirs.state_dict())  # torch's names load as is
    lengths = LENGTHS if with_lengths else None
    x = torch.randn((B, T, D_IN) if batch_first else (T, B, D_IN), dtype=dtype)
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    s1 = leaves(random_state(theirs, dtype))
    s2 = leaves(s1)
    out1, fin1 = ours(x1, pack(s1), None if lengths is None else torch.tensor(lengths))
    out2, fin2 = run_torch(theirs, x2, pack(s2), lengths, batch_first)
    tol = TOL[dtype]
    torch.testing.assert_close(out1, out2, atol=tol, rtol=tol)
    torch.testing.assert_close(fin1, fin2, atol=tol, rtol=tol)
    weights = [torch.randn_like(t) for t in (out2, *(fin2 if isinstance(fin2, tuple) else [fin2]))]
    weighted_sum(out1, fin1, weights).backward()
    weighted_sum(out2, fin2, weights).backward()
    torch.testing.assert_close(x1.grad, x2.grad, atol=tol, rtol=tol)
    for a, b in zip(s1, s2):
        torch.testing.assert_close(a.grad, b.grad, atol=tol, rtol=tol)
    ours_params = dict(zip(ours.torch_names(), ours.flat_weights()))
    for name, p in theirs.named_parameters():
        torch.testing.assert_close(ours_params[name].grad, p.grad, atol=tol, rtol=tol, msg=name)


@pytest.mark.parametrize("mode", MODES)
def test_zero_initial_state_and_padding(mode):
    ours_cls, torch_cls, kwargs = MODES[mode]
    torch.manual_seed(1)
    theirs = torch_cls(D_IN, H, 2, batch_first=True, bidirectional=True, **kwargs)
    ours = ours_cls.from_torch(theirs, backend="reference")
    x = torch.randn(B, T, D_IN)
    out, final = ours(x, lengths=torch.tensor(LENGTHS))
    out2, final2 = run_torch(theirs, x, None, LENGTHS, True)
    torch.testing.assert_close(out, out2)
    torch.testing.assert_close(final, final2)
    for b, n in enumerate(LENGTHS):
        assert torch.all(out[b, n:] == 0), "padded outputs must be exactly zero"


@pytest.mark.parametrize("mode", MODES)
def test_from_torch_to_torch_roundtrip(mode):
    ours_cls, torch_cls, kwargs = MODES[mode]
    theirs = torch_cls(D_IN, H, 2, bidirectional=True, batch_first=True, dropout=0.25, **kwargs)
    ours = ours_cls.from_torch(theirs)
    assert ours.dropout == 0.25 and ours.batch_first and ours.bidirectional
    back = ours.to_torch()
    assert type(back) is torch_cls
    for (n1, p1), (n2, p2) in zip(theirs.named_parameters(), back.named_parameters()):
        assert n1 == n2
        torch.testing.assert_close(p1, p2, atol=0, rtol=0)
    assert ours.weight_hh_l1_reverse is ours.cells[3].weight_hh
    x = torch.randn(B, T, D_IN)
    ours.eval()
    back.eval()
    torch.testing.assert_close(ours(x)[0], back(x)[0])


def test_mask_equals_lengths():
    torch.manual_seed(2)
    lstm = snn.LSTM(D_IN, H, 2, bidirectional=True, backend="reference")
    x = torch.randn(B, T, D_IN)
    lengths = torch.tensor(LENGTHS)
    mask = torch.arange(T).unsqueeze(0) < lengths.unsqueeze(1)
    out1, (h1, c1) = lstm(x, lengths=lengths)
    out2, (h2, c2) = lstm(x, lengths=mask)
    torch.testing.assert_close(out1, out2, atol=0, rtol=0)
    torch.testing.assert_close(h1, h2, atol=0, rtol=0)


def test_each_sequence_as_if_alone():
    """A padded batch equals each sequence run alone at its own length (backward too)."""
    torch.manual_seed(3)
    gru = snn.GRU(D_IN, H, 2, bidirectional=True, backend="reference", dtype=torch.float64)
    x = torch.randn(B, T, D_IN, dtype=torch.float64)
    out, h = gru(x, lengths=torch.tensor(LENGTHS))
    for b, n in enumerate(LENGTHS):
        out_b, h_b = gru(x[b : b + 1, :n])
        torch.testing.assert_close(out[b : b + 1, :n], out_b)
        torch.testing.assert_close(h[:, b : b + 1], h_b)
