"""Large CPU buffers of the fused kernels: huge pages and per-thread workspaces.

A large buffer (5-100 MB: gates, states, gradients) is fresh memory on every call, and a fresh
64 MB tensor costs ~16k page faults on a VM: ~40 ms, 10-15% of a scan training step (on the
LayerNorm-LSTM, with glibc told to keep freed memory, a 2-thread training step took 130 ms
instead of 188). :func:`empty` maps a buffer with transparent huge pages (madvise mode on
Linux): 32 faults for the same 64 MB (the scan's buffers). A buffer used only inside one
backward comes from a per-thread :func:`workspace` that every call reuses (the scan's d P, the
C loops' d hw): no faults after the first call. The C loops' saved buffers stay plain
``torch.empty``: mapping huge pages on every call measured no faster for them here.
"""

from __future__ import annotations

import math
import mmap
import threading

import torch
from torch import Tensor

HUGE_MIN = 1 << 21  # bytes: smaller buffers are plain torch.empty
_WORKSPACES = threading.local()


def empty(shape: tuple[int, ...], dtype: torch.dtype) -> Tensor:
    """``torch.empty(shape, dtype=dtype)`` on CPU, in huge pages when large (Linux)."""
    n = math.prod(shape)
    size = n * torch.empty((), dtype=dtype).element_size()
    advice = getattr(mmap, "MADV_HUGEPAGE", None)
    if size < HUGE_MIN or advice is None:
        return torch.empty(shape, dtype=dtype)
    buf = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    try:
        buf.madvise(advice)
    except OSError:  # THP off in this kernel: plain pages, still correct
        pass
    return torch.frombuffer(buf, dtype=dtype, count=n).view(shape)


def workspace(like: Tensor, name: str = "default") -> Tensor:
    """An uninitialised buffer of ``like``'s shape and dtype, this thread's ``name`` slot, reused
    by the next call with that name (so it must be dead by then: only for buffers that never
    leave one backward); small or non-CPU buffers are fresh."""
    n = like.numel()
    if like.device.type != "cpu" or n * like.element_size() < HUGE_MIN:
        return torch.empty_like(like)
    slots = getattr(_WORKSPACES, "slots", None)
    if slots is None:
        slots = _WORKSPACES.slots = {}
    buf = slots.get(name)
    if buf is None or buf.dtype != like.dtype or buf.numel() < n:
        slots[name] = None  # free the old one first
        buf = slots[name] = empty((n,), like.dtype)
    return buf[:n].view(like.shape)
