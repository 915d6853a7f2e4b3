r"""Attention over a sequence of keys: Luong dot/general, Bahdanau additive, and attention pooling.

:class:`Attention` scores a query ``q`` (decoder state, size ``Dq``) against every key ``k_j``
(encoder output ``j``, size ``Dk``), turns the scores into weights with a softmax over the real
(unpadded) positions, and returns the weighted sum of the values (by default the keys)::

    dot       (Luong et al. 2015):     e_j = q . k_j                          (Dq = Dk)
    general   (Luong et al. 2015):     e_j = q^T W k_j = (W^T q) . k_j        W: (Dq, Dk)
    additive  (Bahdanau et al. 2015):  e_j = v . tanh(W_q q + W_k k_j + b)    W_q: (H, Dq),
                                                                              W_k: (H, Dk), v: (H,)
    a_j = exp(e_j) / sum_{j' real} exp(e_j')   (a_j = 0 exactly where mask_j is False)
    c   = sum_j a_j v_j

``W`` is ``general.weight`` (as ``torch.nn.Linear(Dq, Dk, bias=False)`` stores ``W^T``),
``W_q``/``W_k``/``b``/``v`` are ``query_proj.weight``, ``key_proj.weight``,
``key_proj.bias`` and ``energy.weight`` (``H = hidden_size``, default ``key_size``).
The query may be one step ``(B, Dq)`` (-> context ``(B, Dv)``, weights ``(B, Tk)``) or all
steps at once ``(B, Tq, Dq)`` (-> ``(B, Tq, Dv)``, ``(B, Tq, Tk)``). A decoder that calls it step
by step can project the keys once with :meth:`Attention.project_keys` and pass them as
``projected_keys``.

:class:`SelfAttentionPooling` pools a sequence into one vector with additive self-attention
(the ``r = 1`` case of Lin et al. 2017)::

    e_t = v . tanh(W h_t + b),   a = softmax over real t of e,   pooled = sum_t a_t h_t

    >>> import torch
    >>> att = Attention(4, 4, score="dot")
    >>> keys = torch.randn(2, 3, 4)
    >>> mask = torch.tensor([[True, True, False], [True, True, True]])
    >>> context, weights = att(torch.randn(2, 4), keys, mask)
    >>> context.shape, weights[0, 2].item(), round(weights.sum(-1)[0].item(), 6)
    (torch.Size([2, 4]), 0.0, 1.0)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from seqlab.errors import ConfigError, DataError

__all__ = ["Attention", "SelfAttentionPooling", "SCORES", "masked_softmax"]

SCORES = ("dot", "general", "additive")


def masked_softmax(scores: Tensor, mask: Tensor | None) -> Tensor:
    """Softmax over the last dimension with ``mask`` (broadcastable, True = real) positions only.

    Masked positions get weight exactly 0. Every row needs at least one real position.
    """
    if mask is None:
        return torch.softmax(scores, dim=-1)
    return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)


def _check_keys(keys: Tensor, mask: Tensor | None, key_size: int) -> Tensor | None:
    if not isinstance(keys, Tensor) or keys.dim() != 3 or keys.shape[2] != key_size:
        got = tuple(keys.shape) if isinstance(keys, Tensor) else type(keys).__name__
        raise DataError(f"keys must be (B, Tk, key_size={key_size}), got {got}")
    if keys.shape[1] == 0:
        raise DataError("keys must have at least one position (Tk >= 1)")
    if mask is None:
        return None
    if tuple(mask.shape) != tuple(keys.shape[:2]):
        raise DataError(f"mask must have shape (B, Tk)={tuple(keys.shape[:2])}, got "
                        f"{tuple(mask.shape)}")
    mask = mask.to(torch.bool)
    empty = ~mask.any(dim=1)
    if bool(empty.any()):
        raise DataError(f"mask row {int(empty.nonzero()[0])} has no real position: attention "
                        "needs at least one key per sequence")
    return mask


class Attention(nn.Module):
    """Attention of a query over keys with a ``dot``, ``general`` or ``additive`` score.

    Args:
        query_size: ``Dq``.
        key_size: ``Dk``.
        score: ``"dot"`` (needs ``Dq == Dk``), ``"general"`` or ``"additive"``.
        hidden_size: ``H`` of the additive score (default ``key_size``); only for additive.
    """

    def __init__(self, query_size: int, key_size: int, score: str = "dot",
                 hidden_size: int | None = None) -> None:
        super().__init__()
        if score not in SCORES:
            raise ConfigError(f"score must be one of {SCORES}, got {score!r}")
        for name, value in (("query_size", query_size), ("key_size", key_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if score == "dot" and query_size != key_size:
            raise ConfigError(f"the dot score needs query_size == key_size, got {query_size} "
                              f"and {key_size}: use score='general' or 'additive'")
        if hidden_size is not None and score != "additive":
            raise ConfigError(f"hidden_size is only used by the additive score, not {score!r}")
        self.query_size, self.key_size, self.score = query_size, key_size, score
        if score == "general":
            self.general = nn.Linear(query_size, key_size, bias=False)
        elif score == "additive":
            hidden = key_size if hidden_size is None else hidden_size
            if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 1:
                raise ConfigError(f"hidden_size must be a positive integer, got {hidden!r}")
            self.hidden_size = hidden
            self.query_proj = nn.Linear(query_size, hidden, bias=False)
            self.key_proj = nn.Linear(key_size, hidden, bias=True)
            self.energy = nn.Linear(hidden, 1, bias=False)

    def extra_repr(self) -> str:
        return f"query_size={self.query_size}, key_size={self.key_size}, score={self.score!r}"

    def project_keys(self, keys: Tensor) -> Tensor:
        """What the score needs of the keys, computed once per source: ``W_k k_j + b`` for the
        additive score, the keys themselves otherwise."""
        return self.key_proj(keys) if self.score == "additive" else keys

    def scores(self, query: Tensor, projected_keys: Tensor) -> Tensor:
        """Raw scores ``e``: (B, Tq, Tk) for a (B, Tq, Dq) query."""
        if self.score == "dot":
            return query @ projected_keys.transpose(1, 2)
        if self.score == "general":
            return self.general(query) @ projected_keys.transpose(1, 2)
        hidden = torch.tanh(self.query_proj(query).unsqueeze(2) + projected_keys.unsqueeze(1))
        return self.energy(hidden).squeeze(-1)

    def forward(self, query: Tensor, keys: Tensor, mask: Tensor | None = None,
                values: Tensor | None = None,
                projected_keys: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``(context, weights)`` for a (B, Dq) or (B, Tq, Dq) query (shapes in the module doc).

        ``mask`` (B, Tk) is True at real key positions; ``values`` (B, Tk, Dv) default to keys.
        """
        mask = _check_keys(keys, mask, self.key_size)
        if not isinstance(query, Tensor) or query.dim() not in (2, 3) \
                or query.shape[-1] != self.query_size or query.shape[0] != keys.shape[0]:
            got = tuple(query.shape) if isinstance(query, Tensor) else type(query).__name__
            raise DataError(f"query must be (B, Dq) or (B, Tq, Dq) with B={keys.shape[0]}, "
                            f"Dq={self.query_size}, got {got}")
        if values is None:
            values = keys
        elif values.dim() != 3 or tuple(values.shape[:2]) != tuple(keys.shape[:2]):
            raise DataError(f"values must be (B, Tk, Dv) with (B, Tk)={tuple(keys.shape[:2])}, "
                            f"got {tuple(values.shape)}")
        single = query.dim() == 2
        q = query.unsqueeze(1) if single else query
        pk = self.project_keys(keys) if projected_keys is None else projected_keys
        weights = masked_softmax(self.scores(q, pk), None if mask is None else mask[:, None, :])
        context = weights @ values
        if single:
            return context.squeeze(1), weights.squeeze(1)
        return context, weights


class SelfAttentionPooling(nn.Module):
    """Additive self-attention pooling of (B, T, D) inputs into (B, D) (module docstring).

    Args:
        input_size: ``D``.
        hidden_size: size ``H`` of ``W`` (H, D) and ``v`` (H,); default ``input_size``.

    ``forward(x, mask=None)`` returns ``(pooled (B, D), weights (B, T))``; padded positions
    (``mask`` False) get weight exactly 0.
    """

    def __init__(self, input_size: int, hidden_size: int | None = None) -> None:
        super().__init__()
        hidden = input_size if hidden_size is None else hidden_size
        for name, value in (("input_size", input_size), ("hidden_size", hidden)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        self.input_size, self.hidden_size = input_size, hidden
        self.proj = nn.Linear(input_size, hidden, bias=True)
        self.energy = nn.Linear(hidden, 1, bias=False)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        mask = _check_keys(x, mask, self.input_size)
        scores = self.energy(torch.tanh(self.proj(x))).squeeze(-1)
        weights = masked_softmax(scores, mask)
        return (weights.unsqueeze(1) @ x).squeeze(1), weights
