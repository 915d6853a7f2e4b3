"""Scan primitives vs the plain per-step loop; the hand-written backward vs gradcheck."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from seqlab.nn.scan import (
    fused_scan_supported,
    logspace_scan,
    min_gru_scan,
    min_lstm_scan,
    sequential_scan,
)


def g(k):
    return torch.where(k >= 0, k + 0.5, torch.sigmoid(k))


def gru_coefficients(k):
    k_z, k_h = k.chunk(2, -1)
    z = torch.sigmoid(k_z)
    return 1 - z, z * g(k_h)


def lstm_coefficients(k):
    k_f, k_i, k_h = k.chunk(3, -1)
    f, i = torch.sigmoid(k_f), torch.sigmoid(k_i)
    return f / (f + i), i / (f + i) * g(k_h)


def loop_oracle(coefficients, P, bias, h0, lengths):
    """Per-step loop with autograd; padded steps use a = 1, b = 0 and output 0."""
    a, b = coefficients(P + bias)
    T = P.shape[1]
    mask = (torch.arange(T)[None] < lengths[:, None]).unsqueeze(2)
    a = torch.where(mask, a, torch.ones_like(a))
    b = torch.where(mask, b, torch.zeros_like(b))
    states = sequential_scan(a, b, h0)
    return states * mask, states[:, -1]


KINDS = [(min_gru_scan, gru_coefficients, 2), (min_lstm_scan, lstm_coefficients, 3)]


def random_problem(gates, B, T, H, dtype, seed=0):
    gen = torch.Generator().manual_seed(seed)
    P = torch.randn(B, T, gates * H, generator=gen, dtype=dtype) * 2
    bias = torch.randn(gates * H, generator=gen, dtype=dtype)
    h0 = torch.randn(B, H, generator=gen, dtype=dtype)
    lengths = torch.randint(1, T + 1, (B,), generator=gen)
    lengths[0] = T
    return [t.requires_grad_() for t in (P, bias, h0)], lengths


@pytest.mark.parametrize("fused,coefficients,gates", KINDS)
@pytest.mark.parametrize("B,H", [(5, 19), (1, 40), (2, 3)])  # (1, 40): units split in blocks
def test_fused_equals_loop_float64(fused, coefficients, gates, B, H):
    (P, bias, h0), lengths = random_problem(gates, B, 9, H, torch.float64)
    out, h_last = fused(P, bias, h0, lengths)
    ref_out, ref_last = loop_oracle(coefficients, P, bias, h0, lengths)
    torch.testing.assert_close(out, ref_out, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(h_last, ref_last, rtol=1e-12, atol=1e-12)
    grad_out, grad_last = torch.randn_like(out), torch.randn_like(h_last)
    got = torch.autograd.grad((out * grad_out).sum() + (h_last * grad_last).sum(), (P, bias, h0))
    want = torch.autograd.grad((ref_out * grad_out).sum() + (ref_last * grad_last).sum(),
                               (P, bias, h0))
    for name, a, b in zip(("P", "bias", "h0"), got, want):
        torch.testing.assert_close(a, b, rtol=1e-11, atol=1e-11, msg=f"grad of {name}")


@pytest.mark.parametrize("fused,coefficients,gates", KINDS)
def test_fused_float32_close_to_float64_loop(fused, coefficients, gates):
    (P, bias, h0), lengths = random_problem(gates, 4, 30, 33, torch.float64, seed=1)
    ref_out, ref_last = loop_oracle(coefficients, P, bias, h0, lengths)
    out, h_last = fused(P.float(), bias.float(), h0.float(), lengths)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out.double(), ref_out, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(h_last.double(), ref_last, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("fused,coefficients,gates", KINDS)
def test_hand_written_backward_gradcheck(fused, coefficients, gates):
    (P, bias, h0), lengths = random_problem(gates, 3, 5, 4, torch.float64, seed=2)
    lengths = torch.tensor([5, 2, 4])
    assert torch.autograd.gradcheck(lambda *a: fused(*a, lengths), (P, bias, h0))
    assert torch.autograd.gradcheck(lambda *a: fused(*a), (P, bias, h0))


def test_fused_without_bias_and_lengths():
    (P, _, h0), _ = random_problem(2, 2, 6, 5, torch.float64)
    out, h_last = min_gru_scan(P, None, h0)
    ref_out, ref_last = loop_oracle(gru_coefficients, P, torch.zeros(10, dtype=P.dtype), h0,
                                    torch.tensor([6, 6]))
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(h_last, out[:, -1])


def test_fused_rejects_unsupported_input():
    assert not fused_scan_supported(torch.zeros(1, dtype=torch.float16))
    with pytest.raises(ValueError, match="float32/float64"):
        min_gru_scan(torch.zeros(1, 2, 4, dtype=torch.float16), None,
                     torch.zeros(1, 2, dtype=torch.float16))
    with pytest.raises(ValueError, match="3 \\* H = 6 features, got 4"):
        min_lstm_scan(torch.zeros(1, 2, 4), None, torch.zeros(1, 2))


def test_logspace_scan_equals_loop_any_sign_h0():
    gen = torch.Generator().manual_seed(3)
    log_a = -torch.rand(3, 50, 4, generator=gen, dtype=torch.float64) * 3
    log_b = torch.randn(3, 50, 4, generator=gen, dtype=torch.float64)
    h0 = torch.randn(3, 4, generator=gen, dtype=torch.float64)  # negative entries too
    want = sequential_scan(log_a.exp(), log_b.exp(), h0)
    for chunk_size in (1, 7, 50, 128):
        torch.testing.assert_close(logspace_scan(log_a, log_b, h0, chunk_size), want,
                                   rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="chunk_size must be >= 1, got 0"):
        logspace_scan(log_a, log_b, h0, 0)


def test_logspace_scan_long_sequence_stays_accurate():
    """T = 100k in float32: the chunked scan stays finite and equals the direct recurrence."""
    T = 100_000
    gen = torch.Generator().manual_seed(4)
    P = torch.randn(1, T, 8, generator=gen) * 3
    h0 = torch.randn(1, 4, generator=gen)
    want, _ = min_gru_scan(P, None, h0)  # direct recurrence: a convex mix, cannot overflow
    k_z, k_h = P.chunk(2, -1)
    log_a = -torch.nn.functional.softplus(k_z)
    log_b = -torch.nn.functional.softplus(-k_z) + torch.log(g(k_h))
    got = logspace_scan(log_a, log_b, h0)
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got, want, rtol=2e-4, atol=2e-4)
    # the guard matters: one chunk over all T leaves a* near -1e5, where float32 keeps no digits
    unchunked = logspace_scan(log_a, log_b, h0, chunk_size=T)
    assert not torch.allclose(unchunked, want, rtol=2e-4, atol=2e-4)


def test_numba_pool_start_keeps_torch_threads():
    """Numba's 'omp' pool start used to raise torch's thread count (1 -> 2) behind its back."""
    code = ("import torch; torch.set_num_threads(1)\n"
            "from seqlab.nn import MinGRU\n"
            "MinGRU(3, 4)(torch.randn(2, 5, 3))[0].sum().backward()\n"
            "print(torch.get_num_threads())\n")
    env = {**os.environ, "NUMBA_NUM_THREADS": "2"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=300, check=True)
    assert done.stdout.split() == ["1"]


@pytest.mark.parametrize("cls", ["MinGRU", "MinLSTM"])
def test_fused_layer_equals_logspace_reference(cls):
    """The fused node (GEMM + kernel + GEMM backward) against the log-space scan, float64."""
    import seqlab.nn as snn
    from seqlab.nn.scan import fused_layer

    torch.manual_seed(7)
    module = getattr(snn, cls)(5, 6, dtype=torch.float64)
    weight, bias = module.layer_parameters(0)
    x = (torch.randn(3, 40, 5, dtype=torch.float64) * 2).requires_grad_()
    h0 = torch.rand(3, 6, dtype=torch.float64).requires_grad_()
    out, h_last = fused_layer(module.kind, x, weight, bias, h0)
    want = logspace_scan(*module.log_coefficients(torch.nn.functional.linear(x, weight, bias)), h0)
    torch.testing.assert_close(out, want, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(h_last, want[:, -1], rtol=1e-10, atol=1e-10)
    grad = torch.randn_like(out)
    inputs = (x, weight, bias, h0)
    got = torch.autograd.grad((out * grad).sum(), inputs)
    ref = torch.autograd.grad((want * grad).sum(), inputs)
    for name, a, b in zip(("x", "weight", "bias", "h0"), got, ref):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9, msg=f"grad of {name}")
    gates = module.gates
    args = [torch.randn(shape, dtype=torch.float64, requires_grad=True)
            for shape in ((3, 4, 3), (gates * 2, 3), (gates * 2,), (3, 2))]  # x, W, bias, h0
    lengths = torch.tensor([4, 2, 3])
    assert torch.autograd.gradcheck(lambda *a: fused_layer(module.kind, *a, lengths), args)


@pytest.mark.parametrize("cls", ["MinGRU", "MinLSTM"])
def test_fused_layer_long_sequence_matches_chunked_logspace(cls):
    """T = 30k in float32: the direct kernels and the underflow-guarded log scan agree."""
    import seqlab.nn as snn

    torch.manual_seed(8)
    module = getattr(snn, cls)(2, 3)
    x = torch.randn(2, 30_000, 2) * 3
    module.backend = "scan"
    want, want_h = module(x)
    module.backend = "logspace"
    got, got_h = module(x)
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got, want, rtol=2e-4, atol=2e-4)
    torch.testing.assert_close(got_h, want_h, rtol=2e-4, atol=2e-4)
