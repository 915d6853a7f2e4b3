"""n-gram tables in flat NumPy arrays, and the smoothed probabilities built from them.

An order-n table holds every distinct n-gram once, sorted by ``key = prefix * V + word``, where
``prefix`` is the row of the n-gram's first n - 1 words in the order-(n - 1) table, ``word`` the
last word's id and V the vocabulary size (the order-1 table is simply ``arange(V)``). So an n-gram
is found by ``np.searchsorted`` on its key, one order after another, and a table costs 8 bytes
of key plus its values per n-gram: no tuples, no dicts. Sentences are ``<s> w1 .. wm </s>``
(one ``<s>``, as KenLM and SRILM), and an n-gram never crosses a sentence.

Interpolated Kneser-Ney (Chen & Goodman 1999, sec. 3; "modified" = three discounts), for an
n-gram h w of order n with h' = h without its first word::

    p_n(w | h) = (a_n(h w) - D_n(a_n(h w))) / sum_v a_n(h v)  +  gamma_n(h) * p_{n-1}(w | h')
    gamma_n(h) = sum_v D_n(a_n(h v)) / sum_v a_n(h v)
    p_1(w)     = (a_1(w) - D_1(a_1(w))) / sum_v a_1(v)      +  gamma_1 / |V'|

a_n is the raw count at the highest order and for n-grams starting with ``<s>`` (nothing can
precede them); otherwise the continuation count N1+(. h w), the number of distinct words seen
before h w. Discounts come from each order's counts-of-counts n_k of a_n::

    kneser-ney:           D = n1 / (n1 + 2 n2)
    modified-kneser-ney:  Y = n1 / (n1 + 2 n2),  D(1) = 1 - 2Y n2/n1,  D(2) = 2 - 3Y n3/n2,
                          D(c >= 3) = 3 - 4Y n4/n3

V' is the vocabulary without ``<s>`` (it is never predicted). For a context h never seen,
gamma = 1 (back off entirely). In back-off form (ARPA) p_n(w|h) is stored for every seen n-gram
and gamma_n(h) is h's back-off weight: an unseen h w gets gamma_n(h) * p_{n-1}(w | h') exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seqlab.errors import DataError

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
UNK_ID, BOS_ID, EOS_ID = 0, 1, 2


@dataclass
class Table:
    """One order's n-grams: sorted keys, raw counts, and (from counting) suffix rows."""

    keys: np.ndarray  # int64, sorted: prefix_row * V + word
    counts: np.ndarray  # int64 raw counts
    suffix: np.ndarray | None = None  # row of (w2..wn) in the order n-1 table
    starts_with_bos: np.ndarray | None = None  # bool


