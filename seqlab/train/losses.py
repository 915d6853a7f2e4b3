"""Losses returned as ``(sum, count)``, so averages over a whole split are exact.

A mean of batch means weights every batch equally; when batches hold different numbers of
tokens (the last BPTT window is short, padded batches vary) that is not the per-token average.
Summing negative log-likelihoods and counting tokens, then dividing once at the end, is.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def token_nll(logits: torch.Tensor, targets: torch.Tensor, ignore_index: int | None = None
              ) -> tuple[torch.Tensor, int]:
    """Summed negative log-likelihood of ``targets`` under ``logits`` and the token count.

    ``nll_sum = -sum_t log softmax(logits_t)[targets_t]`` over every position whose target is
    not ``ignore_index``.

    Args:
        logits: (B, T, V) or (N, V) unnormalised scores.
        targets: (B, T) or (N,) ids.
        ignore_index: a target id (e.g. padding) that counts neither in the sum nor the count.

    Returns:
        (nll_sum, count): a 0-d float tensor (differentiable) and an int.
    """
    flat_logits = logits.reshape(-1, logits.shape[-1]).float()
    flat_targets = targets.reshape(-1)
    if ignore_index is None:
        count = flat_targets.numel()
        nll = F.cross_entropy(flat_logits, flat_targets, reduction="sum")
    else:
        count = int((flat_targets != ignore_index).sum())
        nll = F.cross_entropy(flat_logits, flat_targets, reduction="sum",
                              ignore_index=ignore_index)
    return nll, count
