r"""Linear-chain conditional random field (Lafferty et al. 2001) as a PyTorch module.

The interface follows ``pytorch-crf`` (``torchcrf.CRF``) so a model can switch between them:
``crf(emissions, tags, mask)`` is the log-likelihood, ``crf.decode(emissions, mask)`` the
Viterbi paths. Symbols below: emissions ``x`` (B, T, K) (``batch_first``), tags ``y``, the
length ``L`` of a sequence (its mask is ``L`` ones then zeros), start scores ``s``
(``start_transitions``), end scores ``n`` (``end_transitions``) and transition scores ``A``
(``transitions``, ``A[i, j]`` scores tag ``i`` followed by tag ``j``).

Score of a path and its probability::

    score(x, y) = s[y_0] + sum_{t=0}^{L-1} x_t[y_t] + sum_{t=1}^{L-1} A[y_{t-1}, y_t] + n[y_{L-1}]
    log p(y | x) = score(x, y) - log Z(x),   log Z(x) = log sum_{y'} exp score(x, y')

Forward algorithm (log-sum-exp over the previous tag ``i``, all sequences of the batch at once)::

    a_0[j] = s[j] + x_0[j]
    a_t[j] = logsumexp_i(a_{t-1}[i] + A[i, j]) + x_t[j]        (t = 1 .. L-1)
    log Z  = logsumexp_j(a_{L-1}[j] + n[j])

Viterbi replaces log-sum-exp by max and keeps the argmax ``bp_t[j]`` for the backtrace;
marginals are ``p(y_t = j | x) = exp(a_t[j] + b_t[j] - log Z)`` with the backward recursion
``b_{L-1}[j] = n[j]``, ``b_{t-1}[i] = logsumexp_j(A[i, j] + x_t[j] + b_t[j])``.

On CPU the recursions run in the Numba kernels of :mod:`seqlab.nn.crf_kernels` (an exp-space
forward-backward with per-step rescaling and a hand-written gradient, see there); elsewhere,
and as the tests' reference, in the log-space tensor loops of this module
(:func:`log_partition_reference`, :func:`viterbi_reference`, :func:`marginals_reference`).

Allowed-transition constraints (:func:`allowed_transitions`) set the scores of forbidden
starts, transitions and ends to ``-1e30``: ``exp`` of it is exactly 0, so such paths get
probability 0 and are never decoded, as with ``-inf``, but no ``inf - inf`` can arise.

    >>> import torch
    >>> from seqlab.nn import CRF
    >>> crf = CRF.for_tags(["O", "B-PER", "I-PER"], scheme="BIO")
    >>> x = torch.randn(2, 4, 3)
    >>> mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=torch.bool)
    >>> crf(x, torch.tensor([[1, 2, 0, 0], [0, 1, 0, 0]]), mask).shape
    torch.Size([])
    >>> paths = crf.decode(x, mask)
    >>> [len(p) for p in paths], any((a, b) == (0, 2) for p in paths for a, b in zip(p, p[1:]))
    ([4, 2], False)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from seqlab.errors import ConfigError, DataError

__all__ = ["CRF", "allowed_transitions", "log_partition_reference", "viterbi_reference",
           "marginals_reference"]

IMPOSSIBLE = -1e30  # score of a forbidden start/transition/end (exp underflows to exactly 0)
SCHEMES = ("IOB1", "BIO", "BIOES")
REDUCTIONS = ("none", "sum", "mean", "token_mean")


# ------------------------------------------------------------------ constraints from tag names
def _split_tag(tag: str, scheme: str) -> tuple[str, str]:
    if tag == "O":
        return "O", ""
    prefix, sep, kind = tag.partition("-")
    if not sep or not kind or prefix not in scheme:
        raise ConfigError(f"tag {tag!r} is not 'O' or P-TYPE with P in {list(scheme)} "
                          f"(scheme {scheme})")
    return prefix, kind


def allowed_transitions(tags: Sequence[str], scheme: str = "BIO") -> tuple[Tensor, Tensor, Tensor]:
    """Boolean masks ``(start (K,), transitions (K, K), end (K,))`` of what ``scheme`` allows.

    * ``BIO`` (IOB2): ``I-X`` only after ``B-X`` or ``I-X``; a path cannot start with ``I-X``.
    * ``BIOES``: after ``B-X``/``I-X`` only ``I-X``/``E-X``; after ``O``/``E-X``/``S-X`` (and at
      the start) only ``O``, ``B-Y``, ``S-Y``; a path ends with ``O``, ``E-X`` or ``S-X``.
    * ``IOB1`` (CoNLL-2003 as distributed): ``B-X`` only after ``I-X`` or ``B-X`` (it separates
      two adjacent entities of one type), so not at the start; ``I-X`` anywhere.

    >>> start, trans, end = allowed_transitions(["O", "B-LOC", "I-LOC"])
    >>> start.tolist(), trans[0].tolist()
    ([True, True, False], [True, True, False])
    """
    if scheme not in SCHEMES:
        raise ConfigError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    parts = [_split_tag(t, scheme) for t in tags]
    K = len(parts)
    start, end = torch.ones(K, dtype=torch.bool), torch.ones(K, dtype=torch.bool)
    trans = torch.ones(K, K, dtype=torch.bool)
    for j, (pj, kj) in enumerate(parts):
        if scheme == "BIO":
            start[j] = pj != "I"
        elif scheme == "BIOES":
            start[j] = pj in "OBS"
            end[j] = pj in "OES"
        else:
            start[j] = pj != "B"
        for i, (pi, ki) in enumerate(parts):
            inside = pi in "BI" and pi != "O"  # i opens or continues an entity of type ki
            if scheme == "BIO":
                ok = pj != "I" or (inside and ki == kj)
            elif scheme == "BIOES":
                ok = (pj in "IE" and ki == kj) if inside else pj in "OBS"
            else:
                ok = pj != "B" or (pi in "IB" and ki == kj)
            trans[i, j] = ok
    return start, trans, end


# ------------------------------------------------------------------ reference recursions
def _score_step(alpha: Tensor, A: Tensor) -> Tensor:
    return alpha.unsqueeze(2) + A  # (B, K_prev, K_next)


def log_partition_reference(x: Tensor, mask: Tensor, start: Tensor, end: Tensor,
                            A: Tensor) -> Tensor:
    """``log Z`` (B,) by the log-space forward algorithm (batch first, prefix mask)."""
    alpha = start + x[:, 0]
    for t in range(1, x.shape[1]):
        nxt = torch.logsumexp(_score_step(alpha, A), dim=1) + x[:, t]
        alpha = torch.where(mask[:, t, None], nxt, alpha)
    return torch.logsumexp(alpha + end, dim=1)


def viterbi_reference(x: Tensor, mask: Tensor, start: Tensor, end: Tensor,
                      A: Tensor) -> Tensor:
    """Best paths (B, T) (0 past each length) by the max-product recursion, backtrace batched."""
    B, T, _ = x.shape
    delta = start + x[:, 0]
    back = []  # back[t][b, j]: best tag at step t before tag j at step t + 1
    for t in range(1, T):
        best, arg = _score_step(delta, A).max(dim=1)
        delta = torch.where(mask[:, t, None], best + x[:, t], delta)
        back.append(arg)
    last = (delta + end).argmax(dim=1)
    lengths = mask.sum(1)
    paths = torch.zeros(B, T, dtype=torch.long, device=x.device)
    for t in range(T - 1, -1, -1):
        cur = last
        if t < T - 1:
            cur = torch.where(lengths - 1 == t, last,
                              back[t].gather(1, paths[:, t + 1, None]).squeeze(1))
        paths[:, t] = torch.where(t < lengths, cur, 0)
    return paths


def marginals_reference(x: Tensor, mask: Tensor, start: Tensor, end: Tensor,
                        A: Tensor) -> Tensor:
    """``p(y_t = j | x)`` (B, T, K) by log-space forward-backward; 0 at padded steps."""
    B, T, K = x.shape
    alphas = [start + x[:, 0]]
    for t in range(1, T):
        nxt = torch.logsumexp(_score_step(alphas[-1], A), dim=1) + x[:, t]
        alphas.append(torch.where(mask[:, t, None], nxt, alphas[-1]))
    log_z = torch.logsumexp(alphas[-1] + end, dim=1)
    lengths = mask.sum(1)
    ends = end.expand(B, K)
    beta, betas = ends, [ends] * T
    for t in range(T - 1, -1, -1):
        beta = torch.where((lengths - 1 == t)[:, None], ends, beta)  # b_{L-1} = n
        betas[t] = beta
        if t > 0:
            prev = torch.logsumexp(A + (x[:, t] + beta).unsqueeze(1), dim=2)
            beta = torch.where((t <= lengths - 1)[:, None], prev, beta)
    logp = torch.stack(alphas, 1) + torch.stack(betas, 1) - log_z[:, None, None]
    return torch.where(mask[..., None], logp.exp(), 0.0)


# ------------------------------------------------------------------ fast CPU path
def _alpha_kernel(x: Tensor, s: Tensor, n: Tensor, A: Tensor, lengths: Tensor):
    """Runs the Numba forward pass; returns log Z (float64, B) and what the backward needs."""
    from seqlab.nn import crf_kernels as k

    f64 = torch.float64
    xd = x.detach().to(f64).contiguous()
    B, T, K = xd.shape
    amax, emax = float(A.detach().max()), float(n.detach().max())
    E = (A.detach().to(f64) - amax).exp().contiguous()
    end_exp = (n.detach().to(f64) - emax).exp().contiguous()
    alpha, ex = torch.empty(B, T, K, dtype=f64), torch.zeros(B, T, K, dtype=f64)
    scale, final = torch.empty(B, T, dtype=f64), torch.empty(B, dtype=f64)
    lengths = lengths.to(torch.int64).contiguous()
    logz = k.alpha_pass(xd.numpy(), s.detach().to(f64).contiguous().numpy(), E.numpy(), amax,
                        end_exp.numpy(), emax, lengths.numpy(), alpha.numpy(), scale.numpy(),
                        ex.numpy(), final.numpy())
    return torch.from_numpy(logz), (alpha, scale, ex, final, E, end_exp, lengths)


def _beta_kernel(saved, g: Tensor):
    """Gradients of sum_b g[b] log Z_b: (x (B, T, K), s, n, A), all float64."""
    from seqlab.nn import crf_kernels as k

    alpha, scale, ex, final, E, end_exp, lengths = saved
    B, T, K = alpha.shape
    f64 = torch.float64
    gx = torch.zeros(B, T, K, dtype=f64)
    gs, gn, gA = torch.zeros(K, dtype=f64), torch.zeros(K, dtype=f64), torch.zeros(K, K, dtype=f64)
    k.beta_pass(alpha.numpy(), scale.numpy(), ex.numpy(), final.numpy(), E.numpy(),
                end_exp.numpy(), lengths.numpy(), g.detach().to(f64).contiguous().numpy(),
                gx.numpy(), gs.numpy(), gn.numpy(), gA.numpy())
    return gx, gs, gn, gA


class _LogPartition(torch.autograd.Function):
    """log Z via the Numba scaled forward-backward (its gradient: the marginals)."""

    @staticmethod
    def forward(ctx, x, s, n, A, lengths):
        logz, saved = _alpha_kernel(x, s, n, A, lengths)
        ctx.saved = saved
        ctx.dtype = x.dtype
        return logz.to(x.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, g):
        grads = _beta_kernel(ctx.saved, g)
        return (*(t.to(ctx.dtype) for t in grads), None)


def _fast(x: Tensor) -> bool:
    return x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64)


# ------------------------------------------------------------------ module
class CRF(nn.Module):
    """Linear-chain CRF over ``num_tags`` tags (equations in the module docstring).

    Args:
        num_tags: number of tags ``K``.
        batch_first: emissions are (B, T, K) if True, else (T, B, K) (tags, mask likewise).
        constraints: optional ``(start, transitions, end)`` boolean masks of what is allowed
            (see :func:`allowed_transitions`); forbidden entries score ``-1e30``.

    Parameters ``start_transitions`` (K,), ``end_transitions`` (K,) and ``transitions``
    (K, K) start uniform in [-0.1, 0.1], as in pytorch-crf.
    """

    def __init__(self, num_tags: int, batch_first: bool = True,
                 constraints: tuple[Tensor, Tensor, Tensor] | None = None) -> None:
        super().__init__()
        if isinstance(num_tags, bool) or not isinstance(num_tags, int) or num_tags < 1:
            raise ConfigError(f"num_tags must be a positive integer, got {num_tags!r}")
        self.num_tags, self.batch_first = num_tags, batch_first
        self.start_transitions = nn.Parameter(torch.empty(num_tags))
        self.end_transitions = nn.Parameter(torch.empty(num_tags))
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags))
        self.reset_parameters()
        K = num_tags
        if constraints is None:
            constraints = (torch.ones(K, dtype=torch.bool), torch.ones(K, K, dtype=torch.bool),
                           torch.ones(K, dtype=torch.bool))
        shapes = [(K,), (K, K), (K,)]
        if len(constraints) != 3 or any(tuple(c.shape) != s for c, s in zip(constraints, shapes)):
            raise ConfigError(f"constraints must be (start ({K},), transitions ({K}, {K}), "
                              f"end ({K},)) boolean masks, got shapes "
                              f"{[tuple(c.shape) for c in constraints]}")
        for name, c in zip(("allowed_start", "allowed_transitions", "allowed_end"), constraints):
            self.register_buffer(name, c.to(torch.bool).clone())

    @classmethod
    def for_tags(cls, tags: Sequence[str], scheme: str = "BIO", batch_first: bool = True) -> CRF:
        """A CRF over ``tags`` (their order is the tag index) constrained by ``scheme``."""
        return cls(len(tags), batch_first, allowed_transitions(tags, scheme))

    def reset_parameters(self) -> None:
        for p in (self.start_transitions, self.end_transitions, self.transitions):
            nn.init.uniform_(p, -0.1, 0.1)

    def extra_repr(self) -> str:
        return f"num_tags={self.num_tags}, batch_first={self.batch_first}"

    def scores(self) -> tuple[Tensor, Tensor, Tensor]:
        """``(s, n, A)`` with the constraints applied (forbidden entries ``-1e30``)."""
        return (self.start_transitions.masked_fill(~self.allowed_start, IMPOSSIBLE),
                self.end_transitions.masked_fill(~self.allowed_end, IMPOSSIBLE),
                self.transitions.masked_fill(~self.allowed_transitions, IMPOSSIBLE))

    # ---------------------------------------------------------------- checks
    def _prepare(self, emissions: Tensor, tags: Tensor | None, mask: Tensor | None):
        if not isinstance(emissions, Tensor) or emissions.dim() != 3:
            got = tuple(emissions.shape) if isinstance(emissions, Tensor) else type(emissions)
            order = "B, T" if self.batch_first else "T, B"
            raise DataError(f"emissions must be a 3-D tensor ({order}, num_tags="
                            f"{self.num_tags}), got {got}")
        if emissions.shape[2] != self.num_tags:
            raise DataError(f"emissions' last dimension must be num_tags={self.num_tags}, got "
                            f"shape {tuple(emissions.shape)}")
        if not emissions.is_floating_point():
            raise DataError(f"emissions must be floating point, got {emissions.dtype}")
        if emissions.shape[0] == 0 or emissions.shape[1] == 0:
            raise DataError(f"emissions need at least one sequence and one step, got shape "
                            f"{tuple(emissions.shape)}")
        swap = (lambda t: t.transpose(0, 1)) if not self.batch_first else (lambda t: t)
        x = swap(emissions)
        B, T, _ = x.shape
        if mask is None:
            mask = torch.ones(B, T, dtype=torch.bool, device=x.device)
        else:
            if tuple(mask.shape) != tuple(emissions.shape[:2]):
                raise DataError(f"mask must have shape {tuple(emissions.shape[:2])} (emissions' "
                                f"first two), got {tuple(mask.shape)}")
            mask = swap(mask).to(torch.bool)
            if not bool(mask[:, 0].all()):
                row = int((~mask[:, 0]).nonzero()[0])
                raise DataError(f"mask of the first timestep must be on for every sequence "
                                f"(as in pytorch-crf); sequence {row} has length 0 or starts "
                                "padded: drop empty sequences")
            if T > 1 and bool((mask[:, 1:] & ~mask[:, :-1]).any()):
                row = int((mask[:, 1:] & ~mask[:, :-1]).any(1).nonzero()[0])
                raise DataError(f"mask must be ones then zeros per sequence (a prefix); sequence "
                                f"{row} has a padded step before a real one")
        if tags is not None:
            if tuple(tags.shape) != tuple(emissions.shape[:2]):
                raise DataError(f"tags must have shape {tuple(emissions.shape[:2])}, got "
                                f"{tuple(tags.shape)}")
            if tags.is_floating_point() or tags.dtype == torch.bool:
                raise DataError(f"tags must be integer tag indices, got {tags.dtype}")
            tags = swap(tags).long()
            bad = mask & ((tags < 0) | (tags >= self.num_tags))
            if bool(bad.any()):
                b, t = (int(v) for v in bad.nonzero()[0])
                raise DataError(f"tag {int(tags[b, t])} at sequence {b}, step {t} is outside "
                                f"[0, num_tags={self.num_tags})")
            tags = tags.masked_fill(~mask, 0)
        return x, tags, mask

    # ---------------------------------------------------------------- scores
    def _gold_score(self, x: Tensor, tags: Tensor, mask: Tensor, s, n, A) -> Tensor:
        m = mask.to(x.dtype)
        emit = (x.gather(2, tags.unsqueeze(2)).squeeze(2) * m).sum(1)
        trans = (A[tags[:, :-1], tags[:, 1:]] * m[:, 1:]).sum(1)
        last = tags.gather(1, (mask.sum(1) - 1).unsqueeze(1)).squeeze(1)
        return s[tags[:, 0]] + emit + trans + n[last]

    def _check_allowed(self, tags: Tensor, mask: Tensor) -> None:
        last = tags.gather(1, (mask.sum(1) - 1).unsqueeze(1)).squeeze(1)
        ok_t = self.allowed_transitions[tags[:, :-1], tags[:, 1:]] | ~mask[:, 1:]
        ends = (("start", self.allowed_start[tags[:, 0]]), ("end", self.allowed_end[last]))
        for what, ok in ends:
            if not bool(ok.all()):
                b = int((~ok).nonzero()[0])
                raise DataError(f"sequence {b}: the tag constraints forbid its {what} tag")
        if not bool(ok_t.all()):
            b, t = (int(v) for v in (~ok_t).nonzero()[0])
            raise DataError(f"sequence {b}: the tag constraints forbid tag "
                            f"{int(tags[b, t])} -> {int(tags[b, t + 1])} at steps {t}->{t + 1}")

    def log_partition(self, emissions: Tensor, mask: Tensor | None = None) -> Tensor:
        """``log Z(x)`` per sequence (B,)."""
        x, _, mask = self._prepare(emissions, None, mask)
        return self._log_z(x, mask, *self.scores())

    def _log_z(self, x, mask, s, n, A) -> Tensor:
        if _fast(x):
            log_z = _LogPartition.apply(x, s, n, A, mask.sum(1))
            if bool(torch.isfinite(log_z).all()):
                return log_z
        return log_partition_reference(x, mask, s, n, A)

    def forward(self, emissions: Tensor, tags: Tensor, mask: Tensor | None = None,
                reduction: str = "sum") -> Tensor:
        """Log-likelihood ``log p(tags | emissions)``, reduced over the batch.

        ``reduction``: ``"none"`` (B,), ``"sum"``, ``"mean"`` (over sequences) or
        ``"token_mean"`` (sum over the number of real tokens). Maximise it (or minimise ``-it``).
        """
        if reduction not in REDUCTIONS:
            raise ConfigError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        x, tags, mask = self._prepare(emissions, tags, mask)
        if not bool(self.allowed_transitions.all() and self.allowed_start.all()
                    and self.allowed_end.all()):
            self._check_allowed(tags, mask)
        s, n, A = self.scores()
        llh = self._gold_score(x, tags, mask, s, n, A) - self._log_z(x, mask, s, n, A)
        if reduction == "none":
            return llh
        if reduction == "sum":
            return llh.sum()
        if reduction == "mean":
            return llh.mean()
        return llh.sum() / mask.sum()

    @torch.no_grad()
    def decode(self, emissions: Tensor, mask: Tensor | None = None) -> list[list[int]]:
        """Viterbi: the most probable tag path of each sequence (lists of its length)."""
        x, _, mask = self._prepare(emissions, None, mask)
        s, n, A = self.scores()
        lengths = mask.sum(1)
        if _fast(x):
            from seqlab.nn import crf_kernels as k

            paths = torch.zeros(x.shape[:2], dtype=torch.int64)
            k.viterbi(x.contiguous().numpy(), s.numpy(), A.contiguous().numpy(), n.numpy(),
                      lengths.numpy(), paths.numpy())
        else:
            paths = viterbi_reference(x, mask, s, n, A)
        return [row[:L] for row, L in zip(paths.tolist(), lengths.tolist())]

    @torch.no_grad()
    def marginals(self, emissions: Tensor, mask: Tensor | None = None) -> Tensor:
        """``p(y_t = j | x)`` (B, T, K) (laid out as the emissions), 0 at padded steps.

        Computed without gradient (forward-backward; on CPU the gradient kernel of log Z).
        """
        x, _, mask = self._prepare(emissions, None, mask)
        s, n, A = self.scores()
        p = None
        if _fast(x):
            lengths = mask.sum(1)
            logz, saved = _alpha_kernel(x, s, n, A, lengths)
            if bool(torch.isfinite(logz).all()):
                p = _beta_kernel(saved, torch.ones_like(logz))[0].to(x.dtype)
        if p is None:
            p = marginals_reference(x, mask, s, n, A)
        return p if self.batch_first else p.transpose(0, 1)
