"""ONNX export of a fused LSTM (torch.onnx.export, TorchScript and dynamo exporters), with and
without lengths: onnxruntime's outputs equal the layer's on the exported input and on new ones.

What holds (see docs/onnx.md): shapes (B, T) are those of the example input; with lengths, or
on the compiled backend, the exporters record the reference loop (pack_padded_sequence's batch
sizes are data, the C loops are ctypes calls), and the lengths' values are not checked.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import seqlab.nn as snn

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

B, T, D, H = 3, 6, 4, 5


class _Outputs(torch.nn.Module):
    """The layer's (output, h, c) as a flat tuple, as ONNX wants."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x, lengths=None):
        out, (h, c) = self.layer(x, lengths=lengths)
        return out, h, c


def _export_and_compare(tmp_path, layer, dynamo, with_lengths, backend):
    if dynamo:
        pytest.importorskip("onnxscript")
    model = _Outputs(layer)
    x = torch.randn(B, T, D)
    args = (x, torch.tensor([6, 2, 4])) if with_lengths else (x,)
    names = ["x", "lengths"][: len(args)]
    path = tmp_path / "lstm.onnx"
    with warnings.catch_warnings():  # the exporters' own deprecation and tracer notes
        warnings.simplefilter("ignore")
        torch.onnx.export(model, args, str(path), input_names=names, dynamo=dynamo)
    session = ort.InferenceSession(str(path))
    new_x = torch.randn(B, T, D)
    cases = [args, (new_x, torch.tensor([3, 6, 1])) if with_lengths else (new_x,)]
    for case in cases:
        got = session.run(None, {n: a.numpy() for n, a in zip(names, case)})
        with torch.no_grad():
            want = model(*case)
        assert layer.backend_used == backend  # eager calls still run their own backend
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("with_lengths", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
def test_fused_lstm_exports_to_onnx(tmp_path, dynamo, with_lengths, bidirectional):
    torch.manual_seed(0)
    layer = snn.LSTM(D, H, num_layers=2, bidirectional=bidirectional, backend="fused").eval()
    _export_and_compare(tmp_path, layer, dynamo, with_lengths, "fused")


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
def test_compiled_layernorm_lstm_exports_as_its_reference_loop(tmp_path, dynamo):
    torch.manual_seed(0)
    layer = snn.LSTM(D, H, bidirectional=True, cell="layernorm_lstm", backend="compiled").eval()
    _export_and_compare(tmp_path, layer, dynamo, True, "compiled")


def test_torchscript_export_with_full_lengths_keeps_the_padding_path(tmp_path):
    """Traced with lengths all equal to T, the graph still applies other lengths."""
    torch.manual_seed(0)
    layer = snn.LSTM(D, H, backend="fused").eval()
    model = _Outputs(layer)
    path = tmp_path / "lstm.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(B, T, D), torch.full((B,), T)), str(path),
                          input_names=["x", "lengths"], dynamo=False)
    x, lengths = torch.randn(B, T, D), torch.tensor([2, 6, 5])
    got = ort.InferenceSession(str(path)).run(None, {"x": x.numpy(), "lengths": lengths.numpy()})
    with torch.no_grad():
        want = model(x, lengths)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w.numpy(), rtol=1e-5, atol=1e-6)
