"""MinGRU/MinLSTM: every backend equals the per-step loop; step, lengths, errors."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.errors import ConfigError, DataError
from seqlab.nn import MinGRU, MinLSTM

BACKENDS = ("sequential", "logspace", "scan")


def run(module, backend, x, state, lengths):
    """Output, final state and the gradients of x, state and every parameter."""
    module.backend = backend
    module.zero_grad()
    x = x.detach().clone().requires_grad_()
    state = state.detach().clone().requires_grad_()
    out, h_n = module(x, state, lengths)
    gen = torch.Generator().manual_seed(0)
    loss = (out * torch.randn(out.shape, generator=gen, dtype=out.dtype)).sum()
    loss = loss + (h_n * torch.randn(h_n.shape, generator=gen, dtype=out.dtype)).sum()
    loss.backward()
    grads = {name: p.grad.clone() for name, p in module.named_parameters()}
    return {"output": out.detach(), "h_n": h_n.detach(), "grad x": x.grad,
            "grad state": state.grad, **grads}


@pytest.mark.parametrize("cls", [MinGRU, MinLSTM])
@pytest.mark.parametrize("num_layers,batch_first,bias,with_lengths", [
    (1, True, True, False), (1, True, True, True), (2, False, True, True),
    (3, True, False, True), (2, True, True, False)])
def test_backends_equal_sequential_float64(cls, num_layers, batch_first, bias, with_lengths):
    torch.manual_seed(1)
    B, T, D, H = 4, 11, 6, 9
    module = cls(D, H, num_layers=num_layers, batch_first=batch_first, bias=bias,
                 dtype=torch.float64)
    x = torch.randn((B, T, D) if batch_first else (T, B, D), dtype=torch.float64) * 2
    state = torch.randn(num_layers, B, H, dtype=torch.float64)
    lengths = torch.tensor([11, 3, 1, 7]) if with_lengths else None
    want = run(module, "sequential", x, state, lengths)
    for backend in ("logspace", "scan"):
        got = run(module, backend, x, state, lengths)
        for key in want:
            torch.testing.assert_close(got[key], want[key], rtol=1e-10, atol=1e-10,
                                       msg=f"{backend}: {key}")


@pytest.mark.parametrize("cls", [MinGRU, MinLSTM])
def test_backends_agree_float32(cls):
    torch.manual_seed(2)
    module = cls(8, 16, num_layers=2)
    x, state = torch.randn(3, 40, 8), torch.randn(2, 3, 16)
    want = run(module, "sequential", x, state, torch.tensor([40, 17, 5]))
    for backend in ("logspace", "scan"):
        got = run(module, backend, x, state, torch.tensor([40, 17, 5]))
        for key in want:
            torch.testing.assert_close(got[key], want[key], rtol=1e-4, atol=1e-4,
                                       msg=f"{backend}: {key}")


@settings(max_examples=15, deadline=None)
@given(B=st.integers(1, 4), T=st.integers(1, 12), H=st.integers(1, 20), data=st.data())
def test_scan_equals_sequential_random_shapes(B, T, H, data):
    lengths = torch.tensor(data.draw(st.lists(st.integers(1, T), min_size=B, max_size=B)))
    module = MinGRU(3, H, dtype=torch.float64)
    x = torch.randn(B, T, 3, dtype=torch.float64)
    state = torch.randn(1, B, H, dtype=torch.float64)
    want = run(module, "sequential", x, state, lengths)
    got = run(module, "scan", x, state, lengths)
    for key in want:
        torch.testing.assert_close(got[key], want[key], rtol=1e-10, atol=1e-10, msg=key)


@pytest.mark.parametrize("cls", [MinGRU, MinLSTM])
@pytest.mark.parametrize("backend", BACKENDS)
def test_step_by_step_equals_whole_sequence(cls, backend):
    torch.manual_seed(3)
    module = cls(5, 7, num_layers=2, backend=backend, dtype=torch.float64)
    x = torch.randn(3, 8, 5, dtype=torch.float64)
    state = torch.randn(2, 3, 7, dtype=torch.float64)
    out, h_n = module(x, state)
    for t in range(8):
        y, state = module.step(x[:, t], state)
        torch.testing.assert_close(y, out[:, t], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(state, h_n, rtol=1e-12, atol=1e-12)
    y, zero_start = module.step(x[:, 0])  # no state: zeros
    torch.testing.assert_close(y, module(x[:, :1])[0][:, 0])


@pytest.mark.parametrize("cls", [MinGRU, MinLSTM])
@pytest.mark.parametrize("backend", BACKENDS)
def test_lengths_semantics(cls, backend):
    """Padded steps output 0 and change nothing; each final state is the one of its own end."""
    torch.manual_seed(4)
    module = cls(4, 6, num_layers=2, backend=backend, dtype=torch.float64)
    x = torch.randn(3, 10, 4, dtype=torch.float64)
    lengths = torch.tensor([4, 10, 7])
    out, h_n = module(x, lengths=lengths)
    noisy = x.clone()
    for b, n in enumerate(lengths.tolist()):
        noisy[b, n:] = 1e3  # garbage in the padding
        alone_out, alone_h = module(x[b:b + 1, :n])
        torch.testing.assert_close(out[b:b + 1, :n], alone_out)
        torch.testing.assert_close(h_n[:, b:b + 1], alone_h)
        assert (out[b, n:] == 0).all()
    out2, h2 = module(noisy, lengths=lengths)
    torch.testing.assert_close(out2, out)
    torch.testing.assert_close(h2, h_n)
    clean = run(module, backend, x, torch.zeros_like(h_n), lengths)
    dirty = run(module, backend, noisy, torch.zeros_like(h_n), lengths)
    for key in clean:  # the garbage gets zero gradient and spoils none
        torch.testing.assert_close(dirty[key], clean[key], msg=key)
    mask = torch.arange(10)[None] < lengths[:, None]  # boolean prefix mask, same meaning
    torch.testing.assert_close(module(x, lengths=mask)[0], out)


def test_long_sequence_logspace_finite():
    """T = 100k: the chunked log-space backend stays finite and equals the direct recurrence."""
    torch.manual_seed(5)
    module = MinGRU(2, 3)
    x = torch.randn(1, 100_000, 2) * 3
    module.backend = "logspace"
    out, h_n = module(x)
    assert torch.isfinite(out).all() and torch.isfinite(h_n).all()
    module.backend = "scan"
    want, want_h = module(x)
    torch.testing.assert_close(out, want, rtol=2e-4, atol=2e-4)
    torch.testing.assert_close(h_n, want_h, rtol=2e-4, atol=2e-4)


def test_auto_backend_and_parameters():
    module = MinLSTM(4, 5, num_layers=2)
    assert module.backend == "auto"
    module(torch.randn(2, 3, 4))
    assert module.backend_used == "scan (numba)"
    names = [name for name, _ in module.named_parameters()]
    assert names == ["weight_ih_l0", "bias_ih_l0", "weight_ih_l1", "bias_ih_l1"]
    assert module.weight_ih_l1.shape == (15, 5)
    assert "num_layers=2" in repr(module)
    half = MinGRU(4, 5, dtype=torch.bfloat16)  # no Numba kernel: falls back to the log scan
    x = torch.randn(2, 3, 4, dtype=torch.bfloat16)
    out, h_n = half(x)
    assert half.backend_used == "scan (logspace)" and out.dtype == torch.bfloat16
    # oracle: the float64 per-step loop on the same (bfloat16-valued) weights and input
    wide = MinGRU(4, 5, dtype=torch.float64, backend="sequential")
    wide.load_state_dict({k: v.double() for k, v in half.state_dict().items()})
    want, want_h = wide(x.double())
    torch.testing.assert_close(out.double(), want, rtol=0.05, atol=0.02)
    torch.testing.assert_close(h_n.double(), want_h, rtol=0.05, atol=0.02)
    assert MinGRU(4, 5, bias=False).bias_ih_l0 is None


@pytest.mark.parametrize("cls", [MinGRU, MinLSTM])
def test_dropout_only_between_layers_in_training(cls):
    """Oracle: ``dropout=0`` twins of the same weights, one per layer, with the dropout mask
    drawn by ``F.dropout`` from the same seed applied to layer 0's output by hand."""
    torch.manual_seed(6)
    module = cls(4, 8, num_layers=2, dropout=0.5, dtype=torch.float64)
    layers = [cls(4, 8, dtype=torch.float64), cls(8, 8, dtype=torch.float64)]
    for i, twin in enumerate(layers):
        twin.weight_ih_l0.data.copy_(getattr(module, f"weight_ih_l{i}"))
        twin.bias_ih_l0.data.copy_(getattr(module, f"bias_ih_l{i}"))
    full = cls(4, 8, num_layers=2, dtype=torch.float64)  # same weights, no dropout
    full.load_state_dict(module.state_dict())
    x = torch.randn(2, 5, 4, dtype=torch.float64)
    h0 = layers[0](x)[0]
    module.eval()  # eval: no dropout at all
    torch.testing.assert_close(module(x)[0], full(x)[0], rtol=0, atol=0)
    module.train()
    torch.manual_seed(7)
    got, got_h = module(x)
    torch.manual_seed(7)
    want, want_h1 = layers[1](torch.nn.functional.dropout(h0, 0.5, training=True))
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(got_h[1], want_h1[0], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(got_h[0], h0[:, -1], rtol=1e-12, atol=1e-12)  # layer 0 untouched
    assert not torch.allclose(got, full(x)[0])  # the mask did change the top layer
    one = cls(4, 8, num_layers=1, dropout=0.5, dtype=torch.float64).train()
    one.load_state_dict(layers[0].state_dict())
    torch.testing.assert_close(one(x)[0], h0, rtol=0, atol=0)  # nothing between layers: no-op


@pytest.mark.parametrize("cls", [MinGRU, MinLSTM])
def test_bad_input_errors(cls):
    module = cls(4, 6, num_layers=2)
    x = torch.randn(3, 5, 4)
    cases = [
        (torch.randn(3, 4), r"x must be 3-D .*got shape \(3, 4\)"),
        (torch.randn(3, 5, 7), r"input_size=4 .*got shape \(3, 5, 7\)"),
        (torch.randn(0, 5, 4), r"at least one sequence .*got shape \(0, 5, 4\)"),
    ]
    for bad, message in cases:
        with pytest.raises(DataError, match=message):
            module(bad)
    for lengths, message in [
        (torch.tensor([5, 2]), r"lengths must have shape \(B,\)=\(3,\), got \(2,\)"),
        (torch.tensor([5.0, 2.0, 1.0]), "lengths must have an integer dtype.*float32"),
        (torch.tensor([5, 0, 1]), r"lengths must be in \[1, T=5\], got values from 0 to 5"),
        (torch.tensor([6, 2, 1]), r"lengths must be in \[1, T=5\], got values from 1 to 6"),
    ]:
        with pytest.raises(DataError, match=message):
            module(x, lengths=lengths)
    with pytest.raises(DataError, match=r"state must have shape .*\(2, 3, 6\), got \(1, 3, 6\)"):
        module(x, torch.zeros(1, 3, 6))
    with pytest.raises(DataError, match=r"x_t must be a 2-D tensor .*got \(3, 5, 4\)"):
        module.step(x)
    with pytest.raises(DataError, match=r"state must have shape .*\(2, 3, 6\), got \(2, 3, 5\)"):
        module.step(x[:, 0], torch.zeros(2, 3, 5))
    assert issubclass(DataError, ValueError)


def test_bad_constructor_arguments():
    with pytest.raises(ConfigError, match="backend must be one of .*got 'fused'"):
        MinGRU(4, 5, backend="fused")
    with pytest.raises(ConfigError, match="hidden_size must be a positive int, got 0"):
        MinLSTM(4, 0)
    with pytest.raises(ConfigError, match=r"dropout must be in \[0, 1\), got 1.5"):
        MinGRU(4, 5, dropout=1.5)
