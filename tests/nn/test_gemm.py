"""The input projection's GEMM: oneDNN or BLAS by a one-time measurement per shape, cached in
memory and beside the kernels; either way the product equals ``F.linear``."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from seqlab.nn import gemm


@pytest.fixture
def tuner(monkeypatch, tmp_path):
    """Measures at any size, with an empty memory, its own cache folder and a fake clock."""
    if not gemm._ONEDNN:
        pytest.skip("no oneDNN in this torch build: dense is F.linear")
    monkeypatch.setenv("SEQLAB_KERNEL_DIR", str(tmp_path))
    monkeypatch.setattr(gemm, "MIN_WORK", 0)
    monkeypatch.setattr(gemm, "_memory", {})
    return tmp_path


def fake_times(monkeypatch, seconds):
    calls = []

    def measure(x, W, bias):
        calls.append(tuple(x.shape))
        return dict(seconds)

    monkeypatch.setattr(gemm, "_measure", measure)
    return calls


def operands(rows=9, K=5, N=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(rows, K, generator=g), torch.randn(N, K, generator=g),
            torch.randn(N, generator=g))


@pytest.mark.parametrize(("onednn", "blas", "picked"), [
    (1.0, 0.5, "blas"), (1.0, 0.99, "onednn"), (0.5, 1.0, "onednn")])
def test_the_faster_path_is_picked_by_margin_and_cached(tuner, monkeypatch, onednn, blas,
                                                         picked):
    calls = fake_times(monkeypatch, {"onednn": onednn, "blas": blas})
    x, W, b = operands()
    assert gemm.gemm_choice(x, W, b) == picked
    torch.testing.assert_close(gemm.dense(x, W, b), F.linear(x, W, b))
    assert calls == [(9, 5)]  # measured once: dense's call was served from memory
    saved = json.loads((tuner / "gemm.json").read_text())
    assert [e["choice"] for e in saved.values()] == [picked]
    monkeypatch.setattr(gemm, "_memory", {})  # a new process: read from the file
    assert gemm.gemm_choice(x, W, b) == picked and len(calls) == 1
    x16 = torch.randn(16, 5)  # 9 and 16 rows round to the same power of two
    assert gemm.gemm_choice(x16, W, b) == picked and len(calls) == 1


def test_small_products_and_autotune_off_take_onednn_unmeasured(tuner, monkeypatch):
    calls = fake_times(monkeypatch, {"onednn": 1.0, "blas": 0.1})
    x, W, b = operands()
    monkeypatch.setenv("SEQLAB_AUTOTUNE", "0")
    assert gemm.gemm_choice(x, W, b) == "onednn"
    monkeypatch.delenv("SEQLAB_AUTOTUNE")
    monkeypatch.setattr(gemm, "MIN_WORK", x.shape[0] * x.shape[1] * W.shape[0] + 1)
    assert gemm.gemm_choice(x, W, b) == "onednn" and calls == []


def test_the_key_separates_transposed_weights_bias_threads_and_peer_isa(monkeypatch):
    x, W, b = operands()
    keys = {gemm._key(x, W, b), gemm._key(x, W.t().contiguous().t(), b), gemm._key(x, W, None)}
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    keys.add(gemm._key(x, W, b))
    assert len(keys) == 4


def test_the_real_measurement_times_both_and_both_paths_agree(tuner):
    x, W, b = operands(rows=64, K=32, N=48)
    times = gemm._measure(x, W, b)
    assert set(times) == {"onednn", "blas"} and all(0 < t < 1 for t in times.values())
    torch.testing.assert_close(gemm._onednn(x, W, b), F.linear(x, W, b))
    Wt = torch.randn(32, 48).t()  # a transposed weight (the backward's d x = dY @ W)
    torch.testing.assert_close(gemm._onednn(x, Wt, None), x @ Wt.t())


def test_a_product_onednn_refuses_takes_blas_and_is_not_measured_again(tuner, monkeypatch):
    calls = []

    def refuse(x, W, bias):
        calls.append(1)
        raise RuntimeError("unsupported")

    monkeypatch.setattr(gemm, "_measure", refuse)
    x, W, b = operands()
    torch.testing.assert_close(gemm.dense(x, W, b), F.linear(x, W, b))
    assert gemm.gemm_choice(x, W, b) == "blas" and calls == [1]


@pytest.mark.parametrize(("onednn", "blas", "picked"), [
    (0.5, 1.0, "onednn"), (0.99, 1.0, "blas"), (1.0, 0.5, "blas")])
def test_weight_grad_takes_onednn_only_if_faster_by_the_margin_and_caches_it(
        tuner, monkeypatch, onednn, blas, picked):
    calls = []

    def measure(dy, x):
        calls.append((tuple(dy.shape), tuple(x.shape)))
        return {"onednn": onednn, "blas": blas}

    monkeypatch.setattr(gemm, "_measure_wgrad", measure)
    dy, x = torch.randn(9, 7), torch.randn(9, 5)
    assert gemm.weight_grad_choice(dy, x) == picked
    torch.testing.assert_close(gemm.weight_grad(dy, x), dy.t() @ x)
    assert calls == [((9, 7), (9, 5))]
    monkeypatch.setattr(gemm, "_memory", {})  # a new process: read from the file
    assert gemm.weight_grad_choice(dy, x) == picked and len(calls) == 1
    # its key is not the forward product's of the same sizes
    assert [e["choice"] for e in json.loads((tuner / "gemm.json").read_text()).values()] == [
        picked]


def test_weight_grad_below_the_work_threshold_is_torch_mm_unmeasured(tuner, monkeypatch):
    monkeypatch.setattr(gemm, "MIN_WORK", 10**9)
    monkeypatch.setattr(gemm, "_measure_wgrad", lambda dy, x: pytest.fail("measured"))
    dy, x = torch.randn(9, 7), torch.randn(9, 5)
    assert gemm.weight_grad_choice(dy, x) == "blas"
    torch.testing.assert_close(gemm.weight_grad(dy, x), dy.t() @ x)


def test_weight_grad_real_measurement_and_both_paths_equal_the_product(tuner):
    g = torch.Generator().manual_seed(1)
    dy, x = torch.randn(64, 48, generator=g), torch.randn(64, 32, generator=g)
    times = gemm._measure_wgrad(dy, x)
    assert set(times) == {"onednn", "blas"} and all(0 < t < 1 for t in times.values())
    ref = dy.double().t() @ x.double()
    for run in (gemm._wgrad_onednn, gemm._wgrad_blas):
        torch.testing.assert_close(run(dy, x).double(), ref, atol=1e-4, rtol=1e-5)
    d64 = dy.double()  # float64 never goes through oneDNN
    torch.testing.assert_close(gemm.weight_grad(d64, x.double()), ref)


@pytest.mark.parametrize(("times", "picked"), [
    ({"a": 1.0, "b": 0.8, "c": 0.6}, "c"), ({"a": 1.0, "b": 0.8, "c": 0.9}, "b"),
    ({"a": 1.0, "b": 0.99, "c": 0.98}, "a"), ({"a": 1.0, "b": 0.5}, "b")])
def test_a_choice_among_several_paths_takes_the_fastest_by_margin(monkeypatch, tmp_path,
                                                                  times, picked):
    """Paths the measurement did not time (``c`` in the last case) are out; the result is
    cached in memory and on disk."""
    monkeypatch.setenv("SEQLAB_KERNEL_DIR", str(tmp_path))
    monkeypatch.setattr(gemm, "_memory", {})
    assert gemm.choice("k", lambda: dict(times), "a", "b", "c") == picked
    monkeypatch.setattr(gemm, "_memory", {})
    assert gemm.choice("k", lambda: pytest.fail("measured twice"), "a", "b", "c") == picked
