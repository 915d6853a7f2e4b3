"""``NgramLM``: counting n-gram language models of any order (seed 000), with perplexity.

Seed 000's maximum-likelihood estimates, for a sentence ``<s> w1 .. wm </s>``::

    unigram  P(w)               = count(w) / total          (total counts words and </s>)
    bigram   P(w_i | w_{i-1})   = count(w_{i-1} w_i) / count(w_{i-1})
    trigram  P(w_i | w_{i-2} w_{i-1}) = count(w_{i-2} w_{i-1} w_i) / count(w_{i-2} w_{i-1})

and likewise for any order N, the history cut at ``<s>``. Smoothing:

    mle                  the estimates above; a history never seen in training backs off to
                         the longest seen suffix (so every distribution sums to 1).
    add-k                P(w | h) = (count(h w) + k) / (count(h .) + k |V'|) at order N
                         (Laplace for k = 1); an unseen history gives the uniform 1 / |V'|.
    kneser-ney           interpolated Kneser-Ney, one discount per order.
    modified-kneser-ney  Chen & Goodman's three discounts per order, interpolated.

(formulas of both Kneser-Ney variants: ``seqlab.features.ngram_counts``). V' is the vocabulary
without ``<s>``: every word seen in training, ``</s>`` and ``<unk>``; words never seen in
training are read as ``<unk>``.

Counts live in flat NumPy arrays (``ngram_counts.Table``), so a 5-gram on PTB's 930k tokens
builds in seconds. mle and both Kneser-Ney variants are stored in back-off form (one log10
probability per seen n-gram plus one back-off weight per context), which is exactly what an
ARPA file holds: ``to_arpa``/``from_arpa`` exchange models with KenLM and SRILM.

Example:
    >>> lm = NgramLM(order=2, smoothing="mle").fit([["the", "cat"], ["the", "dog"]])
    >>> lm.prob("cat", ["the"])
    0.5
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from seqlab.errors import ConfigError, DataError
from seqlab.features import ngram_counts as nc
from seqlab.features.arpa import backoff_tables, read_arpa, write_arpa
from seqlab.features.base import Estimator, callable_or, number, one_of
from seqlab.features.tokenizers import TOKENIZERS, resolve_tokenizer
from seqlab.io import atomic_open

SMOOTHINGS = ("mle", "add-k", "kneser-ney", "modified-kneser-ney")
LOG10 = math.log(10.0)


def _discount(v: Any) -> str | None:
    if v is None or (isinstance(v, int | float) and not isinstance(v, bool) and 0 < v < 1):
        return None
    if (isinstance(v, tuple | list) and len(v) == 3
            and all(isinstance(d, int | float) and 0 < d < c for d, c in zip(v, (1, 2, 3)))):
        return None
    return "None, a float in (0, 1), or a triple (D1, D2, D3+) with 0 < Dc < c"


class NgramLM(Estimator):
    """n-gram language model: ``fit(sentences)``, ``prob``, ``logprob``, ``perplexity``,
    ``generate``, ARPA and ``.npz`` I/O.

    Args:
        order: N >= 1.
        smoothing: one of ``SMOOTHINGS`` (formulas in the module docstring).
        k: add-k constant, > 0 (only for "add-k").
        discount: Kneser-Ney discount(s) to use instead of estimating them from
            counts-of-counts: a float for every order, or (D1, D2, D3+) for every order.
        discount_fallback: discount(s) for an order whose counts-of-counts give none (too
            little text), as KenLM's ``--discount_fallback``; None = raise ``DataError``.
        tokenizer: how string sentences are split (callable or a name in ``TOKENIZERS``);
            None = on whitespace. Token lists are used as they are.

    Attributes:
        vocab_: words by id (0 ``<unk>``, 1 ``<s>``, 2 ``</s>``). word_to_id_: the inverse.
        log10_prob_: per order, log10 p of each seen n-gram (back-off form).
        log10_backoff_: per order below N, log10 back-off weight of each n-gram as a context.
        counts_: per order, raw counts (None for a model read from ARPA).
        discounts_: per order (D1, D2, D3+) for the Kneser-Ney variants.
    """

    _parameter_constraints = {
        "order": number(1, integer=True),
        "smoothing": one_of(*SMOOTHINGS),
        "k": number(0.0, low_open=True),
        "discount": _discount,
        "discount_fallback": _discount,
        "tokenizer": callable_or(None, *TOKENIZERS),
    }

    def __init__(self, *, order: int = 3, smoothing: str = "modified-kneser-ney",
                 k: float = 1.0, discount: float | Sequence[float] | None = None,
                 discount_fallback: float | Sequence[float] | None = None,
                 tokenizer: Callable[[str], list[str]] | str | None = None) -> None:
        self.order = order
        self.smoothing = smoothing
        self.k = k
        self.discount = discount
        self.discount_fallback = discount_fallback
        self.tokenizer = tokenizer

    # ------------------------------------------------------------------------------- input
    def _tokens(self, sentence: str | Sequence[str]) -> list[str]:
        if isinstance(sentence, str):
            return resolve_tokenizer(self.tokenizer, default="whitespace")(sentence)
        if isinstance(sentence, list | tuple):
            return list(sentence)
        raise DataError(f"a sentence must be a str or a list of tokens, got "
                        f"{type(sentence).__name__}")

    def _encode(self, sentences: Iterable[str | Sequence[str]]) -> list[np.ndarray]:
        if isinstance(sentences, str):
            raise DataError("sentences must be an iterable of sentences, got one str; "
                            "wrap it in a list")
        get = self.word_to_id_.get
        ids = [np.fromiter((get(w, nc.UNK_ID) for w in self._tokens(s)), dtype=np.int64)
               for s in sentences]
        for i, s in enumerate(ids):
            if ((s == nc.BOS_ID) | (s == nc.EOS_ID)).any():
                raise DataError(f"sentence {i} contains '<s>' or '</s>'; sentence boundaries "
                                "are added by the model")
        return ids

    # --------------------------------------------------------------------------------- fit
    def fit(self, sentences: Iterable[str | Sequence[str]], y: Any = None) -> NgramLM:
        """Count n-grams of ``sentences`` (token lists or strings) and smooth; returns self."""
        self._validate_params()
        if isinstance(sentences, str):
            raise DataError("sentences must be an iterable of sentences, got one str")
        word_to_id = {nc.UNK: nc.UNK_ID, nc.BOS: nc.BOS_ID, nc.EOS: nc.EOS_ID}
        ids = []
        for sentence in sentences:
            tokens = self._tokens(sentence)
            for special in (nc.BOS, nc.EOS):
                if special in tokens:
                    raise DataError(f"a training sentence contains {special!r}; sentence "
                                    "boundaries are added by the model")
            ids.append(np.fromiter((word_to_id.setdefault(w, len(word_to_id)) for w in tokens),
                                   dtype=np.int64, count=len(tokens)))
        if not ids:
            raise DataError("sentences is empty: expected at least one training sentence")
        if not any(len(s) for s in ids):
            raise DataError("every training sentence is empty: no words to count")
        self.__dict__.pop("_totals", None)  # add-k context totals of a previous fit
        self.word_to_id_ = word_to_id
        self.vocab_ = list(word_to_id)
        V = len(self.vocab_)
        tables = nc.count(*nc.stream(ids), self.order, V)
        self.keys_ = [t.keys for t in tables]
        self.counts_ = [t.counts for t in tables]
        self.discounts_ = None
        if self.smoothing == "add-k":
            self.log10_prob_ = self.log10_backoff_ = None
            return self
        if self.smoothing == "mle":
            probs, gammas = nc.maximum_likelihood(tables, V)
        else:
            fixed, fallback = (None if d is None else np.broadcast_to(
                np.asarray(d, dtype=np.float64), (3,)).copy()
                for d in (self.discount, self.discount_fallback))
            probs, gammas, self.discounts_ = nc.kneser_ney(
                tables, V, self.smoothing == "modified-kneser-ney", fixed, fallback)
        with np.errstate(divide="ignore"):
            self.log10_prob_ = [np.log10(p) for p in probs]
            self.log10_backoff_ = [np.log10(g) for g in gammas]
        return self

    # ----------------------------------------------------------------------------- scoring
    def _rows(self, tokens: np.ndarray, offset: np.ndarray) -> list[np.ndarray]:
        """Row of the n-gram ending at each position, per order (-1: unseen or too long)."""
        V = len(self.vocab_)
        rows = [tokens]
        for n in range(2, len(self.keys_) + 1):
            prev = np.full(len(tokens), -1, dtype=np.int64)
            prev[1:] = rows[-1][:-1]
            prev[offset < n - 1] = -1
            rows.append(nc.lookup(self.keys_[n - 1], prev, tokens, V))
        return rows

    def _log10_probs(self, tokens: np.ndarray, offset: np.ndarray) -> np.ndarray:
        """log10 p(token | history) at every position (positions of ``<s>`` included)."""
        rows = self._rows(tokens, offset)
        N = len(self.keys_)
        if self.log10_prob_ is None:  # add-k at the longest available order
            n_eff = np.minimum(offset + 1, N)
            out = np.empty(len(tokens))
            size = len(self.vocab_) - 1
            for n in range(1, N + 1):
                at = np.flatnonzero(n_eff == n)
                row = rows[n - 1][at]
                c = np.where(row >= 0, self.counts_[n - 1][np.maximum(row, 0)], 0)
                if n == 1:
                    total = np.full(len(at), self._context_total(1, None))
                else:
                    ctx = rows[n - 2][at - 1]
                    total = np.where(ctx >= 0, self._context_total(n, np.maximum(ctx, 0)), 0)
                out[at] = np.log10((c + self.k) / (total + self.k * size))
            return out
        out = self.log10_prob_[0][tokens]
        for n in range(2, N + 1):
            row = rows[n - 1]
            ctx = np.full(len(tokens), -1, dtype=np.int64)
            ctx[1:] = rows[n - 2][:-1]
            ctx[offset < n - 1] = -1
            bow = np.where(ctx >= 0, self.log10_backoff_[n - 2][np.maximum(ctx, 0)], 0.0)
            seen = self.log10_prob_[n - 1][np.maximum(row, 0)]
            out = np.where(row >= 0, seen, out + bow)
        return out

    def _context_total(self, n: int, rows: np.ndarray | None) -> np.ndarray | float:
        if not hasattr(self, "_totals"):
            V = len(self.vocab_)
            unigram = self.counts_[0].astype(np.float64)
            unigram[nc.BOS_ID] = 0.0
            self._totals = [float(unigram.sum())] + [
                np.bincount(self.keys_[m] // V, weights=self.counts_[m],
                            minlength=len(self.keys_[m - 1])) for m in range(1, len(self.keys_))]
        return self._totals[0] if n == 1 else self._totals[n - 1][rows]

    def _scored(self, sentences: Iterable[str | Sequence[str]]) -> tuple[np.ndarray, int]:
        """Natural-log probabilities of every word and ``</s>``; number of sentences."""
        self._check_fitted("keys_")
        ids = self._encode(sentences)
        if not ids:
            raise DataError("sentences is empty: expected at least one sentence to score")
        tokens, offset = nc.stream(ids)
        lp = self._log10_probs(tokens, offset)[offset > 0]
        return lp * LOG10, len(ids)

    def logprob(self, sentence: str | Sequence[str]) -> float:
        """ln P(sentence) = sum of ln p over its words and ``</s>``, given ``<s>``."""
        return float(self._scored([sentence])[0].sum())

    def perplexity(self, sentences: Iterable[str | Sequence[str]]) -> float:
        """Seed 000's PP = exp(-1/N sum_i ln p(x_i | x_<i)).

        The sum runs over every word and every sentence's ``</s>`` (N counts both, not
        ``<s>``), as SRILM's and KenLM's "ppl". A zero probability gives inf.
        """
        lp, _ = self._scored(sentences)
        with np.errstate(over="ignore"):
            return float(np.exp(-lp.mean()))

    def _context_ids(self, context: str | Sequence[str] | None) -> list[int]:
        tokens = [] if context is None else self._tokens(context)
        ids = [self.word_to_id_.get(w, nc.UNK_ID) for w in tokens]
        if nc.BOS_ID in ids:  # history never crosses a sentence start
            ids = ids[len(ids) - 1 - ids[::-1].index(nc.BOS_ID):]
        return ids[max(0, len(ids) - (len(self.keys_) - 1)):] if len(self.keys_) > 1 else []

    def distribution(self, context: str | Sequence[str] | None = None) -> np.ndarray:
        """p(w | context) for every word id w (``vocab_`` order); sums to 1, p(<s>) = 0.

        ``context`` are the preceding tokens; include ``"<s>"`` for a sentence start (as in
        ``prob``). Only the last N - 1 are used.
        """
        self._check_fitted("keys_")
        return self._distribution_from(self._context_ids(context))

    def _distribution_from(self, ids: list[int]) -> np.ndarray:
        V = len(self.vocab_)
        m = len(ids)
        ctx_rows = []  # ctx_rows[j]: row of ids[m-1-j:] in the order (j+1) table, or -1
        for j in range(m):
            words = ids[m - 1 - j:]
            row = words[0]
            for pos, w in enumerate(words[1:], start=2):
                if row < 0:
                    break
                row = int(nc.lookup(self.keys_[pos - 1], np.array([row]), np.array([w]), V)[0])
            ctx_rows.append(row)
        if self.log10_prob_ is None:  # add-k at the longest order
            n = m + 1
            size = V - 1
            counts = np.zeros(V)
            row = ctx_rows[-1] if m else None
            if m == 0:
                counts = self.counts_[0].astype(np.float64)
                total = self._context_total(1, None)
            elif row < 0:
                total = 0.0
            else:
                lo, hi = np.searchsorted(self.keys_[n - 1], [row * V, (row + 1) * V])
                counts[self.keys_[n - 1][lo:hi] % V] = self.counts_[n - 1][lo:hi]
                total = float(self._context_total(n, np.array([row]))[0])
            dist = (counts + self.k) / (total + self.k * size)
            dist[nc.BOS_ID] = 0.0
            return dist
        dist = 10.0 ** self.log10_prob_[0]
        for j, row in enumerate(ctx_rows):
            if row < 0:
                break
            n = j + 2
            lo, hi = np.searchsorted(self.keys_[n - 1], [row * V, (row + 1) * V])
            dist = dist * 10.0 ** self.log10_backoff_[n - 2][row]
            dist[self.keys_[n - 1][lo:hi] % V] = 10.0 ** self.log10_prob_[n - 1][lo:hi]
        return dist

    def prob(self, word: str, context: str | Sequence[str] | None = None) -> float:
        """p(word | context); context = preceding tokens ("<s>" first for a sentence start)."""
        self._check_fitted("keys_")
        return float(self.distribution(context)[self.word_to_id_.get(word, nc.UNK_ID)])

    def generate(self, prompt: str | Sequence[str] | None = None, max_tokens: int = 30,
                 temperature: float = 1.0, seed: int | None = None) -> list[str]:
        """Sample words after ``<s>`` + ``prompt`` until ``</s>`` or ``max_tokens`` words.

        Each word is drawn from p(. | history) ** (1 / temperature), renormalized. Returns the
        new words (without the prompt and without ``</s>``).
        """
        self._check_fitted("keys_")
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise ConfigError(f"max_tokens must be an int >= 1, got {max_tokens!r}")
        if not temperature > 0:
            raise ConfigError(f"temperature must be > 0, got {temperature!r}")
        rng = np.random.default_rng(seed)
        history = [nc.BOS_ID] + [self.word_to_id_.get(w, nc.UNK_ID)
                                 for w in ([] if prompt is None else self._tokens(prompt))]
        out: list[str] = []
        for _ in range(max_tokens):
            n_ctx = len(self.keys_) - 1
            dist = self._distribution_from(history[len(history) - n_ctx:] if n_ctx else [])
            if temperature != 1.0:
                with np.errstate(divide="ignore"):
                    dist = np.exp(np.log(dist) / temperature)
            dist = dist / dist.sum()
            w = int(rng.choice(len(dist), p=dist))
            if w == nc.EOS_ID:
                break
            out.append(self.vocab_[w])
            history.append(w)
        return out

    # -------------------------------------------------------------------------------- ARPA
    def _ngram_words(self) -> list[np.ndarray]:
        V = len(self.vocab_)
        words = [np.arange(V, dtype=np.int64)[:, None]]
        for keys in self.keys_[1:]:
            words.append(np.concatenate([words[-1][keys // V], (keys % V)[:, None]], axis=1))
        return words

    def to_arpa(self, path: str | os.PathLike) -> None:
        """Write the model as an ARPA file (mle and Kneser-Ney models; add-k is not a
        back-off model). Written atomically; numbers in full precision."""
        self._check_fitted("keys_")
        if self.log10_prob_ is None:
            raise ConfigError("smoothing='add-k' is not a back-off model, so it has no ARPA "
                              "form; use save() or a Kneser-Ney smoothing")
        probs = [p.copy() for p in self.log10_prob_]
        probs[0][nc.BOS_ID] = -np.inf  # written as -99, the usual <s> entry
        backoffs = list(self.log10_backoff_) + [None]
        write_arpa(path, self.vocab_, self._ngram_words(), probs, backoffs)

    @classmethod
    def from_arpa(cls, path: str | os.PathLike) -> NgramLM:
        """Read an ARPA file (ours, KenLM's, SRILM's) into a model that scores the same."""
        vocab, keys, log10_prob, log10_backoff = backoff_tables(*read_arpa(path), str(path))
        lm = cls(order=len(keys), smoothing="mle")
        lm.smoothing = "arpa"  # not a fit option: the numbers come from the file
        lm.vocab_, lm.word_to_id_ = vocab, {w: i for i, w in enumerate(vocab)}
        lm.keys_, lm.log10_prob_, lm.log10_backoff_ = keys, log10_prob, log10_backoff
        lm.counts_, lm.discounts_ = None, None
        return lm

    # ------------------------------------------------------------------------- save / load
    def save(self, path: str | os.PathLike) -> None:
        """Write the whole model (any smoothing) to one ``.npz`` file, atomically."""
        self._check_fitted("keys_")
        params = self.get_params()
        if callable(params["tokenizer"]):
            params["tokenizer"] = None
        arrays: dict[str, np.ndarray] = {"vocab": np.asarray(self.vocab_, dtype=str)}
        for n, keys in enumerate(self.keys_, start=1):
            arrays[f"keys{n}"] = keys
            if self.counts_ is not None:
                arrays[f"counts{n}"] = self.counts_[n - 1]
            if self.log10_prob_ is not None:
                arrays[f"log10_prob{n}"] = self.log10_prob_[n - 1]
            if self.log10_backoff_ is not None and n < len(self.keys_):
                arrays[f"log10_backoff{n}"] = self.log10_backoff_[n - 1]
        meta = {"format": "seqlab-ngram", "version": 1, "params": params,
                "order": len(self.keys_), "discounts": None if self.discounts_ is None
                else [list(map(float, d)) for d in self.discounts_]}
        arrays["meta"] = np.asarray(json.dumps(meta))
        with atomic_open(path) as f:
            np.savez(f, **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> NgramLM:
        """Read a model written by ``save``."""
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {name: z[name] for name in z.files}
            meta = json.loads(str(arrays["meta"]))
        except (OSError, ValueError, KeyError, EOFError) as exc:  # EOFError: an empty file
            raise DataError(f"{path}: not a seqlab n-gram model ({exc})") from exc
        if meta.get("format") != "seqlab-ngram":
            raise DataError(f"{path}: not a seqlab n-gram model")
        params = meta["params"]
        smoothing = params.pop("smoothing")
        lm = cls(**params)
        lm.smoothing = smoothing
        lm.vocab_ = arrays["vocab"].tolist()
        lm.word_to_id_ = {w: i for i, w in enumerate(lm.vocab_)}
        N = meta["order"]
        lm.keys_ = [arrays[f"keys{n}"] for n in range(1, N + 1)]
        lm.counts_ = ([arrays[f"counts{n}"] for n in range(1, N + 1)]
                      if "counts1" in arrays else None)
        lm.log10_prob_ = ([arrays[f"log10_prob{n}"] for n in range(1, N + 1)]
                          if "log10_prob1" in arrays else None)
        lm.log10_backoff_ = (None if lm.log10_prob_ is None
                             else [arrays[f"log10_backoff{n}"] for n in range(1, N)])
        lm.discounts_ = (None if meta["discounts"] is None
                         else [np.asarray(d) for d in meta["discounts"]])
        return lm
