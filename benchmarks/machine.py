"""What every benchmark table prints about the machine it ran on (scripts import it as
``from machine import cpu_model``: ``python benchmarks/<name>.py`` puts this folder first on
``sys.path``)."""

from __future__ import annotations

import platform


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def isa_line(torch_side: bool = True) -> str:
    """The ISA each side ran with: seqlab's C kernel target (``SEQLAB_CPU_ISA``), PyTorch's CPU
    capability (``ATEN_CPU_CAPABILITY``), the oneDNN/MKL caps if set, and Numba's target CPU and
    whether it has AVX-512. ``torch_side=False`` (benchmarks that never import torch): Numba's
    only."""
    import os

    parts = []
    if torch_side:
        import torch

        from seqlab.nn import lstm_loop

        parts += [f"seqlab C kernel {lstm_loop.kernel_target()}",
                  f"torch {torch.backends.cpu.get_cpu_capability()}"]
    caps = [f"{k}={os.environ[k]}" for k in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA",
                                             "MKL_ENABLE_INSTRUCTIONS") if k in os.environ]
    parts += caps
    try:
        from llvmlite import binding
        from numba.core import config

        cpu = config.CPU_NAME or binding.get_host_cpu_name()
        if config.CPU_NAME and not config.CPU_FEATURES:  # NUMBA_CPU_NAME alone: that CPU's
            parts.append(f"numba cpu {cpu} (NUMBA_CPU_NAME: that CPU's features)")
        else:
            features = config.CPU_FEATURES or binding.get_host_cpu_features().flatten()
            wide = "avx512f" in {f.lstrip("+") for f in features.split(",")
                                 if f.startswith("+")}
            parts.append(f"numba cpu {cpu} ({'AVX-512' if wide else 'no AVX-512'} features)")
    except ImportError:
        parts.append("numba not installed")
    return "ISA: " + "; ".join(parts)
