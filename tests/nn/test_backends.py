"""Every backend equals the reference loop (outputs, states, gradients); step == forward.

The compiled backend's tests share one shape per cell class so torch.compile's cache is reused.
"""

from __future__ import annotations

import logging

import pytest
import torch

import seqlab.nn as snn
from seqlab.nn import backends, compiled

D_IN, H, B, T = 3, 4, 3, 5
LENGTHS = torch.tensor([5, 2, 4])
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported")

PLAIN = {
    "rnn_tanh": (snn.RNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (snn.RNN, {"nonlinearity": "relu"}),
    "lstm": (snn.LSTM, {}),
    "lstm_proj": (snn.LSTM, {"proj_size": 2}),
    "gru": (snn.GRU, {}),
}
CUSTOM = {
    **PLAIN,
    "layernorm_lstm": (snn.LSTM, {"cell": snn.LayerNormLSTMCell}),
    "simple_gru": (snn.GRU, {"cell": "simple_gru"}),
}


def twins(layer_cls, kwargs, backend, dtype=torch.float64, **extra):
    """A reference layer and a `backend` layer with the same weights."""
    torch.manual_seed(0)
    ref = layer_cls(D_IN, H, backend="reference", dtype=dtype, **kwargs, **extra)
    other = layer_cls(D_IN, H, backend=backend, dtype=dtype, **kwargs, **extra)
    other.load_state_dict(ref.state_dict())
    return ref, other


def random_state(layer, batch: int, dtype):
    """A random initial state (leaf tensors) for ``layer``."""
    g = torch.Generator().manual_seed(3)
    shapes = layer._state_shapes(batch)
    state = tuple(torch.randn(s, generator=g, dtype=dtype).requires_grad_() for s in shapes)
    return state if layer.is_lstm else state[0]


def run_with_grads(layer, x, lengths, state=None):
    x = x.clone().requires_grad_()
    if state is not None:  # fresh leaves, so each run collects its own gradients
        leaves = state if isinstance(state, tuple) else (state,)
        leaves = tuple(s.detach().clone().requires_grad_() for s in leaves)
        state = leaves if isinstance(state, tuple) else leaves[0]
    out, final = layer(x, state, lengths)
    finals = final if isinstance(final, tuple) else (final,)
    g = torch.Generator().manual_seed(1)
    loss = sum((t * torch.randn(t.shape, generator=g, dtype=t.dtype)).sum()
               for t in (out, *finals))
    loss.backward()
    grads = [p.grad for p in layer.parameters()]
    if state is not None:
        grads += [s.grad for s in (state if isinstance(state, tuple) else (state,))]
    return out, finals, x.grad, grads


def assert_same(a, b, tol):
    out1, fin1, gx1, gp1 = a
    out2, fin2, gx2, gp2 = b
    torch.testing.assert_close(out1, out2, atol=tol, rtol=tol)
    torch.testing.assert_close(fin1, fin2, atol=tol, rtol=tol)
    torch.testing.assert_close(gx1, gx2, atol=tol, rtol=tol)
    for p1, p2 in zip(gp1, gp2):
        torch.testing.assert_close(p1, p2, atol=tol, rtol=tol)


@pytest.mark.parametrize("with_lengths", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("batch_first", [True, False], ids=["bf", "tf"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("mode", PLAIN)
def test_fused_equals_reference(mode, num_layers, bidirectional, batch_first, with_lengths):
    layer_cls, kwargs = PLAIN[mode]
    ref, fused = twins(layer_cls, kwargs, "fused", num_layers=num_layers,
                       bidirectional=bidirectional, batch_first=batch_first)
    assert fused.backend_used == "fused"
    x = torch.randn((B, T, D_IN) if batch_first else (T, B, D_IN), dtype=torch.float64)
    lengths = LENGTHS if with_lengths else None
    state = random_state(ref, B, torch.float64)
    assert_same(run_with_grads(ref, x, lengths, state), run_with_grads(fused, x, lengths, state),
                1e-10)


@pytest.mark.parametrize("with_lengths", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("mode", CUSTOM)
def test_compiled_equals_reference(mode, with_lengths):
    layer_cls, kwargs = CUSTOM[mode]
    ref, comp = twins(layer_cls, kwargs, "compiled", num_layers=2, bidirectional=True)
    assert comp.backend_used == "compiled"
    x = torch.randn(B, T, D_IN, dtype=torch.float64)
    lengths = LENGTHS if with_lengths else None
    state = random_state(ref, B, torch.float64)
    assert_same(run_with_grads(ref, x, lengths, state), run_with_grads(comp, x, lengths, state),
                1e-10)
    assert comp.backend_used == "compiled", "torch.compile failed and fell back (see the log)"
    with torch.no_grad():  # inference path too
        torch.testing.assert_close(comp(x, lengths=lengths)[0], ref(x, lengths=lengths)[0])
    assert comp.backend_used == "compiled"


@pytest.mark.parametrize("mode", CUSTOM)
@pytest.mark.parametrize("backend", ["reference", "auto"])
def test_step_by_step_equals_whole_sequence(mode, backend):
    layer_cls, kwargs = CUSTOM[mode]
    torch.manual_seed(2)
    layer = layer_cls(D_IN, H, num_layers=2, backend=backend, **kwargs)
    x = torch.randn(B, T, D_IN)
    with torch.no_grad():
        out, final = layer(x)
        state, steps = None, []
        for t in range(T):
            y, state = layer.step(x[:, t], state)
            steps.append(y)
    torch.testing.assert_close(torch.stack(steps, 1), out)
    torch.testing.assert_close(state, final)


def test_auto_picks_and_says(caplog):
    with caplog.at_level(logging.INFO, logger="seqlab.nn.recurrent"):
        assert snn.LSTM(3, 4).backend_used == "fused"
        assert snn.GRU(3, 4, cell="simple_gru").backend_used == "compiled"
        assert snn.LSTM(3, 4, cell=snn.LayerNormLSTMCell).backend_used == "compiled"
    assert "backend='auto' picked 'fused'" in caplog.text
    assert "picked 'compiled'" in caplog.text


def test_backend_errors():
    with pytest.raises(ValueError, match="backend='scan' runs only MinGRU/MinLSTM"):
        snn.GRU(3, 4, backend="scan")
    with pytest.raises(ValueError, match="backend='fused' supports only the plain LSTMCell, "
                                         "got cell LayerNormLSTMCell"):
        snn.LSTM(3, 4, cell="layernorm_lstm", backend="fused")
    with pytest.raises(ValueError, match="backend must be one of .* got 'cudnn'"):
        snn.RNN(3, 4, backend="cudnn")


def test_compiled_falls_back_when_torch_compile_fails(monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("no C++ compiler found")

    monkeypatch.setattr(backends, "_compiled", {})
    kernel = compiled.KERNELS["rnn_tanh"]  # RNN cells run through torch.compile
    monkeypatch.setattr(kernel, "forward", None)
    monkeypatch.setattr(kernel, "backward", None)
    with monkeypatch.context() as patch:
        patch.setattr(torch, "compile", lambda fn, **kw: broken)
        ref, comp = twins(snn.RNN, {}, "compiled")
        x = torch.randn(B, T, D_IN, dtype=torch.float64)
        with caplog.at_level(logging.WARNING, logger="seqlab.nn.backends"):
            out = comp(x)[0]
        torch.testing.assert_close(out, ref(x)[0])
        assert "failed in this call (RuntimeError: no C++ compiler found)" in caplog.text
        assert comp.backend_used == ("reference (compiled failed: RuntimeError: no C++ compiler "
                                     "found)")
        monkeypatch.setattr(kernel, "forward", None)  # compile again once torch.compile works
        monkeypatch.setattr(kernel, "backward", None)
    # the failure was local to that call: this layer and every later one run compiled again
    torch.testing.assert_close(comp(x)[0], ref(x)[0])
    assert comp.backend_used == "compiled"
    later = snn.LSTM(D_IN, H, backend="compiled", dtype=torch.float64)
    later(x)
    assert later.backend_used == "compiled"


@pytest.mark.parametrize("mode", ["lstm", "layernorm_lstm"])
def test_compiled_float32_equals_reference(mode):
    """float32 on CPU takes the oneDNN-packed GEMM path of the compiled backend."""
    layer_cls, kwargs = CUSTOM[mode]
    ref, comp = twins(layer_cls, kwargs, "compiled", dtype=torch.float32, num_layers=2,
                      bidirectional=True)
    x = torch.randn(B, T, D_IN)
    assert_same(run_with_grads(ref, x, LENGTHS), run_with_grads(comp, x, LENGTHS), 2e-4)
    assert comp.backend_used == "compiled"


@pytest.mark.parametrize("backend", ["reference", "fused", "compiled"])
def test_dropout_between_layers_only_in_training(backend):
    torch.manual_seed(5)
    ref, layer = twins(snn.GRU, {}, backend, dtype=torch.float32, num_layers=2, dropout=0.5)
    x = torch.randn(B, T, D_IN)
    layer.eval()
    torch.testing.assert_close(layer(x)[0], ref.eval()(x)[0])  # no dropout in eval
    layer.train()
    a, b = layer(x)[0], layer(x)[0]
    assert not torch.allclose(a, b), "dropout must act between layers in training"
    one = snn.GRU(D_IN, H, num_layers=1, dropout=0.5, backend=backend)
    one.load_state_dict({k: v for k, v in layer.state_dict().items() if k.startswith("cells.0")})
    torch.testing.assert_close(one(x)[0], one(x)[0])  # never after the last layer


def test_minrnn_names_load_lazily():
    assert snn.MinGRU.__name__ == "MinGRU" and snn.MinLSTM.__name__ == "MinLSTM"
