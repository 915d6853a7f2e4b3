"""Bad input raises ValueError naming the argument, what was expected and what came."""

from __future__ import annotations

import pytest
import torch

import seqlab.nn as snn

B, T, D_IN, H = 3, 5, 4, 6


@pytest.fixture(params=["reference", "fused"])
def lstm(request):
    return snn.LSTM(D_IN, H, num_layers=2, backend=request.param)


@pytest.mark.parametrize(
    "x, match",
    [
        (torch.randn(T, D_IN), r"x must be 3-D \(B, T, D\) with D=4, got shape \(5, 4\)"),
        (torch.randn(B, T, D_IN, 1), r"x must be 3-D .* got shape \(3, 5, 4, 1\)"),
        (torch.randn(B, T, D_IN + 1), r"feature size D=input_size=4 .* got shape \(3, 5, 5\)"),
        (torch.randn(0, T, D_IN), r"at least one sequence \(B >= 1\), got shape \(0, 5, 4\)"),
        (torch.randn(B, 0, D_IN), r"at least one time step \(T >= 1\), got shape \(3, 0, 4\)"),
        (torch.ones(B, T, D_IN, dtype=torch.long), "floating-point tensor, got dtype torch.int64"),
        ([[1.0]], "x must be a torch.Tensor .* got list"),
    ],
)
def test_bad_x(lstm, x, match):
    with pytest.raises(ValueError, match=match):
        lstm(x)


@pytest.mark.parametrize(
    "lengths, match",
    [
        (torch.tensor([5, 2]), r"lengths must have shape \(B,\)=\(3,\), got \(2,\)"),
        (torch.tensor([[5, 2, 4]]), r"lengths must have shape \(B,\)=\(3,\), got \(1, 3\)"),
        (torch.tensor([5.0, 2.0, 4.0]), "integer dtype .* got torch.float32"),
        (torch.tensor([5, 0, 4]), r"lengths must be in \[1, T=5\], got values from 0 to 5"),
        (torch.tensor([5, -1, 4]), r"lengths must be in \[1, T=5\], got values from -1 to 5"),
        (torch.tensor([6, 2, 4]), r"lengths must be in \[1, T=5\], got values from 2 to 6"),
        (torch.ones(B, T + 1, dtype=torch.bool), r"mask must have shape \(B, T\)=\(3, 5\), got"),
        (torch.tensor([[1, 0, 1, 1, 1]] * B, dtype=torch.bool), "prefix .* got a mask with gaps"),
        ("5,2,4", "lengths must be a .* got str"),
    ],
)
def test_bad_lengths(lstm, lengths, match):
    with pytest.raises(ValueError, match=match):
        lstm(torch.randn(B, T, D_IN), lengths=lengths)


def test_lengths_as_list_is_accepted(lstm):
    out, _ = lstm(torch.randn(B, T, D_IN), lengths=[5, 2, 4])
    assert torch.all(out[1, 2:] == 0)


@pytest.mark.parametrize(
    "state, match",
    [
        (torch.zeros(2, B, H), r"state must be a tuple \(h, c\) for LSTM, got Tensor"),
        ((torch.zeros(1, B, H), torch.zeros(2, B, H)),
         r"state h must have shape .*=\(2, 3, 6\), got \(1, 3, 6\)"),
        ((torch.zeros(2, B, H), torch.zeros(2, B + 1, H)),
         r"state c must have shape .*=\(2, 3, 6\), got \(2, 4, 6\)"),
        ((torch.zeros(2, B, H, dtype=torch.float64), torch.zeros(2, B, H)),
         "state h must have the dtype of x .* got torch.float64"),
    ],
)
def test_bad_lstm_state(lstm, state, match):
    with pytest.raises(ValueError, match=match):
        lstm(torch.randn(B, T, D_IN), state)


def test_bad_gru_state_and_step():
    gru = snn.GRU(D_IN, H, bidirectional=True)
    with pytest.raises(ValueError, match=r"state must have shape .*=\(2, 3, 6\), got \(1, 3, 6\)"):
        gru(torch.randn(B, T, D_IN), torch.zeros(1, B, H))
    with pytest.raises(ValueError, match="step\\(\\) needs a unidirectional layer"):
        gru.step(torch.randn(B, D_IN))
    with pytest.raises(ValueError, match=r"x_t must be a 2-D tensor \(B, input_size=4\), got"):
        snn.GRU(D_IN, H).step(torch.randn(B, 1, D_IN))


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: snn.LSTM(3, 4, num_layers=0), "num_layers must be an int >= 1, got 0"),
        (lambda: snn.LSTM(3, 4, dropout=1.5), r"dropout must be in \[0, 1\), got 1.5"),
        (lambda: snn.LSTM(3, 4, cell="transformer"), "cell must be one of .* got 'transformer'"),
        (lambda: snn.GRU(3, 4, cell=snn.LSTMCell), "cell for GRU must be a cell with a single "
                                                  "state h, got LSTMCell"),
        (lambda: snn.LSTM(3, 4, cell="layernorm_lstm", proj_size=2),
         "proj_size=2 needs cell=LSTMCell, got LayerNormLSTMCell"),
        (lambda: snn.LSTM.from_torch(torch.nn.GRU(3, 4)), "needs a torch.nn.LSTM, got GRU"),
        (lambda: snn.LSTM(3, 4, cell="layernorm_lstm").to_torch(), "torch.nn has no such cell"),
        (lambda: snn.RNN(3, 4, nonlinearity="sigmoid"), "nonlinearity must be 'tanh' or 'relu'"),
    ],
)
def test_bad_configuration(build, match):
    with pytest.raises(ValueError, match=match):
        build()
