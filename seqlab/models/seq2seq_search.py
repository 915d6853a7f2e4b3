r"""Batched greedy and beam search over an encoder-decoder's ``encode``/``step``.

Both decode every sentence of a batch at once. The model needs ``encode(src, lengths) ->
state`` (a :class:`~seqlab.models.seq2seq_decoders.DecoderState`), ``step(token, state) ->
(logits, state, attention)`` and the ids ``bos_id``/``eos_id``.

Greedy: y_t = argmax_y log p(y | y_<t, x) until ``<eos>`` or the length limit.

Beam search keeps K = ``beam_size`` live hypotheses per sentence. At each step every live
hypothesis is extended by every token; of the K * V extensions the 2K best by summed log
probability are ranked, those ending in ``<eos>`` among the first K ranks are set aside as
finished (with their normalised score), and the first K that do not end in ``<eos>`` live on.
A sentence is done when K hypotheses have finished or its length limit is reached (its live
hypotheses then finish as they are, without ``<eos>``); done sentences leave the batch, so the
remaining ones run on a smaller batch. Finished hypotheses are ranked by::

    none:     log p(y)
    average:  log p(y) / |y| ** alpha                      (simple length normalisation)
    gnmt:     log p(y) / ((5 + |y|) / 6) ** alpha          (Wu et al. 2016, GNMT)

with |y| counting the generated tokens (``<eos>`` included). Per-step log probabilities are
the model's float32 ``log_softmax``, summed in float64. The length limit of a source of
n tokens is ``floor(max_len_a * n + max_len_b)`` tokens, at most ``max_len``. With
``beam_size=1`` the search equals greedy decoding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from seqlab.errors import ConfigError

PENALTIES = ("none", "average", "gnmt")


@dataclass
class Hypothesis:
    """One output: token ids (``<eos>`` last if it finished), normalised score, summed log
    probability, and the attention (len(tokens), S) over the sentence's real source positions
    (None when not asked for or the decoder has none)."""

    tokens: list[int]
    score: float
    log_prob: float
    attention: Tensor | None = None


def length_penalty(length: int, mode: str = "gnmt", alpha: float = 0.6) -> float:
    """The divisor of log p(y) for a hypothesis of ``length`` tokens (module docstring)."""
    if mode == "none":
        return 1.0
    if mode == "average":
        return float(length) ** alpha
    if mode == "gnmt":
        return ((5.0 + length) / 6.0) ** alpha
    raise ConfigError(f"length_penalty must be one of {PENALTIES}, got {mode!r}")


def check_search(beam_size: int, n_best: int = 1, length_penalty_mode: str = "gnmt",
                 max_len_a: float = 1.5, max_len_b: int = 10) -> None:
    """ConfigError for a beam size < 1, an n-best outside [1, beam], an unknown penalty."""
    if isinstance(beam_size, bool) or not isinstance(beam_size, int) or beam_size < 1:
        raise ConfigError(f"beam size must be an int >= 1, got {beam_size!r}")
    if isinstance(n_best, bool) or not isinstance(n_best, int) or not 1 <= n_best <= beam_size:
        raise ConfigError(f"n-best must be an int in [1, beam size={beam_size}], got {n_best!r}")
    if length_penalty_mode not in PENALTIES:
        raise ConfigError(f"length penalty must be one of {PENALTIES}, got "
                          f"{length_penalty_mode!r}")
    if max_len_a < 0 or max_len_b < 0 or max_len_a * 1 + max_len_b < 1:
        raise ConfigError(f"max_len_a, max_len_b must be >= 0 with a + b >= 1, got {max_len_a}, "
                          f"{max_len_b}")


def length_limits(lengths: Tensor, max_len_a: float, max_len_b: int, max_len: int) -> Tensor:
    """floor(a * n + b), clamped to [1, max_len], per source length n (B,)."""
    limits = torch.floor(lengths.double() * max_len_a + max_len_b).long()
    return limits.clamp(1, max_len)


@torch.no_grad()
def greedy_search(model, src: Tensor, lengths: Tensor, *, max_len_a: float = 1.5,
                  max_len_b: int = 10, max_len: int = 256,
                  return_attention: bool = False) -> list[Hypothesis]:
    """The argmax output of every sentence of the batch ``src`` (B, S), ``lengths`` (B,)."""
    B = src.shape[0]
    state = model.encode(src, lengths)
    limits = length_limits(lengths, max_len_a, max_len_b, max_len)
    token = torch.full((B,), model.bos_id, dtype=torch.long, device=src.device)
    done = torch.zeros(B, dtype=torch.bool)
    ends = limits.clone()  # tokens kept per sentence
    out, logp, atts = [], torch.zeros(B, dtype=torch.float64), []
    for t in range(int(limits.max())):
        logits, state, att = model.step(token, state)
        lp = torch.log_softmax(logits.float(), -1)
        best, token = lp.max(-1)
        logp += torch.where(done, torch.zeros_like(best), best).double().cpu()
        out.append(token)
        if return_attention and att is not None:
            atts.append(att)
        finished = (~done) & (token == model.eos_id)
        ends = torch.where(finished, torch.full_like(ends, t + 1), ends)
        done |= finished | (t + 1 >= limits)
        if bool(done.all()):
            break
    tokens = torch.stack(out, 1).tolist()
    att_all = torch.stack(atts, 1) if atts else None
    hyps = []
    for b in range(B):
        n = int(ends[b])
        a = None if att_all is None else att_all[b, :n, :int(lengths[b])].clone()
        hyps.append(Hypothesis(tokens[b][:n], float(logp[b]), float(logp[b]), a))
    return hyps


@torch.no_grad()
def beam_search(model, src: Tensor, lengths: Tensor, *, beam_size: int = 5, n_best: int = 1,
                length_penalty_mode: str = "gnmt", alpha: float = 0.6,
                max_len_a: float = 1.5, max_len_b: int = 10, max_len: int = 256,
                return_attention: bool = False) -> list[list[Hypothesis]]:
    """The ``n_best`` best hypotheses of every sentence of the batch, best first."""
    check_search(beam_size, n_best, length_penalty_mode, max_len_a, max_len_b)
    B, K, dev = src.shape[0], beam_size, src.device
    limits = length_limits(lengths, max_len_a, max_len_b, max_len)
    state = model.encode(src, lengths)
    state = state.select(torch.arange(B, device=dev).repeat_interleave(K))
    sent = torch.arange(B)  # original sentence of each live group
    scores = torch.full((B, K), -math.inf, dtype=torch.float64)
    scores[:, 0] = 0.0
    history = torch.zeros(B * K, 0, dtype=torch.long)
    att_hist = None
    token = torch.full((B * K,), model.bos_id, dtype=torch.long, device=dev)
    finished: list[list[Hypothesis]] = [[] for _ in range(B)]

    def add(b: int, toks: list[int], logp: float, att: Tensor | None) -> None:
        a = None if att is None else att[:, :int(lengths[b])].clone()
        lp = length_penalty(len(toks), length_penalty_mode, alpha)
        finished[b].append(Hypothesis(toks, logp / lp, logp, a))

    for t in range(int(limits.max())):
        n = sent.numel()
        logits, state, att = model.step(token, state)
        # the 2K best extensions of all K hypotheses are among each hypothesis' own 2K best
        # tokens, so rank those (n*K, 2K) instead of all (n*K, V) in float64
        lp = torch.log_softmax(logits.float(), -1)  # (n*K, V)
        W = min(2 * K, lp.shape[1])
        row_lp, row_tok = lp.topk(W, dim=1)
        cand = (scores.view(n * K, 1) + row_lp.double().cpu()).view(n, K * W)
        top_s, top_i = cand.topk(min(2 * K, K * W), dim=1)
        parent = top_i // W
        tok = row_tok.cpu().view(n, K * W).gather(1, top_i)
        is_eos = tok == model.eos_id
        want_att = return_attention and att is not None
        if want_att:
            att = att.cpu()
        for r, j in (is_eos[:, :K]).nonzero().tolist():
            row = r * K + int(parent[r, j])
            a = torch.cat([att_hist[row], att[row][None]], 0) if want_att and \
                att_hist is not None else (att[row][None] if want_att else None)
            add(int(sent[r]), history[row].tolist() + [model.eos_id], float(top_s[r, j]), a)
        alive = ~is_eos
        alive &= alive.cumsum(1) <= K
        pos = alive.nonzero()[:, 1].view(n, -1)[:, :K]
        scores = top_s.gather(1, pos)
        rows = (torch.arange(n)[:, None] * K + parent.gather(1, pos)).view(-1)
        new_tok = tok.gather(1, pos).view(-1)
        history = torch.cat([history[rows], new_tok[:, None]], 1)
        if want_att:
            step_att = att[rows][:, None]
            att_hist = step_att if att_hist is None else torch.cat([att_hist[rows], step_att], 1)
        state = state.select(rows.to(dev), memory=False)
        last = (t + 1) >= limits[sent]
        keep = []
        for r in range(n):
            b = int(sent[r])
            if bool(last[r]) and len(finished[b]) < K:
                for k in range(K):
                    if math.isfinite(float(scores[r, k])):
                        row = r * K + k
                        add(b, history[row].tolist(), float(scores[r, k]),
                            att_hist[row] if want_att else None)
            if len(finished[b]) < K and not bool(last[r]):
                keep.append(r)
        if not keep:
            break
        if len(keep) < n:
            kept = torch.tensor(keep)
            sel = (kept[:, None] * K + torch.arange(K)).view(-1)
            state = state.select(sel.to(dev), memory=True)
            history, scores, sent = history[sel], scores[kept], sent[kept]
            new_tok = new_tok[sel]
            if att_hist is not None:
                att_hist = att_hist[sel]
        token = new_tok.to(dev)
    return [sorted(f, key=lambda h: -h.score)[:n_best] for f in finished]
