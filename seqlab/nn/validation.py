"""Input checks for the recurrent layers: errors name the argument, the expected and the got."""

from __future__ import annotations

import torch
from torch import Tensor

from seqlab.errors import DataError


def check_input(x: object, input_size: int, batch_first: bool) -> tuple[int, int]:
    """Checks ``x`` and returns ``(B, T)``."""
    layout = "(B, T, D)" if batch_first else "(T, B, D)"
    if not isinstance(x, Tensor):
        raise DataError(f"x must be a torch.Tensor of shape {layout}, got {type(x).__name__}")
    if x.dim() != 3:
        raise DataError(f"x must be 3-D {layout} with D={input_size}, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise DataError(f"x must be a floating-point tensor, got dtype {x.dtype}")
    if x.shape[-1] != input_size:
        raise DataError(f"x must have feature size D=input_size={input_size} in its last "
                        f"dimension, got shape {tuple(x.shape)}")
    B, T = (x.shape[0], x.shape[1]) if batch_first else (x.shape[1], x.shape[0])
    if B == 0:
        raise DataError(f"x must hold at least one sequence (B >= 1), got shape {tuple(x.shape)}")
    if T == 0:
        raise DataError(f"x must have at least one time step (T >= 1), got shape {tuple(x.shape)}")
    return B, T


def check_lengths(lengths: object, B: int, T: int) -> Tensor | None:
    """Checks ``lengths`` (B,) integers in [1, T], or a (B, T) boolean prefix mask.

    Returns the lengths as an int64 CPU tensor, or None when every sequence fills all T steps.
    Under ``torch.export`` or ``torch.jit.trace`` (ONNX's exporters) the values are not checked
    and the lengths are returned as they are: they are data.
    """
    if lengths is None:
        return None
    if not isinstance(lengths, Tensor):
        if isinstance(lengths, list | tuple):
            lengths = torch.as_tensor(lengths)
        else:
            raise DataError(f"lengths must be a (B,)={B,} integer tensor or a (B, T)=({B}, {T}) "
                            f"boolean mask, got {type(lengths).__name__}")
    if lengths.dtype == torch.bool:
        if tuple(lengths.shape) != (B, T):
            raise DataError(f"lengths given as a boolean mask must have shape (B, T)=({B}, {T}), "
                            f"got {tuple(lengths.shape)}")
        mask = lengths.cpu()
        lengths = mask.sum(1)
        prefix = torch.arange(T).unsqueeze(0) < lengths.unsqueeze(1)
        if not torch.equal(prefix, mask):
            raise DataError("lengths given as a boolean mask must be True on a prefix of each "
                            "row (padding at the end), got a mask with gaps")
    elif lengths.is_floating_point() or lengths.is_complex():
        raise DataError(f"lengths must have an integer dtype (or bool for a mask), "
                        f"got {lengths.dtype}")
    if lengths.dim() != 1 or lengths.shape[0] != B:
        raise DataError(f"lengths must have shape (B,)=({B},), got {tuple(lengths.shape)}")
    lengths = lengths.to("cpu", torch.int64)
    if torch.compiler.is_exporting() or torch.jit.is_tracing():  # values are data: an export
        return lengths  # must not branch on them (nor bake "no padding" into its graph)
    low, high = int(lengths.min()), int(lengths.max())
    if low <= 0 or high > T:
        raise DataError(f"lengths must be in [1, T={T}], got values from {low} to {high}")
    return None if low == T else lengths


def check_state(state: object, name: str, shape: tuple[int, ...], dtype: torch.dtype) -> Tensor:
    """Checks one state tensor against its expected shape."""
    if not isinstance(state, Tensor):
        raise DataError(f"{name} must be a tensor of shape {shape}, got {type(state).__name__}")
    if tuple(state.shape) != shape:
        raise DataError(f"{name} must have shape (num_layers * num_directions, B, H)={shape}, "
                        f"got {tuple(state.shape)}")
    if state.dtype != dtype:
        raise DataError(f"{name} must have the dtype of x ({dtype}), got {state.dtype}")
    return state


def check_dtype(x: Tensor, module: torch.nn.Module) -> None:
    """The input must have the dtype of the module's parameters (no silent casts)."""
    p = next(module.parameters(), None)
    if p is not None and p.dtype != x.dtype:
        raise DataError(f"x has dtype {x.dtype} but {type(module).__name__}'s parameters have "
                        f"dtype {p.dtype}: convert one (x.to({p.dtype}) or "
                        f"module.to({x.dtype}))")

