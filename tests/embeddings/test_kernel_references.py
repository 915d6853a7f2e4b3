"""Negative-sampling kernels against per-pair NumPy references, the loss included.

The references are written from the C tool's and fastText's descriptions, one prediction at a
time (float64 dot products), drawing from the same linear congruential stream in the same
order as the kernels: one subsampling draw per word kept with probability < 1, one window draw
per position, one draw per negative (none for a CBOW centre without context). Each also sums
the loss the docs promise, ``-log p`` in float64 of the probability the update used (the
sigmoid table's value; exact ``log(1 + e^z)`` outside [-6, 6]), which ``epoch_losses_`` adds up.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from seqlab.embeddings import _kernels
from seqlab.embeddings._kernels import _SCALE, LOG_ONE_MINUS_SIG, LOG_SIG, SIGMOID
from seqlab.embeddings.vocab import keep_probabilities, negative_table
from seqlab.embeddings.word2vec import Word2Vec

MASK = 2**64 - 1


class Stream:
    """The kernels' generator: r = r * 25214903917 + 11 (mod 2^64), value r >> 16."""

    def __init__(self, seed: int):
        self.r = seed

    def next(self) -> int:
        self.r = (self.r * 25214903917 + 11) & MASK
        return self.r >> 16


def predict(h, word, syn1, table, negative, stream, alpha):
    """Positive ``word`` and ``negative`` draws from ``h``; updates ``syn1``; returns the input
    gradient and the loss -log p summed over the predictions."""
    work = np.zeros(len(h), np.float32)
    loss = 0.0
    for k in range(negative + 1):
        if k == 0:
            t, label = word, 1.0
        else:
            t, label = int(table[stream.next() % len(table)]), 0.0
            if t == word:
                continue
        f = float(np.dot(h.astype(np.float64), syn1[t]))
        z = -f if label else f  # -log p = log(1 + e^z)
        if abs(f) >= 6:
            loss += max(z, 0.0) + math.log1p(math.exp(-abs(z)))
            continue
        idx = int((f + 6) * _SCALE)
        loss -= LOG_SIG[idx] if label else LOG_ONE_MINUS_SIG[idx]
        g = np.float32((label - SIGMOID[idx]) * alpha)
        work += g * syn1[t]
        syn1[t] += g * h
    return work, loss


def reference(tokens, starts, syn0, syn1, rows, keep, table, window, negative, alpha_lo,
              alpha_hi, seed, cbow):
    """``rows[w]``: the input rows of word w (word2vec: [w]; fastText: its own row and its
    n-gram buckets, duplicates kept). Returns (loss, examples, words) as the kernels do."""
    stream = Stream(seed)
    t0, span = starts[0], max(starts[-1] - starts[0], 1)
    loss, examples, words = 0.0, 0, 0
    for s in range(len(starts) - 1):
        alpha = np.float32(alpha_lo + (alpha_hi - alpha_lo) * ((starts[s] - t0) / span))
        sentence = []
        for w in tokens[starts[s]:starts[s + 1]]:
            if keep[w] < 1.0 and keep[w] < np.float32(stream.next() & 0xFFFFFF) / np.float32(
                    16777216.0):
                continue
            sentence.append(int(w))
        words += len(sentence)
        for i, centre in enumerate(sentence):
            red = stream.next() % window
            context = [sentence[j] for j in range(max(0, i - window + red),
                                                  min(len(sentence), i + window + 1 - red))
                       if j != i]
            if cbow:  # the mean of every context word's input rows predicts the centre
                inputs = [r for c in context for r in rows[c]]
                if not inputs:
                    continue
                h = syn0[inputs].mean(axis=0, dtype=np.float64).astype(np.float32)
                work, lp = predict(h, centre, syn1, table, negative, stream, alpha)
                for r in inputs:
                    syn0[r] += work
                loss, examples = loss + lp, examples + 1
                continue
            for c in context:
                if len(rows[centre]) == 1 and rows[centre][0] == centre:
                    # word2vec skip-gram (the C tool): context word c's vector predicts centre
                    work, lp = predict(syn0[c].copy(), centre, syn1, table, negative, stream,
                                       alpha)
                    syn0[c] += work
                else:  # fastText: the centre's row mean predicts c; rows updated per pair
                    h = syn0[rows[centre]].mean(axis=0, dtype=np.float64).astype(np.float32)
                    work, lp = predict(h, c, syn1, table, negative, stream, alpha)
                    for r in rows[centre]:
                        syn0[r] += work
                loss, examples = loss + lp, examples + 1
    return loss, examples, words