def stream(sentences_ids: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate sentences as ``<s> ids </s>``; return (tokens, offset in sentence)."""
    lengths = np.fromiter((len(s) + 2 for s in sentences_ids), dtype=np.int64,
                          count=len(sentences_ids))
    total = int(lengths.sum())
    tokens = np.empty(total, dtype=np.int64)
    starts = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    tokens[starts] = BOS_ID
    tokens[starts + lengths - 1] = EOS_ID
    inner = np.ones(total, dtype=bool)
    inner[starts] = False
    inner[starts + lengths - 1] = False
    if total:
        tokens[inner] = np.concatenate(sentences_ids) if len(sentences_ids) else []
    offset = np.arange(total, dtype=np.int64) - np.repeat(starts, lengths)
    return tokens, offset


def count(tokens: np.ndarray, offset: np.ndarray, order: int, V: int) -> list[Table]:
    """Tables of orders 1..order from a token stream (``stream``'s output)."""
    tables = [Table(np.arange(V, dtype=np.int64), np.bincount(tokens, minlength=V))]
    row_prev = tokens  # row of the (n-1)-gram ending at each position
    for n in range(2, order + 1):
        t = np.flatnonzero(offset >= n - 1)  # positions where an n-gram ends
        keys, inverse, counts = np.unique(row_prev[t - 1] * V + tokens[t], return_inverse=True,
                                          return_counts=True)
        suffix = np.empty(len(keys), dtype=np.int64)
        suffix[inverse] = row_prev[t]
        bos = np.zeros(len(keys), dtype=bool)
        bos[inverse] = offset[t] == n - 1
        tables.append(Table(keys, counts.astype(np.int64), suffix, bos))
        row = np.full(len(tokens), -1, dtype=np.int64)
        row[t] = inverse
        row_prev = row
    return tables


def lookup(keys: np.ndarray, context_rows: np.ndarray, words: np.ndarray, V: int) -> np.ndarray:
    """Rows of n-grams (context row, word) in a table, -1 where absent (or context -1)."""
    wanted = context_rows * V + words
    pos = np.searchsorted(keys, wanted)
    pos = np.minimum(pos, len(keys) - 1)
    found = (context_rows >= 0) & (keys[pos] == wanted) if len(keys) else context_rows < -1
    return np.where(found, pos, -1)


def adjusted_counts(tables: list[Table]) -> list[np.ndarray]:
    """a_n: continuation counts below the top order, raw counts at it and after ``<s>``."""
    order = len(tables)
    adjusted = []
    for n in range(1, order + 1):
        table = tables[n - 1]
        if n == order:
            a = table.counts.astype(np.float64)
        else:
            a = np.bincount(tables[n].suffix, minlength=len(table.keys)).astype(np.float64)
            if table.starts_with_bos is not None:
                a[table.starts_with_bos] = table.counts[table.starts_with_bos]
        if n == 1:
            a = a.copy()
            a[BOS_ID] = 0.0  # <s> is a context, never a prediction
        adjusted.append(a)
    return adjusted


def discounts(a: np.ndarray, n: int, modified: bool,
              fallback: np.ndarray | None = None) -> np.ndarray:
    """(D1, D2, D3+) of one order from its counts-of-counts (all three equal if not modified).

    If they give no valid discounts (too little text), ``fallback`` is used when given (as
    KenLM's --discount_fallback), else ``DataError``.
    """
    nk = [int(np.count_nonzero(a == k)) for k in (1, 2, 3, 4)]
    needed = 4 if modified else 2
    if min(nk[:needed]) == 0:
        if fallback is not None:
            return fallback
        raise DataError(f"order {n} has counts-of-counts n1..n{needed} = {nk[:needed]}: a "
                        "Kneser-Ney discount needs each > 0; use more text, a lower order, or "
                        "pass discount= or discount_fallback=")
    Y = nk[0] / (nk[0] + 2 * nk[1])
    if not modified:
        return np.array([Y, Y, Y])
    D = np.array([1 - 2 * Y * nk[1] / nk[0], 2 - 3 * Y * nk[2] / nk[1],
                  3 - 4 * Y * nk[3] / nk[2]])
    if not (0 < D[0] < 1 and 0 < D[1] < 2 and 0 < D[2] < 3):
        if fallback is not None:
            return fallback
        raise DataError(f"order {n}: modified Kneser-Ney discounts {D.tolist()} from "
                        f"counts-of-counts {nk} are out of range; use more text or "
                        "pass discount= or discount_fallback=")
    return D


def kneser_ney(tables: list[Table], V: int, modified: bool, fixed: np.ndarray | None = None,
               fallback: np.ndarray | None = None) -> tuple[list[np.ndarray],
                                                            list[np.ndarray], list[np.ndarray]]:
    """Interpolated (modified) Kneser-Ney: per order p (probabilities), gamma, discounts."""
    adjusted = adjusted_counts(tables)
    probs, gammas, all_discounts = [], [], []
    for n, a in enumerate(adjusted, start=1):
        D = fixed if fixed is not None else discounts(a[a > 0], n, modified, fallback)
        all_discounts.append(D)
        d = np.where(a > 0, D[np.clip(a.astype(np.int64), 1, 3) - 1], 0.0)
        if n == 1:
            total = a.sum()
            p = (a - d) / total + d.sum() / total / (V - 1)
            p[BOS_ID] = 0.0
            probs.append(p)
            continue
        prefix = tables[n - 1].keys // V
        n_contexts = len(tables[n - 2].keys)
        denom = np.bincount(prefix, weights=a, minlength=n_contexts)
        gamma = np.divide(np.bincount(prefix, weights=d, minlength=n_contexts), denom,
                          out=np.ones(n_contexts), where=denom > 0)
        probs.append((a - d) / denom[prefix]
                     + gamma[prefix] * probs[n - 2][tables[n - 1].suffix])
        gammas.append(gamma)  # back-off weight of each order-(n-1) n-gram as a context
    return probs, gammas, all_discounts


def maximum_likelihood(tables: list[Table], V: int) -> tuple[list[np.ndarray],
                                                            list[np.ndarray]]:
    """Seed 000's estimates p(w | h) = c(h w) / c(h .), in back-off form (gamma = 0)."""
    unigram = tables[0].counts.astype(np.float64)
    unigram[BOS_ID] = 0.0
    probs, gammas = [unigram / unigram.sum()], []
    for n in range(2, len(tables) + 1):
        table = tables[n - 1]
        prefix = table.keys // V
        total = np.bincount(prefix, weights=table.counts, minlength=len(tables[n - 2].keys))
        probs.append(table.counts / total[prefix])
        gammas.append(np.where(total > 0, 0.0, 1.0))  # seen context: nothing left to back off
    return probs, gammas
