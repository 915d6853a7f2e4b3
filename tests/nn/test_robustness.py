"""Edge cases of the recurrent layers: padding holding NaN/inf, dtype mismatches, failures
inside one call of the compiled backend."""

from __future__ import annotations

import pytest
import torch

import seqlab.nn as snn
from seqlab.nn import compiled, lstm_loop

D_IN, H, B, T = 3, 4, 3, 5
LENGTHS = torch.tensor([5, 2, 4])

LAYERS = {  # name -> (class, kwargs, backends)
    "lstm": (snn.LSTM, {}, ("reference", "fused", "compiled")),
    "layernorm_lstm": (snn.LSTM, {"cell": "layernorm_lstm"}, ("reference", "compiled")),
    "gru": (snn.GRU, {}, ("reference", "fused", "compiled")),
    "simple_gru": (snn.GRU, {"cell": "simple_gru"}, ("reference", "compiled")),
    "rnn": (snn.RNN, {}, ("reference", "fused", "compiled")),
    "mingru": (snn.MinGRU, {}, ("scan", "logspace", "sequential")),
    "minlstm": (snn.MinLSTM, {}, ("scan", "logspace", "sequential")),
}
CASES = [(name, backend) for name, (_, _, bks) in LAYERS.items() for backend in bks]


def _grads(layer, x, lengths):
    x = x.clone().requires_grad_()
    out, final = layer(x, lengths=lengths)
    finals = final if isinstance(final, tuple) else (final,)
    (out.square().sum() + sum(f.sum() for f in finals)).backward()
    return out.detach(), [x.grad] + [p.grad for p in layer.parameters()]


def _padding_cases():
    """Every (layer, backend, dtype, direction); the combinations that cannot or need not run
    carry an explicit skip marker with the reason (so CI, which fails on runtime skips, keeps
    them skipped)."""
    for name, backend in CASES:
        cls = LAYERS[name][0]
        for dtype, dname in ((torch.float32, "f32"), (torch.float64, "f64")):
            for bidirectional, bname in ((False, "uni"), (True, "bi")):
                marks = []
                if cls in (snn.MinGRU, snn.MinLSTM) and bidirectional:
                    marks = [pytest.mark.skip(reason="MinGRU/MinLSTM are unidirectional")]
                elif (backend == "compiled" and name in ("gru", "simple_gru", "rnn")
                      and dtype != torch.float64):
                    marks = [pytest.mark.skip(reason="torch.compile'd kernels: float64 only, "
                                              "to keep the test fast")]
                yield pytest.param(name, backend, dtype, bidirectional, marks=marks,
                                   id=f"{name}-{backend}-{dname}-{bname}")


@pytest.mark.parametrize(("name", "backend", "dtype", "bidirectional"), list(_padding_cases()))
def test_nan_and_inf_in_padding_reach_no_gradient(name, backend, dtype, bidirectional):
    """Padded positions hold NaN/inf: outputs and gradients equal those with zeros there."""
    cls, kwargs, _ = LAYERS[name]
    extra = {} if cls in (snn.MinGRU, snn.MinLSTM) else {"bidirectional": bidirectional}
    torch.manual_seed(0)
    layer = cls(D_IN, H, num_layers=2, backend=backend, dtype=dtype, **kwargs, **extra)
    clean = torch.randn(B, T, D_IN, dtype=dtype)
    pad = torch.arange(T).unsqueeze(0) >= LENGTHS.unsqueeze(1)  # (B, T) True = padded
    clean[pad] = 0.0
    dirty = clean.clone()
    dirty[pad] = float("nan")
    dirty[1, -1, 0] = float("inf")
    dirty[2, -1, 1] = -float("inf")
    out_clean, g_clean = _grads(layer, clean, LENGTHS)
    layer.zero_grad()
    out_dirty, g_dirty = _grads(layer, dirty, LENGTHS)
    assert all(bool(g.isfinite().all()) for g in g_dirty), f"{name}/{backend}: non-finite grad"
    torch.testing.assert_close(out_dirty, out_clean, atol=0, rtol=0)
    for a, b in zip(g_dirty, g_clean):
        torch.testing.assert_close(a, b, atol=0, rtol=0)


@pytest.mark.parametrize(("name", "backend"), CASES)
def test_dtype_mismatch_names_both_dtypes(name, backend):
    cls, kwargs, _ = LAYERS[name]
    layer = cls(D_IN, H, backend=backend, dtype=torch.float32, **kwargs)
    x = torch.randn(B, T, D_IN, dtype=torch.float64)
    message = "x has dtype torch.float64 but .* parameters have dtype torch.float32"
    with pytest.raises(ValueError, match=message):
        layer(x)
    with pytest.raises(ValueError, match=message):
        layer.step(x[:, 0])


def test_a_failed_call_does_not_switch_compiled_off_for_later_layers(monkeypatch):
    """An error inside one compiled call is local to it: it falls back, says so, and the next
    call (of that layer and of new ones) runs compiled again."""
    torch.manual_seed(0)
    ref = snn.LSTM(D_IN, H, backend="reference", dtype=torch.float64)
    layer = snn.LSTM(D_IN, H, backend="compiled", dtype=torch.float64)
    layer.load_state_dict(ref.state_dict())
    x = torch.randn(B, T, D_IN, dtype=torch.float64)
    real = lstm_loop.unroll

    def fails_once(*args, **kwargs):
        monkeypatch.setattr(lstm_loop, "unroll", real)
        raise OSError("cannot load the kernel library")

    monkeypatch.setattr(lstm_loop, "unroll", fails_once)
    torch.testing.assert_close(layer(x)[0], ref(x)[0])
    assert layer.backend_used == "reference (compiled failed: OSError: cannot load the kernel " \
                                 "library)"
    torch.testing.assert_close(layer(x)[0], ref(x)[0])
    assert layer.backend_used == "compiled"
    fresh = snn.GRU(D_IN, H, backend="compiled", dtype=torch.float64)
    fresh(x)
    assert fresh.backend_used == "compiled"
    assert compiled.has_kernel(fresh.cells[0])


@pytest.mark.parametrize("cls", [snn.LSTM, snn.GRU])
def test_float32_c_loops_saturate_and_propagate_nan_as_torch(cls):
    """The float C loops' own exp (csrc/lstm_loop.c, seqlab_expf): huge and infinite
    pre-activations saturate the gates as torch's do, NaN stays NaN, and ordinary values agree
    with torch to float32 rounding."""
    torch.manual_seed(0)
    peer = getattr(torch.nn, cls.__name__)(D_IN, H, batch_first=True)
    ours = cls.from_torch(peer, backend="compiled")
    x = torch.randn(B, T, D_IN) * 3
    x[0, 1, 0], x[0, 3, 1] = 1e30, -1e30
    x[1, 2, 2], x[1, 4, 0] = float("inf"), -float("inf")
    x[2, 3, 1] = 200.0
    with torch.no_grad():
        out, ref = ours(x)[0], peer(x)[0]
    assert ours.backend_used == "compiled"
    assert torch.equal(out.isnan(), ref.isnan())  # inf - inf inside torch's kernel: same NaNs
    torch.testing.assert_close(out.nan_to_num(), ref.nan_to_num(), atol=2e-6, rtol=1e-5)
    x[2, 1, 0] = float("nan")
    with torch.no_grad():
        out = ours(x)[0]
    assert out[2, 1:].isnan().all() and not out[0].isnan().any()
