"""The compiled backend's LSTM loops (seqlab.nn.lstm_loop): the hand-written backward against
autograd through the reference loop, for the C kernels and their PyTorch-op fallback."""

from __future__ import annotations

import pytest
import torch

import seqlab.nn as snn
from seqlab.nn import lstm_loop
from seqlab.nn.recurrent import unroll as reference_unroll

# B = 7 (not a multiple of the GEMM's 6-row block), H = 5 (4H = 20: a partial GEMM panel)
T, B, D, H = 6, 7, 3, 5
LENGTHS = torch.tensor([6, 2, 5, 1, 6, 3, 4])


@pytest.fixture(params=["c", "torch"])
def kernels(request, monkeypatch):
    """Runs a test with the C kernels, then with the PyTorch-op fallback."""
    if request.param == "c":
        if lstm_loop.c_library() is None:
            pytest.skip("no C compiler here: the fallback is what runs")
    else:
        monkeypatch.setattr(lstm_loop, "_library_cache", [None])
    return request.param


def make_cell(kind: str, dtype=torch.float64):
    torch.manual_seed(0)
    if kind == "lstm":
        return snn.LSTMCell(D, H, dtype=dtype)
    cell = snn.LayerNormLSTMCell(D, H, bias=kind != "layernorm_lstm_nobias", dtype=dtype)
    with torch.no_grad():  # gains and shifts away from their 1 / 0 start
        for p in (cell.ln_ih.weight, cell.ln_hh.weight, cell.ln_c.weight, cell.ln_c.bias):
            p.add_(0.3 * torch.randn_like(p))
    return cell


def run(unroll, cell, x, state, mask, reverse):
    """Outputs and the gradients of a random loss w.r.t. x, state and every parameter."""
    x = x.clone().requires_grad_()
    state = tuple(s.clone().requires_grad_() for s in state)
    out, (h, c) = unroll(cell, x, state, mask, reverse)
    g = torch.Generator().manual_seed(1)
    loss = sum((t * torch.randn(t.shape, generator=g, dtype=t.dtype)).sum() for t in (out, h, c))
    params = [p for p in cell.parameters()]
    grads = torch.autograd.grad(loss, [x, *state, *params])
    return [out, h, c, *grads]


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("with_mask", [False, True], ids=["full", "mask"])
@pytest.mark.parametrize("kind", ["lstm", "layernorm_lstm", "layernorm_lstm_nobias"])
def test_hand_written_backward_equals_autograd_of_reference(kernels, kind, with_mask, reverse):
    cell = make_cell(kind)
    g = torch.Generator().manual_seed(2)
    x = torch.randn(T, B, D, generator=g, dtype=torch.float64)
    state = (torch.randn(B, H, generator=g, dtype=torch.float64),
             torch.randn(B, H, generator=g, dtype=torch.float64))
    mask = (torch.arange(T).unsqueeze(1) < LENGTHS).unsqueeze(-1) if with_mask else None
    ours = run(lstm_loop.unroll, cell, x, state, mask, reverse)
    ref = run(reference_unroll, cell, x, state, mask, reverse)
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-10)
    if with_mask:  # padded steps output 0
        assert (ours[0][~mask.expand(T, B, H)] == 0).all()


@pytest.mark.parametrize("kind", ["lstm", "layernorm_lstm"])
def test_gradcheck(kernels, kind):
    cell = make_cell(kind)
    g = torch.Generator().manual_seed(4)
    x = torch.randn(4, 3, D, generator=g, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(3, H, generator=g, dtype=torch.float64, requires_grad=True)
    c0 = torch.randn(3, H, generator=g, dtype=torch.float64, requires_grad=True)
    mask = torch.tensor([[1, 1, 1], [1, 0, 1], [1, 0, 0], [1, 0, 1]], dtype=torch.bool)
    mask = mask.unsqueeze(-1)
    params = list(cell.parameters())

    def f(x, h0, c0, *_):
        out, (h, c) = lstm_loop.unroll(cell, x, (h0, c0), mask, True)
        return out, h, c

    assert torch.autograd.gradcheck(f, (x, h0, c0, *params))


@pytest.mark.parametrize("kind", ["lstm", "layernorm_lstm"])
def test_float32_and_inference_path(kernels, kind):
    cell = make_cell(kind, torch.float32)
    x = torch.randn(T, B, D)
    state = (torch.randn(B, H), torch.randn(B, H))
    mask = (torch.arange(T).unsqueeze(1) < LENGTHS).unsqueeze(-1)
    ours = run(lstm_loop.unroll, cell, x, state, mask, False)
    ref = run(reference_unroll, cell, x, state, mask, False)
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, atol=2e-5, rtol=1e-4)
    with torch.no_grad():  # no autograd: one scratch slot per step buffer
        out, (h, c) = lstm_loop.unroll(cell, x, state, mask, True)
        ref_out, (ref_h, ref_c) = reference_unroll(cell, x, state, mask, True)
    for a, b in zip((out, h, c), (ref_out, ref_h, ref_c)):
        torch.testing.assert_close(a, b, atol=2e-5, rtol=1e-4)


