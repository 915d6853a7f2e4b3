"""Decoding and scoring: functions over ``model.step(token, state) -> (logits, state)``.

The prompt (at least one id) is read once with ``model(prompt)``; then each new token is one
``step``, so generation costs O(1) per token. Every function works with any model that has
``forward`` and ``step`` in this shape (:class:`seqlab.models.LanguageModel`).

- :func:`greedy`: x_t = argmax p(. | x_<t).
- :func:`sample`: x_t ~ softmax(logits / temperature), restricted to the ``top_k`` most likely
  tokens and/or the smallest set whose probability reaches ``top_p`` (nucleus sampling,
  Holtzman et al. 2020). Reproducible: the same ``seed`` gives the same tokens.
- :func:`beam_search`: keeps the ``beam_size`` best prefixes by log-probability; finished
  hypotheses are ranked by log p(y) / len(y) ** length_penalty (0: raw log-probability,
  1: per-token average).
- :func:`score`: log p(sentence) and each token's surprisal -log2 p(x_t | x_<t).

``suppress`` (greedy, sample, beam search): token ids never generated, their logits set to
-inf before any choice (the command line passes the special tokens other than ``<eos>``:
``<pad>``, ``<unk>``, ``<bos>`` are not text).

Example (a toy model whose next-token logits ignore the input and favour id 0):
    >>> class Fixed(torch.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.logits = torch.nn.Parameter(torch.tensor([3.0, 2.0, 1.0]))
    ...     def forward(self, ids):
    ...         return self.logits.expand(*ids.shape, 3), None
    ...     def step(self, token, state):
    ...         return self.logits.expand(token.shape[0], 3), None
    >>> greedy(Fixed(), [1], 3)
    [0, 0, 0]
    >>> greedy(Fixed(), [1], 3, suppress=[0])
    [1, 1, 1]
    >>> sorted(set(sample(Fixed(), [1], 50, temperature=5.0, seed=0, suppress=[0, 1])))
    [2]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from seqlab.errors import ConfigError, DataError


def _check_prompt(prompt: Sequence[int]) -> torch.Tensor:
    ids = torch.as_tensor(list(prompt), dtype=torch.long)
    if ids.dim() != 1 or ids.numel() == 0:
        raise DataError(f"prompt must be a non-empty list of token ids, got {list(prompt)!r}")
    return ids


def _check_length(max_new_tokens: int) -> None:
    if not isinstance(max_new_tokens, int) or max_new_tokens < 0:
        raise ConfigError(f"max_new_tokens must be an int >= 0, got {max_new_tokens!r}")


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def _suppressed(logits: torch.Tensor, suppress: Sequence[int] | None) -> torch.Tensor:
    """``logits`` with the ``suppress`` ids set to -inf (an error if that leaves none)."""
    if not suppress:
        return logits
    ids = sorted(set(int(i) for i in suppress))
    if ids[0] < 0 or ids[-1] >= logits.shape[-1]:
        raise ConfigError(f"suppress ids must be in [0, {logits.shape[-1]}), got {ids}")
    if len(ids) == logits.shape[-1]:
        raise ConfigError("suppress names every token: nothing is left to generate")
    logits = logits.clone()
    logits[..., ids] = -math.inf
    return logits


@torch.no_grad()
def _prime(model: torch.nn.Module, prompt: Sequence[int]) -> tuple[torch.Tensor, Any]:
    """Read the prompt; return the logits for the next token (1, V) and the state."""
    ids = _check_prompt(prompt).to(_device(model))
    logits, state = model(ids[None, :])  # (1, T, V)
    return logits[:, -1], state


def _select(state: Any, index: torch.Tensor) -> Any:
    """Reorder the batch dimension (dim 1 of (L, B, H)) of a state: beams follow parents."""
    if isinstance(state, torch.Tensor):
        return state.index_select(1, index)
    return tuple(s.index_select(1, index) for s in state)


@torch.no_grad()
def greedy(model: torch.nn.Module, prompt: Sequence[int], max_new_tokens: int,
           eos_id: int | None = None, suppress: Sequence[int] | None = None) -> list[int]:
    """The most likely next token, repeatedly; stops after ``eos_id`` (included) if given."""
    _check_length(max_new_tokens)
    model.eval()
    logits, state = _prime(model, prompt)
    out: list[int] = []
    for _ in range(max_new_tokens):
        token = _suppressed(logits, suppress).argmax(dim=-1)  # (1,)
        out.append(int(token))
        if eos_id is not None and out[-1] == eos_id:
            break
        logits, state = model.step(token, state)
    return out


def filter_logits(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                  top_p: float | None = None) -> torch.Tensor:
    """Scale by temperature, then set logits outside top-k / the top-p nucleus to -inf."""
    if not (isinstance(temperature, (int, float)) and temperature > 0
            and math.isfinite(temperature)):
        raise ConfigError(f"temperature must be a finite number > 0, got {temperature!r}")
    if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
        raise ConfigError(f"top_k must be None or an int >= 1, got {top_k!r}")
    if top_p is not None and not (isinstance(top_p, (int, float)) and 0 < top_p <= 1):
        raise ConfigError(f"top_p must be in (0, 1], got {top_p!r}")
    logits = logits.float() / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, -math.inf)
    if top_p is not None and top_p < 1:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        # drop a token when the tokens ranked above it already reach top_p (keeps >= 1 token)
        drop_sorted = (cumulative - sorted_logits.softmax(dim=-1)) >= top_p
        drop = drop_sorted.scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, -math.inf)
    return logits


@torch.no_grad()
def sample(model: torch.nn.Module, prompt: Sequence[int], max_new_tokens: int,
           temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
           seed: int | None = None, eos_id: int | None = None,
           suppress: Sequence[int] | None = None) -> list[int]:
    """Draw tokens from the (filtered) next-token distribution; same ``seed``, same tokens."""
    _check_length(max_new_tokens)
    filter_logits(torch.zeros(1, 1), temperature, top_k, top_p)  # validate before any work
    model.eval()
    generator = torch.Generator(device=_device(model))
    if seed is not None:
        generator.manual_seed(seed)
    else:
        generator.seed()
    logits, state = _prime(model, prompt)
    out: list[int] = []
    for _ in range(max_new_tokens):
        probs = filter_logits(_suppressed(logits, suppress), temperature, top_k,
                              top_p).softmax(dim=-1)
        token = torch.multinomial(probs, 1, generator=generator)[:, 0]  # (1,)
        out.append(int(token))
        if eos_id is not None and out[-1] == eos_id:
            break
        logits, state = model.step(token, state)
    return out


@dataclass
class Hypothesis:
    tokens: list[int]
    log_prob: float
    score: float


@torch.no_grad()
def beam_search(model: torch.nn.Module, prompt: Sequence[int], max_new_tokens: int,
                beam_size: int = 4, length_penalty: float = 1.0,
                eos_id: int | None = None,
                suppress: Sequence[int] | None = None) -> list[Hypothesis]:
    """Beam search; returns up to ``beam_size`` hypotheses, best first.

    A hypothesis ends at ``eos_id`` (included) or after ``max_new_tokens``; its score is
    log_prob / len(tokens) ** length_penalty.
    """
    _check_length(max_new_tokens)
    if not isinstance(beam_size, int) or beam_size < 1:
        raise ConfigError(f"beam_size must be an int >= 1, got {beam_size!r}")
    if not (isinstance(length_penalty, (int, float)) and length_penalty >= 0):
        raise ConfigError(f"length_penalty must be a number >= 0, got {length_penalty!r}")
    model.eval()
    logits, state = _prime(model, prompt)

    def final(tokens: list[int], log_prob: float) -> Hypothesis:
        return Hypothesis(tokens, log_prob, log_prob / max(1, len(tokens)) ** length_penalty)

    alive: list[tuple[list[int], float]] = [([], 0.0)]
    finished: list[Hypothesis] = []
    for _ in range(max_new_tokens):
        log_probs = _suppressed(logits.float(), suppress).log_softmax(dim=-1)  # (beams, V)
        totals = torch.tensor([lp for _, lp in alive], device=log_probs.device)[:, None]
        flat = (totals + log_probs).reshape(-1)
        top = torch.topk(flat, min(flat.numel(), 2 * beam_size))
        vocab = log_probs.shape[-1]
        parents, tokens, next_alive = [], [], []
        for value, index in zip(top.values.tolist(), top.indices.tolist()):
            parent, token = divmod(index, vocab)
            seq = alive[parent][0] + [token]
            if eos_id is not None and token == eos_id:
                finished.append(final(seq, value))
            elif len(next_alive) < beam_size:
                next_alive.append((seq, value))
                parents.append(parent)
                tokens.append(token)
        if len(finished) >= beam_size or not next_alive:
            alive = next_alive
            break
        alive = next_alive
        index = torch.tensor(parents, device=log_probs.device)
        state = _select(state, index)
        logits, state = model.step(torch.tensor(tokens, device=log_probs.device), state)
    finished += [final(seq, lp) for seq, lp in alive if seq]
    finished.sort(key=lambda h: h.score, reverse=True)
    return finished[:beam_size]


@dataclass
class Score:
    """log p(tokens | context) in nats, and each token's surprisal -log2 p in bits."""

    tokens: list[int]
    log_prob: float
    surprisal: list[float]

    @property
    def perplexity(self) -> float:
        return math.exp(-self.log_prob / len(self.tokens))


