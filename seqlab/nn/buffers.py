"""Large CPU buffers of the fused kernels: huge pages, per-thread workspaces and a pool.

A large buffer (5-100 MB: gates, states, gradients) is fresh memory on every call, and a fresh
64 MB tensor costs ~16k page faults on a VM: ~40 ms, 10-15% of a scan training step (on the
LayerNorm-LSTM, with glibc told to keep freed memory, a 2-thread training step took 130 ms
instead of 188). :func:`empty` maps a buffer with transparent huge pages (madvise mode on
Linux): 32 faults for the same 64 MB (the scan's buffers). A buffer used only inside one
backward comes from a per-thread :func:`workspace` that every call reuses (the scan's d P, the
C loops' d hw): no faults after the first call. The C loops' saved buffers stay plain
``torch.empty``: mapping huge pages on every call measured no faster for them here.

The buffers a forward saves for its backward (the C loops' gates and states) outlive the call,
so they cannot be workspaces; glibc hands such buffers back to the kernel once a training step
has freed them (whether it does depends on where they sit in the heap, so the count of page
faults changes from run to run: 0 or 4,000 per step of a 2-layer H = 200 LayerNorm-LSTM). A
:func:`pooled` buffer is kept after its last use and handed out again to a later request of
about its size once no tensor uses its memory (PyTorch's own count of the storage's users):
no faults after the first steps, at the cost of keeping the pool's memory (at most
:data:`POOL_MAX` buffers per thread, of which the unused ones hold at most
:data:`POOL_FREE_BYTES`; :func:`release` frees them).
"""

from __future__ import annotations

import math
import mmap
import threading

import torch
from torch import Tensor

HUGE_MIN = 1 << 21  # bytes: smaller buffers are plain torch.empty
WORKSPACE_MIN = 1 << 16  # bytes: smaller workspaces and pooled buffers are fresh (cheap)
POOL_MAX = 64  # pooled buffers kept per thread
POOL_FREE_BYTES = 1 << 29  # bytes of unused pooled buffers a thread keeps at most (512 MiB)
_WORKSPACES = threading.local()
_use_count = getattr(torch._C, "_storage_Use_Count", None)  # absent: nothing is pooled


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
    t = torch.frombuffer(buf, dtype=dtype, count=n)
    return t if len(shape) == 1 else t.view(shape)  # (a view would keep a second user)


def workspace(like: Tensor, name: str = "default", shape: tuple[int, ...] | None = None) -> Tensor:
    """An uninitialised buffer of ``like``'s dtype and shape (or ``shape``), this thread's
    ``name`` slot, reused by the next call with that name (so it must be dead by then: only for
    buffers that never leave one call or one backward); small (under :data:`WORKSPACE_MIN`)
    or non-CPU buffers are fresh."""
    shape = tuple(like.shape) if shape is None else tuple(shape)
    n = math.prod(shape)
    if like.device.type != "cpu" or n * like.element_size() < WORKSPACE_MIN:
        return like.new_empty(shape)
    slots = getattr(_WORKSPACES, "slots", None)
    if slots is None:
        slots = _WORKSPACES.slots = {}
    buf = slots.get(name)
    if buf is None or buf.dtype != like.dtype or buf.numel() < n:
        slots[name] = None  # free the old one first
        buf = slots[name] = empty((n,), like.dtype)
    return buf[:n].view(shape)


def _users(buf: Tensor) -> int:
    return _use_count(buf.untyped_storage()._cdata)


def _free(entry: tuple[Tensor, int]) -> bool:
    """No tensor but the pool's own uses the buffer's memory: its storage has as many users as
    when it was made."""
    return _users(entry[0]) == entry[1]


def pooled(like: Tensor, shape: tuple[int, ...]) -> Tensor:
    """An uninitialised buffer of ``like``'s dtype and ``shape``, from this thread's pool: a
    kept buffer no tensor uses any more, of 1 to 2 times the size, else a new one that the pool
    keeps (see the module docstring). Safe for buffers that outlive the call (saved for a
    backward, returned): a buffer is handed out again only once all its users are gone."""
    n = math.prod(shape)
    if like.device.type != "cpu" or n * like.element_size() < WORKSPACE_MIN or _use_count is None:
        return like.new_empty(shape)
    pool = getattr(_WORKSPACES, "pool", None)
    if pool is None:
        pool = _WORKSPACES.pool = []
    for i, entry in enumerate(pool):
        buf = entry[0]
        if buf.dtype == like.dtype and n <= buf.numel() <= 2 * n and _free(entry):
            pool.append(pool.pop(i))  # most recently used last
            return buf[:n].view(shape)
    # a miss: forget free buffers, least recently used first, while the pool is full or its
    # free ones hold more than POOL_FREE_BYTES (batches of varying sizes leave some behind)
    free = [entry for entry in pool if _free(entry)]
    idle = sum(entry[0].numel() * entry[0].element_size() for entry in free)
    for entry in free:
        if len(pool) < POOL_MAX and idle <= POOL_FREE_BYTES:
            break
        pool.remove(entry)
        idle -= entry[0].numel() * entry[0].element_size()
    if len(pool) >= POOL_MAX:  # every kept buffer in use: this one is not kept
        return like.new_empty(shape)
    buf = empty((n,), like.dtype)
    pool.append((buf, _users(buf)))
    return buf[:n].view(shape)


def release() -> None:
    """Forgets this thread's workspaces and pooled buffers (their memory is freed once no
    tensor uses it)."""
    _WORKSPACES.__dict__.clear()
