"""Large CPU buffers in huge pages and the per-thread workspaces (seqlab.nn.buffers), and the C
loops that use them: a workspace reused by consecutive backward calls must not mix them."""

from __future__ import annotations

import pytest
import torch

import seqlab.nn as snn
from seqlab.nn import buffers, lstm_loop


@pytest.mark.parametrize("shape", [(3, 4), (1 << 19,), (64, 100, 1024)])
def test_empty_gives_writable_buffers_of_the_shape_and_dtype(shape):
    for dtype in (torch.float32, torch.float64):
        t = buffers.empty(shape, dtype)
        assert t.shape == shape and t.dtype == dtype and t.is_contiguous()
        t.fill_(2.5)
        assert float(t.sum()) == 2.5 * t.numel()


def test_a_workspace_is_reused_per_name_and_small_ones_are_fresh():
    big = torch.empty(1 << 20)  # 4 MiB
    a, b = buffers.workspace(big, "x"), buffers.workspace(big, "x")
    assert a.data_ptr() == b.data_ptr() and a.shape == big.shape
    assert buffers.workspace(big, "y").data_ptr() != a.data_ptr()
    small = torch.empty(10)
    assert buffers.workspace(small, "x").data_ptr() != buffers.workspace(small, "x").data_ptr()
    wider = buffers.workspace(torch.empty(1 << 21), "x")  # grows: a new buffer
    assert wider.numel() == 1 << 21
    shaped = buffers.workspace(small, "x", (4, 1 << 18))  # the shape given, the slot reused
    assert shaped.shape == (4, 1 << 18) and shaped.data_ptr() == wider.data_ptr()


@pytest.mark.parametrize("cell", ["lstm", "layernorm_lstm", "gru"])
def test_stacked_bidirectional_layers_sharing_workspaces_match_the_reference(cell):
    """Four backward calls of a 2-layer bidirectional layer reuse one workspace in turn
    (buffers above the huge-page threshold: T B 4H doubles = 5.2 MB); float64, where the two
    backends agree to rounding."""
    if lstm_loop.c_library() is None:
        pytest.skip("no C compiler here: the C loops do not run")
    torch.manual_seed(0)
    cls, kwargs = (snn.GRU, {}) if cell == "gru" else (snn.LSTM, {"cell": cell})
    ours = cls(16, 256, 2, bidirectional=True, backend="compiled", dtype=torch.float64, **kwargs)
    ref = cls(16, 256, 2, bidirectional=True, backend="reference", dtype=torch.float64, **kwargs)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(16, 40, 16, dtype=torch.float64)
    grads = []
    for layer in (ours, ref):
        xi = x.clone().requires_grad_()
        out, _ = layer(xi)
        (out * torch.linspace(-1, 1, out.shape[-1], dtype=torch.float64)).sum().backward()
        grads.append([xi.grad] + [p.grad for p in layer.parameters()])
    assert ours.backend_used == "compiled"
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-8)


def test_a_pooled_buffer_is_handed_out_again_only_once_nothing_uses_it():
    buffers.release()
    a = buffers.pooled(torch.empty(0), (4, 1 << 16))  # 1 MiB
    view = a[1:]
    del a
    b = buffers.pooled(torch.empty(0), (4, 1 << 16))  # the first is still used through view
    assert b.data_ptr() != view.data_ptr() - (1 << 18)
    first = view.data_ptr() - (1 << 18)
    del view
    c = buffers.pooled(torch.empty(0), (3, 1 << 16))  # free now, and 1-2x the size
    assert c.data_ptr() == first and c.shape == (3, 1 << 16)
    assert buffers.pooled(torch.empty(0), (4, 1 << 16)).data_ptr() not in (first, b.data_ptr())
    small = buffers.pooled(torch.empty(0), (10,))
    assert small.shape == (10,)
    buffers.release()


def test_two_forwards_before_the_backwards_keep_their_own_saved_buffers():
    """The C loops' saved buffers come from the pool: a second forward while the first's graph
    is alive must not reuse them (gradient accumulation over micro-batches, an encoder run
    twice)."""
    if lstm_loop.c_library() is None:
        pytest.skip("no C compiler here: the C loops do not run")
    torch.manual_seed(0)
    kw = {"cell": "layernorm_lstm", "dtype": torch.float64}
    ours = snn.LSTM(16, 128, 2, backend="compiled", **kw)
    ref = snn.LSTM(16, 128, 2, backend="reference", **kw)
    ref.load_state_dict(ours.state_dict())
    xs = [torch.randn(8, 40, 16, dtype=torch.float64) for _ in range(2)]
    grads = []
    for layer in (ours, ref):
        outs = [layer(x)[0] for x in xs]  # both graphs alive at once
        sum((o * (i + 1)).sum() for i, o in enumerate(outs)).backward()
        grads.append([p.grad for p in layer.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, atol=1e-8, rtol=1e-8)


def test_the_pool_keeps_a_bounded_amount_of_unused_memory(monkeypatch):
    """Batches of many sizes leave free buffers behind: a miss forgets the least recently used
    ones beyond POOL_FREE_BYTES, and a full pool of buffers in use stops keeping new ones."""
    buffers.release()
    monkeypatch.setattr(buffers, "POOL_FREE_BYTES", 3 << 20)
    monkeypatch.setattr(buffers, "POOL_MAX", 4)
    for size in range(1, 9):  # 1 MiB .. 8 MiB, each freed at once
        buffers.pooled(torch.empty(0), (size << 18,))
        pool = buffers._WORKSPACES.pool
        idle = sum(b.numel() * 4 for b, _ in pool if buffers._free((b, _)))
        assert len(pool) <= 4 and idle <= (3 << 20) + (size << 20)  # the newest may exceed
    held = [buffers.pooled(torch.empty(0), (1 << 18,)) for _ in range(6)]  # all in use
    assert len(buffers._WORKSPACES.pool) == 4 and len({t.data_ptr() for t in held}) == 6
    buffers.release()