def setup(seed, V=40, D=8, n_tokens=1200, n_buckets=0):
    rng = np.random.default_rng(seed)
    counts = np.sort(rng.integers(5, 400, V))[::-1]
    tokens = rng.choice(V, size=n_tokens, p=counts / counts.sum()).astype(np.int32)
    cuts = np.sort(rng.choice(np.arange(1, n_tokens), n_tokens // 12, replace=False))
    starts = np.concatenate([[0], cuts, [n_tokens]]).astype(np.int64)
    keep = keep_probabilities(np.maximum(np.bincount(tokens, minlength=V), 1), 1e-2)
    assert 0 < keep.min() < 0.9  # subsampling is exercised
    table = negative_table(counts, size=10_000)
    if n_buckets:  # own row + 1-4 buckets, a few shared (hash collisions) and one repeated
        rows = [[w] + list(V + rng.integers(0, n_buckets, rng.integers(1, 5))) for w in range(V)]
        rows[0] = rows[0] + [rows[0][1]]
    else:
        rows = [[w] for w in range(V)]
    syn0 = ((rng.random((V + n_buckets, D), dtype=np.float32) * 2 - 1) / D).astype(np.float32)
    syn1 = rng.normal(0, 0.5, (V, D)).astype(np.float32)  # non-zero: every term matters
    ptr = np.cumsum([0] + [len(r) for r in rows]).astype(np.int64)
    idx = np.concatenate(rows).astype(np.int32)
    return tokens, starts, keep, table, syn0, syn1, rows, ptr, idx


def run_kernel(name, tokens, starts, syn0, syn1, ptr, idx, table, keep, cbow, window=3,
               alphas=(0.05, 0.01), seed=12345):
    n_sent = len(starts) - 1
    if name == "train_chunk":
        return _kernels.train_chunk(tokens, starts, 0, n_sent, syn0, syn1, ptr, idx, cbow, False,
                                    np.zeros((1, 1), np.uint8), np.zeros((1, 1), np.int32),
                                    np.zeros(1, np.int32), table, 5, keep, window, *alphas, seed)
    fn = _kernels.train_cbow_ns if name == "train_cbow_ns" else _kernels.train_sg_ns
    return fn(tokens, starts, 0, n_sent, syn0, syn1, table, 5, keep, window, *alphas, seed)


def assert_matches(got, ref_stats, arrays):
    loss, examples, words = got
    assert (examples, words) == ref_stats[1:]
    assert loss == pytest.approx(ref_stats[0], rel=1e-4)
    # float32 rounding; a dot product on a sigmoid-table bin edge may pick the neighbouring
    # bin. A different pairing, averaging or draw order would differ by far more.
    for ours, ref in arrays:
        assert np.abs(ours - ref).mean() < 2e-5 and np.abs(ours - ref).max() < 1e-3


@pytest.mark.parametrize("name, cbow", [("train_chunk", True), ("train_cbow_ns", True),
                                        ("train_chunk", False), ("train_sg_ns", False)])
def test_word2vec_negative_sampling_equals_the_reference(name, cbow):
    tokens, starts, keep, table, syn0, syn1, rows, _, _ = setup(6 if cbow else 4)
    ref0, ref1 = syn0.copy(), syn1.copy()
    got = run_kernel(name, tokens, starts, syn0, syn1, np.zeros(0, np.int64),
                     np.zeros(0, np.int32), table, keep, cbow)
    want = reference(tokens, starts, ref0, ref1, rows, keep, table, 3, 5, 0.05, 0.01, 12345,
                     cbow)
    assert_matches(got, want, [(syn0, ref0), (syn1, ref1)])
    assert np.abs(ref0).max() > 0.15  # trained well away from the initial scale 1/D


@pytest.mark.parametrize("cbow", [True, False])
def test_fasttext_negative_sampling_equals_the_reference(cbow):
    """fastText's input is the mean of the word's own row and its n-gram rows; every one of
    those rows gets the whole gradient (a repeated row twice), after every pair."""
    tokens, starts, keep, table, syn0, syn1, rows, ptr, idx = setup(7, n_buckets=30)
    assert len(set(idx[idx >= 40].tolist())) < (idx >= 40).sum()  # collisions exercised
    ref0, ref1 = syn0.copy(), syn1.copy()
    got = run_kernel("train_chunk", tokens, starts, syn0, syn1, ptr, idx, table, keep, cbow)
    want = reference(tokens, starts, ref0, ref1, rows, keep, table, 3, 5, 0.05, 0.01, 12345,
                     cbow)
    assert_matches(got, want, [(syn0, ref0), (syn1, ref1)])
    assert np.abs(ref0[40:]).max() > 0.1  # the n-gram rows were trained


def test_epoch_losses_are_the_sum_of_the_chunk_losses(monkeypatch):
    """``epoch_losses_[e]``: a Python float, the float64 sum over epoch e's chunks of the
    kernels' -log p (which the references above recompute), not a mean or a float32 sum."""
    import seqlab.embeddings.training as training

    rng = np.random.default_rng(3)
    corpus = [[f"w{int(i)}" for i in rng.zipf(1.5, rng.integers(2, 20)) if i < 200]
              for _ in range(2500)]  # about 25k tokens: several chunks per epoch
    calls = []
    real_run = training.run_epochs

    def recording_run(kernel, *args, **kwargs):
        def wrapped(*a):
            result = kernel(*a)
            calls.append(result[0])
            return result
        return real_run(wrapped, *args, **kwargs)

    monkeypatch.setattr(training, "run_epochs", recording_run)
    model = Word2Vec(vector_size=10, window=3, min_count=1, epochs=3, workers=1,
                     seed=2).fit(corpus)
    per_epoch = len(calls) // 3
    assert per_epoch >= 2 and len(calls) == 3 * per_epoch
    assert all(type(x) is float for x in model.epoch_losses_)
    want = [math.fsum(calls[e * per_epoch:(e + 1) * per_epoch]) for e in range(3)]
    assert model.epoch_losses_ == pytest.approx(want, rel=1e-12)
    # -log p of ~k+1 predictions per example, each > 0: a mean would be far smaller
    assert model.epoch_losses_[0] > model.stats_["examples"] / 3
