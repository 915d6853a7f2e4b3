"""The C kernels build for every SEQLAB_CPU_ISA this host can run, and each build computes the
same GEMM and LSTM/GRU loops (against torch and the reference loop)."""

from __future__ import annotations

import shutil

import pytest
import torch

import seqlab.nn as snn
from seqlab.errors import ConfigError
from seqlab.nn import cbuild, lstm_loop

pytestmark = pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None,
                                reason="no C compiler here")


def _runnable(isa: str) -> bool:
    flags = cbuild.cpu_description()
    x86 = cbuild.platform.machine().lower() in ("x86_64", "amd64")
    need = {"avx512": " avx512bw", "avx2": " avx2"}.get(isa)
    return isa in ("native", "portable") or (x86 and need in flags)


@pytest.fixture(params=[isa for isa in cbuild.ISAS if _runnable(isa)])
def isa(request, monkeypatch):
    monkeypatch.setenv("SEQLAB_CPU_ISA", request.param)
    monkeypatch.setattr(lstm_loop, "_library_cache", [])
    return request.param


def test_each_isa_builds_and_says_what_it_targets(isa):
    lib = lstm_loop.c_library()
    assert lib is not None
    target = lstm_loop.kernel_target()
    assert target.startswith(f"{isa}: ")
    if isa == "avx512":
        assert "64-byte vectors" in target
    if isa == "avx2":
        assert "avx2 32-byte vectors" in target
    if isa == "portable" and cbuild.platform.machine() == "x86_64":
        assert "sse2 16-byte vectors" in target
    panel = lstm_loop.kernels_for(torch.zeros(1)).panel
    bytes_per_vector = int(target.split(" ")[2].split("-")[0])
    assert panel == 2 * bytes_per_vector // 4  # float32 panels of two vectors


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_each_isa_computes_the_same_gemm(isa, dtype):
    g = torch.Generator().manual_seed(5)
    for rows, K, N in [(1, 1, 1), (7, 5, 20), (13, 17, 33), (20, 40, 70)]:
        a = torch.randn(rows, K, generator=g, dtype=dtype)
        M = torch.randn(K, N, generator=g, dtype=dtype)
        k = lstm_loop.kernels_for(a)
        out = torch.full((rows, N), float("nan"), dtype=dtype)
        panels = lstm_loop._panels(M, k.panel)
        k.gemm(rows, K, N, a.data_ptr(), panels.data_ptr(), out.data_ptr())
        tol = 1e-5 if dtype == torch.float32 else 1e-12
        torch.testing.assert_close(out, a @ M, atol=tol, rtol=tol)


@pytest.mark.parametrize("mode", ["lstm", "layernorm_lstm", "gru"])
def test_each_isa_runs_the_loops_like_the_reference(isa, mode):
    torch.manual_seed(0)
    cls, kwargs = (snn.GRU, {}) if mode == "gru" else (snn.LSTM, {"cell": mode})
    ref = cls(3, 13, backend="reference", bidirectional=True, dtype=torch.float64, **kwargs)
    comp = cls(3, 13, backend="compiled", bidirectional=True, dtype=torch.float64, **kwargs)
    comp.load_state_dict(ref.state_dict())
    x = torch.randn(14, 5, 3, dtype=torch.float64)  # B = 14: a full 12-row block and 2 more
    lengths = torch.tensor([5, 2, 4, 1, 5, 3, 5, 2, 4, 1, 5, 3, 5, 2])
    outs = []
    for layer in (ref, comp):
        out, _ = layer(x, lengths=lengths)
        out.square().sum().backward()
        outs.append((out.detach(), [p.grad for p in layer.parameters()]))
    assert comp.backend_used == "compiled"
    torch.testing.assert_close(outs[1][0], outs[0][0], atol=1e-12, rtol=1e-10)
    for a, b in zip(outs[1][1], outs[0][1]):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-10)


def test_an_unknown_isa_is_a_config_error(monkeypatch):
    monkeypatch.setenv("SEQLAB_CPU_ISA", "avx1024")
    with pytest.raises(ConfigError, match="SEQLAB_CPU_ISA must be one of .* got 'avx1024'"):
        cbuild.requested_isa()
