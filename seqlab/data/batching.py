"""Batches: LM stream windows (truncated BPTT) and padded variable-length batches.

:class:`LMStream` is the Zaremba et al. / pytorch-examples ``batchify`` + ``get_batch`` recipe,
batch-first. The id stream is cut into ``batch_size`` contiguous rows; the tokens that do not
fill a whole row are dropped (at most ``batch_size - 1``, from the end; see ``dropped``). With
the 26 letters, ``batch_size=4`` and ``bptt=2``::

    rows (6 per row, "y z" dropped)     windows (x -> y, shifted by one)
    ┌ a b c d e f ┐                     1: x = [a b|g h|m n|s t]   y = [b c|h i|n o|t u]
    │ g h i j k l │                     2: x = [c d|i j|o p|u v]   y = [d e|j k|p q|v w]
    │ m n o p q r │                     3: x = [e|k|q|w]           y = [f|l|r|x]   (shorter)
    └ s t u v w x ┘

Row ``b`` of consecutive windows continues the same text, so the consumer carries the recurrent
state from one window to the next (detached); LMStream holds no state. Every token of a row
except its first is a target exactly once per epoch:
``num_targets = batch_size * (row_length - 1)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from seqlab.errors import ConfigError, DataError

__all__ = ["LMStream", "pad_batch", "padding_mask"]


class LMStream:
    """Contiguous-row BPTT windows ``(x, y)`` over one id stream.

    Args:
        ids: 1-D integer ids: numpy array or memmap (only the windows read are copied), torch
            tensor, or a list.
        batch_size: number of rows ``B``.
        bptt: window length ``T`` (the last window of a pass may be shorter).

    Shape:
        - x: ``(B, T)`` ``torch.long``, the inputs.
        - y: ``(B, T)`` ``torch.long``, the next tokens: ``y[:, t] = x[:, t + 1]`` within a window.

    Raises:
        DataError: a row shorter than ``bptt + 1`` tokens (the corpus does not fill one window).

    Example:
        >>> stream = LMStream(list(range(26)), batch_size=4, bptt=2)
        >>> len(stream), stream.row_length, stream.dropped
        (3, 6, 2)
        >>> x, y = stream[0]
        >>> x.tolist(), y.tolist()
        ([[0, 1], [6, 7], [12, 13], [18, 19]], [[1, 2], [7, 8], [13, 14], [19, 20]])
    """

    def __init__(self, ids: Any, batch_size: int, bptt: int) -> None:
        for arg, value in (("batch_size", batch_size), ("bptt", bptt)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{arg} must be an int >= 1, got {value!r}")
        if isinstance(ids, torch.Tensor):
            data = ids.detach().cpu()
            is_int = not (data.is_floating_point() or data.is_complex()
                          or data.dtype == torch.bool)
        else:
            data = ids if isinstance(ids, np.ndarray) else np.asarray(ids, dtype=np.int64)
            is_int = np.issubdtype(data.dtype, np.integer)
        if data.ndim != 1 or not is_int:
            raise DataError(f"ids must be a 1-D integer sequence, got shape {tuple(data.shape)} "
                            f"and dtype {data.dtype}")
        n = int(data.shape[0])
        self.batch_size, self.bptt = int(batch_size), int(bptt)
        self.row_length = n // self.batch_size
        self.dropped = n - self.row_length * self.batch_size
        if self.row_length < self.bptt + 1:
            raise DataError(
                f"corpus too short: {n} tokens in batch_size={self.batch_size} rows give "
                f"{self.row_length} tokens per row, but one BPTT window needs bptt + 1 = "
                f"{self.bptt + 1} per row (at least {self.batch_size * (self.bptt + 1)} tokens); "
                "use a smaller batch_size or bptt, or more text")
        used = data[: self.row_length * self.batch_size]
        self._rows = used.reshape(self.batch_size, self.row_length)  # a view, no copy

    @property
    def num_targets(self) -> int:
        """Targets per pass: every row position except the first."""
        return self.batch_size * (self.row_length - 1)

    def __len__(self) -> int:
        return -(-(self.row_length - 1) // self.bptt)  # ceil((row_length - 1) / bptt)

    def _window(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        start = k * self.bptt
        length = min(self.bptt, self.row_length - 1 - start)
        block = self._rows[:, start:start + length + 1]  # (B, T + 1)
        if isinstance(block, torch.Tensor):
            block = block.to(torch.long).contiguous()
        else:
            block = torch.from_numpy(np.array(block, dtype=np.int64))
        return block[:, :-1], block[:, 1:]

    def __getitem__(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Window ``k`` (negative counts from the end)."""
        n = len(self)
        if not -n <= k < n:
            raise IndexError(f"window {k} out of range: this stream has {n} windows")
        return self._window(k % n)

    def windows(self, start: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Windows ``start, start + 1, ...`` (resume a pass part-way)."""
        if not 0 <= start <= len(self):
            raise IndexError(f"start must be in 0..{len(self)}, got {start}")
        for k in range(start, len(self)):
            yield self._window(k)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return self.windows(0)

    def __repr__(self) -> str:
        return (f"LMStream(batch_size={self.batch_size}, bptt={self.bptt}, "
                f"row_length={self.row_length}, windows={len(self)}, dropped={self.dropped})")


def pad_batch(sequences: Sequence[Sequence[int] | torch.Tensor | np.ndarray],
              pad_id: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad variable-length id sequences into one batch.

    Args:
        sequences: ``B`` sequences of ints (lists, 1-D arrays or tensors); empty ones allowed.
        pad_id: the filler (``Vocab.pad_id`` = 0).

    Returns:
        ``(ids, lengths)``: ``ids`` ``(B, T)`` ``torch.long`` with ``T = max(lengths)``, filled
        with ``pad_id`` after each sequence's end; ``lengths`` ``(B,)`` ``torch.long``.
    """
    if len(sequences) == 0:
        raise DataError("pad_batch: sequences is empty (need at least one sequence)")
    rows = []
    for i, seq in enumerate(sequences):
        row = torch.as_tensor(np.asarray(seq) if isinstance(seq, np.ndarray) else seq)
        if row.ndim != 1 or (row.numel() and (row.is_floating_point() or row.dtype == torch.bool)):
            raise DataError(f"pad_batch: sequence {i} must be a 1-D sequence of ints, got shape "
                            f"{tuple(row.shape)} and dtype {row.dtype}")
        rows.append(row.to(torch.long))
    lengths = torch.tensor([len(r) for r in rows], dtype=torch.long)
    out = torch.full((len(rows), int(lengths.max())), int(pad_id), dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out, lengths


def padding_mask(lengths: torch.Tensor | Sequence[int],
                 max_length: int | None = None) -> torch.Tensor:
    """``(B, T)`` bool mask, ``True`` at real tokens: ``mask[b, t] = t < lengths[b]``.

    Args:
        lengths: ``(B,)`` sequence lengths (``pad_batch``'s second output).
        max_length: ``T``; ``None``: ``max(lengths)``. Smaller than a length is an error.
    """
    lengths = torch.as_tensor(lengths, dtype=torch.long)
    if lengths.ndim != 1:
        raise DataError(f"lengths must be 1-D, got shape {tuple(lengths.shape)}")
    if lengths.numel() and int(lengths.min()) < 0:
        raise DataError(f"lengths must be >= 0, got {lengths.tolist()}")
    longest = int(lengths.max()) if lengths.numel() else 0
    if max_length is None:
        max_length = longest
    elif max_length < longest:
        raise DataError(f"max_length={max_length} is shorter than the longest sequence ({longest})")
    return torch.arange(max_length, device=lengths.device)[None, :] < lengths[:, None]
