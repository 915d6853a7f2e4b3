"""Every cell combination learns to reverse a short digit sequence (exact match >= 0.95)."""

from __future__ import annotations

import random

import pytest
import torch

from seqlab.models.seq2seq import Seq2Seq
from seqlab.models.seq2seq_search import greedy_search
from seqlab.models.seq2seq_task import collate

DIGITS = list(range(4, 14))  # ids of the ten digits (0-3 are the specials)


def reverse_pairs(n, seed, lo=3, hi=6):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        s = [rng.choice(DIGITS) for _ in range(rng.randint(lo, hi))]
        out.append((s, [2, *reversed(s), 3], ""))
    return out


def exact_match(model, pairs):
    model.eval()
    src, lengths, tgt, _ = collate(pairs, with_refs=False)
    hyps = greedy_search(model, src, lengths, max_len_a=1.0, max_len_b=2, max_len=20)
    return sum(h.tokens == t[1:] for h, (_, t, _) in zip(hyps, pairs)) / len(pairs)


def train_reversal(steps, lr=0.01, **opts):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = Seq2Seq(14, 14, dropout=0.0, backend="reference", **opts)
    optim = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(optim, max_lr=lr, total_steps=steps,
                                                pct_start=0.2)
    data = reverse_pairs(64 * steps, seed=1)
    model.train()
    for i in range(steps):
        out = model.loss(collate(data[i * 64:(i + 1) * 64], with_refs=False))
        optim.zero_grad()
        (out.loss / out.count).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        sched.step()
    return exact_match(model, reverse_pairs(300, seed=2))


def test_bigru_with_luong_dot_attention_learns_reversal():  # the fast default case
    acc = train_reversal(250, cell="gru", bidirectional=True, embedding_dim=16,
                         hidden_size=32, encoder_hidden_size=16, decoder="attention",
                         attention="dot", attention_style="luong")
    assert acc >= 0.95


COMBOS = [
    # (encoder cell, bidirectional, decoder cell, decoder kind, extra options)
    ("lstm", True, "gru", "attention", {"attention": "additive"}),
    ("rnn", False, "rnn", "attention", {"attention": "general", "attention_style": "luong",
                                        "input_feeding": True}),
    ("gru", False, "lstm", "context", {}),
    ("lstm", False, "lstm", "fixed", {"num_layers": 2}),
    ("gru", True, "gru", "attention", {"attention": "additive"}),
    ("layernorm_lstm", True, "simple_gru", "attention", {"attention": "dot",
                                                          "attention_style": "luong"}),
    # the scan cells' gates see the input only: Bahdanau's query (the previous state) and
    # twice the steps (with Luong's general score they stay near 0.55 in 300 steps)
    ("mingru", False, "minlstm", "attention", {"attention": "additive", "steps": 600}),
]


@pytest.mark.slow
@pytest.mark.parametrize("enc,bi,dec,kind,extra", COMBOS,
                         ids=[f"{c[0]}{'-bi' if c[1] else ''}-{c[2]}-{c[3]}" for c in COMBOS])
def test_every_cell_combination_learns_reversal(enc, bi, dec, kind, extra):
    context_only = kind in ("fixed", "context")  # the whole source in one vector: wider
    hidden = 128 if context_only else 64
    extra = dict(extra)
    steps = extra.pop("steps", 600 if context_only else 300)
    acc = train_reversal(steps, cell=enc, bidirectional=bi,
                         decoder_cell=dec, decoder=kind, embedding_dim=16, hidden_size=hidden,
                         encoder_hidden_size=hidden // 2 if bi else hidden, **extra)
    assert acc >= 0.95
