"""Batched greedy and beam search against plain one-sentence references written here."""

from __future__ import annotations

import math

import pytest
import torch

from seqlab.errors import ConfigError
from seqlab.models.seq2seq_search import beam_search, greedy_search, length_penalty
from tests.models.test_seq2seq import DECODERS, batch, tiny


@torch.no_grad()
def plain_beam(model, src, n, K, mode, alpha, limit):
    """One sentence, written plainly: lists of (tokens, logp, state), no batching tricks."""
    state = model.encode(src[None, :n], torch.tensor([n]))
    live = [([], 0.0, state)]
    finished = []
    for t in range(limit):
        cands = []
        for toks, logp, st in live:
            token = torch.tensor([toks[-1] if toks else model.bos_id])
            logits, new, _ = model.step(token, st)
            lp = torch.log_softmax(logits[0].float(), -1).double()
            for v in range(lp.shape[0]):
                cands.append((logp + float(lp[v]), toks + [v], new))
        cands.sort(key=lambda c: -c[0])
        cands = cands[:2 * K]
        live = []
        for rank, (logp, toks, st) in enumerate(cands):
            if toks[-1] == model.eos_id:
                if rank < K:
                    finished.append((logp / length_penalty(len(toks), mode, alpha), toks, logp))
            elif len(live) < K:
                live.append((toks, logp, st))
        if len(finished) >= K:
            break
        if t + 1 == limit:
            finished += [(lp / length_penalty(len(tk), mode, alpha), tk, lp)
                         for tk, lp, _ in live]
    return sorted(finished, key=lambda f: -f[0])


@torch.no_grad()
def plain_greedy(model, src, n, limit):
    state = model.encode(src[None, :n], torch.tensor([n]))
    token, toks = torch.tensor([model.bos_id]), []
    for _ in range(limit):
        logits, state, _ = model.step(token, state)
        token = logits.argmax(-1)
        toks.append(int(token))
        if toks[-1] == model.eos_id:
            break
    return toks


SEARCH = dict(max_len_a=1.0, max_len_b=3, max_len=50)


@pytest.mark.parametrize("opts", DECODERS, ids=lambda o: "-".join(map(str, o.values())))
def test_batched_greedy_equals_one_sentence_greedy_and_beam_1(opts):
    model = tiny(seed=3, cell="lstm", **opts)
    src, lengths, _ = batch(seed=4, B=5, S=6)
    got = greedy_search(model, src, lengths, **SEARCH)
    beam1 = beam_search(model, src, lengths, beam_size=1, **SEARCH)
    for b in range(5):
        n = int(lengths[b])
        expected = plain_greedy(model, src[b], n, n + 3)
        assert got[b].tokens == expected
        assert beam1[b][0].tokens == expected
        assert beam1[b][0].log_prob == pytest.approx(got[b].log_prob, abs=1e-9)


@pytest.mark.parametrize("mode,alpha", [("gnmt", 0.6), ("average", 1.0), ("none", 0.0)])
@pytest.mark.parametrize("opts", [DECODERS[0], DECODERS[2], DECODERS[4]],
                         ids=["fixed", "bahdanau", "luong-feed"])
def test_batched_beam_equals_a_plain_per_sentence_beam(opts, mode, alpha):
    torch.manual_seed(0)
    model = tiny(seed=5, cell="gru", **opts)
    with torch.no_grad():  # a flatter output distribution: beams really differ from greedy
        model.decoder.out.weight.mul_(0.3)
    src, lengths, _ = batch(seed=6, B=4, S=5)
    K = 3
    got = beam_search(model, src, lengths, beam_size=K, n_best=K, length_penalty_mode=mode,
                      alpha=alpha, **SEARCH)
    for b in range(4):
        n = int(lengths[b])
        ref = plain_beam(model, src[b], n, K, mode, alpha, n + 3)[:K]
        assert [h.tokens for h in got[b]] == [r[1] for r in ref]
        assert [h.score for h in got[b]] == pytest.approx([r[0] for r in ref], abs=1e-9)
        assert [h.log_prob for h in got[b]] == pytest.approx([r[2] for r in ref], abs=1e-9)


def test_results_do_not_depend_on_the_batch_composition():
    model = tiny(seed=7, cell="lstm", **DECODERS[3])
    src, lengths, _ = batch(seed=8, B=6, S=7)
    whole = beam_search(model, src, lengths, beam_size=4, n_best=2, **SEARCH)
    for rows in ([2], [5, 0], [3, 1, 4]):
        idx = torch.tensor(rows)
        S = int(lengths[idx].max())
        part = beam_search(model, src[idx, :S], lengths[idx], beam_size=4, n_best=2, **SEARCH)
        for i, b in enumerate(rows):
            assert [h.tokens for h in part[i]] == [h.tokens for h in whole[b]]
            assert [h.score for h in part[i]] == pytest.approx([h.score for h in whole[b]],
                                                                abs=1e-9)


def test_attention_matrix_of_each_hypothesis():
    model = tiny(seed=9, **DECODERS[2])
    src, lengths, _ = batch(seed=10, B=3, S=6)
    for hyps in beam_search(model, src, lengths, beam_size=3, n_best=3, return_attention=True,
                            **SEARCH):
        for h in hyps:
            assert h.attention.shape[0] == len(h.tokens)
            torch.testing.assert_close(h.attention.sum(-1),
                                       torch.ones(len(h.tokens), dtype=h.attention.dtype))
    for b, h in enumerate(greedy_search(model, src, lengths, return_attention=True, **SEARCH)):
        assert h.attention.shape == (len(h.tokens), int(lengths[b]))


def test_length_limit_is_relative_to_the_source():
    model = tiny(seed=11, **DECODERS[0])
    with torch.no_grad():  # never <eos>: every output runs to its limit
        model.decoder.out.bias[model.eos_id] = -1e9
    src, lengths, _ = batch(seed=12, B=4, S=6)
    for b, h in enumerate(greedy_search(model, src, lengths, max_len_a=2.0, max_len_b=1)):
        assert len(h.tokens) == math.floor(2.0 * int(lengths[b]) + 1)
    for b, hyps in enumerate(beam_search(model, src, lengths, beam_size=2, max_len_a=1.0,
                                         max_len_b=0)):
        assert len(hyps[0].tokens) == int(lengths[b])


@pytest.mark.parametrize("kw,match", [({"beam_size": 0}, "beam size must be an int >= 1"),
                                      ({"beam_size": 2, "n_best": 3}, "n-best must be"),
                                      ({"length_penalty_mode": "x"}, "length penalty")])
def test_bad_search_options(kw, match):
    model = tiny()
    src, lengths, _ = batch()
    with pytest.raises(ConfigError, match=match):
        beam_search(model, src, lengths, **kw)