def test_weights_changed_in_place_are_seen(kernels):
    """The recurrent weights are packed for the GEMM: updates in place (optimizer steps, and
    writes through .data, which do not bump the version counter) must show."""
    layer = snn.LSTM(D, H, backend="compiled", dtype=torch.float64)
    ref = snn.LSTM(D, H, backend="reference", dtype=torch.float64)
    x = torch.randn(B, T, D, dtype=torch.float64)
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.5)
    for _ in range(3):
        ref.load_state_dict(layer.state_dict())
        out = layer(x)[0]
        torch.testing.assert_close(out, ref(x)[0], atol=1e-12, rtol=1e-10)
        optimizer.zero_grad()
        out.pow(2).sum().backward()
        optimizer.step()
    layer.cells[0].weight_hh.data.mul_(-1)
    with torch.no_grad():
        ref.load_state_dict(layer.state_dict())
        torch.testing.assert_close(layer(x)[0], ref(x)[0], atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("transposed", [False, True], ids=["W", "W.T"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", [(1, 1, 1), (7, 5, 20), (6, 13, 17), (20, 40, 32), (5, 9, 64)])
def test_c_gemm_equals_matmul(dtype, shape, transposed):
    lib = lstm_loop.c_library()
    if lib is None:
        pytest.skip("no C compiler here")
    rows, K, N = shape
    g = torch.Generator().manual_seed(5)
    a = torch.randn(rows, K, generator=g, dtype=dtype)
    M = torch.randn(K, N, generator=g, dtype=dtype)
    if transposed:  # packed from a transposed view (the forward's W_hh.T)
        M = M.t().contiguous().t()
    k = lstm_loop.kernels_for(a)
    out = torch.full((rows, N), float("nan"), dtype=dtype)
    panels = lstm_loop._panels(M, k.panel)  # kept alive: C gets its address
    k.gemm(rows, K, N, a.data_ptr(), panels.data_ptr(), out.data_ptr())
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(out, a @ M, atol=tol, rtol=tol)


def test_without_c_compiler_the_fallback_runs(monkeypatch):
    monkeypatch.setattr(lstm_loop, "_library_cache", [])
    monkeypatch.setenv("SEQLAB_NO_C_KERNELS", "1")
    assert lstm_loop.c_library() is None
    assert lstm_loop.kernels_for(torch.zeros(1)) is lstm_loop.TorchKernels
    layer = snn.LSTM(D, H, backend="compiled", dtype=torch.float64)
    ref = snn.LSTM(D, H, backend="reference", dtype=torch.float64)
    ref.load_state_dict(layer.state_dict())
    x = torch.randn(B, T, D, dtype=torch.float64)
    torch.testing.assert_close(layer(x, lengths=LENGTHS)[0], ref(x, lengths=LENGTHS)[0])
    assert layer.backend_used == "compiled"


@pytest.mark.parametrize("batch", [B, 40], ids=["panels", "rows"])
@pytest.mark.parametrize("kind", ["lstm", "layernorm_lstm"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_c_loops_give_the_same_bits_on_any_number_of_threads(monkeypatch, kind, dtype, batch):
    """Threads share a step's GEMM panels (B = 7: some with an empty share, the backward GEMM
    has one panel) or, with a register block of rows each (B = 40), own whole batch rows: 2 and
    3 threads give bit for bit what 1 thread gives, training and inference."""
    if lstm_loop.c_library() is None:
        pytest.skip("no C compiler here")
    cell = make_cell(kind, dtype)
    g = torch.Generator().manual_seed(6)
    x = torch.randn(T, batch, D, generator=g, dtype=dtype)
    state = tuple(torch.randn(batch, H, generator=g, dtype=dtype) for _ in range(2))
    lengths = torch.randint(1, T + 1, (batch,), generator=g)
    mask = (torch.arange(T).unsqueeze(1) < lengths).unsqueeze(-1)
    results = []
    for threads in (1, 2, 3):
        monkeypatch.setattr(lstm_loop, "_threads", lambda B, H, n=threads: n)
        with torch.no_grad():
            out, (h, c) = lstm_loop.unroll(cell, x, state, mask, False)
        results.append([*run(lstm_loop.unroll, cell, x, state, mask, True), out, h, c])
    for one, *more in zip(*results):
        assert all(torch.equal(one, other) for other in more)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("path", ["in-loop", "separate"])
def test_both_inference_paths_equal_the_reference(monkeypatch, tmp_path, dtype, bias, path):
    """Inference projects the input inside the C loop or before it, whichever measured faster
    (fake timings here pick each in turn); both equal the reference loop, with padding and in
    reverse."""
    if lstm_loop.c_library() is None:
        pytest.skip("no C compiler here: inference runs the PyTorch-op loop")
    from seqlab.nn import gemm

    monkeypatch.setenv("SEQLAB_KERNEL_DIR", str(tmp_path))
    monkeypatch.setattr(gemm, "MIN_WORK", 0)
    monkeypatch.setattr(gemm, "_memory", {})
    measured = []

    def fake_times(*args):
        measured.append(1)
        return {"separate": 1.0, "in-loop": 0.5} if path == "in-loop" else {
            "separate": 1.0, "in-loop": 0.99}  # within the margin: separate stays

    monkeypatch.setattr(lstm_loop, "_time_inference", fake_times)
    inference, calls = lstm_loop._inference, []

    def counted(*args):
        calls.append(args[-1])  # the projection it ran
        return inference(*args)

    monkeypatch.setattr(lstm_loop, "_inference", counted)
    torch.manual_seed(0)
    cell = snn.LSTMCell(D, H, bias=bias, dtype=dtype)
    x = torch.randn(T, B, D, dtype=dtype)
    state = (torch.randn(B, H, dtype=dtype), torch.randn(B, H, dtype=dtype))
    mask = (torch.arange(T).unsqueeze(1) < LENGTHS).unsqueeze(-1)
    tol = {"atol": 1e-12, "rtol": 1e-10} if dtype == torch.float64 else {"atol": 2e-5,
                                                                          "rtol": 1e-4}
    for m, reverse in ((None, False), (mask, True)):
        with torch.no_grad():
            out, (h, c) = lstm_loop.unroll(cell, x, state, m, reverse)
            ref, (ref_h, ref_c) = reference_unroll(cell, x, state, m, reverse)
        for a, b in zip((out, h, c), (ref, ref_h, ref_c)):
            torch.testing.assert_close(a, b, **tol)
        assert calls[-1] == path  # the call itself ran the path the measurement picked
    assert len(measured) == 2  # once per key (the masked call has its own)


def test_the_inference_measurement_times_both_paths():
    if lstm_loop.c_library() is None:
        pytest.skip("no C compiler here: inference runs the PyTorch-op loop")
    cell = snn.LSTMCell(D, H)
    x, h0 = torch.randn(T, B, D), torch.zeros(B, H)
    k = lstm_loop.kernels_for(x)
    times = lstm_loop._time_inference(k, cell, x, h0, h0, None, False)
    assert set(times) == {"separate", "in-loop"} and all(0 < t < 1 for t in times.values())


@pytest.mark.parametrize("transposed", [False, True], ids=["rows", "transposed"])
@pytest.mark.parametrize("N", [64, 100])  # a whole number of panels, and a padded last one
def test_the_c_packer_lays_weights_out_as_the_torch_copy_does(kernels, transposed, N):
    W = torch.randn(N, 24, dtype=torch.float64) if transposed else torch.randn(
        24, N, dtype=torch.float64)
    M = W.t() if transposed else W  # (24, N), strides (1, 24) or (N, 1)
    width = 16
    packed = lstm_loop._panels(M, width).clone()
    P = -(-N // width)
    expected = torch.zeros(P, 24, width, dtype=torch.float64)
    for p in range(P):
        cols = M[:, p * width : (p + 1) * width]
        expected[p, :, : cols.shape[1]] = cols
    assert torch.equal(packed, expected)


@pytest.mark.parametrize("frozen", ["weight_ih", "weight_hh", "bias_ih"])
@pytest.mark.parametrize("kind", ["lstm", "layernorm_lstm"])
def test_gradients_with_some_parameters_frozen(kernels, kind, frozen):
    """d W_ih and d W_hh come from one GEMM when both are needed: each alone must still be
    right, and a frozen parameter gets no gradient."""
    cell = make_cell(kind)
    getattr(cell, frozen).requires_grad_(False)
    g = torch.Generator().manual_seed(5)
    x = torch.randn(T, B, D, generator=g, dtype=torch.float64)
    state = (torch.randn(B, H, generator=g, dtype=torch.float64),
             torch.randn(B, H, generator=g, dtype=torch.float64))
    grads = []
    for unroll in (lstm_loop.unroll, reference_unroll):
        out, (h, c) = unroll(cell, x, state, None, False)
        params = [p for p in cell.parameters() if p.requires_grad]
        grads.append(torch.autograd.grad((out * out).sum() + h.sum() + c.sum(), params))
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("bias", [True, False])
def test_training_with_the_input_projected_in_the_loop_equals_autograd(monkeypatch, bias):
    """Where the one-time measurement picks it, training projects x inside the loop too: the
    same gradients (float64, padded and reversed)."""
    if lstm_loop.c_library() is None:
        pytest.skip("no C compiler here: the projection is always one GEMM")
    monkeypatch.setattr(lstm_loop, "_projection", lambda *args: "in-loop")
    forward, modes = lstm_loop._forward, []

    def spy(*args):
        modes.append(args[-1])  # projection
        return forward(*args)

    monkeypatch.setattr(lstm_loop, "_forward", spy)
    torch.manual_seed(0)
    cell = snn.LSTMCell(D, H, bias=bias, dtype=torch.float64)
    g = torch.Generator().manual_seed(6)
    x = torch.randn(T, B, D, generator=g, dtype=torch.float64)
    state = (torch.randn(B, H, generator=g, dtype=torch.float64),
             torch.randn(B, H, generator=g, dtype=torch.float64))
    mask = (torch.arange(T).unsqueeze(1) < LENGTHS).unsqueeze(-1)
    for m, reverse in ((None, False), (mask, True)):
        ours = run(lstm_loop.unroll, cell, x, state, m, reverse)
        ref = run(reference_unroll, cell, x, state, m, reverse)
        for a, b in zip(ours, ref):
            torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-10)
    assert modes == ["in-loop", "in-loop"]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_column_split_of_the_in_loop_projection_gives_the_same_bits(monkeypatch, dtype):
    """``"in-loop-columns"`` makes the threads share the weights' column panels where they
    would own batch rows (B = 40): the same bits as the row split and as 1 thread, training and
    inference."""
    if lstm_loop.c_library() is None:
        pytest.skip("no C compiler here")
    cell = make_cell("lstm", dtype)
    g = torch.Generator().manual_seed(7)
    x = torch.randn(T, 40, D, generator=g, dtype=dtype)
    state = tuple(torch.randn(40, H, generator=g, dtype=dtype) for _ in range(2))
    mask = (torch.arange(T).unsqueeze(1) < torch.randint(1, T + 1, (40,), generator=g))
    mask = mask.unsqueeze(-1)
    results = []
    for threads, projection in ((1, "in-loop"), (2, "in-loop"), (2, "in-loop-columns"),
                                (3, "in-loop-columns")):
        monkeypatch.setattr(lstm_loop, "_threads", lambda B, H, n=threads: n)
        monkeypatch.setattr(lstm_loop, "_projection", lambda *args, p=projection: p)
        with torch.no_grad():
            out, (h, c) = lstm_loop.unroll(cell, x, state, mask, False)
        results.append([*run(lstm_loop.unroll, cell, x, state, mask, True), out, h, c])
    for one, *more in zip(*results):
        assert all(torch.equal(one, other) for other in more)
