"""backend='auto' for plain LSTMs: a one-time measurement picks fused or compiled, cached in
memory and beside the kernels; the outputs equal the reference loop whichever runs."""

from __future__ import annotations

import json

import pytest
import torch

import seqlab.nn as snn
from seqlab.nn import autotune, lstm_loop

B, T, D, H = 4, 6, 3, 8


@pytest.fixture
def tuner(monkeypatch, tmp_path):
    """Measures at any size, with an empty memory and its own cache folder."""
    if lstm_loop.c_library() is None:
        pytest.skip("no C compiler: auto runs fused")
    monkeypatch.setenv("SEQLAB_KERNEL_DIR", str(tmp_path))
    monkeypatch.setattr(autotune, "MIN_WORK", 0)
    monkeypatch.setattr(autotune, "_memory", {})
    return tmp_path


def fake_clock(monkeypatch, seconds: dict):
    calls = []

    def timed(run, kind):
        run(kind)
        calls.append(kind)
        return seconds[kind]

    monkeypatch.setattr(autotune, "_time", timed)
    return calls


@pytest.mark.parametrize(("fused", "compiled", "picked"), [
    (1.0, 0.5, "compiled"), (1.0, 0.99, "fused"), (0.5, 1.0, "fused")])
def test_auto_runs_the_measured_faster_backend(monkeypatch, tuner, fused, compiled, picked):
    calls = fake_clock(monkeypatch, {"fused": fused, "compiled": compiled})
    torch.manual_seed(0)
    layer = snn.LSTM(D, H, num_layers=2, bidirectional=True)
    ref = snn.LSTM(D, H, num_layers=2, bidirectional=True, backend="reference")
    ref.load_state_dict(layer.state_dict())
    x, lengths = torch.randn(B, T, D), torch.tensor([6, 2, 5, 3])
    out, (h, c) = layer(x, lengths=lengths)
    assert calls.count("fused") == calls.count("compiled") == autotune.ROUNDS
    assert layer.backend_used.startswith(f"{picked} (auto: ")
    assert layer.backend_used.endswith("measured)")
    want, (h_ref, c_ref) = ref(x, lengths=lengths)
    torch.testing.assert_close(out, want, atol=2e-6, rtol=2e-5)
    torch.testing.assert_close(h, h_ref, atol=2e-6, rtol=2e-5)
    saved = json.loads((tuner / "autotune.json").read_text())
    (entry,) = saved.values()
    assert entry == {"choice": picked, "fused": fused, "compiled": compiled}
    layer(x, lengths=lengths)  # same key: no new measurement
    assert len(calls) == 2 * autotune.ROUNDS and layer.backend_used.endswith("cached)")


def test_the_cache_file_is_read_by_a_new_process(monkeypatch, tuner):
    calls = fake_clock(monkeypatch, {"fused": 1.0, "compiled": 0.5})
    x = torch.randn(B, T, D)
    snn.LSTM(D, H)(x)
    monkeypatch.setattr(autotune, "_memory", {})  # as in a new process
    layer = snn.LSTM(D, H)
    layer(x)
    assert len(calls) == 2 * autotune.ROUNDS
    assert layer.backend_used == "compiled (auto: 2.00x faster than fused, cached)"


def test_keys_separate_training_inference_dtype_and_threads(monkeypatch, tuner):
    layer = snn.LSTM(D, H)
    x = torch.randn(B, T, D)
    keys = {autotune.key(layer, x, None, True), autotune.key(layer, x, None, False),
            autotune.key(layer, x.double(), None, True),
            autotune.key(layer, x, torch.tensor([6, 2, 5, 3]), True)}
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(threads + 1)
        keys.add(autotune.key(layer, x, None, True))
    finally:
        torch.set_num_threads(threads)
    assert len(keys) == 5
    same_bucket = torch.randn(B - 1, T + 1, D)  # B and T round up to the same powers of two
    assert autotune.key(layer, same_bucket, None, True) == autotune.key(layer, x, None, True)


def test_real_measurement_trains_like_the_reference(tuner):
    """No fake clock: whichever wins, gradients equal the reference loop's."""
    torch.manual_seed(1)
    layer = snn.LSTM(D, H, dtype=torch.float64)
    ref = snn.LSTM(D, H, backend="reference", dtype=torch.float64)
    ref.load_state_dict(layer.state_dict())
    x = torch.randn(B, T, D, dtype=torch.float64)
    for module in (layer, ref):
        out, (h, c) = module(x)
        (out.square().sum() + c.sum()).backward()
    assert layer.backend_used.split(" ")[0] in ("fused", "compiled")
    for p, q in zip(layer.parameters(), ref.parameters()):
        torch.testing.assert_close(p.grad, q.grad, atol=1e-10, rtol=1e-10)


def test_small_shapes_and_opt_out_run_fused(monkeypatch):
    layer = snn.LSTM(D, H)
    layer(torch.randn(B, T, D))
    assert layer.backend_used == "fused"  # below MIN_WORK: no measurement
    monkeypatch.setattr(autotune, "MIN_WORK", 0)
    monkeypatch.setenv("SEQLAB_AUTOTUNE", "0")
    layer(torch.randn(B, T, D))
    assert layer.backend_used == "fused"


def test_gru_is_tuned_too(monkeypatch, tuner):
    fake_clock(monkeypatch, {"fused": 1.0, "compiled": 0.5})
    torch.manual_seed(0)
    layer = snn.GRU(D, H, bidirectional=True, dtype=torch.float64)
    ref = snn.GRU(D, H, bidirectional=True, backend="reference", dtype=torch.float64)
    ref.load_state_dict(layer.state_dict())
    x, lengths = torch.randn(B, T, D, dtype=torch.float64), torch.tensor([6, 2, 5, 3])
    out, h = layer(x, lengths=lengths)
    assert layer.backend_used == "compiled (auto: 2.00x faster than fused, measured)"
    want, h_ref = ref(x, lengths=lengths)
    torch.testing.assert_close(out, want, atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(h, h_ref, atol=1e-12, rtol=1e-10)
