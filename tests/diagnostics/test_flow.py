"""Gradient-flow diagnostics against autograd computed the slow way, and the textbook cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqlab.diagnostics import gradient_flow, jacobian_norms, reach, recurrent_spectra, tracing
from seqlab.diagnostics.flow import probe_loss, step_jacobians
from seqlab.errors import ConfigError
from seqlab.nn import GRU, LSTM, RNN, MinGRU, MinLSTM, init_recurrent


def _layer(kind: str, layers: int = 2):
    torch.manual_seed(0)
    cls = {"rnn": RNN, "lstm": LSTM, "gru": GRU, "mingru": MinGRU, "minlstm": MinLSTM}[kind]
    return cls(3, 4, num_layers=layers).double()


def _run_cells(layer, x, leaf_at):
    """The stack run with its cells (or the MinRNN coefficients) step by step; the hidden state
    at (layer, t) = ``leaf_at`` replaced by a fresh leaf. Returns (probe loss, leaf)."""
    inp, leaf = x, None
    for li in range(layer.num_layers):
        B, T = inp.shape[:2]
        if isinstance(layer, MinGRU | MinLSTM):
            k = torch.nn.functional.linear(inp, *layer.layer_parameters(li))
            state = x.new_zeros(B, layer.hidden_size)
        else:
            cell = layer.cells[li]
            state = cell.init_state(B, x)
        outs = []
        for t in range(T):
            if isinstance(layer, MinGRU | MinLSTM):
                a, b = layer.coefficients(k[:, t])
                state = a * state + b
            else:
                state = cell(inp[:, t], state)
            if (li, t) == leaf_at:
                h = state[0] if isinstance(state, tuple) else state
                leaf = h.detach().requires_grad_()
                state = (leaf, state[1]) if isinstance(state, tuple) else leaf
            outs.append(state[0] if isinstance(state, tuple) else state)
        inp = torch.stack(outs, 1)
    return probe_loss(inp), leaf


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru", "mingru", "minlstm"])
def test_dl_dh_equals_one_backward_per_step(kind):
    layer = _layer(kind)
    x = torch.randn(3, 6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    flow = gradient_flow(layer, x)
    for li in range(2):
        for t in range(6):
            loss, leaf = _run_cells(layer, x, (li, t))
            (g,) = torch.autograd.grad(loss, leaf)
            np.testing.assert_allclose(flow.per_sequence[f"l{li}"][:, t],
                                       g.norm(dim=1).numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(flow.norms["l1"], flow.per_sequence["l1"].mean(0))


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru", "mingru", "minlstm"])
def test_traced_forward_equals_the_layer(kind):
    layer = _layer(kind)
    x = torch.randn(3, 7, 3, dtype=torch.float64)
    lengths = torch.tensor([7, 2, 5])
    ref, _ = layer(x, lengths=lengths)
    with tracing(layer) as trace:
        out, _ = layer(x, lengths=lengths)
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
    assert len(trace.layers["l1"].states) == 7
    assert "forward" not in vars(layer)  # the layer's own forward is back


def test_task_model_flow_at_the_last_step_is_the_readout():
    from seqlab.models.longrange import LongRangeConfig, LongRangeModel

    torch.manual_seed(0)
    model = LongRangeModel(LongRangeConfig(cell="lstm", hidden_size=5),
                           {"task": "adding", "length": 9, "input_size": 2, "output_size": 1,
                            "chance": 0.1767}).double()
    x, y = torch.rand(4, 9, 2, dtype=torch.float64), torch.rand(4, dtype=torch.float64)
    flow = gradient_flow(model, (x, y))
    # L = sum_b (w . h_T + c - y_b)^2  =>  dL/dh_T^(b) = 2 (pred_b - y_b) w
    with torch.no_grad():
        pred = model(x)
        expected = (2 * (pred - y)).abs() * model.readout.weight.norm()
    np.testing.assert_allclose(flow.per_sequence["rnn.l0"][:, -1], expected.numpy(), rtol=1e-10)
    assert flow.cell_norms["rnn.l0"].shape == (9,)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru", "mingru"])
def test_jacobian_norm_is_the_product_of_step_jacobians(kind):
    layer = _layer(kind, layers=1)
    x = torch.randn(1, 6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    norms = jacobian_norms(layer, x)
    jacs = step_jacobians(layer, x)
    # oracle 1: each J_t equals autograd's Jacobian of one cell step at the trajectory
    if kind != "mingru":
        cell = layer.cells[0]
        with tracing(layer) as trace:
            layer(x)
        rec = trace.layers["l0"]
        H = 4
        for t in (0, 3):
            prev = (torch.zeros(2 * H if rec.cells else H, dtype=torch.float64) if t == 0 else
                    torch.cat([rec.states[t - 1][0], rec.cells[t - 1][0]]).detach()
                    if rec.cells else rec.states[t - 1][0].detach())

            def f(s, t=t):
                state = (s[None, :H], s[None, H:]) if rec.cells else s[None]
                new = cell(x[:, t], state)
                return torch.cat([new[0][0], new[1][0]]) if rec.cells else new[0]
            torch.testing.assert_close(jacs[t], torch.autograd.functional.jacobian(f, prev))
    # oracle 2: the norm of the product equals the norm of the explicit matrix product
    for k in range(7):
        P = torch.eye(jacs[0].shape[0], dtype=torch.float64)
        for J in jacs[6 - k:][::-1]:
            P = P @ J
        assert norms[k] == pytest.approx(float(torch.linalg.matrix_norm(P, ord=2)), rel=1e-10)


def test_jacobian_of_the_whole_span_equals_autograd_through_the_layer():
    layer = _layer("gru", layers=1)
    x = torch.randn(1, 5, 3, dtype=torch.float64)
    cell = layer.cells[0]

    def from_start(h0):  # s_0 -> s_T through the layer
        h = h0[None]
        for t in range(5):
            h = cell(x[:, t], h)
        return h[0]
    J = torch.autograd.functional.jacobian(from_start, torch.zeros(4, dtype=torch.float64))
    assert jacobian_norms(layer, x)[-1] == pytest.approx(float(torch.linalg.matrix_norm(J, 2)))
    assert jacobian_norms(layer, x, ord="fro")[-1] == pytest.approx(float(J.norm()))


def _rnn(gain: float) -> RNN:
    torch.manual_seed(0)
    rnn = init_recurrent(RNN(4, 32).double(), "xavier_uniform", "orthogonal", "zeros",
                         gain=gain)
    return rnn


def test_small_recurrent_weights_vanish_large_spectral_radius_explodes():
    # tiny inputs keep the states near 0, where tanh' = 1: J_t = diag(1 - h_t^2) W_hh ~ W_hh
    x = 1e-7 * torch.randn(4, 20, 4, dtype=torch.float64,
                           generator=torch.Generator().manual_seed(0))
    small, large = _rnn(0.5), _rnn(1.5)
    assert recurrent_spectra(small)["l0"]["W_hh"]["spectral_radius"] == pytest.approx(0.5)
    assert recurrent_spectra(large)["l0"]["W_hh"]["sigma_max"] == pytest.approx(1.5)
    vanish, explode = gradient_flow(small, x).norms["l0"], gradient_flow(large, x).norms["l0"]
    # 15 steps back: 0.5^15 = 3e-5 at most; 1.5^15 = 438 in the near-linear regime
    assert vanish[-16] < 1e-4 * vanish[-1]
    assert explode[-16] > 100 * explode[-1]
    assert reach(vanish, 1e-3) <= 10 and reach(explode, 1e-3) == 19
    j = jacobian_norms(large, x[:1])
    assert j[15] > 100 and j[15] <= 1.5 ** 15 * (1 + 1e-9)  # bounded by sigma_max^k


def test_lstm_forget_bias_one_keeps_the_norm_longer():
    x = torch.randn(8, 150, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    reaches = {}
    for name, forget_bias in (("lstm_fb1", 1.0), ("lstm_fb0", 0.0)):
        torch.manual_seed(0)
        lstm = init_recurrent(LSTM(4, 32).double(), forget_bias=forget_bias)
        reaches[name] = reach(gradient_flow(lstm, x).norms["l0"], 1e-3)
    reaches["rnn"] = reach(gradient_flow(_rnn(1.0), x).norms["l0"], 1e-3)
    assert reaches["lstm_fb1"] > reaches["lstm_fb0"], reaches
    assert reaches["lstm_fb1"] > reaches["rnn"], reaches


def test_reach_counts_steps_from_the_end():
    assert reach(np.array([1e-5, 1e-2, 1.0]), 1e-3) == 1
    assert reach(np.array([1.0, 1.0, 1.0]), 1e-3) == 2
    assert reach(np.array([5.0, 0.0]), 1e-3) == 0


def test_gate_statistics_count_saturation():
    torch.manual_seed(0)
    lstm = LSTM(2, 3).double()
    with torch.no_grad():
        lstm.cells[0].bias_ih[3:6] = 20.0  # forget gate pinned near 1
    flow = gradient_flow(lstm, torch.randn(2, 5, 2, dtype=torch.float64))
    f = flow.gates["l0"]["f"]
    assert np.all(f["high"] == 1.0) and np.all(f["low"] == 0.0) and np.all(f["mean"] > 0.99)
    assert set(flow.gates["l0"]) == {"i", "f", "o"}


def test_non_recurrent_model_is_a_clear_error():
    with pytest.raises(ConfigError, match="need a seqlab recurrent layer"):
        gradient_flow(torch.nn.Linear(2, 2), torch.zeros(1, 2))
    with pytest.raises(ConfigError, match="no gated recurrent layer|plain RNN"):
        from seqlab.nn.chrono import chrono_init
        chrono_init(RNN(2, 3), t_max=10)
