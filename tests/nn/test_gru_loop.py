"""The compiled backend's C GRU and SimpleGRU loops (seqlab.nn.gru_loop): outputs and
gradients against autograd through the reference loop, any thread count giving the same bits."""

from __future__ import annotations

import pytest
import torch

import seqlab.nn as snn
from seqlab.nn import gru_loop, lstm_loop
from seqlab.nn.recurrent import unroll as reference_unroll

# B = 7 (not a multiple of the GEMM's row block), H = 5 (3H = 15: a partial GEMM panel)
T, B, D, H = 6, 7, 3, 5
LENGTHS = torch.tensor([6, 2, 5, 1, 6, 3, 4])

pytestmark = pytest.mark.skipif(lstm_loop.c_library() is None, reason="no C compiler here")


def run(unroll, cell, x, h0, mask, reverse):
    x, h0 = x.clone().requires_grad_(), h0.clone().requires_grad_()
    m = None if mask is None else mask.unsqueeze(-1)
    out, h = unroll(cell, x, h0, m, reverse)
    g = torch.Generator().manual_seed(1)
    loss = (out * torch.randn(out.shape, generator=g, dtype=out.dtype)).sum() + (h * h).sum()
    grads = torch.autograd.grad(loss, [x, h0, *cell.parameters()])
    return (out.detach(), h.detach(), *grads)


CELLS = {"gru": snn.GRUCell, "simple_gru": snn.SimpleGRUCell}


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("with_mask", [False, True])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("kind", CELLS)
def test_c_gru_loop_equals_reference(kind, dtype, with_mask, reverse, bias):
    torch.manual_seed(0)
    cell = CELLS[kind](D, H, bias=bias, dtype=dtype)
    g = torch.Generator().manual_seed(4)
    x = torch.randn(T, B, D, generator=g, dtype=dtype)
    h0 = torch.randn(B, H, generator=g, dtype=dtype)
    mask = (torch.arange(T).unsqueeze(1) < LENGTHS) if with_mask else None
    assert gru_loop.runs_here(x)
    tol = 1e-12 if dtype == torch.float64 else 2e-5
    for a, b in zip(run(gru_loop.unroll, cell, x, h0, mask, reverse),
                    run(reference_unroll, cell, x, h0, mask, reverse)):
        torch.testing.assert_close(a, b, atol=tol, rtol=tol)
    with torch.no_grad():  # the inference path (one scratch slot)
        m = None if mask is None else mask.unsqueeze(-1)
        out, h = gru_loop.unroll(cell, x, h0, m, reverse)
        ref_out, ref_h = reference_unroll(cell, x, h0, m, reverse)
    torch.testing.assert_close(out, ref_out, atol=tol, rtol=tol)
    torch.testing.assert_close(h, ref_h, atol=tol, rtol=tol)


@pytest.mark.parametrize("kind", CELLS)
def test_gradcheck_float64(kind):
    torch.manual_seed(2)
    cell = CELLS[kind](2, 3, dtype=torch.float64)
    x = torch.randn(4, 3, 2, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(3, 3, dtype=torch.float64, requires_grad=True)
    mask = (torch.arange(4).unsqueeze(1) < torch.tensor([4, 1, 3])).unsqueeze(-1)
    params = list(cell.parameters())

    def f(x, h0, *weights):
        with torch.nn.utils.stateless._reparametrize_module(
                cell, dict(zip([n for n, _ in cell.named_parameters()], weights))):
            out, h = gru_loop.unroll(cell, x, h0, mask, False)
        return out, h

    assert torch.autograd.gradcheck(f, (x, h0, *params))


@pytest.mark.parametrize("batch", [B, 40], ids=["panels", "rows"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("kind", CELLS)
def test_any_number_of_threads_gives_the_same_bits(monkeypatch, kind, dtype, batch):
    """Shared GEMM panels (small batch) or whole rows per thread (B = 40): same bits."""
    torch.manual_seed(0)
    cell = CELLS[kind](D, H, dtype=dtype)
    g = torch.Generator().manual_seed(6)
    x = torch.randn(T, batch, D, generator=g, dtype=dtype)
    h0 = torch.randn(batch, H, generator=g, dtype=dtype)
    lengths = torch.randint(1, T + 1, (batch,), generator=g)
    mask = (torch.arange(T).unsqueeze(1) < lengths).unsqueeze(-1)
    results = []
    for threads in (1, 2, 3):
        monkeypatch.setattr(lstm_loop, "_threads", lambda B, H, n=threads: n)
        results.append(run(gru_loop.unroll, cell, x, h0, mask, True))
    for one, *more in zip(*results):
        assert all(torch.equal(one, other) for other in more)


@pytest.mark.parametrize("kind", CELLS)
def test_compiled_gru_layer_uses_the_c_loop(monkeypatch, kind):
    calls = []
    real = gru_loop.unroll
    monkeypatch.setattr(gru_loop, "unroll", lambda *a, **k: calls.append(1) or real(*a, **k))
    layer = snn.GRU(D, H, num_layers=2, bidirectional=True, backend="compiled", cell=kind,
                    dtype=torch.float64)
    layer(torch.randn(B, T, D, dtype=torch.float64), lengths=LENGTHS)
    assert len(calls) == 4 and layer.backend_used == "compiled"