@torch.no_grad()
def score(model: torch.nn.Module, tokens: Sequence[int], context: Sequence[int]) -> Score:
    """Score ``tokens`` following ``context`` (at least one id, e.g. ``[eos_id]`` as a sentence
    start in PTB-style streams): sum_t log p(tokens_t | context, tokens_<t)."""
    ids = _check_prompt(list(context) + list(tokens))
    n_context = len(context)
    if n_context == 0:
        raise DataError("context must hold at least one id (e.g. the <eos> or <bos> id)")
    if len(tokens) == 0:
        raise DataError("tokens to score must not be empty")
    model.eval()
    logits, _ = model(ids[None, :-1].to(_device(model)))  # (1, T-1, V)
    log_probs = logits[0].float().log_softmax(dim=-1)
    targets = ids[1:].to(log_probs.device)
    picked = log_probs.gather(1, targets[:, None])[:, 0][n_context - 1:]
    return Score(list(tokens), float(picked.sum()), (-picked / math.log(2)).tolist())


def encode_prompt(text: str, vocab: Any, tokenizer: Any, what: str = "prompt") -> list[int]:
    """Tokenize and encode ``text``; a DataError names any token the vocabulary lacks
    (``what``: the text's name in that message, e.g. ``"sentence"`` when scoring)."""
    tokens = tokenizer.tokenize(text)
    unknown = [t for t in tokens if t not in vocab]
    if unknown:
        shown = ", ".join(repr(t) for t in dict.fromkeys(unknown))
        unk_id = getattr(vocab, "unk_id", None)
        unk = "" if unk_id is None else (
            f"; words the training text lacked or had too rarely read as "
            f"{vocab.decode([unk_id])[0]!r}, which you may write instead")
        raise DataError(f"{what} holds tokens that are not in the model's vocabulary: {shown} "
                        f"(the model knows {len(vocab)} tokens{unk})")
    return vocab.encode(tokens)
